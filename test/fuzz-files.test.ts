// Seeded mutations of a real bundle's manifest (types, missing and unknown keys, paths, huge numbers, deep nesting, broken text) fed to parseManifest, readBundle and `seqc generate`: never an exception, each case bounded in time and memory.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { readBundle } from '../src/cli/bundle.js';
import { checkManifest, parseManifest } from '../src/runtime/manifest.js';
import { seededRandom as random } from './reference/float64.js';

const translator = `model TinyTranslator {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=20, dim=4, padding_idx=0) -> encoder: GRU(hidden=4)
  }
  decoder(bos=1, eos=2, max_length=6) {
    -> tgt_embedding: Embedding(vocab=20, dim=4, padding_idx=0) -> decoder: GRU(hidden=4) -> attention: Attention(score=dot) -> generator: Linear(20)
  }
}
`;

/** Stands for a deeply nested value; replaced in the JSON text, since JSON.stringify would recurse. */
const deep = '__seqc_deep__';
const deepText = (depth: number, rnd: () => number): string =>
  rnd() < 0.5 ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const oddValues: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 31,
  1e308,
  -0,
  '',
  'x',
  'x'.repeat(100_000),
  [],
  [1, 'a', null],
  Array.from({ length: 10_000 }, (_, i) => `name${i}`),
  {},
  { path: 't.step.onnx' },
  deep,
];

const oddPaths: readonly string[] = [
  '../outside/x.onnx',
  '/dev/zero',
  '/etc/passwd',
  '..',
  '.',
  'a/b.onnx',
  'a\\b.onnx',
  'C:x.onnx',
  'x\u0000.onnx',
  'x\n.onnx',
  'é.onnx',
  'y'.repeat(300),
  't.manifest.json',
  'missing.onnx',
  't.onnx',
];

type Json = Record<string, unknown>;

function pick<T>(items: readonly T[], rnd: () => number): T {
  return items[Math.floor(rnd() * items.length)]!;
}

/** The dotted paths to every key of an object, as deep as the manifest goes. */
function keyPaths(value: Json, prefix: string[] = []): string[][] {
  return Object.entries(value).flatMap(([k, v]) => [
    [...prefix, k],
    ...(v !== null && typeof v === 'object' && !Array.isArray(v) ? keyPaths(v as Json, [...prefix, k]) : []),
  ]);
}

function setAt(root: Json, path: readonly string[], value: unknown, remove: 'remove' | 'set'): void {
  let node = root;
  for (const key of path.slice(0, -1)) node = node[key] as Json;
  if (remove === 'remove') delete node[path[path.length - 1]!];
  else node[path[path.length - 1]!] = value;
}

/** One mutated manifest, as the text written to disk. */
function mutate(base: Json, rnd: () => number): string {
  const manifest = structuredClone(base);
  const count = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < count; i++) {
    const paths = keyPaths(manifest);
    const choice = rnd();
    if (choice < 0.3 && paths.length > 0) setAt(manifest, pick(paths, rnd), pick(oddValues, rnd), 'set');
    else if (choice < 0.45 && paths.length > 0) setAt(manifest, pick(paths, rnd), undefined, 'remove');
    else if (choice < 0.7) {
      const files = manifest['files'];
      const key = pick(['scoring', 'encoder', 'step', 'greedy'], rnd);
      if (
        files !== null &&
        typeof files === 'object' &&
        !Array.isArray(files) &&
        (files as Json)[key] !== null &&
        typeof (files as Json)[key] === 'object'
      )
        ((files as Json)[key] as Json)['path'] = pick(oddPaths, rnd);
    } else if (choice < 0.8) {
      const files = manifest['files'];
      if (files !== null && typeof files === 'object' && !Array.isArray(files))
        (files as Json)[pick(['weights', 'extra', '__proto__', 'constructor'], rnd)] = {
          path: pick(oddPaths, rnd),
          inputs: [],
          outputs: [],
        };
    } else if (choice < 0.9) manifest[pick(['extra', 'weights', 'files', 'state'], rnd)] = pick(oddValues, rnd);
    else {
      const numbers = ['bos', 'eos', 'maxLength', 'vocab', 'targetVocab', 'memoryDim'];
      manifest[pick(numbers, rnd)] = pick([2 ** 53, 1e308, -5, 3.25, 0, 19, 20], rnd);
    }
  }
  let text = JSON.stringify(manifest);
  if (text.includes(deep)) text = text.split(`"${deep}"`).join(deepText(20_000 + Math.floor(rnd() * 80_000), rnd));
  const whole = rnd();
  if (whole < 0.05) return text.slice(0, Math.floor(rnd() * text.length));
  if (whole < 0.1) return pick(['null', '[]', '"manifest"', '42', 'true', '{}', '', '\u0000'], rnd);
  return text;
}

const codes = new Set([
  'SEQ202',
  'SEQ203',
  'SEQ204',
  'SEQ300',
  'SEQ301',
  'SEQ302',
  'SEQ309',
  'SEQ310',
  'SEQ311',
  'SEQ312',
  'SEQ313',
  'SEQ320',
  'SEQ321',
]);

describe('fuzzing manifests', () => {
  let dir: string;
  let base: Json;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seqc-fuzz-files-'));
    writeFileSync(join(dir, 'tiny.seq'), translator);
    const status = await main(['compile', join(dir, 'tiny.seq'), '-o', join(dir, 't.onnx')], {
      out: () => {},
      err: () => {},
      color: false,
    });
    expect(status).toBe(0);
    base = JSON.parse(readFileSync(join(dir, 't.manifest.json'), 'utf8')) as Json;
  });

  it('parseManifest and readBundle give diagnostics, never exceptions, in bounded time and memory', () => {
    const rnd = random(20250101);
    let accepted = 0;
    let refused = 0;
    for (let n = 0; n < 400; n++) {
      const text = mutate(base, rnd);
      writeFileSync(join(dir, 't.manifest.json'), text);
      const heap = process.memoryUsage().heapUsed;
      const started = performance.now();
      let parsed: unknown;
      let isJson = true;
      try {
        parsed = JSON.parse(text);
      } catch {
        isJson = false;
      }
      if (isJson) {
        const checked = parseManifest(parsed);
        expect(
          checked.manifest === undefined ? checked.problems.length > 0 : checked.problems.length === 0,
          `case ${n}`,
        ).toBe(true);
        expect(
          checked.problems.every((p) => p.length < 2000),
          `case ${n}: a problem that long`,
        ).toBe(true);
        expect(checkManifest(parsed).issues.length, `case ${n}`).toBe(checked.problems.length);
      }
      const read = readBundle(join(dir, 't.manifest.json'));
      if (read.bundle === undefined) {
        refused++;
        expect(read.diagnostics.length, `case ${n}`).toBeGreaterThan(0);
        expect(
          read.diagnostics.every((d) => codes.has(d.code) && d.message.length < 2000),
          `case ${n}: ${read.diagnostics.map((d) => `${d.code} ${d.message.slice(0, 200)}`).join('; ')}`,
        ).toBe(true);
      } else {
        accepted++;
        // Only the files the manifest lists, by plain names, were read.
        expect(
          Object.keys(read.bundle.files).every((name) => !/[/\\]/.test(name) && name !== '..'),
          `case ${n}`,
        ).toBe(true);
      }
      expect(performance.now() - started, `case ${n} took too long`).toBeLessThan(5000);
      expect(process.memoryUsage().heapUsed - heap, `case ${n} used too much memory`).toBeLessThan(256 * 1024 * 1024);
    }
    // The mutations reach both sides: manifests refused and manifests that still load.
    expect(refused).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(10);
  }, 120_000);

  it('`seqc generate` exits 0 or 1 with diagnostics, never 70, on every mutated manifest', async () => {
    const rnd = random(7);
    const seen = new Map<number, number>();
    for (let n = 0; n < 80; n++) {
      const text = mutate(base, rnd);
      writeFileSync(join(dir, 't.manifest.json'), text);
      let out = '';
      let err = '';
      const started = performance.now();
      const status = await main(['generate', join(dir, 't.manifest.json'), '--src', '3 4 5', '--json'], {
        out: (t) => (out += t),
        err: (t) => (err += t),
        color: false,
      });
      expect(err, `case ${n}`).toBe('');
      expect([0, 1], `case ${n}: exit ${status}`).toContain(status);
      const document = JSON.parse(out) as { diagnostics: { code: string }[] };
      if (status === 1) expect(document.diagnostics.length, `case ${n}`).toBeGreaterThan(0);
      expect(performance.now() - started, `case ${n} took too long`).toBeLessThan(10_000);
      seen.set(status, (seen.get(status) ?? 0) + 1);
    }
    expect(seen.get(1)).toBeGreaterThan(20);
  }, 180_000);
});
