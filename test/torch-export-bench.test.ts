// The pure parts of bench/torch-export.ts (batches, distances inside the lengths, error headlines, the table), so the benchmark is type-checked and cannot rot; the benchmark itself is not a test.

import { describe, expect, it } from 'vitest';
import { checkSource } from '../src/index.js';
import {
  accuracyCell,
  errorHeadline,
  exportModels,
  formatTable,
  insideLengths,
  paddedBatch,
  readingNotes,
  shapesFor,
  type ModelResult,
} from '../bench/torch-export.js';

describe('bench/torch-export.ts', () => {
  it('benchmarks specs that compile, covering every layer issue 10 names', () => {
    for (const model of exportModels) {
      const result = checkSource(model.spec);
      expect(
        result.diagnostics.filter((d) => d.severity === 'error'),
        model.name,
      ).toEqual([]);
      expect(result.ir!.name).toBe(model.name);
    }
    const specs = exportModels.map((m) => m.spec).join('\n');
    for (const layer of ['LSTM(', 'BiLSTM(', 'BiGRU(', 'Conv1d(', 'proj=', 'CRF(', 'add(', 'concat(', '-> last'])
      expect(specs).toContain(layer);
  });

  it('pads deterministic batches: the first row full, token 0 past every length, ids below the vocabulary', () => {
    const b = paddedBatch(5, 6, 10, 3);
    expect(b).toEqual(paddedBatch(5, 6, 10, 3));
    expect(b.lengths.data[0]).toBe(6);
    expect(b.tokens.shape).toEqual([5, 6]);
    for (let r = 0; r < 5; r++) {
      const length = b.lengths.data[r]!;
      expect(length).toBeGreaterThanOrEqual(1);
      const row = b.tokens.data.slice(r * 6, r * 6 + 6);
      expect(row.slice(length).every((t) => t === 0)).toBe(true);
      expect(row.slice(0, length).every((t) => t >= 1 && t < 10)).toBe(true);
    }
    expect(new Set(b.lengths.data).size).toBeGreaterThan(1);
    const shapes = shapesFor(false);
    expect(shapes.accuracy.some((s) => s.batch !== shapes.example.batch)).toBe(true);
    expect(shapes.accuracy.some((s) => s.time !== shapes.example.time)).toBe(true);
  });

  it('measures per-token outputs inside the lengths only, and per-row outputs everywhere', () => {
    // [batch 2, time 3, features 1]; row 1 has length 1, so its steps 1 and 2 are padding.
    const want = { shape: [2, 3, 1], data: [1, 2, 3, 4, 0, 0] };
    const garbagePastLength = { shape: [2, 3, 1], data: [1, 2, 3.5, 4, 9, 9] };
    expect(insideLengths(want, garbagePastLength, [3, 1], 'per-token')).toEqual({ maxAbs: 0.5, differing: 1 / 4 });
    expect(insideLengths(want, garbagePastLength, [3, 3], 'per-token').maxAbs).toBe(9);
    const rows = { shape: [2, 2], data: [1, 2, 3, 4] };
    expect(insideLengths(rows, { shape: [2, 2], data: [1, 2, 3, 6] }, [1, 1], 'per-row').maxAbs).toBe(2);
    expect(insideLengths(rows, { shape: [2, 1], data: [1, 2] }, [1, 1], 'per-row')).toEqual({
      maxAbs: Infinity,
      differing: Infinity,
    });
    expect(insideLengths(rows, { shape: [2, 2], data: [1, 2, 3, NaN] }, [1, 1], 'per-row').maxAbs).toBe(Infinity);
  });

  it('reads an error as its first sentence', () => {
    expect(
      errorHeadline(
        '\nUnsupported: ONNX export of operator LSTM, LSTMs with projections. Please feel free to request support.\nmore',
      ),
    ).toBe('Unsupported: ONNX export of operator LSTM, LSTMs with projections.');
    expect(errorHeadline('')).toBe('error');
    expect(
      errorHeadline(
        "Non-zero status code returned while running Expand node. Name:'/model/lstm/Expand_1' Status Message: invalid expand shape",
      ),
    ).toBe('Non-zero status code returned while running Expand node. invalid expand shape');
    expect(errorHeadline('x'.repeat(300))).toHaveLength(158);
  });

  it('tables each model, export variant and output, failures and ratios included', () => {
    const rows: ModelResult[] = [
      {
        model: 'Tagger',
        what: 'BiLSTM → CRF',
        seqcBytes: 2048,
        seqcMs: 2,
        outputs: [
          { name: 'crf.score', integer: false, seqc: 3e-7 },
          { name: 'tags', integer: true, seqc: 0 },
        ],
        variants: [
          {
            attempt: { variant: 'packed', ok: true, file: 'packed.onnx' },
            torchBytes: 3072,
            timing: { batch: 3, time: 48, seqcMs: 2, torchMs: 3 },
            accuracy: [
              [
                { batch: 3, time: 7, result: 1e-7 },
                { batch: 8, time: 24, result: { error: 'invalid expand shape' } },
              ],
              [{ batch: 3, time: 7, result: 0.25 }],
            ],
          },
          { attempt: { variant: 'padded', ok: false, error: 'Unsupported | LSTM' }, accuracy: [] },
        ],
        load: { before: 1, after: 2 },
      },
    ];
    const table = formatTable(rows).split('\n');
    expect(table).toHaveLength(2 + 4);
    expect(table[2]).toContain(
      '| Tagger (BiLSTM → CRF) | packed | exported | 2 KiB / 3 KiB | 2.00 / 3.00 (1.50×) at batch 3 × time 48 |',
    );
    expect(table[2]).toContain('| crf.score | 3.0e-7 | 3×7: 1.0e-7; 8×24: fails: invalid expand shape | 1.00 → 2.00 |');
    expect(table[3]).toContain('| tags | identical | 25.0% of tags differ |');
    expect(table[4]).toContain('| padded | failed: Unsupported \\| LSTM | 2 KiB / — | 2.00 / — |');
    expect(accuracyCell([{ batch: 3, time: 7, result: Infinity }], true)).toBe('shape differs');
    const wrong = [
      { batch: 3, time: 7, result: 0.5 },
      { batch: 8, time: 24, result: 0.25 },
    ];
    expect(accuracyCell(wrong, false)).toBe('5.0e-1');
    expect(accuracyCell([...wrong, { batch: 3, time: 24, result: 1e-7 }], false)).toBe(
      '3×7: 5.0e-1; 8×24: 2.5e-1; 3×24: 1.0e-7',
    );
    expect(accuracyCell(wrong, true)).toBe('3×7: 50.0% of tags differ; 8×24: 25.0% of tags differ');
    expect(readingNotes(rows)).toContain('**Tagger**: packed: exported; crf.score 3×7: 1.0e-7; 8×24: fails');
  });
});
