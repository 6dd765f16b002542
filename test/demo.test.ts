// The trained dates demo (demo/dates): with the committed weights, seqc's bundle decodes held-out dates as well as the TensorFlow.js model it was trained as.

import { describe, expect, it } from 'vitest';
import { decodeTarget, encodeSource, isoDate, makeSplits, tokenize } from '../demo/dates/data.js';
import { agreementTolerance, evaluateDates } from '../demo/dates/evaluation.js';

describe('dates demo data', () => {
  it('keeps the held-out dates out of training, in any wording, and repeats for a seed', () => {
    const splits = makeSplits();
    const seen = new Set([...splits.train, ...splits.validation].map((e) => e.iso));
    expect(splits.heldOut.filter((e) => seen.has(e.iso))).toEqual([]);
    expect(new Set(splits.validation.map((e) => e.iso)).size).toBe(splits.validation.length);
    expect(makeSplits().heldOut.slice(0, 20)).toEqual(splits.heldOut.slice(0, 20));
  });

  it('tokenizes words, single digits and marks, and decodes targets up to eos', () => {
    expect(tokenize('The 3rd of March, 1999')).toEqual(['the', '3', 'rd', 'of', 'march', ',', '1', '9', '9', '9']);
    expect(() => encodeSource('3 brumaire 1799')).toThrow(/brumaire/);
    expect(isoDate({ year: 1999, month: 3, day: 3 })).toBe('1999-03-03');
    expect(decodeTarget([4, 12, 12, 12, 13, 3, 6, 13, 3, 6, 2, 2])).toBe('1999-03-03');
  });
});

describe('dates demo, compiled with the committed weights', () => {
  it('decodes 200 held-out dates with ≥ 95% exact match, greedy and beam, and matches tfjs', async () => {
    const { evaluation } = await evaluateDates({ limit: 200, backend: 'cpu', agreementExamples: 48 });
    const [tfjs, greedyGraph, beam] = evaluation.methods;
    expect(evaluation.examples).toHaveLength(200);
    expect(tfjs!.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(greedyGraph!.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(beam!.accuracy).toBeGreaterThanOrEqual(0.95);
    // The same equations in tfjs and in seqc's graphs: padded rows, masking and all.
    expect(evaluation.agreement.logits).toBeLessThan(agreementTolerance);
    expect(evaluation.agreement.memory).toBeLessThan(agreementTolerance);
    expect(evaluation.agreement.h0).toBeLessThan(agreementTolerance);
    expect(evaluation.greedySame).toBe(1);
  });
});
