// A plain float64 reference for seqc's layers, written from the published PyTorch equations
// (torch.nn.RNN, LSTM, GRU, Embedding, Linear, LayerNorm) and sharing no code with seqc.
//
// Everything here is nested arrays of JavaScript numbers (float64), batch-major: a sequence is
// x[batch][time][feature]. Weights come in PyTorch layout, keyed by PyTorch state_dict names.
// It is written to be read and checked by eye, not to be fast; keep the sizes in tests tiny.

/** One parameter tensor in PyTorch layout, row-major. Structurally the same as seqc's WeightTensor. */
export interface ReferenceTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Parameter name → tensor, keyed by PyTorch state_dict names such as `lstm.weight_ih_l0`. */
export type ReferenceWeights = ReadonlyMap<string, ReferenceTensor>;

/** A nested array of numbers of any rank (a number[], number[][], …). */
export type NestedArray = number[] | NestedArray[];

export type RecurrentKind = 'rnn' | 'lstm' | 'gru';

export interface RecurrentOptions {
  readonly hidden: number;
  readonly layers: number;
  readonly bidirectional: boolean;
  /** RNN only; PyTorch's default is tanh. */
  readonly nonlinearity?: 'tanh' | 'relu';
  /**
   * GRU only. true (the default) is PyTorch: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
   * false is the Keras reset_after=False variant: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn).
   */
  readonly resetAfter?: boolean;
  /**
   * The gate activation of LSTM (i, f, o) and GRU (r, z). 'hard_sigmoid' is clip(0.2 x + 0.5, 0, 1),
   * as in Keras 2 and ONNX HardSigmoid with its default alpha and beta. Default 'sigmoid'.
   */
  readonly recurrentActivation?: 'sigmoid' | 'hard_sigmoid';
  /** Whether the layer has bias_ih and bias_hh parameters; default true. */
  readonly bias?: boolean;
  /** Initial hidden state in PyTorch layout [layers * dirs][batch][hidden]; zeros when absent. */
  readonly h0?: number[][][];
  /** LSTM only: initial cell state, same layout as h0; zeros when absent. */
  readonly c0?: number[][][];
}

export interface RecurrentResult {
  /** [batch][time][hidden * dirs], forward ++ backward, zero at steps >= the row's length. */
  readonly output: number[][][];
  /** Final hidden states [layers * dirs][batch][hidden], PyTorch h_n order (l0, l0_reverse, l1, …). */
  readonly hn: number[][][];
  /** LSTM only: final cell states, same layout as hn. */
  readonly cn?: number[][][];
}

export type PoolKind = 'last' | 'first' | 'mean' | 'max';

/** `${prefix}.${name}`, or just `name` when the prefix is empty (a bare nn.LSTM's state_dict). */
export function parameterName(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

/** nn.Embedding: out[b][t] = weight[ids[b][t]]. */
export function embedding(weights: ReferenceWeights, prefix: string, ids: number[][]): number[][][] {
  const table = matrixOf(weights, parameterName(prefix, 'weight'));
  return ids.map((row) =>
    row.map((id) => {
      if (!Number.isInteger(id) || id < 0 || id >= table.length) {
        throw new Error(`embedding ${prefix}: id ${id} is outside [0, ${table.length})`);
      }
      return [...table[id]!];
    }),
  );
}

/**
 * torch.nn.RNN / LSTM / GRU with batch_first=True, run row by row. With `lengths`, each row runs
 * over its first `length` steps only (packed-sequence semantics): the reverse direction starts at
 * that row's last valid step, outputs past the length are zero, and h_n is the state after the
 * last valid step (forward) or after step 0 (reverse).
 */
export function recurrent(
  kind: RecurrentKind,
  options: RecurrentOptions,
  prefix: string,
  weights: ReferenceWeights,
  x: number[][][],
  lengths?: readonly number[],
): RecurrentResult {
  const batch = x.length;
  const time = batch === 0 ? 0 : x[0]!.length;
  const dirs = options.bidirectional ? 2 : 1;
  const H = options.hidden;
  const rowLengths = lengths ?? new Array<number>(batch).fill(time);
  if (rowLengths.length !== batch) throw new Error(`recurrent: ${rowLengths.length} lengths for ${batch} rows`);
  for (const length of rowLengths) {
    if (!Number.isInteger(length) || length < 0 || length > time) throw new Error(`recurrent: bad length ${length}`);
  }

  const hn: number[][][] = [];
  const cn: number[][][] = [];
  let layerInput = x;
  for (let layer = 0; layer < options.layers; layer++) {
    const layerOutput = zeros3(batch, time, H * dirs);
    for (let dir = 0; dir < dirs; dir++) {
      const params = cellParameters(kind, options, prefix, weights, layer, dir === 1);
      const stateIndex = layer * dirs + dir;
      const finalH: number[][] = [];
      const finalC: number[][] = [];
      for (let b = 0; b < batch; b++) {
        let h = options.h0 ? [...options.h0[stateIndex]![b]!] : new Array<number>(H).fill(0);
        let c = options.c0 ? [...options.c0[stateIndex]![b]!] : new Array<number>(H).fill(0);
        const length = rowLengths[b]!;
        for (let step = 0; step < length; step++) {
          const t = dir === 0 ? step : length - 1 - step;
          const input = layerInput[b]![t]!;
          if (kind === 'lstm') [h, c] = lstmCell(params, options, input, h, c);
          else if (kind === 'gru') h = gruCell(params, options, input, h);
          else h = rnnCell(params, options, input, h);
          for (let j = 0; j < H; j++) layerOutput[b]![t]![dir * H + j] = h[j]!;
        }
        finalH.push(h);
        finalC.push(c);
      }
      hn[stateIndex] = finalH;
      cn[stateIndex] = finalC;
    }
    layerInput = layerOutput;
  }
  return kind === 'lstm' ? { output: layerInput, hn, cn } : { output: layerInput, hn };
}

/** nn.Linear over the last axis: y = x W^T + b, with weight [out, in] and bias [out]. */
export function linear<T extends NestedArray>(
  weights: ReferenceWeights,
  prefix: string,
  x: T,
  options: { readonly bias?: boolean } = {},
): T {
  const weight = matrixOf(weights, parameterName(prefix, 'weight'));
  const bias = options.bias === false ? undefined : vectorOf(weights, parameterName(prefix, 'bias'));
  return mapLastAxis(x, (v) => {
    const y = matVec(weight, v);
    return bias ? add(y, bias) : y;
  });
}

/** nn.LayerNorm over the last axis (biased variance, eps inside the square root, affine weight and bias). */
export function layerNorm<T extends NestedArray>(weights: ReferenceWeights, prefix: string, x: T, eps = 1e-5): T {
  const gamma = vectorOf(weights, parameterName(prefix, 'weight'));
  const beta = vectorOf(weights, parameterName(prefix, 'bias'));
  return mapLastAxis(x, (v) => {
    const mean = sum(v) / v.length;
    const variance = sum(v.map((a) => (a - mean) ** 2)) / v.length;
    const scale = 1 / Math.sqrt(variance + eps);
    return v.map((a, i) => (a - mean) * scale * gamma[i]! + beta[i]!);
  });
}

export function relu<T extends NestedArray>(x: T): T {
  return mapLastAxis(x, (v) => v.map((a) => Math.max(0, a)));
}

export function tanh<T extends NestedArray>(x: T): T {
  return mapLastAxis(x, (v) => v.map(Math.tanh));
}

export function sigmoid<T extends NestedArray>(x: T): T {
  return mapLastAxis(x, (v) => v.map(sigmoidOf));
}

/** Softmax over the last axis. */
export function softmax<T extends NestedArray>(x: T): T {
  return mapLastAxis(x, (v) => {
    const top = Math.max(...v);
    const e = v.map((a) => Math.exp(a - top));
    const total = sum(e);
    return e.map((a) => a / total);
  });
}

/** Log-softmax over the last axis. */
export function logSoftmax<T extends NestedArray>(x: T): T {
  return mapLastAxis(x, (v) => {
    const top = Math.max(...v);
    const logTotal = top + Math.log(sum(v.map((a) => Math.exp(a - top))));
    return v.map((a) => a - logTotal);
  });
}

/**
 * Pools x[batch][time][feature] over time, looking only at each row's first `length` steps:
 * 'last' takes step length-1, 'first' step 0, 'mean' divides by the true length, 'max' is over
 * valid steps only. For a bidirectional recurrent output use lastOfBidirectional instead of 'last'.
 */
export function pool(kind: PoolKind, x: number[][][], lengths?: readonly number[]): number[][] {
  return x.map((row, b) => {
    const length = lengths ? lengths[b]! : row.length;
    if (length < 1 || length > row.length) throw new Error(`pool ${kind}: row ${b} has length ${length}`);
    const valid = row.slice(0, length);
    switch (kind) {
      case 'last':
        return [...valid[length - 1]!];
      case 'first':
        return [...valid[0]!];
      case 'mean':
        return valid[0]!.map((_, f) => sum(valid.map((step) => step[f]!)) / length);
      case 'max':
        return valid[0]!.map((_, f) => Math.max(...valid.map((step) => step[f]!)));
      default:
        return assertNever(kind);
    }
  });
}

/**
 * The forward final state ++ the backward final state of the top layer of a bidirectional
 * recurrent layer, like PyTorch's torch.cat([h_n[-2], h_n[-1]], dim=1): [batch][2 * hidden].
 */
export function lastOfBidirectional(hn: number[][][], layers: number): number[][] {
  const forward = hn[2 * (layers - 1)]!;
  const backward = hn[2 * (layers - 1) + 1]!;
  return forward.map((row, b) => [...row, ...backward[b]!]);
}

/** Reshapes a flat row-major array into nested arrays of the given shape. */
export function nest(shape: readonly number[], data: ArrayLike<number>): NestedArray {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (expected !== data.length) throw new Error(`nest: shape [${shape}] needs ${expected} values, got ${data.length}`);
  const build = (axis: number, offset: number): NestedArray => {
    const size = shape[axis]!;
    if (axis === shape.length - 1) return Array.from({ length: size }, (_, i) => data[offset + i]!);
    const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: size }, (_, i) => build(axis + 1, offset + i * stride)) as NestedArray;
  };
  return shape.length === 0 ? [data[0]!] : build(0, 0);
}

/** Flattens nested arrays (row-major) into one list of numbers. */
export function flatten(x: NestedArray | number): number[] {
  if (typeof x === 'number') return [x];
  return (x as NestedArray[]).flatMap((item) => flatten(item));
}

/** The largest absolute difference between two equally shaped nested arrays (NaN-aware: NaN counts as Infinity). */
export function maxAbsDiff(a: NestedArray, b: NestedArray): number {
  const fa = flatten(a);
  const fb = flatten(b);
  if (fa.length !== fb.length) throw new Error(`maxAbsDiff: ${fa.length} values vs ${fb.length}`);
  let worst = 0;
  for (let i = 0; i < fa.length; i++) {
    const d = Math.abs(fa[i]! - fb[i]!);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  return worst;
}

/** A small seeded generator (mulberry32) so tests get the same "random" numbers every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float32 tensor of the given shape filled uniformly from [-scale, scale). */
export function randomTensor(random: () => number, shape: readonly number[], scale = 0.5): ReferenceTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (random() * 2 - 1) * scale;
  return { shape: [...shape], data };
}

/** Nested random numbers of the given shape, uniform in [-scale, scale), rounded to float32. */
export function randomArray(random: () => number, shape: readonly number[], scale = 1): NestedArray {
  return nest(shape, randomTensor(random, shape, scale).data);
}

/** The number of gate blocks in weight_ih: 1 for RNN, 4 for LSTM, 3 for GRU. */
export function gateCount(kind: RecurrentKind): number {
  return kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1;
}

/** Random parameters for an nn.RNN/LSTM/GRU under `prefix`, named and shaped as PyTorch's state_dict. */
export function randomRecurrentWeights(
  random: () => number,
  kind: RecurrentKind,
  prefix: string,
  sizes: { readonly input: number; readonly hidden: number; readonly layers: number; readonly bidirectional: boolean },
  options: { readonly bias?: boolean; readonly scale?: number } = {},
): Map<string, ReferenceTensor> {
  const weights = new Map<string, ReferenceTensor>();
  const G = gateCount(kind) * sizes.hidden;
  const scale = options.scale ?? 0.5;
  for (let layer = 0; layer < sizes.layers; layer++) {
    const inputSize = layer === 0 ? sizes.input : sizes.hidden * (sizes.bidirectional ? 2 : 1);
    for (const suffix of sizes.bidirectional ? ['', '_reverse'] : ['']) {
      const s = `_l${layer}${suffix}`;
      weights.set(parameterName(prefix, `weight_ih${s}`), randomTensor(random, [G, inputSize], scale));
      weights.set(parameterName(prefix, `weight_hh${s}`), randomTensor(random, [G, sizes.hidden], scale));
      if (options.bias !== false) {
        weights.set(parameterName(prefix, `bias_ih${s}`), randomTensor(random, [G], scale));
        weights.set(parameterName(prefix, `bias_hh${s}`), randomTensor(random, [G], scale));
      }
    }
  }
  return weights;
}

// ---------------------------------------------------------------------------------------------
// Cells. Each follows the equations in the PyTorch documentation, gate blocks in PyTorch order.

interface CellParameters {
  /** weight_ih split into gate blocks, each [hidden][input]. */
  readonly wi: number[][][];
  /** weight_hh split into gate blocks, each [hidden][hidden]. */
  readonly wh: number[][][];
  /** bias_ih and bias_hh split into gate blocks (zeros when the layer has no bias). */
  readonly bi: number[][];
  readonly bh: number[][];
}

function cellParameters(
  kind: RecurrentKind,
  options: RecurrentOptions,
  prefix: string,
  weights: ReferenceWeights,
  layer: number,
  reverse: boolean,
): CellParameters {
  const s = `_l${layer}${reverse ? '_reverse' : ''}`;
  const gates = gateCount(kind);
  const H = options.hidden;
  const wih = matrixOf(weights, parameterName(prefix, `weight_ih${s}`));
  const whh = matrixOf(weights, parameterName(prefix, `weight_hh${s}`));
  if (wih.length !== gates * H || whh.length !== gates * H || whh[0]!.length !== H) {
    throw new Error(`${prefix}${s}: weights do not fit ${kind} with hidden ${H}`);
  }
  const hasBias = options.bias !== false;
  const bih = hasBias ? vectorOf(weights, parameterName(prefix, `bias_ih${s}`)) : new Array<number>(gates * H).fill(0);
  const bhh = hasBias ? vectorOf(weights, parameterName(prefix, `bias_hh${s}`)) : new Array<number>(gates * H).fill(0);
  const block = <T>(rows: T[], g: number): T[] => rows.slice(g * H, (g + 1) * H);
  const range = [...Array(gates).keys()];
  return {
    wi: range.map((g) => block(wih, g)),
    wh: range.map((g) => block(whh, g)),
    bi: range.map((g) => block(bih, g)),
    bh: range.map((g) => block(bhh, g)),
  };
}

/** The pre-activation of gate g: W_i[g] x + b_i[g] + W_h[g] h + b_h[g]. */
function gatePreactivation(p: CellParameters, g: number, x: number[], h: number[]): number[] {
  return add(add(matVec(p.wi[g]!, x), p.bi[g]!), add(matVec(p.wh[g]!, h), p.bh[g]!));
}

function gateActivation(options: RecurrentOptions): (a: number) => number {
  return options.recurrentActivation === 'hard_sigmoid' ? hardSigmoidOf : sigmoidOf;
}

/**
 * LSTM, gates i, f, g, o:
 *   i = σ(W_ii x + b_ii + W_hi h + b_hi)   f = σ(…)   g = tanh(…)   o = σ(…)
 *   c' = f ⊙ c + i ⊙ g                     h' = o ⊙ tanh(c')
 */
function lstmCell(
  p: CellParameters,
  options: RecurrentOptions,
  x: number[],
  h: number[],
  c: number[],
): [number[], number[]] {
  const act = gateActivation(options);
  const i = gatePreactivation(p, 0, x, h).map(act);
  const f = gatePreactivation(p, 1, x, h).map(act);
  const g = gatePreactivation(p, 2, x, h).map(Math.tanh);
  const o = gatePreactivation(p, 3, x, h).map(act);
  const cNext = c.map((cj, j) => f[j]! * cj + i[j]! * g[j]!);
  const hNext = cNext.map((cj, j) => o[j]! * Math.tanh(cj));
  return [hNext, cNext];
}

/**
 * GRU, gates r, z, n:
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr)   z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))          (PyTorch, resetAfter = true)
 *   n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)          (Keras reset_after=False)
 *   h' = (1 − z) ⊙ n + z ⊙ h
 */
function gruCell(p: CellParameters, options: RecurrentOptions, x: number[], h: number[]): number[] {
  const act = gateActivation(options);
  const r = gatePreactivation(p, 0, x, h).map(act);
  const z = gatePreactivation(p, 1, x, h).map(act);
  const inputPart = add(matVec(p.wi[2]!, x), p.bi[2]!);
  const recurrentPart =
    options.resetAfter === false
      ? add(
          matVec(
            p.wh[2]!,
            h.map((hj, j) => r[j]! * hj),
          ),
          p.bh[2]!,
        )
      : add(matVec(p.wh[2]!, h), p.bh[2]!).map((a, j) => r[j]! * a);
  const n = add(inputPart, recurrentPart).map(Math.tanh);
  return n.map((nj, j) => (1 - z[j]!) * nj + z[j]! * h[j]!);
}

/** Elman RNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu. */
function rnnCell(p: CellParameters, options: RecurrentOptions, x: number[], h: number[]): number[] {
  const act = options.nonlinearity === 'relu' ? (a: number) => Math.max(0, a) : Math.tanh;
  return gatePreactivation(p, 0, x, h).map(act);
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

function sigmoidOf(a: number): number {
  return 1 / (1 + Math.exp(-a));
}

function hardSigmoidOf(a: number): number {
  return Math.min(1, Math.max(0, 0.2 * a + 0.5));
}

function tensorOf(weights: ReferenceWeights, name: string): ReferenceTensor {
  const tensor = weights.get(name);
  if (!tensor) throw new Error(`missing parameter ${name} (have: ${[...weights.keys()].join(', ')})`);
  return tensor;
}

function matrixOf(weights: ReferenceWeights, name: string): number[][] {
  const tensor = tensorOf(weights, name);
  if (tensor.shape.length !== 2) throw new Error(`${name}: expected a matrix, got shape [${tensor.shape}]`);
  return nest(tensor.shape, tensor.data) as number[][];
}

function vectorOf(weights: ReferenceWeights, name: string): number[] {
  const tensor = tensorOf(weights, name);
  if (tensor.shape.length !== 1) throw new Error(`${name}: expected a vector, got shape [${tensor.shape}]`);
  return Array.from(tensor.data);
}

function matVec(m: number[][], v: number[]): number[] {
  return m.map((row) => {
    if (row.length !== v.length) throw new Error(`matVec: row of ${row.length} vs vector of ${v.length}`);
    let total = 0;
    for (let k = 0; k < v.length; k++) total += row[k]! * v[k]!;
    return total;
  });
}

function add(a: number[], b: number[]): number[] {
  return a.map((ai, i) => ai + b[i]!);
}

function sum(v: number[]): number {
  let total = 0;
  for (const a of v) total += a;
  return total;
}

function zeros3(a: number, b: number, c: number): number[][][] {
  return Array.from({ length: a }, () => Array.from({ length: b }, () => new Array<number>(c).fill(0)));
}

function mapLastAxis<T extends NestedArray>(x: T, f: (v: number[]) => number[]): T {
  if (x.length === 0 || typeof x[0] === 'number') return f(x as number[]) as T;
  return (x as NestedArray[]).map((item) => mapLastAxis(item, f)) as T;
}

function assertNever(value: never): never {
  throw new Error(`unexpected value ${String(value)}`);
}
