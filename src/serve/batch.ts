// Dynamic batching: requests for one model that arrive within a short window are padded into one batch (time axes padded, `lengths` kept per row), run once, and split back.

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { ModelSignature } from '../contracts/signature.js';
import type { TensorData } from '../runtime/inputs.js';

/** How a model's tensors batch: the batch symbol and, per tensor, the axis it is on. */
export interface BatchLayout {
  readonly batch: string;
  /**
   * Symbols of time axes that every input carrying them has a `lengths` input for: padded freely.
   * None where an output has a symbol that no input has (a Conv1d's `<time>_<label>`).
   */
  readonly padded: readonly string[];
}

export interface BatcherOptions {
  /** How long the first request of a batch waits for others, in milliseconds (0: none). */
  readonly windowMs: number;
  /** The most rows in one batch. */
  readonly maxBatch: number;
  /** The most requests waiting (not yet running); beyond it `submit` answers `overloaded`. */
  readonly maxQueue: number;
}

/** Runs one merged batch: the model's validated feeds in, its outputs out. */
export type RunBatch = (
  feeds: ReadonlyMap<string, TensorData>,
) => Promise<{ outputs?: ReadonlyMap<string, TensorData>; diagnostics: readonly Diagnostic[] }>;

export type BatchAnswer =
  | { readonly kind: 'done'; readonly outputs: ReadonlyMap<string, TensorData> }
  | { readonly kind: 'failed'; readonly diagnostics: readonly Diagnostic[] }
  | { readonly kind: 'overloaded'; readonly waiting: number };

export interface Batcher {
  /** Queues one request's validated feeds (every input present) and answers with its own rows of the outputs. */
  submit(feeds: ReadonlyMap<string, TensorData>): Promise<BatchAnswer>;
  /** Requests waiting now. */
  waiting(): number;
  /** Batches run so far and the rows in them, for tests and the benchmark. */
  stats(): { batches: number; rows: number; requests: number };
}

/**
 * The batch layout of a signature: every input and output must carry the batch symbol (the
 * first axis of the first data input), or the model is served without batching.
 */
export function batchLayout(signature: ModelSignature): BatchLayout | undefined {
  const first = signature.inputs.find((i) => i.role === 'data');
  const batch = first?.dims[0];
  if (typeof batch !== 'string') return undefined;
  const all = [...signature.inputs, ...signature.outputs];
  if (!all.every((t) => t.dims.filter((d) => d === batch).length === 1)) return undefined;
  const symbols = new Set(all.flatMap((t) => t.dims.filter((d): d is string => typeof d === 'string' && d !== batch)));
  // A symbol only outputs carry (a Conv1d's `<time>_<label>`) is sized by the graph from the padded
  // input sizes, which a batch would enlarge: such a model batches only requests of equal sizes, so
  // each answer is what the request gets alone.
  const inputSymbols = new Set(signature.inputs.flatMap((i) => i.dims));
  if ([...symbols].some((symbol) => !inputSymbols.has(symbol))) return { batch, padded: [] };
  const padded = [...symbols].filter((symbol) =>
    signature.inputs
      .filter((i) => i.dims.includes(symbol))
      .every((i) => i.dims.length >= 2 && signature.inputs.some((l) => l.role === 'lengths' && l.of === i.name)),
  );
  return { batch, padded };
}

/**
 * A batcher for one model. Requests queue; a batch starts when the window after its first
 * request has passed or `maxBatch` rows wait, and, so that batches grow under load, only once
 * the batch before it has finished. Requests batch together only when their unpadded symbolic
 * sizes agree.
 */
export function createBatcher(
  signature: ModelSignature,
  layout: BatchLayout,
  options: BatcherOptions,
  run: RunBatch,
): Batcher {
  interface Pending {
    readonly feeds: ReadonlyMap<string, TensorData>;
    readonly rows: number;
    readonly key: string;
    readonly sizes: ReadonlyMap<string, number>;
    readonly answer: (a: BatchAnswer) => void;
  }
  const queue: Pending[] = [];
  let running = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let firstQueuedAt = 0;
  const counts = { batches: 0, rows: 0, requests: 0 };

  const schedule = (): void => {
    if (running || queue.length === 0 || timer !== undefined) return;
    const rows = queue.reduce((n, p) => n + p.rows, 0);
    const left = options.windowMs - (Date.now() - firstQueuedAt);
    if (rows >= options.maxBatch || left <= 0) {
      void flush();
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      if (!running) void flush();
    }, left);
  };

  const flush = async (): Promise<void> => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    const head = queue[0];
    if (head === undefined) return;
    const taken: Pending[] = [];
    let rows = 0;
    for (let i = 0; i < queue.length;) {
      const p = queue[i]!;
      if (p.key === head.key && (taken.length === 0 || rows + p.rows <= options.maxBatch)) {
        taken.push(p);
        rows += p.rows;
        queue.splice(i, 1);
      } else i++;
    }
    running = true;
    firstQueuedAt = Date.now();
    try {
      counts.batches++;
      counts.rows += rows;
      counts.requests += taken.length;
      const merged = mergeFeeds(signature, layout, taken);
      const result = await run(merged);
      if (result.outputs === undefined) {
        for (const p of taken) p.answer({ kind: 'failed', diagnostics: result.diagnostics });
      } else {
        let offset = 0;
        for (const p of taken) {
          p.answer({ kind: 'done', outputs: splitOutputs(signature, layout, result.outputs, offset, p) });
          offset += p.rows;
        }
      }
    } catch (e) {
      // A bug in merging or splitting: every request of the batch gets an answer rather than hanging.
      for (const p of taken) p.answer({ kind: 'failed', diagnostics: [batchFailure(e)] });
    } finally {
      running = false;
      schedule();
    }
  };

  return {
    submit: (feeds) => {
      if (queue.length >= options.maxQueue) return Promise.resolve({ kind: 'overloaded', waiting: queue.length });
      const sizes = symbolSizes(signature, feeds);
      const rows = sizes.get(layout.batch) ?? 1;
      const key = [...sizes]
        .filter(([symbol]) => symbol !== layout.batch && !layout.padded.includes(symbol))
        .map(([symbol, size]) => `${symbol}=${size}`)
        .join(',');
      return new Promise<BatchAnswer>((answer) => {
        if (queue.length === 0) firstQueuedAt = Date.now();
        queue.push({ feeds, rows, key, sizes, answer });
        schedule();
      });
    },
    waiting: () => queue.length,
    stats: () => ({ ...counts }),
  };
}

// Internals.

function batchFailure(e: unknown): Diagnostic {
  return error(
    'SEQ500',
    spanOfWhole('<request>'),
    `seqc serve failed while batching this request: ${(e instanceof Error ? e.message : String(e)).slice(0, 300)}`,
    'please report this with the requests that caused it',
  );
}

/** The size of each symbolic dim in one request's feeds. */
function symbolSizes(signature: ModelSignature, feeds: ReadonlyMap<string, TensorData>): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const input of signature.inputs) {
    const t = feeds.get(input.name);
    if (t === undefined) continue;
    input.dims.forEach((d, axis) => {
      if (typeof d === 'string' && !sizes.has(d)) sizes.set(d, t.dims[axis]!);
    });
  }
  return sizes;
}

/** Concatenates the requests' feeds on the batch axis, padding each padded axis with zeros to the longest. */
function mergeFeeds(
  signature: ModelSignature,
  layout: BatchLayout,
  parts: readonly { feeds: ReadonlyMap<string, TensorData>; rows: number; sizes: ReadonlyMap<string, number> }[],
): Map<string, TensorData> {
  const merged = new Map<string, TensorData>();
  for (const input of signature.inputs) {
    const tensors = parts.map((p) => p.feeds.get(input.name)!);
    const first = tensors[0]!;
    if (parts.length === 1) {
      merged.set(input.name, first);
      continue;
    }
    const batchAxis = input.dims.indexOf(layout.batch);
    const dims = first.dims.map((size, axis) => {
      if (axis === batchAxis) return parts.reduce((n, p) => n + p.rows, 0);
      const symbol = input.dims[axis];
      return typeof symbol === 'string' && layout.padded.includes(symbol)
        ? Math.max(...tensors.map((t) => t.dims[axis]!))
        : size;
    });
    const data = first.dtype === 'int64' ? new BigInt64Array(count(dims)) : new Float32Array(count(dims));
    let batchOffset = 0;
    for (const t of tensors) {
      copyInto(t, data, dims, batchAxis, batchOffset);
      batchOffset += t.dims[batchAxis]!;
    }
    merged.set(input.name, { dtype: first.dtype, dims, data } as TensorData);
  }
  return merged;
}

/** One request's rows of each output, cut on each padded axis to the request's own size. */
function splitOutputs(
  signature: ModelSignature,
  layout: BatchLayout,
  outputs: ReadonlyMap<string, TensorData>,
  offset: number,
  part: { rows: number; sizes: ReadonlyMap<string, number> },
): Map<string, TensorData> {
  const split = new Map<string, TensorData>();
  for (const output of signature.outputs) {
    const t = outputs.get(output.name)!;
    const starts = t.dims.map(() => 0);
    const dims = t.dims.map((size, axis) => {
      const symbol = output.dims[axis];
      if (symbol === layout.batch) {
        starts[axis] = offset;
        return part.rows;
      }
      return typeof symbol === 'string' && layout.padded.includes(symbol) ? (part.sizes.get(symbol) ?? size) : size;
    });
    split.set(output.name, sliceTensor(t, starts, dims));
  }
  return split;
}

function count(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function stridesOf(dims: readonly number[]): number[] {
  const strides = dims.map(() => 1);
  for (let axis = dims.length - 2; axis >= 0; axis--) strides[axis] = strides[axis + 1]! * dims[axis + 1]!;
  return strides;
}

/** Copies `t` into the larger `data` of shape `dims`, at `offset` on the batch axis and 0 on every other. */
function copyInto(
  t: TensorData,
  data: BigInt64Array | Float32Array,
  dims: readonly number[],
  batchAxis: number,
  offset: number,
): void {
  const from = stridesOf(t.dims);
  const to = stridesOf(dims);
  const total = count(t.dims);
  for (let i = 0; i < total; i++) {
    let target = 0;
    for (let axis = 0; axis < t.dims.length; axis++) {
      const index = Math.floor(i / from[axis]!) % t.dims[axis]!;
      target += (axis === batchAxis ? index + offset : index) * to[axis]!;
    }
    data[target] = t.data[i]!;
  }
}

/** The block of `t` starting at `starts` with sizes `dims`. */
export function sliceTensor(t: TensorData, starts: readonly number[], dims: readonly number[]): TensorData {
  if (starts.every((s) => s === 0) && dims.every((d, axis) => d === t.dims[axis])) return t;
  const from = stridesOf(t.dims);
  const to = stridesOf(dims);
  const total = count(dims);
  const data = t.dtype === 'int64' ? new BigInt64Array(total) : new Float32Array(total);
  for (let i = 0; i < total; i++) {
    let source = 0;
    for (let axis = 0; axis < dims.length; axis++) {
      const index = Math.floor(i / to[axis]!) % dims[axis]!;
      source += (index + starts[axis]!) * from[axis]!;
    }
    data[i] = t.data[source]!;
  }
  return { dtype: t.dtype, dims, data } as TensorData;
}
