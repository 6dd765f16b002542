// Small tokenizer.json files written by hand in the format Hugging Face tokenizers saves, for the tokenizer tests.

/** An added (special) token as tokenizer.json lists it. */
function added(id: number, content: string): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** A BERT-style WordPiece tokenizer of 16 ids: lowercasing, punctuation split, `##` continuations. */
export function wordPieceJson(): Record<string, unknown> {
  const vocab = [
    '[PAD]',
    '[UNK]',
    '[CLS]',
    '[SEP]',
    'hello',
    'world',
    'un',
    '##believ',
    '##able',
    '!',
    'the',
    'cat',
    '##s',
    'sat',
    '.',
    'a',
  ];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(0, '[PAD]'), added(1, '[UNK]'), added(2, '[CLS]'), added(3, '[SEP]')],
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
    },
  };
}

/** A GPT-2-style byte-level BPE tokenizer of 24 ids, with RoBERTa's special tokens (<s>=0, <pad>=1, </s>=2, <unk>=3). */
export function bpeJson(): Record<string, unknown> {
  const vocab = [
    '<s>',
    '<pad>',
    '</s>',
    '<unk>',
    'l',
    'o',
    'w',
    'e',
    'r',
    'n',
    's',
    't',
    'Ġ',
    'lo',
    'low',
    'Ġlow',
    'er',
    'Ġn',
    'Ġne',
    'Ġnew',
    'es',
    'est',
    'Ġt',
    'i',
  ];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(0, '<s>'), added(1, '<pad>'), added(2, '</s>'), added(3, '<unk>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
      merges: ['l o', 'lo w', 'Ġ low', 'e r', 'Ġ n', 'Ġn e', 'Ġne w', 'e s', 'es t', 'Ġ t'],
    },
  };
}

/** The BPE tokenizer with a post-processor that wraps each text in <s> … </s>, as RoBERTa's does. */
export function bpeWithTemplateJson(): Record<string, unknown> {
  return {
    ...bpeJson(),
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
      ],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: {
        '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] },
        '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] },
      },
    },
  };
}

/** A Unigram (SentencePiece-style) tokenizer of 10 pieces with a Metaspace pre-tokenizer. */
export function unigramJson(): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(0, '<pad>'), added(1, '</s>'), added(2, '<unk>')],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: {
      type: 'Unigram',
      unk_id: 2,
      byte_fallback: false,
      vocab: [
        ['<pad>', 0],
        ['</s>', 0],
        ['<unk>', 0],
        ['▁', -2],
        ['▁hello', -3],
        ['▁world', -3],
        ['h', -5],
        ['e', -5],
        ['l', -5],
        ['o', -5],
      ],
    },
  };
}
