// Golden files: every spec's graph (ONNX text form, weights as checksums), IR and summary match generated/,
// and the webgpu target's match generated/webgpu/.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile, formatIr, formatModel, formatSummary } from '../src/index.js';

const specs = readdirSync('specs')
  .filter((f) => f.endsWith('.seq'))
  .sort();

/** Each target's goldens: the generic graphs in generated/, the webgpu target's in generated/webgpu/. */
const targets = [
  { target: 'generic', folder: 'generated', refresh: '`npm run golden`' },
  {
    target: 'webgpu',
    folder: 'generated/webgpu',
    refresh: '`npm run golden` (which also runs `seqc build specs --out generated/webgpu --target webgpu`)',
  },
] as const;

for (const { target, folder, refresh } of targets) {
  describe(`golden dumps in ${folder}/ (${target} target)`, () => {
    it('covers every spec', () => {
      expect(specs.length).toBeGreaterThanOrEqual(3);
    });

    for (const file of specs) {
      it(`${file} compiles to its committed graph and summary`, () => {
        const sourceName = `specs/${file}`;
        const result = compile(readFileSync(sourceName, 'utf8'), { sourceName, target });
        expect(result.diagnostics).toEqual([]);
        const stem = `${folder}/${file.replace(/\.seq$/, '')}`;
        const hint = `the graph changed: review the diff, then refresh with ${refresh}`;
        expect(formatSummary(result.summary!), hint).toBe(readFileSync(`${stem}.summary.txt`, 'utf8'));
        expect(formatIr(result.ir!), hint).toBe(readFileSync(`${stem}.ir.txt`, 'utf8'));
        if (result.bundle === undefined) {
          expect(formatModel(result.proto!), hint).toBe(readFileSync(`${stem}.onnx.txt`, 'utf8'));
          return;
        }
        for (const f of result.bundle.files)
          expect(formatModel(f.proto), hint).toBe(readFileSync(`${folder}/${f.file}.txt`, 'utf8'));
        expect(`${JSON.stringify(result.bundle.manifest, null, 2)}\n`, hint).toBe(
          readFileSync(`${stem}.manifest.json`, 'utf8'),
        );
      });
    }
  });
}

describe("the two targets' goldens", () => {
  it('differ for every spec, so the webgpu goldens pin the webgpu lowering', () => {
    for (const file of specs) {
      const stem = file.replace(/\.seq$/, '');
      expect(readFileSync(`generated/webgpu/${stem}.onnx.txt`, 'utf8')).not.toBe(
        readFileSync(`generated/${stem}.onnx.txt`, 'utf8'),
      );
    }
  });
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
