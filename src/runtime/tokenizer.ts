// Tokenizers behind one interface: a Hugging Face tokenizer.json (BPE, WordPiece, Unigram) or a plain vocabulary list; text to ids and back, in Node and browsers alike.

import { Tokenizer } from '@huggingface/tokenizers';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';

/** Where a tokenizer comes from: a Hugging Face `tokenizer.json`, or a JSON list of tokens (index = id). */
export type TokenizerFormat = 'huggingface' | 'vocabulary';

/** The tokenization model: the three of Hugging Face's that seqc reads, or `list` for a vocabulary list. */
export type TokenizerModelType = 'BPE' | 'WordPiece' | 'Unigram' | 'list';

/** The ids of the special tokens a tokenizer defines; a role it does not define is absent. */
export interface SpecialTokens {
  readonly bos?: number;
  readonly eos?: number;
  readonly pad?: number;
  readonly unk?: number;
}

/**
 * Whether `encode` applies the tokenizer's own post-processor, which may add special tokens
 * around the text (BERT's `[CLS] … [SEP]`, Marian's `… </s>`): `with-special-tokens`, as
 * Hugging Face's `encode` does by default, or `plain` for the text's own tokens only.
 */
export type SpecialTokenUse = 'with-special-tokens' | 'plain';

export interface TextTokenizer {
  /** Names the tokenizer in diagnostics: its file name. */
  readonly name: string;
  readonly format: TokenizerFormat;
  readonly model: TokenizerModelType;
  /** How many ids it uses: one more than its largest id. */
  readonly size: number;
  readonly special: SpecialTokens;
  /** Text to ids; text it cannot tokenize (too long, a piece without an id and no unk) is a diagnostic. */
  encode(text: string, use?: SpecialTokenUse): { ids?: number[]; tokens?: string[]; diagnostics: Diagnostic[] };
  /** Ids to text, without special tokens; an id the tokenizer does not know reads `<id>` (vocabulary lists) or unk. */
  decode(ids: readonly number[]): string;
}

/** The longest text seqc tokenizes at once, in UTF-16 code units: tokenizing time grows faster than its length. */
export const maxTextLength = 65_536;

/**
 * Reads a tokenizer from its file's text: a JSON object with a `model` is a Hugging Face
 * `tokenizer.json`, a JSON list of strings a vocabulary list. Malformed files (SEQ240), model
 * types other than BPE, WordPiece and Unigram (SEQ241) and ids that are not whole numbers in
 * range (SEQ243) are diagnostics; nothing the file holds makes this throw.
 */
export function readTokenizer(text: string, name: string): { tokenizer?: TextTokenizer; diagnostics: Diagnostic[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return malformed(name, `${name} is not JSON: ${(e as Error).message}`, 'JSON');
  }
  if (Array.isArray(value)) return vocabularyList(value, name);
  if (!isRecord(value) || !('model' in value))
    return malformed(
      name,
      `${name} is neither a Hugging Face tokenizer.json (an object with a \`model\`) nor a vocabulary list`,
      'a tokenizer.json or a JSON list of tokens',
    );
  return huggingFace(value, name);
}

// Internals.

/** Token names that play each special role, in order of preference, as common tokenizers spell them. */
const roleNames: Readonly<Record<keyof SpecialTokens, readonly string[]>> = {
  bos: ['<s>', '<bos>', '[BOS]', '<|startoftext|>', '<|begin_of_text|>', '<|endoftext|>', '[CLS]'],
  eos: ['</s>', '<eos>', '[EOS]', '<|endoftext|>', '<|end_of_text|>', '[SEP]'],
  pad: ['<pad>', '[PAD]', '<|pad|>', '<blank>'],
  unk: ['<unk>', '[UNK]', '<|unk|>'],
};

const largestId = 2 ** 31 - 1;

function specialTokens(ids: ReadonlyMap<string, number>, unkToken: string | undefined): SpecialTokens {
  const found: { -readonly [K in keyof SpecialTokens]: number } = {};
  for (const role of Object.keys(roleNames) as (keyof SpecialTokens)[]) {
    const names = role === 'unk' && unkToken !== undefined ? [unkToken, ...roleNames.unk] : roleNames[role];
    for (const n of names) {
      const id = ids.get(n);
      if (id !== undefined) {
        found[role] = id;
        break;
      }
    }
  }
  return found;
}

function vocabularyList(
  value: readonly unknown[],
  name: string,
): { tokenizer?: TextTokenizer; diagnostics: Diagnostic[] } {
  if (!value.every((t) => typeof t === 'string'))
    return malformed(name, `${name} is a JSON list, but not of strings only`, 'a JSON list of tokens');
  const tokens = value as readonly string[];
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (!ids.has(t)) ids.set(t, i);
  });
  const ordinary = tokens.filter((t) => !/^<.*>$/.test(t));
  const characters = ordinary.every((t) => [...t].length === 1);
  const special = specialTokens(ids, undefined);
  const skipped = new Set([special.bos, special.eos, special.pad].filter((id) => id !== undefined));
  const tokenizer: TextTokenizer = {
    name,
    format: 'vocabulary',
    model: 'list',
    size: tokens.length,
    special,
    encode(text) {
      const long = tooLong(text, name);
      if (long !== undefined) return { diagnostics: [long] };
      const pieces = characters
        ? [...text]
        : text
            .trim()
            .split(/\s+/)
            .filter((p) => p !== '');
      const out: number[] = [];
      for (const piece of pieces) {
        const id = ids.get(piece) ?? ids.get(piece.toLowerCase());
        if (id === undefined)
          return {
            diagnostics: [
              error(
                'SEQ301',
                spanOfWhole(name),
                `\`${piece}\` is not in the vocabulary ${name}`,
                special.unk !== undefined
                  ? 'map it to <unk> yourself, or rephrase'
                  : 'use only tokens the model was trained on',
                { names: [name], found: piece },
              ),
            ],
          };
        out.push(id);
      }
      return { ids: out, tokens: out.map((id) => tokens[id]!), diagnostics: [] };
    },
    decode(ids) {
      return ids
        .filter((id) => !skipped.has(id))
        .map((id) => tokens[id] ?? `<${id}>`)
        .join(characters ? '' : ' ');
    },
  };
  return { tokenizer, diagnostics: [] };
}

const modelTypes = ['BPE', 'WordPiece', 'Unigram'] as const;

function huggingFace(
  json: Record<string, unknown>,
  name: string,
): { tokenizer?: TextTokenizer; diagnostics: Diagnostic[] } {
  const model = json['model'];
  if (!isRecord(model)) return malformed(name, `\`model\` in ${name} is not an object`, 'an object { type, vocab, … }');
  const type = model['type'];
  if (!(modelTypes as readonly unknown[]).includes(type))
    return {
      diagnostics: [
        error(
          'SEQ241',
          spanOfWhole(name),
          type === undefined
            ? `the tokenizer model in ${name} has no \`type\``
            : `the tokenizer model in ${name} is ${JSON.stringify(String(type).slice(0, 40))}, which seqc does not read`,
          'seqc reads tokenizer.json files whose model is BPE, WordPiece or Unigram, as the tokenizers library saves them',
          { names: [name], expected: [...modelTypes], found: String(type).slice(0, 40) },
        ),
      ],
    };
  const ids = new Map<string, number>();
  const badId = (where: string, id: unknown): { diagnostics: Diagnostic[] } => ({
    diagnostics: [
      error(
        'SEQ243',
        spanOfWhole(name),
        `${where} in ${name} has the id ${describe(id)}, which is not a whole number from 0 to ${largestId}`,
        'token ids are the rows of the Embedding: whole numbers from 0 up',
        { names: [name], found: describe(id), range: [0, largestId] },
      ),
    ],
  });
  const vocab = model['vocab'];
  if (type === 'Unigram') {
    if (!Array.isArray(vocab) || !vocab.every((p) => Array.isArray(p) && typeof p[0] === 'string'))
      return malformed(name, `the Unigram vocab in ${name} is not a list of [piece, score] pairs`, 'a list of pairs');
    vocab.forEach((p: unknown[], i) => {
      if (!ids.has(p[0] as string)) ids.set(p[0] as string, i);
    });
  } else {
    if (!isRecord(vocab))
      return malformed(name, `the ${String(type)} vocab in ${name} is not an object of token ids`, 'an object');
    for (const [token, id] of Object.entries(vocab)) {
      if (!isWhole(id)) return badId(`the token ${describe(token)}`, id);
      ids.set(token, id);
    }
  }
  if (type === 'BPE') {
    const merges = model['merges'];
    const isMerge = (m: unknown): boolean =>
      typeof m === 'string' || (Array.isArray(m) && m.length === 2 && m.every((p) => typeof p === 'string'));
    if (merges !== undefined && (!Array.isArray(merges) || !merges.every(isMerge)))
      return malformed(name, `the BPE merges in ${name} are not a list of pairs`, 'a list of "a b" strings or pairs');
  }
  const added = json['added_tokens'] ?? [];
  if (!Array.isArray(added) || !added.every((t) => isRecord(t) && typeof t['content'] === 'string'))
    return malformed(name, `\`added_tokens\` in ${name} is not a list of { id, content } objects`, 'a list');
  for (const t of added as Record<string, unknown>[]) {
    if (!isWhole(t['id'])) return badId(`the added token ${describe(t['content'])}`, t['id']);
    ids.set(t['content'] as string, t['id']);
  }
  if (ids.size === 0) return malformed(name, `${name} has no tokens`, 'a vocabulary of at least one token');
  // The library wants every part named, null where the file leaves it out.
  const complete = {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    ...json,
    added_tokens: added,
  };
  let library: Tokenizer;
  try {
    library = new Tokenizer(complete, {});
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const unknown = /^Unknown (\w+) type/.exec(message);
    if (unknown !== null)
      return {
        diagnostics: [
          error(
            'SEQ241',
            spanOfWhole(name),
            `${name} uses a ${unknown[1]} that the tokenizer library does not know: ${message.slice(0, 120)}`,
            'seqc reads tokenizer.json files as the Hugging Face tokenizers library saves them',
            { names: [name], found: message.slice(0, 120) },
          ),
        ],
      };
    return malformed(
      name,
      `${name} is not a tokenizer the library can read: ${message.slice(0, 160)}`,
      'a tokenizer.json',
    );
  }
  const unkToken = typeof model['unk_token'] === 'string' ? model['unk_token'] : undefined;
  const special = specialTokens(ids, unkToken);
  let size = 0;
  for (const id of ids.values()) size = Math.max(size, id + 1);
  const tokenizer: TextTokenizer = {
    name,
    format: 'huggingface',
    model: type as TextTokenizer['model'],
    size,
    special,
    encode(text, use = 'with-special-tokens') {
      const long = tooLong(text, name);
      if (long !== undefined) return { diagnostics: [long] };
      try {
        const encoded = library.encode(text, { add_special_tokens: use === 'with-special-tokens' });
        const missing = encoded.ids.findIndex((id: unknown) => !isWhole(id));
        if (missing >= 0)
          return {
            diagnostics: [
              error(
                'SEQ301',
                spanOfWhole(name),
                `\`${encoded.tokens[missing]}\` has no id in ${name}, which defines no unknown token`,
                'use only text the tokenizer covers',
                { names: [name], found: String(encoded.tokens[missing]) },
              ),
            ],
          };
        return { ids: [...encoded.ids], tokens: [...encoded.tokens], diagnostics: [] };
      } catch (e) {
        return { diagnostics: [failed(name, 'encode', e)] };
      }
    },
    decode(given) {
      const known = given.flatMap((id) =>
        Number.isInteger(id) && id >= 0 && id < size && library.id_to_token(id) !== undefined
          ? [id]
          : special.unk === undefined
            ? []
            : [special.unk],
      );
      if (known.length === 0) return '';
      try {
        return library.decode(known, { skip_special_tokens: true });
      } catch {
        // A decoder step the library cannot apply to these tokens: the tokens as they are.
        return known.map((id) => library.id_to_token(id) ?? '').join(' ');
      }
    },
  };
  return { tokenizer, diagnostics: [] };
}

function tooLong(text: string, name: string): Diagnostic | undefined {
  if (text.length <= maxTextLength) return undefined;
  return error(
    'SEQ247',
    spanOfWhole(name),
    `a text of ${text.length.toLocaleString('en-US')} characters is longer than the ${maxTextLength.toLocaleString('en-US')} that seqc tokenizes at once`,
    'split the text into sentences or paragraphs, one row each',
    { names: [name], found: text.length, limit: maxTextLength },
  );
}

function failed(name: string, what: 'encode', e: unknown): Diagnostic {
  const message = e instanceof Error ? e.message : String(e);
  return error(
    'SEQ247',
    spanOfWhole(name),
    `${name} could not ${what} the text: ${message.slice(0, 160)}`,
    'the tokenizer file may use a part the library reads differently; check it with the tokenizers library',
    { names: [name], found: message.slice(0, 160) },
  );
}

function malformed(name: string, message: string, expected: string): { diagnostics: Diagnostic[] } {
  return {
    diagnostics: [
      error(
        'SEQ240',
        spanOfWhole(name),
        message,
        'a tokenizer is the tokenizer.json that Hugging Face tokenizers save, or a JSON list of tokens such as ["<pad>", "<s>", "</s>", "a", "b"]',
        { names: [name], expected },
      ),
    ],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isWhole(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= largestId;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'a list' : typeof value;
}
