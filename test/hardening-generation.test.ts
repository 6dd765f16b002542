// Generation as a user meets its edges: bounded lengths, beams and work, flags checked as flags, every flag honoured or refused, one output shape, progress.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { compile, type Diagnostic } from '../src/index.js';
import type { BundleSource } from '../src/runtime/generate.js';
import { loadBundle } from '../src/runtime/node.js';
import { beamSearch, greedy, sample, type DecoderSession } from '../src/runtime/search.js';

interface Ran {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  /** The codes of the diagnostics, read from the `--json` document that a second run printed. */
  readonly codes: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
  readonly milliseconds: number;
}

/** Runs `seqc` twice, as text and under `--json`, and checks that both agree on the exit status. */
async function seqc(...argv: string[]): Promise<Ran> {
  let out = '';
  let err = '';
  const started = performance.now();
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  const milliseconds = performance.now() - started;
  let json = '';
  const jsonCode = await main([...argv, '--json'], { out: (t) => (json += t), err: () => {}, color: false });
  const document = JSON.parse(json) as { ok: boolean; exitCode: number; diagnostics: Diagnostic[] };
  expect(jsonCode).toBe(code);
  expect(document.exitCode).toBe(code);
  expect(document.ok).toBe(code === 0);
  // Every problem with a flag or a request says how to fix it.
  for (const d of document.diagnostics)
    if (['SEQ201', 'SEQ330', 'SEQ331'].includes(d.code)) expect(d.hint, d.message).toBeTruthy();
  return {
    code,
    out,
    err,
    codes: document.diagnostics.map((d) => d.code),
    diagnostics: document.diagnostics,
    milliseconds,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'seqc-generation-'));
const s2sSource = `model TinyS2S {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=20, dim=8, padding_idx=0) -> encoder: BiGRU(hidden=8)
  }
  decoder(bos=1, eos=2, max_length=6) {
    -> tgt_embedding: Embedding(vocab=12, dim=8)
    -> decoder: GRU(hidden=16)
    -> attention: Attention(score=additive)
    -> generator: Linear(12)
  }
}
`;
const lmSource = (maxLength: number): string => `model TinyLM {
  decoder(bos=1, eos=2, max_length=${maxLength}) {
    -> embedding: Embedding(vocab=9, dim=4)
    -> lstm: LSTM(hidden=6)
    -> fc: Linear(9)
  }
}
`;
const s2s = join(dir, 's2s.seq');
const lm = join(dir, 'lm.seq');
writeFileSync(s2s, s2sSource);
writeFileSync(lm, lmSource(5));

/** A compiled bundle, as `loadBundle` takes it, with its manifest changed by `edit`. */
function bundleSource(source: string, edit: (manifest: Record<string, unknown>) => void = () => {}): BundleSource {
  const compiled = compile(source, { sourceName: 'spec.seq' });
  const bundle = compiled.bundle!;
  const manifest = JSON.parse(JSON.stringify(bundle.manifest)) as Record<string, unknown>;
  edit(manifest);
  // As written to disk: graphs that read the one weights file, and that file.
  return {
    manifest,
    files: Object.fromEntries([
      ...bundle.files.map((f) => [f.file, f.sharedBytes]),
      [bundle.weights.file, bundle.weights.bytes],
    ]),
  };
}

/** Writes a bundle to disk, with its manifest edited, and returns the manifest's path. */
function writeBundle(name: string, source: string, edit: (manifest: Record<string, unknown>) => void): string {
  const bundle = bundleSource(source, edit);
  for (const [file, bytes] of Object.entries(bundle.files)) writeFileSync(join(dir, file), bytes);
  const path = join(dir, `${name}.manifest.json`);
  writeFileSync(path, JSON.stringify(bundle.manifest));
  return path;
}

describe('generation is bounded', () => {
  it('refuses a spec max_length above 4096 when checking, naming the bound', () => {
    const started = performance.now();
    const result = compile(lmSource(2 ** 31 - 1), { sourceName: 'lm.seq' });
    expect(performance.now() - started).toBeLessThan(5000);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.code)).toEqual(['SEQ023']);
    expect(errors[0]!.message).toContain("max_length=2,147,483,647 is above seqc's bound of 4096");
    expect(errors[0]!.hint).toContain('max_length=4096 or less');
    expect(errors[0]!.span.start.line).toBe(2);
    expect(result.model).toBeUndefined();
    expect(compile(lmSource(4096), { sourceName: 'lm.seq' }).diagnostics.filter((d) => d.severity === 'error')).toEqual(
      [],
    );
  });

  it('refuses --max-length 1e9 and above 4096 as a flag, before anything runs', async () => {
    for (const value of ['1e9', '1000000000', '4097']) {
      const r = await seqc('generate', s2s, '--src', '3 4', '--max-length', value);
      expect(r.code).toBe(2);
      expect(r.codes).toEqual(['SEQ201']);
      expect(r.err).toContain('from 1 to 4,096');
      expect(r.milliseconds).toBeLessThan(5000);
    }
    expect((await seqc('generate', s2s, '--src', '3 4', '--max-length', '4096')).code).toBe(0);
  });

  it('bounds rows × hypotheses × length, says how many rows fit, and runs nothing', async () => {
    const r = await seqc('generate', lm, '--prompt', '3', '--prompt', '4', '--beam', '256', '--max-length', '4096');
    expect(r.code).toBe(2);
    expect(r.codes).toEqual(['SEQ330']);
    expect(r.err).toContain(
      "2 rows × 256 hypotheses × 4,096 tokens is 2,097,152 token positions, above seqc's bound of 1,048,576",
    );
    expect(r.err).toContain('generate at most 1 row per call');
    expect(r.milliseconds).toBeLessThan(5000);

    const { bundle } = await loadBundle(bundleSource(s2sSource));
    const rows = Array.from({ length: 300 }, () => [3, 4]);
    const over = await bundle!.generate(rows, { strategy: 'beam', beam: { width: 256 }, maxLength: 4096 });
    expect(over.rows).toBeUndefined();
    expect(over.diagnostics.map((d) => [d.code, d.hint])).toEqual([
      [
        'SEQ330',
        'generate at most 1 row per call with these settings, or lower the hypotheses per row or the maximum length; the bound is fixed',
      ],
    ]);
    const greedyRows = Array.from({ length: 2 ** 20 / 64 + 1 }, () => [3]);
    const greedyOver = await bundle!.generate(greedyRows, { strategy: 'greedy', maxLength: 64 });
    expect(greedyOver.diagnostics.map((d) => d.hint)).toEqual([
      'generate at most 16,384 rows per call with these settings, or lower the maximum length; the bound is fixed',
    ]);
    await bundle!.release();
  });

  it('bounds the library: maxLength, beam width and samples give SEQ330 before a step runs', async () => {
    const { bundle } = await loadBundle(bundleSource(s2sSource));
    const cases = [
      {
        options: { strategy: 'greedy', maxLength: 1e9 },
        says: "maxLength is 1,000,000,000, above seqc's bound of 4096 generated tokens",
      },
      {
        options: { strategy: 'beam', beam: { width: 130_000 } },
        says: "beam.width is 130,000, above seqc's bound of 256",
      },
      {
        options: { strategy: 'sample', sample: { count: 1000 } },
        says: "sample.count is 1,000, above seqc's bound of 256",
      },
      {
        options: { strategy: 'greedy', prompt: [Array.from({ length: 5000 }, () => 3)] },
        says: "prompt row 0 has 5,000 tokens, above seqc's bound of 4096",
      },
    ] as const;
    for (const { options, says } of cases) {
      const started = performance.now();
      const result = await bundle!.generate([[3, 4]], options);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(result.diagnostics.map((d) => d.code)).toEqual(['SEQ330']);
      expect(result.diagnostics[0]!.message).toBe(says);
    }
    await bundle!.release();
  });

  it("bounds a language model's prompt in the host loop and in the greedy graph", async () => {
    const { bundle } = await loadBundle(bundleSource(lmSource(5)));
    const long = [Array.from({ length: 4097 }, () => 3)];
    for (const result of [
      await bundle!.generate([], { strategy: 'greedy', prompt: long }),
      await bundle!.runGreedyGraph(long),
    ]) {
      expect(result.diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([
        [
          'SEQ330',
          "prompt row 0 has 4,097 tokens, above seqc's bound of 4096",
          'keep the last 4096 tokens of the prompt',
        ],
      ]);
    }
    expect((await bundle!.runGreedyGraph([long[0]!.slice(1)])).diagnostics).toEqual([]);
    await bundle!.release();
  });

  it('bounds a bundle whose manifest asks for 2^31 − 1 tokens, and lets --max-length override it', async () => {
    const manifest = writeBundle('huge', lmSource(5), (m) => (m['maxLength'] = 2 ** 31 - 1));
    const host = await seqc('generate', manifest, '--prompt', '3');
    expect(host.code).toBe(1);
    expect(host.codes).toEqual(['SEQ330']);
    expect(host.err).toContain("the bundle's max_length is 2,147,483,647, above seqc's bound of 4096");
    expect(host.err).toContain('pass a maxLength of at most 4096');
    const graph = await seqc(
      'generate',
      manifest,
      '--prompt',
      '3',
      '--greedy-graph',
      '--max-length',
      String(2 ** 31 - 1),
    );
    expect(graph.code).toBe(2);
    expect(graph.codes).toEqual(['SEQ201']);
    const graphDefault = await seqc('generate', manifest, '--prompt', '3', '--greedy-graph');
    expect(graphDefault.code).toBe(1);
    expect(graphDefault.err).toContain("the greedy graph's max_length is 2,147,483,647");
    const bounded = await seqc('generate', manifest, '--prompt', '3', '--max-length', '4');
    expect(bounded.code).toBe(0);
    expect(JSON.parse(bounded.out)[0].hypotheses[0].tokens.length).toBeLessThanOrEqual(4);
  });
});

/** A decoder over `vocab` ids whose logits favour low ids; `steps` counts its calls. */
function flatSession(
  batch: number,
  vocab: number,
  options: { stopAt?: number } = {},
): DecoderSession<number> & { steps: number } {
  const session = {
    batch,
    steps: 0,
    start: async () => batch,
    step: async (tokens: Int32Array) => {
      session.steps++;
      if (options.stopAt !== undefined && session.steps >= options.stopAt)
        throw new Error(`stopped at step ${session.steps}`);
      const logits = new Float32Array(tokens.length * vocab);
      for (let r = 0; r < tokens.length; r++) for (let v = 0; v < vocab; v++) logits[r * vocab + v] = -v / vocab;
      return { logits, state: tokens.length };
    },
    select: (_state: number, rows: Int32Array) => rows.length,
  };
  return session;
}

describe('beam width and counts', () => {
  it('refuses --beam 130000, --nbest above the beam and --top-k above the vocabulary', async () => {
    const wide = await seqc('generate', s2s, '--src', '3', '--beam', '130000');
    expect([wide.code, wide.codes]).toEqual([2, ['SEQ201']]);
    expect(wide.err).toContain('from 1 to 256');
    expect(wide.diagnostics[0]!.hint).toContain('the bound is fixed');
    const nbest = await seqc('generate', s2s, '--src', '3', '--beam', '3', '--nbest', '5');
    expect([nbest.code, nbest.codes]).toEqual([2, ['SEQ331']]);
    expect(nbest.err).toContain('`--nbest 5` asks for more hypotheses than `--beam 3` keeps');
    const topK = await seqc('generate', s2s, '--src', '3', '--sample', '--top-k', '13');
    expect([topK.code, topK.codes]).toEqual([2, ['SEQ201']]);
    expect(topK.err).toContain("from 1 to 12 (TinyS2S's vocabulary)");
    expect((await seqc('generate', s2s, '--src', '3', '--sample', '--top-k', '12')).code).toBe(0);
  });

  it('keeps 200,000 live hypotheses without spreading them into a call', async () => {
    // The session stops at the second step: the first has already chosen 200,000 live beams.
    const session = flatSession(1, 200_001, { stopAt: 2 });
    await expect(beamSearch(session, { bos: 0, eos: 1, maxLength: 3, width: 200_000 })).rejects.toThrow(
      'stopped at step 2',
    );
  });

  it('reports 200,000 empty source rows as diagnostics, without spreading them', async () => {
    const { bundle } = await loadBundle(bundleSource(s2sSource));
    const result = await bundle!.generate(
      Array.from({ length: 200_000 }, () => []),
      { strategy: 'greedy', maxLength: 1 },
    );
    expect(result.diagnostics).toHaveLength(200_000);
    expect(new Set(result.diagnostics.map((d) => d.code))).toEqual(new Set(['SEQ301']));
    await bundle!.release();
  });
});

describe('flags are checked as flags', () => {
  const malformed: readonly (readonly string[])[] = [
    ['--sample', '--temperature', '1e-320'],
    ['--sample', '--temperature', '0'],
    ['--sample', '--temperature', '-1'],
    ['--sample', '--temperature', 'Infinity'],
    ['--sample', '--temperature', 'warm'],
    ['--sample', '--top-p', '0'],
    ['--sample', '--top-p', '1.5'],
    ['--sample', '--top-k', '0'],
    ['--sample', '--top-k', '2.5'],
    ['--sample', '--sample-seed', '1.5'],
    ['--sample', '--sample-seed', '-1'],
    ['--sample', '--sample-seed', '4294967296'],
    ['--beam', '2', '--length-penalty', '-1'],
    ['--beam', '2', '--length-penalty', 'NaN'],
    ['--beam', '0x10'],
    ['--beam', '1e1'],
    ['--min-length', '-1'],
    ['--max-length', '0'],
  ];
  for (const flags of malformed) {
    it(`refuses ${flags.join(' ')} with exit 2 before reading the spec`, async () => {
      // The spec does not exist: a flag problem is reported before any file is read.
      const r = await seqc('generate', join(dir, 'missing.seq'), '--src', '3', ...flags);
      expect(r.code).toBe(2);
      expect(r.codes).toEqual(['SEQ201']);
      expect(r.err).toContain(`found \`${flags[flags.length - 1]}\``);
    });
  }

  it('says how to decode greedily when the temperature is too small', async () => {
    const r = await seqc('generate', s2s, '--src', '3', '--sample', '--temperature', '1e-320');
    expect(r.diagnostics[0]!.message).toBe('`--temperature` must be a number from 0.000001 up, found `1e-320`');
    expect(r.diagnostics[0]!.hint).toContain('leave out --sample');
  });

  it('samples at any positive temperature in the library: a tiny one is greedy, not a failure', async () => {
    const expected = await greedy(flatSession(2, 7), { bos: 0, eos: 6, maxLength: 4 });
    for (const temperature of [1e-320, 5e-324, 1e-6]) {
      const sampled = await sample(flatSession(2, 7), { bos: 0, eos: 6, maxLength: 4, temperature });
      expect(sampled.map((r) => r[0]!.tokens)).toEqual(expected.map((h) => h.tokens));
    }
  });

  it('refuses --min-length above the max length with both numbers', async () => {
    const flag = await seqc('generate', s2s, '--src', '3', '--min-length', '5', '--max-length', '3');
    expect([flag.code, flag.codes]).toEqual([2, ['SEQ331']]);
    expect(flag.err).toContain('`--min-length 5` is above `--max-length 3`');
    const spec = await seqc('generate', s2s, '--src', '3', '--min-length', '9');
    expect([spec.code, spec.codes]).toEqual([2, ['SEQ331']]);
    expect(spec.err).toContain("`--min-length 9` is above TinyS2S's max_length of 6");
    expect(spec.diagnostics[0]!.hint).toBe('ask for --min-length 6 or less, or raise --max-length');
  });
});

describe('every flag takes effect or is refused', () => {
  const refusedWithGreedyGraph = [
    ['--beam', '2'],
    ['--sample'],
    ['--nbest', '1'],
    ['--length-penalty', '1'],
    ['--min-length', '1'],
    ['--attention'],
    ['--temperature', '1'],
    ['--top-k', '1'],
    ['--top-p', '0.5'],
    ['--sample-seed', '1'],
  ];
  for (const flag of refusedWithGreedyGraph) {
    it(`refuses --greedy-graph with ${flag.join(' ')}`, async () => {
      const r = await seqc('generate', s2s, '--src', '3 4', '--greedy-graph', ...flag);
      expect([r.code, r.codes]).toEqual([2, ['SEQ331']]);
      expect(r.err).toContain(`\`${flag[0]}\` would have no effect`);
      expect(r.diagnostics[0]!.hint).toContain('leave out --greedy-graph');
    });
  }

  it('takes --max-length with --greedy-graph only when it is the compiled one', async () => {
    const other = await seqc('generate', s2s, '--src', '3 4', '--greedy-graph', '--max-length', '9');
    expect([other.code, other.codes]).toEqual([2, ['SEQ331']]);
    expect(other.err).toContain('compiled with max_length=6');
    expect(other.diagnostics[0]!.hint).toContain('set max_length=9 in the spec and compile again');
    expect((await seqc('generate', s2s, '--src', '3 4', '--greedy-graph', '--max-length', '6')).code).toBe(0);
    const prefix = await seqc('generate', s2s, '--src', '3 4', '--greedy-graph', '--prompt', '5');
    expect([prefix.code, prefix.codes]).toEqual([2, ['SEQ331']]);
  });

  const wrongDecoding: readonly [string[], string][] = [
    [['--top-p', '0.5'], 'add --sample'],
    [['--top-k', '3'], 'add --sample'],
    [['--temperature', '0.7'], 'add --sample'],
    [['--sample-seed', '3'], 'add --sample'],
    [['--beam', '2', '--top-k', '3'], 'use --sample instead of --beam, or leave out --top-k'],
    [['--nbest', '1'], 'add --beam N'],
    [['--length-penalty', '0.6'], 'add --beam N'],
    [['--sample', '--nbest', '1'], 'use --beam N instead of --sample, or leave out --nbest'],
    [['--beam', '2', '--sample'], 'choose one'],
  ];
  for (const [flags, hint] of wrongDecoding) {
    it(`refuses ${flags.join(' ')}`, async () => {
      const r = await seqc('generate', s2s, '--src', '3 4', ...flags);
      expect([r.code, r.codes]).toEqual([2, ['SEQ331']]);
      expect(r.diagnostics[0]!.hint).toContain(hint);
    });
  }

  it('refuses flags the model or a compiled bundle cannot use', async () => {
    const attention = await seqc('generate', lm, '--prompt', '3', '--attention');
    expect([attention.code, attention.codes]).toEqual([2, ['SEQ331']]);
    expect(attention.err).toContain("TinyLM's decoder has no attention");
    const vocab = join(dir, 'vocab.json');
    writeFileSync(vocab, JSON.stringify(['<pad>', '<s>', '</s>', 'a', 'b', 'c', 'd', 'e', 'f']));
    const srcVocab = await seqc('generate', lm, '--prompt', '3', '--src-vocab', vocab);
    expect([srcVocab.code, srcVocab.codes]).toEqual([2, ['SEQ331']]);
    const manifest = writeBundle('plain', lmSource(5), () => {});
    for (const flag of [
      ['--weights', join(dir, 'w.safetensors')],
      ['--seed', '3'],
      ['--opset', '17'],
    ]) {
      const r = await seqc('generate', manifest, '--prompt', '3', ...flag);
      expect([r.code, r.codes]).toEqual([2, ['SEQ331']]);
      expect(r.err).toContain('is a compiled bundle');
    }
  });

  it('honours --max-length and --min-length in the host loop', async () => {
    const rowsOf = (r: Ran): { tokens: number[] }[][] =>
      JSON.parse(r.out).map((row: { hypotheses: { tokens: number[] }[] }) => row.hypotheses);
    for (const decoding of [[], ['--beam', '3', '--nbest', '3'], ['--sample', '--sample-seed', '5']]) {
      const short = rowsOf(
        await seqc('generate', s2s, '--src', '3 4 5', '--src', '9', '--max-length', '2', ...decoding),
      );
      for (const h of short.flat()) expect(h.tokens.length).toBeLessThanOrEqual(2);
      const long = rowsOf(
        await seqc(
          'generate',
          s2s,
          '--src',
          '3 4 5',
          '--src',
          '9',
          '--min-length',
          '4',
          '--max-length',
          '5',
          ...decoding,
        ),
      );
      for (const h of long.flat()) expect(h.tokens.slice(0, 4)).not.toContain(2);
    }
  });
});

describe('one output shape for every decoding', () => {
  const tgtVocab = join(dir, 'tgt.json');
  writeFileSync(tgtVocab, JSON.stringify(['<pad>', '<s>', '</s>', ...'abcdefghi']));
  const decodings: readonly [string, string[], readonly string[]][] = [
    ['greedy', [], ['tokens', 'text', 'score', 'logProb', 'attention']],
    ['greedy graph', ['--greedy-graph'], ['tokens', 'text']],
    ['beam', ['--beam', '3', '--nbest', '2'], ['tokens', 'text', 'score', 'logProb', 'attention']],
    ['sample', ['--sample', '--top-k', '5'], ['tokens', 'text', 'score', 'logProb', 'attention']],
  ];
  for (const [name, flags, keys] of decodings) {
    it(`prints rows of hypotheses for ${name}, as text and under --json`, async () => {
      const attention = name === 'greedy graph' ? [] : ['--attention'];
      const r = await seqc(
        'generate',
        s2s,
        '--src',
        '3 4 5',
        '--src',
        '6',
        '--tgt-vocab',
        tgtVocab,
        ...attention,
        ...flags,
      );
      expect(r.code).toBe(0);
      const rows = JSON.parse(r.out) as { hypotheses: Record<string, unknown>[] }[];
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        expect(Object.keys(row)).toEqual(['hypotheses']);
        expect(row.hypotheses.length).toBe(name === 'beam' ? 2 : 1);
        for (const h of row.hypotheses) {
          expect(Object.keys(h)).toEqual(keys);
          expect((h['tokens'] as number[]).every((t) => Number.isInteger(t))).toBe(true);
          expect(typeof h['text']).toBe('string');
        }
      }
      let json = '';
      await main(
        ['generate', s2s, '--src', '3 4 5', '--src', '6', '--tgt-vocab', tgtVocab, ...attention, ...flags, '--json'],
        { out: (t) => (json += t), err: () => {}, color: false },
      );
      const document = JSON.parse(json);
      expect(document).toMatchObject({ ok: true, exitCode: 0, diagnostics: [] });
      expect(document.result).toEqual(rows);
    });
  }

  it('greedy in the host loop and in the graph give the same tokens', async () => {
    const tokens = (r: Ran): number[][] =>
      JSON.parse(r.out).map((row: { hypotheses: { tokens: number[] }[] }) => row.hypotheses[0]!.tokens);
    const host = await seqc('generate', s2s, '--src', '3 4 5', '--src', '6');
    const graph = await seqc('generate', s2s, '--src', '3 4 5', '--src', '6', '--greedy-graph');
    expect(tokens(graph)).toEqual(tokens(host));
  });

  it('puts errors in the --json document too', async () => {
    let json = '';
    const code = await main(['generate', s2s, '--src', '3', '--top-k', '3', '--json'], {
      out: (t) => (json += t),
      err: () => {},
      color: false,
    });
    expect(code).toBe(2);
    const document = JSON.parse(json);
    expect(document).toMatchObject({ ok: false, exitCode: 2, result: null });
    expect(document.diagnostics[0]).toMatchObject({ code: 'SEQ331', hint: 'add --sample, or leave out --top-k' });
  });
});

describe('progress', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Runs seqc generate over 40 rows with standard error as a terminal or not, and returns what it wrote there. */
  async function progressOf(
    tty: boolean,
    ...extra: string[]
  ): Promise<{ stderr: string; ran: { code: number; err: string } }> {
    const rows = Array.from({ length: 40 }, (_, i) => ['--src', `${3 + (i % 9)} 4`]).flat();
    let stderr = '';
    const wasTTY = process.stderr.isTTY;
    process.stderr.isTTY = tty;
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    let err = '';
    try {
      const code = await main(['generate', s2s, ...rows, ...extra], {
        out: () => {},
        err: (t) => (err += t),
        color: false,
      });
      return { stderr, ran: { code, err } };
    } finally {
      process.stderr.isTTY = wasTTY;
    }
  }

  it('draws rows generated on a terminal and clears the line', async () => {
    const { stderr, ran } = await progressOf(true, '--beam', '2');
    expect(ran.code).toBe(0);
    expect(stderr).toMatch(/^\rrows generated: \d+\/40 \(\d+%\)/);
    expect(stderr.endsWith('\r\u001b[K')).toBe(true);
  });

  it('stays quiet when piped and under --json', async () => {
    const piped = await progressOf(false);
    expect(piped.ran.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.ran.err).toBe('');
    const json = await progressOf(true, '--json');
    expect(json.ran.code).toBe(0);
    expect(json.stderr).toBe('');
  });

  it('counts finished rows in the searches', async () => {
    for (const run of [
      (onProgress: (n: number) => void) => greedy(flatSession(3, 5), { bos: 0, eos: 4, maxLength: 3, onProgress }),
      (onProgress: (n: number) => void) =>
        beamSearch(flatSession(3, 5), { bos: 0, eos: 4, maxLength: 3, width: 2, onProgress }),
      (onProgress: (n: number) => void) =>
        sample(flatSession(3, 5), { bos: 0, eos: 4, maxLength: 3, count: 2, onProgress }),
    ]) {
      const seen: number[] = [];
      await run((n) => seen.push(n));
      expect(seen[seen.length - 1]).toBe(3);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    }
  });
});
