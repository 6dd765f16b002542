// Artifacts fit to deploy: the same bytes from any folder, a bundle's weights stored once, models past 2 GiB, and progress for long compiles.

import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { compileProgress } from '../src/cli/progress.js';
import { compile, decodeModel } from '../src/index.js';
import { encodeModel } from '../src/onnx/encode.js';
import {
  encodeModelInto,
  externalAlignment,
  externalLocations,
  needsWeightsFile,
  startWeightsFile,
  weightsFileBytes,
} from '../src/onnx/external.js';
import { loadBundle } from '../src/runtime/node.js';

async function seqc(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { code, out, err };
}

const classifier = `model Tiny {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=300, dim=16, padding_idx=0) -> gru: BiGRU(hidden=24) -> mean -> fc: Linear(3) -> output probs
}
`;

const translator = `model Small {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=400, dim=32, padding_idx=0) -> encoder: BiLSTM(hidden=32)
  }
  decoder(bos=1, eos=2, max_length=12) {
    -> tgt_embedding: Embedding(vocab=500, dim=32)
    -> decoder: LSTM(hidden=64)
    -> attention: Attention(score=general)
    -> generator: Linear(500)
  }
}
`;

const root = mkdtempSync(join(tmpdir(), 'seqc-artifacts-'));

/** Every file in a folder with its bytes. */
function filesOf(dir: string): Map<string, Buffer> {
  return new Map(
    readdirSync(dir)
      .filter((f) => statSync(join(dir, f)).isFile())
      .map((f) => [f, readFileSync(join(dir, f))]),
  );
}

describe('reproducible artifacts', () => {
  it('gives byte-identical models and bundles for the same spec in two folders, with no folder inside', async () => {
    const folders = [join(root, 'alice', 'specs'), join(root, 'bob', 'deep', 'work')];
    for (const folder of folders) {
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'tiny.seq'), classifier);
      writeFileSync(join(folder, 'small.seq'), translator);
      expect((await seqc('compile', join(folder, 'tiny.seq'), '--seed', '3')).code).toBe(0);
      expect((await seqc('compile', join(folder, 'small.seq'), '--seed', '3')).code).toBe(0);
    }
    const [first, second] = folders.map((f) => filesOf(f));
    expect([...first!.keys()].sort()).toEqual([
      'small.encoder.onnx',
      'small.greedy.onnx',
      'small.manifest.json',
      'small.onnx',
      'small.seq',
      'small.step.onnx',
      'small.weights.bin',
      'tiny.onnx',
      'tiny.seq',
    ]);
    expect([...second!.keys()].sort()).toEqual([...first!.keys()].sort());
    for (const [name, bytes] of first!) {
      expect(Buffer.compare(bytes, second!.get(name)!), name).toBe(0);
      for (const folder of [...folders, root, tmpdir()])
        expect(bytes.includes(Buffer.from(folder)), `${name} contains ${folder}`).toBe(false);
    }
    const model = decodeModel(new Uint8Array(first!.get('tiny.onnx')!));
    expect(model.metadataProps.find((p) => p.key === 'seqc.source_name')?.value).toBe('tiny.seq');
    expect(model.graph.nodes.find((n) => n.name === 'gru/l0/forward/GRU')?.docString).toMatch(/^tiny\.seq:4:\d+$/);
  });
});

describe('a bundle stores its weights once', () => {
  const dir = join(root, 'bundle');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'small.seq'), translator);
  const compiled = compile(translator, { sourceName: 'small.seq', seed: 5 });
  const bundle = compiled.bundle!;
  const parameterBytes = 4 * compiled.summary!.totalParameters;
  const sources = [
    [3, 17, 9, 2],
    [5, 4],
  ];

  it('writes one weights file that every graph reads, the whole bundle about one copy of the weights', async () => {
    const r = await seqc('compile', join(dir, 'small.seq'), '--seed', '5');
    expect(r.code).toBe(0);
    const files = filesOf(dir);
    const manifest = JSON.parse(files.get('small.manifest.json')!.toString('utf8'));
    expect(manifest.weights).toEqual({ path: 'small.weights.bin', bytes: files.get('small.weights.bin')!.length });
    const total = [...files].filter(([name]) => name !== 'small.seq').reduce((n, [, bytes]) => n + bytes.length, 0);
    expect(total).toBeLessThan(1.2 * parameterBytes);
    // Before, each of the four graphs held its own copy: more than three times the parameters.
    expect(bundle.files.reduce((n, f) => n + f.bytes.length, 0)).toBeGreaterThan(3 * parameterBytes);
    for (const f of bundle.files) {
      const graph = decodeModel(f.sharedBytes);
      const external = graph.graph.initializers.filter((t) => t.external !== undefined);
      expect(external.length, f.file).toBeGreaterThan(0);
      for (const t of external) {
        expect(t.external!.location).toBe('small.weights.bin');
        expect(t.external!.offset % externalAlignment).toBe(0);
      }
      // Decoding and encoding again keeps the references as they are.
      expect(Buffer.compare(Buffer.from(encodeModel(graph)), Buffer.from(f.sharedBytes)), f.file).toBe(0);
    }
    // The step graph and the greedy graph read the same decoder weights from the same place.
    const step = decodeModel(bundle.files.find((f) => f.role === 'step')!.sharedBytes).graph.initializers;
    const greedy = decodeModel(bundle.files.find((f) => f.role === 'greedy')!.sharedBytes).graph.initializers;
    const generator = (list: typeof step) => list.find((t) => t.name === 'generator.weight')?.external;
    expect(generator(step)).toBeDefined();
    expect(generator(step)).toEqual(generator(greedy));
  });

  it('decodes with `seqc generate` on the written bundle as with graphs that hold their own weights', async () => {
    const args = sources.flatMap((row) => ['--src', row.join(' ')]);
    const r = await seqc('generate', join(dir, 'small.manifest.json'), ...args);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const written = (JSON.parse(r.out) as { hypotheses: { tokens: number[] }[] }[]).map(
      (row) => row.hypotheses[0]!.tokens,
    );
    // The bundle as it was before weights were shared: every graph with its own copy, no weights entry.
    const { weights: _, ...oldManifest } = bundle.manifest;
    const oldFiles = Object.fromEntries(bundle.files.map((f) => [f.file, f.bytes]));
    const old = await loadBundle({ manifest: oldManifest, files: oldFiles });
    const before = await old.bundle!.generate(sources, { strategy: 'greedy' });
    expect(written).toEqual(before.rows!.map((row) => row.hypotheses[0]!.tokens));
    expect(written.every((tokens) => tokens.length > 0)).toBe(true);
    await old.bundle!.release();
  });

  it('opens through the library from the graphs and the one weights file, whose bytes every session shares', async () => {
    const files = {
      ...Object.fromEntries(bundle.files.map((f) => [f.file, f.sharedBytes])),
      [bundle.weights.file]: bundle.weights.bytes,
    };
    const loaded = await loadBundle({ manifest: bundle.manifest, files });
    expect(loaded.diagnostics).toEqual([]);
    const greedy = await loaded.bundle!.runGreedyGraph(sources);
    const searched = await loaded.bundle!.generate(sources, { strategy: 'greedy' });
    expect(greedy.rows).toEqual(searched.rows!.map((row) => row.hypotheses[0]!.tokens));
    await loaded.bundle!.release();
  });

  it('reports a missing weights file as SEQ312 with a hint, not a crash', async () => {
    const files = Object.fromEntries(bundle.files.map((f) => [f.file, f.sharedBytes]));
    const loaded = await loadBundle({ manifest: bundle.manifest, files });
    expect(loaded.bundle).toBeUndefined();
    expect(loaded.diagnostics.map((d) => d.code)).toContain('SEQ312');
    expect(loaded.diagnostics.map((d) => d.hint).join(' ')).toMatch(/small\.weights\.bin/);
  });

  it('opens a bundle too small to have external tensors, whose weights file is empty', async () => {
    const lmDir = join(root, 'lm');
    mkdirSync(lmDir, { recursive: true });
    writeFileSync(
      join(lmDir, 'lm.seq'),
      'model TinyLM {\n  decoder(bos=1, eos=2, max_length=5) {\n    -> embedding: Embedding(vocab=9, dim=4)\n    -> lstm: LSTM(hidden=6)\n    -> fc: Linear(9)\n  }\n}\n',
    );
    expect((await seqc('compile', join(lmDir, 'lm.seq'))).code).toBe(0);
    expect(readFileSync(join(lmDir, 'lm.weights.bin')).length).toBe(0);
    const r = await seqc('generate', join(lmDir, 'lm.manifest.json'), '--prompt', '3 4');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('does the same for a --target webgpu bundle', async () => {
    const gpuDir = join(root, 'webgpu');
    mkdirSync(gpuDir, { recursive: true });
    writeFileSync(join(gpuDir, 'small.seq'), translator);
    expect((await seqc('compile', join(gpuDir, 'small.seq'), '--seed', '5', '--target', 'webgpu')).code).toBe(0);
    const files = filesOf(gpuDir);
    expect(files.has('small.weights.bin')).toBe(true);
    // The scoring graph's MatMuls transpose the step graph's weights in the graph instead of storing a
    // transposed copy, so the weights file holds one copy; the unrolled greedy graph is larger than a Loop.
    expect(files.get('small.weights.bin')!.length).toBeLessThan(1.02 * parameterBytes);
    const total = [...files].filter(([name]) => name !== 'small.seq').reduce((n, [, bytes]) => n + bytes.length, 0);
    expect(total).toBeLessThan(1.3 * parameterBytes);
    const gpu = compile(translator, { sourceName: 'small.seq', seed: 5, target: 'webgpu' }).bundle!;
    const args = sources.flatMap((row) => ['--src', row.join(' ')]);
    const r = await seqc('generate', join(gpuDir, 'small.manifest.json'), ...args);
    expect(r.code).toBe(0);
    const { weights: _, ...oldManifest } = gpu.manifest;
    const old = await loadBundle({
      manifest: oldManifest,
      files: Object.fromEntries(gpu.files.map((f) => [f.file, f.bytes])),
    });
    const before = await old.bundle!.generate(sources, { strategy: 'greedy' });
    expect(
      (JSON.parse(r.out) as { hypotheses: { tokens: number[] }[] }[]).map((row) => row.hypotheses[0]!.tokens),
    ).toEqual(before.rows!.map((row) => row.hypotheses[0]!.tokens));
    await old.bundle!.release();
  });
});

describe('models past 2 GiB', () => {
  // 800,000 × 1,024 floats: 3.05 GiB of parameters, more than one ONNX file holds.
  const large = `model Large {
  input tokens: int64[batch, time]
  tokens -> embedding: Embedding(vocab=800000, dim=1024) -> mean -> fc: Linear(4) -> output y
}
`;

  it('are checked and summarized at any size', async () => {
    const spec = join(root, 'large.seq');
    writeFileSync(spec, large);
    const checked = await seqc('check', spec);
    expect(checked.err).toBe('');
    expect(checked.code).toBe(0);
    const summary = await seqc('summary', spec);
    expect(summary.code).toBe(0);
    expect(summary.out).toMatch(/819,204,100/);
  });

  it('refuse, before allocating anything, weights past what one weights file can hold (SEQ051)', async () => {
    const spec = join(root, 'huge.seq');
    writeFileSync(
      spec,
      'model Huge {\n  input tokens: int64[batch, time]\n  tokens -> embedding: Embedding(vocab=600000000, dim=1000) -> mean -> output y\n}\n',
    );
    const started = Date.now();
    const r = await seqc('compile', spec);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error\[SEQ051\]: Huge has 2235\.2 GiB of float32 weights/);
    expect(r.err).toMatch(/hint: /);
    expect(existsSync(join(root, 'huge.onnx'))).toBe(false);
  });

  it('go to a weights file when the model with its metadata would reach the limit', () => {
    expect(needsWeightsFile(1000, 2000, 4000)).toBe(false);
    expect(needsWeightsFile(2000, 2000, 4000)).toBe(true);
    // The embedded spec counts: a long comment makes the graph alone larger.
    const comment = `# ${'x'.repeat(100_000)}\n`;
    const plain = compile(classifier, { seed: 1 }).proto!;
    const commented = compile(comment + classifier, { seed: 1 }).proto!;
    const sizeOf = (proto: typeof plain): { graph: number; weights: number } => {
      const file = startWeightsFile('w.bin');
      return { graph: encodeModelInto(proto, file).length, weights: file.size };
    };
    const a = sizeOf(plain);
    const b = sizeOf(commented);
    expect(b.weights).toBe(a.weights);
    expect(b.graph - a.graph).toBeGreaterThanOrEqual(100_000);
    const limit = a.graph + a.weights + 50_000;
    expect(needsWeightsFile(a.graph, a.weights, limit)).toBe(false);
    expect(needsWeightsFile(b.graph, b.weights, limit)).toBe(true);
    // The inline encoding never exceeds what the decision counted.
    expect(encodeModel(commented).length).toBeLessThanOrEqual(b.graph + b.weights);
  });

  it("can keep any model's weights beside it with --external-weights, and `seqc run` finds them", async () => {
    const dir = join(root, 'external');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tiny.seq'), classifier);
    const external = await seqc(
      'compile',
      join(dir, 'tiny.seq'),
      '--external-weights',
      '-o',
      join(dir, 'out', 'model.onnx'),
    );
    expect(external.code).toBe(0);
    expect(existsSync(join(dir, 'out', 'model.weights.bin'))).toBe(true);
    const modelBytes = new Uint8Array(readFileSync(join(dir, 'out', 'model.onnx')));
    expect(externalLocations(modelBytes)).toEqual(['model.weights.bin']);
    expect(modelBytes.length).toBeLessThan(20_000);
    expect((await seqc('compile', join(dir, 'tiny.seq'), '-o', join(dir, 'inline.onnx'))).code).toBe(0);
    expect(externalLocations(new Uint8Array(readFileSync(join(dir, 'inline.onnx'))))).toEqual([]);
    const inputs = ['--input', 'tokens=[[1,2,3],[4,5,0]]', '--input', 'lengths=[3,2]'];
    const a = await seqc('run', join(dir, 'out', 'model.onnx'), ...inputs);
    const b = await seqc('run', join(dir, 'inline.onnx'), ...inputs);
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    // ONNX Runtime on its own reads the same file.
    const session = await ort.InferenceSession.create(modelBytes, {
      externalData: [{ path: 'model.weights.bin', data: readFileSync(join(dir, 'out', 'model.weights.bin')) }],
    });
    expect(session.outputNames).toEqual(['probs']);
    // Without the weights file, a diagnostic says which file is missing.
    cpSync(join(dir, 'out', 'model.onnx'), join(dir, 'alone.onnx'));
    const alone = await seqc('run', join(dir, 'alone.onnx'), ...inputs);
    expect(alone.code).toBe(1);
    expect(alone.err).toMatch(/error\[SEQ311\].*model\.weights\.bin/);
  });

  it('lays tensors out aligned, each name stored once', () => {
    const file = startWeightsFile('w.bin');
    const proto = compile(classifier, { seed: 2 }).proto!;
    encodeModelInto(proto, file);
    const size = file.size;
    encodeModelInto(proto, file);
    expect(file.size).toBe(size);
    expect(weightsFileBytes(file).length).toBe(size);
    expect(file.pieces.every((p) => p.offset % externalAlignment === 0)).toBe(true);
  });
});

describe('progress', () => {
  it('reports initializing and writing the weights through onProgress, ending at the totals', () => {
    const events: [string, number, number][] = [];
    const result = compile(translator, {
      seed: 1,
      onProgress: (stage, done, total) => events.push([stage, done, total]),
    });
    const parameters = result.summary!.totalParameters;
    const weights = events.filter(([stage]) => stage === 'weights');
    expect(weights[0]).toEqual(['weights', 0, parameters]);
    expect(weights.at(-1)).toEqual(['weights', parameters, parameters]);
    expect(weights.length).toBeGreaterThan(5);
    expect([...new Set(events.map(([stage]) => stage))]).toEqual(['weights', 'lower', 'encode']);
    const encode = events.filter(([stage]) => stage === 'encode');
    expect(encode.at(-1)![1]).toBe(encode.at(-1)![2]);
    for (let i = 1; i < weights.length; i++) expect(weights[i]![1]).toBeGreaterThanOrEqual(weights[i - 1]![1]);
    // The weights are the same as without progress.
    const quiet = compile(translator, { seed: 1 });
    expect(Buffer.compare(Buffer.from(quiet.bundle!.weights.bytes), Buffer.from(result.bundle!.weights.bytes))).toBe(0);
  });

  it('draws compile progress on a terminal only', () => {
    let drawn = '';
    const onTerminal = compileProgress({ out: () => {}, err: () => {}, color: false }, 'small.seq', {
      isTTY: true,
      write: (t) => (drawn += t),
    });
    onTerminal('weights', 0, 10);
    onTerminal('weights', 10, 10);
    expect(drawn).toMatch(/small\.seq: initializing weights: 10\/10 \(100%\)/);
    let piped = '';
    const whenPiped = compileProgress({ out: () => {}, err: () => {}, color: false }, 'small.seq', {
      isTTY: false,
      write: (t) => (piped += t),
    });
    whenPiped('weights', 5, 10);
    whenPiped('weights', 10, 10);
    expect(piped).toBe('');
  });
});
