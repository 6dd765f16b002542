// Golden files: every spec's graph (ONNX text form, weights as checksums), IR and summary match generated/.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile, formatIr, formatModel, formatSummary } from '../src/index.js';

const specs = readdirSync('specs').filter((f) => f.endsWith('.seq')).sort();

describe('golden dumps in generated/', () => {
  it('covers every spec', () => {
    expect(specs.length).toBeGreaterThanOrEqual(3);
  });

  for (const file of specs) {
    it(`${file} compiles to its committed graph and summary`, () => {
      const sourceName = `specs/${file}`;
      const result = compile(readFileSync(sourceName, 'utf8'), { sourceName });
      expect(result.diagnostics).toEqual([]);
      const stem = `generated/${file.replace(/\.seq$/, '')}`;
      const hint = 'the graph changed: review the diff, then refresh with `npm run golden`';
      expect(formatSummary(result.summary!), hint).toBe(readFileSync(`${stem}.summary.txt`, 'utf8'));
      expect(formatIr(result.ir!), hint).toBe(readFileSync(`${stem}.ir.txt`, 'utf8'));
      if (result.bundle === undefined) {
        expect(formatModel(result.proto!), hint).toBe(readFileSync(`${stem}.onnx.txt`, 'utf8'));
        return;
      }
      for (const f of result.bundle.files) expect(formatModel(f.proto), hint).toBe(readFileSync(`generated/${f.file}.txt`, 'utf8'));
      expect(`${JSON.stringify(result.bundle.manifest, null, 2)}\n`, hint).toBe(readFileSync(`${stem}.manifest.json`, 'utf8'));
    });
  }
});

describe('determinism', () => {
  it('gives byte-identical models for the same spec and seed, and different ones for another seed', () => {
    const source = readFileSync('specs/tagger.seq', 'utf8');
    const a = compile(source, { sourceName: 'specs/tagger.seq', seed: 7 }).model!;
    const b = compile(source, { sourceName: 'specs/tagger.seq', seed: 7 }).model!;
    const c = compile(source, { sourceName: 'specs/tagger.seq', seed: 8 }).model!;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });
});
