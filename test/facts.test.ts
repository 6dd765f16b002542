// Diagnostics carry what they found and what was expected as data (`facts`), through the API and `--json` alike; every catalogued code is raised somewhere.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSource, compile, diagnosticCodes, writeSafetensors, type Diagnostic } from '../src/index.js';
import { main } from '../src/cli/main.js';
import { encodeModel } from '../src/onnx/encode.js';
import { loadModel } from '../src/runtime/node.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const workspace = mkdtempSync(join(tmpdir(), 'seqc-facts-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

const spec = (...members: string[]): string => ['model M {', ...members.map((m) => `  ${m}`), '}', ''].join('\n');

/** The one diagnostic a spec gives, which must have the code. */
function only(source: string, code: string): Diagnostic {
  const { diagnostics } = checkSource(source);
  expect(diagnostics.map((d) => d.code)).toEqual([code]);
  return diagnostics[0]!;
}

const tagger = `model Tagger {
  input tokens: int64[batch, time]
  tokens -> embedding: Embedding(vocab=10, dim=4) -> fc: Linear(3) -> output scores
}
`;

async function seqcJson(
  ...argv: string[]
): Promise<{ status: number; report: { ok: boolean; diagnostics: Diagnostic[] } }> {
  let out = '';
  const status = await main([...argv, '--json'], { out: (t) => (out += t), err: () => {}, color: false });
  return { status, report: JSON.parse(out) as { ok: boolean; diagnostics: Diagnostic[] } };
}

describe('facts of check diagnostics, through checkSource', () => {
  it('names: SEQ010 names the unknown step and the layer it most likely meant', () => {
    const d = only(spec('input x: float32[batch, time, 8]', 'x -> Lsstm(hidden=4) -> last -> output y'), 'SEQ010');
    expect(d.facts).toEqual({ names: ['Lsstm'], found: 'Lsstm', expected: 'LSTM' });
  });

  it('names: SEQ011 lists the names a chain could start from', () => {
    const d = only(
      spec('input x: float32[batch, time, 8]', 'x -> last -> output y', 'z -> relu -> output w'),
      'SEQ011',
    );
    expect(d.facts).toEqual({ names: ['z'], expected: ['x'] });
  });

  it('arguments: SEQ023 gives the argument, the value found and the allowed range', () => {
    const d = only(spec('input x: float32[batch, time, 8]', 'x -> LSTM(hidden=0) -> last -> output y'), 'SEQ023');
    expect(d.facts).toMatchObject({ names: ['LSTM', 'hidden'], found: 0, expected: 'at least 1' });
    expect(d.facts!.range![0]).toBe(1);
  });

  it('arguments: SEQ022 gives the expected type and the value found', () => {
    const d = only(spec('input x: float32[batch, time, 8]', 'x -> LSTM(hidden=2.5) -> last -> output y'), 'SEQ022');
    expect(d.facts).toEqual({ names: ['LSTM', 'hidden'], expected: 'a positive integer', found: 2.5 });
  });

  it('arguments: SEQ020 lists the arguments the layer takes', () => {
    const d = only(spec('input x: float32[batch, time, 8]', 'x -> LSTM(hiden=4) -> last -> output y'), 'SEQ020');
    expect(d.facts!.names).toEqual(['LSTM', 'hiden']);
    expect(d.facts!.expected).toContain('hidden');
  });

  it('types: SEQ034 gives the rank expected and found', () => {
    const d = only(spec('input x: float32[batch, time]', 'x -> lstm: LSTM(hidden=4) -> last -> output y'), 'SEQ034');
    expect(d.facts).toEqual({ names: ['LSTM', 'lstm'], expected: 3, found: 2 });
  });

  it('types: SEQ033 gives the element type expected and the type found', () => {
    const d = only(
      spec('input x: float32[batch, time, 8]', 'x -> embedding: Embedding(vocab=10, dim=4) -> last -> output y'),
      'SEQ033',
    );
    expect(d.facts).toEqual({ names: ['Embedding', 'embedding'], expected: 'int64', found: 'float32[batch, time, 8]' });
  });

  it('inputs: SEQ031 gives the most axes and the number found', () => {
    const d = only(
      spec('input x: int64[batch, time, 8]', 'x -> embedding: Embedding(vocab=10, dim=4) -> last -> output y'),
      'SEQ031',
    );
    expect(d.facts).toEqual({ names: ['x'], limit: 2, found: 3 });
  });

  it('decoders: SEQ049 names the two recurrent layers, and SEQ045 the block', () => {
    const twoLayers = checkSource(`model Lm {
  decoder(bos=1, eos=2, max_length=8) {
    -> embedding: Embedding(vocab=10, dim=4)
    -> lstm: LSTM(hidden=8)
    -> gru: GRU(hidden=8)
    -> generator: Linear(10)
  }
}
`).diagnostics;
    expect(twoLayers.map((d) => [d.code, d.facts])).toEqual([['SEQ049', { names: ['lstm', 'gru'], limit: 1 }]]);
    const d = only(
      spec(
        'input src: int64[batch, time]',
        'encoder {',
        '  src -> embedding: Embedding(vocab=20, dim=4) -> lstm: LSTM(hidden=8) -> last -> output y',
        '}',
      ),
      'SEQ045',
    );
    expect(d.facts).toEqual({ names: ['encoder'], expected: 'decoder' });
  });

  it('names: SEQ044 names the input', () => {
    const d = only(
      spec(
        'input __proto__: int64[batch, time]',
        '__proto__ -> embedding: Embedding(vocab=10, dim=4) -> last -> output y',
      ),
      'SEQ044',
    );
    expect(d.facts).toEqual({ names: ['__proto__'] });
  });
});

describe('facts through compile and the command line', () => {
  it('weights: SEQ102 lists the missing, unexpected and mis-shaped tensors as data', () => {
    const f32 = (shape: number[]): { shape: number[]; data: Float32Array } => ({
      shape,
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
    });
    const weights = writeSafetensors(
      new Map([
        ['embedding.weight', f32([10, 4])],
        ['fc.weight', f32([4, 3])],
        ['head.bias', f32([3])],
      ]),
    );
    const { diagnostics } = compile(tagger, { weights: { bytes: weights, name: 'w.safetensors' } });
    expect(diagnostics.map((d) => d.code)).toEqual(['SEQ102']);
    expect(diagnostics[0]!.facts).toEqual({
      names: ['w.safetensors'],
      missing: ['fc.bias'],
      unexpected: ['head.bias'],
      misshaped: [{ name: 'fc.weight', expected: [3, 4], found: [4, 3] }],
    });
  });

  it('`seqc check --json` prints the facts with each diagnostic', async () => {
    const path = join(workspace, 'typo.seq');
    writeFileSync(path, tagger.replace('Linear(3)', 'Linear(out=0)'));
    const { status, report } = await seqcJson('check', path);
    expect(status).toBe(1);
    expect(report.diagnostics.map((d) => [d.code, d.facts?.names, d.facts?.found])).toEqual([
      ['SEQ023', ['Linear', 'out'], 0],
    ]);
  });

  it('cli: SEQ201 gives the flag, its value and the allowed range', async () => {
    const path = join(workspace, 'tagger.seq');
    writeFileSync(path, tagger);
    const { status, report } = await seqcJson('compile', path, '--opset', '99', '-o', join(workspace, 'never.onnx'));
    expect(status).toBe(2);
    expect(report.diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ201', { flag: '--opset', value: '99', range: [14, 21] }],
    ]);
  });

  it('runtime: SEQ301, SEQ304 and SEQ300 give the input, the position by axis and the range', async () => {
    const path = join(workspace, 'run.seq');
    writeFileSync(path, tagger);
    const outside = await seqcJson('run', path, '--input', 'tokens=[[1,2],[3,99]]');
    expect(outside.report.diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ301', { input: 'tokens', position: [1, 1], found: 99, range: [0, 9] }],
    ]);
    const huge = await seqcJson('run', path, '--input', 'tokens=[[1,18446744073709551616]]');
    expect(huge.report.diagnostics.map((d) => d.code)).toEqual(['SEQ304']);
    expect(huge.report.diagnostics[0]!.facts).toMatchObject({
      input: 'tokens',
      position: [0, 1],
      range: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    });
    const unknown = await seqcJson('run', path, '--input', 'tokens=[[1]]', '--input', 'token=[[1]]');
    expect(unknown.report.diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ300', { input: 'token', expected: ['tokens'] }],
    ]);
  });
});

describe('facts of syntax diagnostics', () => {
  it('SEQ001 gives the character found', () => {
    const { diagnostics } = checkSource('model M {\n  input x: float32[batch, time, 8] ;\n}\n');
    expect(diagnostics.map((d) => [d.code, d.facts])).toEqual([['SEQ001', { found: ';' }]]);
  });

  it('SEQ003 gives how many models the file holds and the one expected', () => {
    expect(checkSource('# nothing here\n').diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ003', { expected: 1, found: 0 }],
    ]);
    expect(checkSource(`${tagger}${tagger}`).diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ003', { expected: 1, found: 2 }],
    ]);
  });
});

describe('facts of file, run and generate diagnostics, through the command line', () => {
  it('files: SEQ202 names the path and says what is wrong with it', async () => {
    const missing = join(workspace, 'missing.seq');
    const absent = await seqcJson('check', missing);
    expect(absent.report.diagnostics.map((d) => d.code)).toEqual(['SEQ202']);
    expect(absent.report.diagnostics[0]!.facts).toMatchObject({ names: [missing] });
    expect(absent.report.diagnostics[0]!.facts!.found).toMatch(/no such file|not exist/i);
    const empty = mkdtempSync(join(workspace, 'empty-'));
    const noSpecs = await seqcJson('check', empty);
    expect(noSpecs.report.diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ202', { names: [empty], expected: '.seq files', found: 0 }],
    ]);
  });

  it('files: SEQ205 and SEQ206 name the output that seqc will not replace', async () => {
    const path = join(workspace, 'own.seq');
    writeFileSync(path, tagger);
    const folder = mkdtempSync(join(workspace, 'out-'));
    const intoFolder = await seqcJson('compile', path, '-o', folder);
    expect(intoFolder.report.diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ205', { names: [folder], expected: 'a regular file', found: 'a folder' }],
    ]);
    const ontoItself = await seqcJson('compile', path, '-o', path);
    expect(ontoItself.report.diagnostics.map((d) => [d.code, d.facts])).toEqual([['SEQ206', { names: [path, path] }]]);
  });

  it('run: SEQ306 names the input given twice', async () => {
    const path = join(workspace, 'twice.seq');
    writeFileSync(path, tagger);
    const { report } = await seqcJson('run', path, '--input', 'tokens=[[1,2]]', '--input', 'tokens=[[3,4]]');
    expect(report.diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ306', { flag: '--input', input: 'tokens', limit: 1 }],
    ]);
  });

  it('bundles: SEQ320 and SEQ321 name the manifest, the key at fault and the problem', async () => {
    const notJson = join(workspace, 'broken.manifest.json');
    writeFileSync(notJson, '{ not json');
    const broken = await seqcJson('generate', notJson, '--src', '3 4 5');
    expect(broken.report.diagnostics.map((d) => d.code)).toEqual(['SEQ320']);
    expect(broken.report.diagnostics[0]!.facts).toMatchObject({ names: [notJson], expected: 'JSON' });
    const nullManifest = join(workspace, 'null.manifest.json');
    writeFileSync(nullManifest, 'null\n');
    const empty = await seqcJson('generate', nullManifest, '--src', '3 4 5');
    expect(empty.report.diagnostics.map((d) => d.code)).toEqual(['SEQ320']);
    expect(empty.report.diagnostics[0]!.facts!.names![0]).toBe(nullManifest);
    expect(typeof empty.report.diagnostics[0]!.facts!.found).toBe('string');
    const escaping = join(workspace, 'escaping.manifest.json');
    const manifest = {
      format: 'seqc-bundle',
      version: 1,
      name: 'M',
      kind: 'lm',
      bos: 1,
      eos: 2,
      maxLength: 4,
      vocab: 5,
      targetVocab: 5,
      state: { cell: 'gru', layers: 1, hidden: 2 },
      inputFeed: false,
      files: {
        scoring: { path: 'm.onnx', inputs: ['tgt_in'], outputs: ['logits'] },
        step: { path: '../elsewhere/m.step.onnx', inputs: ['tokens', 'h'], outputs: ['logits', 'h_out'] },
        greedy: { path: 'm.greedy.onnx', inputs: ['prompt'], outputs: ['tokens', 'lengths'] },
      },
    };
    writeFileSync(escaping, JSON.stringify(manifest));
    const outside = await seqcJson('generate', escaping, '--prompt', '3');
    const seq321 = outside.report.diagnostics.filter((d) => d.code === 'SEQ321');
    expect(seq321.length).toBeGreaterThan(0);
    expect(seq321[0]!.facts).toMatchObject({ names: [escaping, 'files.step.path'] });
  });

  it('generate: SEQ331 names the flag that would have no effect', async () => {
    const path = join(workspace, 'lm.seq');
    writeFileSync(
      path,
      `model Lm {
  decoder(bos=1, eos=2, max_length=4) {
    -> embedding: Embedding(vocab=6, dim=3)
    -> gru: GRU(hidden=4)
    -> generator: Linear(6)
  }
}
`,
    );
    const { report } = await seqcJson('generate', path, '--prompt', '3', '--top-k', '5');
    expect(report.diagnostics.map((d) => [d.code, d.facts])).toEqual([['SEQ331', { flag: '--top-k' }]]);
    const conflicting = await seqcJson('generate', path, '--prompt', '3', '--min-length', '9');
    expect(conflicting.report.diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ331', { flag: '--min-length', value: '9', limit: 4 }],
    ]);
  });
});

describe('facts of model diagnostics, through the node runtime', () => {
  /** The tagger compiled, with its seqc.signature entry rewritten by `edit`. */
  function editedSignature(edit: (text: string) => string): Uint8Array {
    const { proto } = compile(tagger);
    return encodeModel({
      ...proto!,
      metadataProps: proto!.metadataProps.map((p) => (p.key === 'seqc.signature' ? { ...p, value: edit(p.value) } : p)),
    });
  }

  it('SEQ303 names the model and says what in its signature is unusable', async () => {
    const bytes = editedSignature((t) => t.replace('"dims":["batch","time"]', '"dims":"batch"'));
    const { diagnostics } = await loadModel(bytes, { name: 'tagger.onnx' });
    expect(diagnostics.map((d) => d.code)).toEqual(['SEQ303']);
    expect(diagnostics[0]!.facts!.names).toEqual(['tagger.onnx']);
    expect(typeof diagnostics[0]!.facts!.found).toBe('string');
  });

  it('SEQ307 names the output that JavaScript cannot return', async () => {
    const { proto } = compile(tagger);
    const renamed = (name: string): string => (name === 'scores' ? '__proto__' : name);
    const bytes = encodeModel({
      ...proto!,
      graph: {
        ...proto!.graph,
        outputs: proto!.graph.outputs.map((o) => ({ ...o, name: renamed(o.name) })),
        nodes: proto!.graph.nodes.map((n) => ({ ...n, outputs: n.outputs.map(renamed) })),
      },
      metadataProps: proto!.metadataProps.map((p) =>
        p.key === 'seqc.signature' ? { ...p, value: p.value.replace('"name":"scores"', '"name":"__proto__"') } : p,
      ),
    });
    const { diagnostics } = await loadModel(bytes, { name: 'tagger.onnx' });
    expect(diagnostics.map((d) => [d.code, d.facts])).toEqual([['SEQ307', { names: ['__proto__'] }]]);
  });
});

describe('the catalogue', () => {
  /** Every .ts file under src, but the catalogue itself. */
  function sourceFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return path.endsWith('.ts') && !path.endsWith(join('diagnostics', 'catalogue.ts')) ? [path] : [];
    });
  }

  it('has no code that src never raises', () => {
    const text = sourceFiles(join(root, 'src'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(diagnosticCodes.filter((c) => !text.includes(`'${c}'`))).toEqual([]);
  });
});
