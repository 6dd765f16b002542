// Float feature inputs for the Inputs panel: a seeded random batch of the input's shape, written as the JSON its box holds.

/** A `[batch, time, features]` (or `[batch, features]` when `time` is undefined) batch of values in [-1, 1], three decimals, the same for the same seed. */
export function randomFeatures(
  batch: number,
  time: number | undefined,
  features: number,
  seed: number,
): number[][] | number[][][] {
  const next = seededRandom(seed);
  const vector = (): number[] => Array.from({ length: features }, () => Math.round((next() * 2 - 1) * 1000) / 1000);
  if (time === undefined) return Array.from({ length: batch }, vector);
  return Array.from({ length: batch }, () => Array.from({ length: time }, vector));
}

/** The JSON of a feature batch: one time step's vector per line, so the box reads as a table. */
export function featuresJson(value: number[][] | number[][][]): string {
  const rows = value.map((row) =>
    Array.isArray(row[0])
      ? `[\n  ${(row as number[][]).map((v) => JSON.stringify(v)).join(',\n  ')}\n]`
      : JSON.stringify(row),
  );
  return `[${rows.join(',\n')}]`;
}

/** A small deterministic generator (mulberry32): numbers in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Rows of feature vectors that may differ in length, padded with zero vectors to the longest, with
 * each row's length; or the problem that keeps the JSON from being such rows.
 */
export function padFeatureRows(
  value: unknown,
  features: number | undefined,
): { rows?: number[][][]; lengths?: number[]; problem?: string } {
  if (!Array.isArray(value) || value.length === 0)
    return { problem: 'give a JSON list of rows, each a list of time steps' };
  const isVector = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');
  for (const [r, row] of value.entries()) {
    if (!Array.isArray(row) || !row.every(isVector))
      return { problem: `row ${r + 1} is not a list of time steps, each a list of numbers` };
    const wrong = (row as number[][]).findIndex((v) => features !== undefined && v.length !== features);
    if (wrong >= 0)
      return {
        problem: `row ${r + 1}, step ${wrong + 1} has ${(row as number[][])[wrong]!.length} numbers, not ${features}`,
      };
  }
  const rows = value as number[][][];
  const longest = Math.max(...rows.map((r) => r.length));
  const width = features ?? rows.find((r) => r.length > 0)?.[0]?.length ?? 0;
  return {
    rows: rows.map((r) => [
      ...r,
      ...Array.from({ length: longest - r.length }, () => new Array<number>(width).fill(0)),
    ]),
    lengths: rows.map((r) => r.length),
  };
}
