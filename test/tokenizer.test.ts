// Text in, text out: seqc's tokenizers agree with @huggingface/tokenizers used directly, bundles carry them, and generate/run read and print text.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import type { Diagnostic } from '../src/diagnostics/diagnostic.js';
import { maxTextLength, readTokenizer, type TextTokenizer } from '../src/runtime/tokenizer.js';
import { detokenize, parseTextRows, parseVocabulary } from '../playground/src/tokens.js';
import { bpeJson, bpeWithTemplateJson, unigramJson, wordPieceJson } from './tokenizer-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'seqc-tokenizer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function seqc(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { code, out, err };
}

/** `seqc … --json`: the exit status, the result and the diagnostics. */
async function seqcJson(...argv: string[]): Promise<{ code: number; result: any; diagnostics: Diagnostic[] }> {
  const r = await seqc(...argv, '--json');
  const document = JSON.parse(r.out) as { result?: unknown; diagnostics: Diagnostic[] };
  return { code: r.code, result: document.result, diagnostics: document.diagnostics };
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function ours(json: unknown, name = 'tokenizer.json'): TextTokenizer {
  const read = readTokenizer(JSON.stringify(json), name);
  expect(read.diagnostics).toEqual([]);
  return read.tokenizer!;
}

const codes = (diagnostics: readonly Diagnostic[]): string[] => diagnostics.map((d) => d.code);

describe('tokenizer.json through seqc and through the library agree', () => {
  const cases: [string, () => Record<string, unknown>, string[]][] = [
    ['WordPiece', wordPieceJson, ['Hello unbelievable World!', 'The cats sat.', 'a cat', 'xyz hello', '']],
    ['BPE', bpeJson, ['low lower newest', 'lowest', 'new low', 'slow tin']],
    ['BPE with a template post-processor', bpeWithTemplateJson, ['low new', 'lowest']],
    ['Unigram', unigramJson, ['hello world', 'hell', 'world hello']],
  ];
  for (const [kind, json, texts] of cases) {
    it(`${kind}: the same ids, tokens and text`, () => {
      const tokenizer = ours(json());
      const library = new Tokenizer(json(), {});
      for (const text of texts) {
        const encoded = tokenizer.encode(text);
        expect(encoded.diagnostics).toEqual([]);
        expect(encoded.ids).toEqual(library.encode(text).ids);
        expect(encoded.tokens).toEqual(library.encode(text).tokens);
        expect(tokenizer.encode(text, 'plain').ids).toEqual(library.encode(text, { add_special_tokens: false }).ids);
        if (encoded.ids!.length > 0)
          expect(tokenizer.decode(encoded.ids!)).toBe(library.decode(encoded.ids!, { skip_special_tokens: true }));
      }
    });
  }

  it('adds the post-processor’s special tokens only when asked', () => {
    const tokenizer = ours(bpeWithTemplateJson());
    expect(tokenizer.encode('low').ids).toEqual([0, 14, 2]);
    expect(tokenizer.encode('low', 'plain').ids).toEqual([14]);
  });

  it('finds the special tokens by their usual names, and the size from the largest id', () => {
    expect(ours(wordPieceJson())).toMatchObject({
      format: 'huggingface',
      model: 'WordPiece',
      size: 16,
      special: { bos: 2, eos: 3, pad: 0, unk: 1 },
    });
    expect(ours(bpeJson())).toMatchObject({ model: 'BPE', size: 24, special: { bos: 0, eos: 2, pad: 1, unk: 3 } });
    expect(ours(unigramJson()).special).toEqual({ eos: 1, pad: 0, unk: 2 });
  });

  it('reads a plain vocabulary list behind the same interface', () => {
    const list = ours(['<pad>', '<s>', '</s>', 'a', 'b', 'c'], 'vocab.json');
    expect(list).toMatchObject({ format: 'vocabulary', model: 'list', size: 6, special: { pad: 0, bos: 1, eos: 2 } });
    expect(list.encode('abca').ids).toEqual([3, 4, 5, 3]);
    expect(list.decode([1, 3, 4, 2, 0])).toBe('ab');
    expect(codes(list.encode('abz').diagnostics)).toEqual(['SEQ301']);
  });

  it('refuses a text longer than it tokenizes at once (SEQ247)', () => {
    const d = ours(bpeJson()).encode('low '.repeat(maxTextLength / 4 + 1)).diagnostics;
    expect(codes(d)).toEqual(['SEQ247']);
    expect(d[0]!.facts).toMatchObject({ limit: maxTextLength });
  });
});

describe('malformed tokenizer files are diagnostics, never exceptions', () => {
  const bad: [string, string, string][] = [
    ['not JSON', '{"model": ', 'SEQ240'],
    ['neither a tokenizer nor a list', '{"vocab": {}}', 'SEQ240'],
    ['a list of numbers', '[1, 2, 3]', 'SEQ240'],
    ['an unknown model type', JSON.stringify({ ...bpeJson(), model: { type: 'WordLevel', vocab: {} } }), 'SEQ241'],
    ['a model without a type', JSON.stringify({ ...bpeJson(), model: { vocab: { a: 0 } } }), 'SEQ241'],
    ['an unknown normalizer', JSON.stringify({ ...bpeJson(), normalizer: { type: 'Shout' } }), 'SEQ241'],
    [
      'a negative id',
      JSON.stringify({ ...bpeJson(), model: { ...(bpeJson()['model'] as object), vocab: { a: -1 } } }),
      'SEQ243',
    ],
    [
      'a fractional added-token id',
      JSON.stringify({ ...bpeJson(), added_tokens: [{ id: 1.5, content: '<s>', special: true }] }),
      'SEQ243',
    ],
    [
      'merges that are not pairs',
      JSON.stringify({ ...bpeJson(), model: { ...(bpeJson()['model'] as object), merges: [1, 2] } }),
      'SEQ240',
    ],
    [
      'a Unigram vocab of strings',
      JSON.stringify({ ...unigramJson(), model: { type: 'Unigram', vocab: ['a'] } }),
      'SEQ240',
    ],
    ['added tokens that are not a list', JSON.stringify({ ...bpeJson(), added_tokens: 'none' }), 'SEQ240'],
  ];
  for (const [what, text, code] of bad) {
    it(`${what}: ${code}`, () => {
      const read = readTokenizer(text, 'bad.json');
      expect(read.tokenizer).toBeUndefined();
      expect(codes(read.diagnostics)).toEqual([code]);
      expect(read.diagnostics[0]!.facts?.names).toEqual(['bad.json']);
      expect(read.diagnostics[0]!.hint).toBeTruthy();
    });
  }

  it('survives every field of a real tokenizer.json replaced by values of other types', () => {
    const fillers: unknown[] = [null, 0, -1, 'x', [], {}, [null], { type: 'BPE' }, true];
    for (const json of [wordPieceJson(), bpeJson(), unigramJson()]) {
      const paths: string[][] = [];
      const walk = (value: unknown, path: string[]): void => {
        paths.push(path);
        if (typeof value === 'object' && value !== null && path.length < 4)
          for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
      };
      walk(json, []);
      for (const path of paths.slice(1)) {
        for (const filler of fillers) {
          const copy = structuredClone(json) as Record<string, any>;
          let at = copy;
          for (const key of path.slice(0, -1)) at = at[key];
          at[path[path.length - 1]!] = filler;
          const read = readTokenizer(JSON.stringify(copy), 'fuzzed.json');
          if (read.tokenizer !== undefined) {
            for (const text of ['hello low world', '']) read.tokenizer.encode(text);
            read.tokenizer.decode([0, 1, 2, 5, 99]);
          } else expect(read.diagnostics.length).toBeGreaterThan(0);
        }
      }
    }
  });
});

/** A translator whose source is read by the WordPiece tokenizer and whose target is written by the BPE one. */
const translator = (decoder = 'bos=0, eos=2, max_length=6', target = 'vocab=24, dim=8, padding_idx=1', logits = 24) =>
  `model Tiny {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=16, dim=8, padding_idx=0) -> encoder: GRU(hidden=8)
  }
  decoder(${decoder}) {
    -> tgt_embedding: Embedding(${target}) -> decoder: GRU(hidden=8) -> generator: Linear(${logits})
  }
}
`;

describe('bundles carry their tokenizers', () => {
  const wordPiece = file('wordpiece.json', wordPieceJson());
  const bpe = file('bpe.json', bpeJson());

  it('compile copies the files into the bundle and lists them in the manifest', async () => {
    const spec = file('tiny.seq', translator());
    const out = join(dir, 'out', 'tiny.onnx');
    const r = await seqcJson('compile', spec, '-o', out, '--src-tokenizer', wordPiece, '--tgt-tokenizer', bpe);
    expect(r.diagnostics).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.result.files).toEqual(
      expect.arrayContaining([
        join(dir, 'out', 'tiny.source.tokenizer.json'),
        join(dir, 'out', 'tiny.target.tokenizer.json'),
      ]),
    );
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'tiny.manifest.json'), 'utf8'));
    expect(manifest.tokenizers).toEqual({
      source: {
        path: 'tiny.source.tokenizer.json',
        format: 'huggingface',
        model: 'WordPiece',
        size: 16,
        bos: 2,
        eos: 3,
        pad: 0,
        unk: 1,
      },
      target: {
        path: 'tiny.target.tokenizer.json',
        format: 'huggingface',
        model: 'BPE',
        size: 24,
        bos: 0,
        eos: 2,
        pad: 1,
        unk: 3,
      },
    });
    expect(readFileSync(join(dir, 'out', 'tiny.source.tokenizer.json'), 'utf8')).toBe(readFileSync(wordPiece, 'utf8'));
    expect(readFileSync(join(dir, 'out', 'tiny.target.tokenizer.json'), 'utf8')).toBe(readFileSync(bpe, 'utf8'));
  });

  it('generate --text reads the source as text and prints ids and text, the same as with ids', async () => {
    const manifest = join(dir, 'out', 'tiny.manifest.json');
    const text = await seqcJson('generate', manifest, '--text', 'Hello unbelievable World!', '--text', 'the cats');
    expect(text.diagnostics).toEqual([]);
    const library = { source: new Tokenizer(wordPieceJson(), {}), target: new Tokenizer(bpeJson(), {}) };
    const rows = text.result as {
      input: { text: string; ids: number[] };
      hypotheses: { tokens: number[]; text: string }[];
    }[];
    expect(rows.map((r) => r.input)).toEqual([
      { text: 'Hello unbelievable World!', ids: library.source.encode('Hello unbelievable World!').ids },
      { text: 'the cats', ids: library.source.encode('the cats').ids },
    ]);
    const byIds = await seqcJson('generate', manifest, ...rows.flatMap((r) => ['--src', r.input.ids.join(' ')]));
    rows.forEach((row, i) => {
      const h = row.hypotheses[0]!;
      // The same source ids give the same generated ids, and the bundle's target tokenizer writes them as text.
      expect(h.tokens).toEqual(byIds.result[i].hypotheses[0].tokens);
      expect(byIds.result[i].hypotheses[0].text).toBe(h.text);
      const kept = h.tokens.slice(0, h.tokens.includes(2) ? h.tokens.indexOf(2) : h.tokens.length);
      expect(h.text).toBe(kept.length === 0 ? '' : library.target.decode(kept, { skip_special_tokens: true }));
    });
  });

  it('a language model reads its prompt through the target tokenizer, without special tokens', async () => {
    const spec = file(
      'lm.seq',
      'model Lm {\n  decoder(bos=0, eos=2, max_length=5) {\n    -> embedding: Embedding(vocab=24, dim=4, padding_idx=1)\n    -> lstm: LSTM(hidden=6)\n    -> fc: Linear(24)\n  }\n}\n',
    );
    const out = join(dir, 'lm', 'lm.onnx');
    expect((await seqcJson('compile', spec, '-o', out, '--tokenizer', bpe)).code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'lm', 'lm.manifest.json'), 'utf8'));
    expect(Object.keys(manifest.tokenizers)).toEqual(['target']);
    expect(manifest.tokenizers.target.path).toBe('lm.tokenizer.json');
    const r = await seqcJson('generate', join(dir, 'lm', 'lm.manifest.json'), '--text', 'low new');
    expect(r.code).toBe(0);
    expect(r.result[0].input).toEqual({ text: 'low new', ids: [14, 19] });
    const byIds = await seqcJson('generate', join(dir, 'lm', 'lm.manifest.json'), '--prompt', '14 19');
    expect(r.result[0].hypotheses[0].tokens).toEqual(byIds.result[0].hypotheses[0].tokens);
    expect(typeof r.result[0].hypotheses[0].text).toBe('string');
  });

  it('one file given for both sides is stored once', async () => {
    const spec = file(
      'shared.seq',
      translator('bos=0, eos=2, max_length=6', 'vocab=24, dim=8, padding_idx=1').replace(
        'vocab=16, dim=8, padding_idx=0',
        'vocab=24, dim=8, padding_idx=1',
      ),
    );
    const r = await seqcJson('compile', spec, '-o', join(dir, 'shared', 'm.onnx'), '--tokenizer', bpe);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'shared', 'm.manifest.json'), 'utf8'));
    expect(manifest.tokenizers.source.path).toBe('m.tokenizer.json');
    expect(manifest.tokenizers.target.path).toBe('m.tokenizer.json');
    expect(r.result.files.filter((f: string) => f.endsWith('tokenizer.json'))).toHaveLength(1);
  });
});

describe('a tokenizer that does not fit the spec is reported', () => {
  const bpe = file('fit-bpe.json', bpeJson());
  const compileWith = async (spec: string, ...flags: string[]) =>
    seqcJson('compile', file('fit.seq', spec), '-o', join(dir, 'fit', 'fit.onnx'), ...flags);

  it('SEQ245: the decoder’s bos and eos differ from the tokenizer’s', async () => {
    const r = await compileWith(translator('bos=1, eos=3, max_length=6'), '--tgt-tokenizer', bpe);
    expect(r.code).toBe(1);
    expect(r.diagnostics.map((d) => [d.code, d.facts?.names?.[1], d.facts?.expected, d.facts?.found])).toEqual([
      ['SEQ245', 'bos', 0, 1],
      ['SEQ245', 'eos', 2, 3],
    ]);
    expect(r.diagnostics[0]!.hint).toContain('bos=0');
  });

  it('SEQ242: more ids than the Embedding has rows', async () => {
    const r = await compileWith(translator(), '--src-tokenizer', bpe);
    expect(codes(r.diagnostics)).toContain('SEQ242');
    expect(r.diagnostics.find((d) => d.code === 'SEQ242')!.facts).toMatchObject({ expected: 16, found: 24 });
    expect(r.code).toBe(1);
  });

  it('SEQ246 and SEQ244 are warnings: padding_idx and pad differ, logits past the last id', async () => {
    const r = await compileWith(translator(undefined, 'vocab=30, dim=8, padding_idx=5', 30), '--tgt-tokenizer', bpe);
    expect(r.code).toBe(0);
    expect(r.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['SEQ244', 'warning'],
      ['SEQ246', 'warning'],
    ]);
  });

  it('SEQ248: a tokenizer for a model without a decoder, a source tokenizer for a language model', async () => {
    const tagger =
      'model T {\n  input tokens: int64[batch, time]\n  tokens -> embedding: Embedding(vocab=24, dim=4) -> fc: Linear(3) -> output y\n}\n';
    const r = await compileWith(tagger, '--tokenizer', bpe);
    expect(r.code).toBe(2);
    expect(codes(r.diagnostics)).toEqual(['SEQ248']);
    const lm =
      'model L {\n  decoder(bos=0, eos=2, max_length=4) {\n    -> embedding: Embedding(vocab=24, dim=4)\n    -> gru: GRU(hidden=4)\n    -> fc: Linear(24)\n  }\n}\n';
    const s = await compileWith(lm, '--src-tokenizer', bpe);
    expect(s.code).toBe(2);
    expect(codes(s.diagnostics)).toEqual(['SEQ248']);
  });

  it('a malformed tokenizer file stops compile with its code, and nothing is written', async () => {
    const r = await compileWith(
      translator(),
      '--tgt-tokenizer',
      file('broken.json', '{"model": {"type": "BPE", "vocab": {"a": "zero"}}}'),
    );
    expect(r.code).toBe(1);
    expect(codes(r.diagnostics)).toEqual(['SEQ243']);
  });

  it('generate --text without a tokenizer is SEQ248', async () => {
    const spec = file('plain.seq', translator());
    const r = await seqcJson('generate', spec, '--text', 'hello');
    expect(r.code).toBe(2);
    expect(codes(r.diagnostics)).toEqual(['SEQ248']);
    const both = await seqcJson('generate', spec, '--tokenizer', bpe, '--text', 'low', '--src', '3');
    expect(codes(both.diagnostics)).toEqual(['SEQ248']);
  });

  it('a manifest whose tokenizer entry leads out of its folder is refused before reading it (SEQ321)', async () => {
    const manifestPath = join(dir, 'out', 'tiny.manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.tokenizers.target.path = '../bpe.json';
    const edited = join(dir, 'out', 'edited.manifest.json');
    writeFileSync(edited, JSON.stringify(manifest));
    const r = await seqcJson('generate', edited, '--src', '4 5');
    expect(r.code).toBe(1);
    expect(codes(r.diagnostics)).toEqual(['SEQ321']);
    manifest.tokenizers.target = { path: 'tiny.target.tokenizer.json', format: 'sentencepiece', model: 'BPE', size: 0 };
    writeFileSync(edited, JSON.stringify(manifest));
    const s = await seqcJson('generate', edited, '--src', '4 5');
    expect(codes(s.diagnostics)).toEqual(['SEQ320', 'SEQ320']);
  });
});

describe('seqc run --text', () => {
  const classifier = file(
    'classifier.seq',
    `model Classifier {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=16, dim=4, padding_idx=0) -> gru: GRU(hidden=5) -> last -> fc: Linear(3) -> output logits
}
`,
  );
  const wordPiece = file('run-wordpiece.json', wordPieceJson());

  it('encodes each text, pads the rows, fills the lengths, and gives the outputs of the same ids', async () => {
    const r = await seqcJson(
      'run',
      classifier,
      '--tokenizer',
      wordPiece,
      '--text',
      'Hello World!',
      '--text',
      'tokens=the cats sat.',
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.result.inputs.tokens).toEqual({
      text: ['Hello World!', 'the cats sat.'],
      ids: [
        [4, 5, 9],
        [10, 11, 12, 13, 14],
      ],
      tokens: [
        ['hello', 'world', '!'],
        ['the', 'cat', '##s', 'sat', '.'],
      ],
    });
    const byIds = await seqcJson(
      'run',
      classifier,
      '--input',
      'tokens=[[4, 5, 9, 0, 0], [10, 11, 12, 13, 14]]',
      '--input',
      'lengths=[3, 5]',
    );
    expect(r.result.outputs.logits).toEqual(byIds.result.logits);
  });

  it('refuses text for an input without a tokenizer, or for no input (SEQ248)', async () => {
    const none = await seqcJson('run', classifier, '--text', 'hello');
    expect(codes(none.diagnostics)).toEqual(['SEQ248']);
    const float = file(
      'float.seq',
      'model F {\n  input x: float32[batch, time, 3]\n  x -> gru: GRU(hidden=2) -> last -> output y\n}\n',
    );
    const r = await seqcJson('run', float, '--tokenizer', wordPiece, '--text', 'hello');
    expect(r.code).toBe(2);
    expect(codes(r.diagnostics)).toEqual(['SEQ248']);
  });
});

describe('the playground reads a tokenizer.json in its vocabulary box', () => {
  it('encodes text rows and decodes ids through it, as the library does', () => {
    const vocab = parseVocabulary(JSON.stringify(bpeJson(), null, 2));
    expect(vocab.problems).toBeUndefined();
    const library = new Tokenizer(bpeJson(), {});
    const rows = parseTextRows('low lower\nnewest\n', vocab.value!);
    expect(rows.value).toEqual([library.encode('low lower').ids, library.encode('newest').ids]);
    expect(detokenize([14, 15, 16, 2], vocab.value)).toBe(
      library.decode([14, 15, 16, 2], { skip_special_tokens: true }),
    );
  });

  it('shows a malformed tokenizer.json as a problem', () => {
    const vocab = parseVocabulary(JSON.stringify({ ...bpeJson(), model: { type: 'WordLevel', vocab: {} } }));
    expect(vocab.problems).toHaveLength(1);
    expect(vocab.problems![0]).toContain('WordLevel');
  });
});

describe('seqc build', () => {
  it('copies the tokenizers beside a spec into its bundle, and leaves other specs as they were', async () => {
    const specs = join(dir, 'build-specs');
    const out = join(dir, 'build-out');
    mkdirSync(specs);
    writeFileSync(join(specs, 'tiny.seq'), translator());
    writeFileSync(join(specs, 'tiny.src-tokenizer.json'), JSON.stringify(wordPieceJson()));
    writeFileSync(join(specs, 'tiny.tgt-tokenizer.json'), JSON.stringify(bpeJson()));
    writeFileSync(join(specs, 'other.seq'), translator());
    const r = await seqcJson('build', specs, '--out', out);
    expect(r.diagnostics).toEqual([]);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'tiny.manifest.json'), 'utf8'));
    expect(manifest.tokenizers.source).toMatchObject({ path: 'tiny.source.tokenizer.json', model: 'WordPiece' });
    expect(manifest.tokenizers.target).toMatchObject({ path: 'tiny.target.tokenizer.json', model: 'BPE' });
    expect(JSON.parse(readFileSync(join(out, 'other.manifest.json'), 'utf8')).tokenizers).toBeUndefined();
    const g = await seqcJson('generate', join(out, 'tiny.manifest.json'), '--text', 'hello world');
    expect(g.code).toBe(0);
    expect(g.result[0].input.ids).toEqual([4, 5]);
  });

  it('reports a tokenizer beside a spec that does not fit it, and builds nothing for that spec', async () => {
    const specs = join(dir, 'build-bad');
    mkdirSync(specs);
    writeFileSync(join(specs, 'tiny.seq'), translator('bos=1, eos=2, max_length=6'));
    writeFileSync(join(specs, 'tiny.tokenizer.json'), JSON.stringify(bpeJson()));
    const r = await seqcJson('build', specs, '--out', join(dir, 'build-bad-out'));
    expect(r.code).toBe(1);
    expect(codes(r.diagnostics)).toContain('SEQ245');
  });
});
