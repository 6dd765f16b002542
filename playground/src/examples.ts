// The specs the playground offers: every file in specs/, and a tiny translator that generates at once.

/** One selectable spec. */
export interface Example {
  /** The stem of its file and of the downloads, such as `sentiment`. */
  readonly stem: string;
  /** The model's name, as the spec declares it. */
  readonly title: string;
  readonly source: string;
}

const specFiles = import.meta.glob<string>('../../specs/*.seq', { query: '?raw', import: 'default', eager: true });

const tinyTranslator = `# A tiny encoder–decoder: the Translator's shape at a size that generates at once in the page.
model TinyTranslator {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)

  encoder {
    src
      -> src_embedding: Embedding(vocab=32, dim=16, padding_idx=0)
      -> encoder: BiGRU(hidden=16)
  }

  decoder(bos=1, eos=2, max_length=12) {
    -> tgt_embedding: Embedding(vocab=32, dim=16, padding_idx=0)
    -> decoder: GRU(hidden=32)               # starts from the encoder's final state
    -> attention: Attention(score=dot)       # Luong-style, over the encoder outputs
    -> generator: Linear(32)
  }
}
`;

export const examples: readonly Example[] = [
  ...Object.entries(specFiles)
    .map(([path, source]) => ({
      stem: path.replace(/^.*\//, '').replace(/\.seq$/, ''),
      title: modelName(source) ?? path,
      source,
    }))
    .sort((a, b) => a.stem.localeCompare(b.stem)),
  { stem: 'tiny_translator', title: 'TinyTranslator', source: tinyTranslator },
];

/** A small vocabulary for trying text inputs: the ids the examples' decoders reserve come first. */
export const demoVocabulary = [
  '<pad>',
  '<bos>',
  '<eos>',
  '<unk>',
  'the',
  'a',
  'movie',
  'film',
  'was',
  'is',
  'not',
  'very',
  'good',
  'great',
  'bad',
  'terrible',
  'i',
  'loved',
  'hated',
  'it',
  'this',
  'and',
  'but',
  'cat',
  'sat',
  'on',
  'mat',
  'dog',
  'ran',
  'home',
  'fast',
  '.',
].join('\n');

function modelName(source: string): string | undefined {
  return /\bmodel\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(source)?.[1];
}
