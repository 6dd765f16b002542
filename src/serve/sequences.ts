// Stateful models' sequences: the state outputs (`L.hn`, `L.cn`) of one request kept per sequence id as the next request's state inputs (`L.h0`, `L.c0`), as Triton's sequence batcher keeps implicit state.

import type { ModelSignature } from '../contracts/signature.js';
import type { TensorData } from '../runtime/inputs.js';

/** A state input and the output that carries its next value. */
export interface StatePair {
  readonly input: string;
  readonly output: string;
}

export interface SequenceStore {
  /** The state of a live sequence, or undefined when the id is unknown (never started, ended or expired). */
  get(id: string | number): ReadonlyMap<string, TensorData> | undefined;
  /** Starts or continues a sequence with the state its last request left; false when `maxSequences` are live. */
  set(id: string | number, state: ReadonlyMap<string, TensorData>): boolean;
  drop(id: string | number): void;
  /** Runs `work` after every earlier request of the same sequence has finished, so a sequence's steps keep their order. */
  inOrder<T>(id: string | number, work: () => Promise<T>): Promise<T>;
  size(): number;
  /** Stops the idle sweep. */
  close(): void;
}

/** The state pairs of a signature: each `role: state` input `L.h0`/`L.c0` with the output `L.hn`/`L.cn`. */
export function statePairs(signature: ModelSignature): StatePair[] {
  return signature.inputs
    .filter((i) => i.role === 'state')
    .map((i) => ({ input: i.name, output: i.name.replace(/0$/, 'n') }))
    .filter((p) => signature.outputs.some((o) => o.name === p.output));
}

/** A store whose sequences are dropped after `idleMs` without a request. */
export function createSequenceStore(options: { idleMs: number; maxSequences: number }): SequenceStore {
  const live = new Map<string, { state: ReadonlyMap<string, TensorData>; touched: number }>();
  const chains = new Map<string, Promise<unknown>>();
  const keyOf = (id: string | number): string => `${typeof id}:${id}`;
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [key, entry] of live) if (now - entry.touched > options.idleMs) live.delete(key);
    },
    Math.max(10, Math.min(options.idleMs, 60_000)),
  );
  sweep.unref?.();
  return {
    get: (id) => {
      const entry = live.get(keyOf(id));
      if (entry === undefined || Date.now() - entry.touched > options.idleMs) return undefined;
      return entry.state;
    },
    set: (id, state) => {
      const key = keyOf(id);
      if (!live.has(key) && live.size >= options.maxSequences) return false;
      live.set(key, { state, touched: Date.now() });
      return true;
    },
    drop: (id) => {
      live.delete(keyOf(id));
    },
    inOrder: <T>(id: string | number, work: () => Promise<T>): Promise<T> => {
      const key = keyOf(id);
      const before = chains.get(key) ?? Promise.resolve();
      const next = before.then(work, work);
      const settled = next.catch(() => undefined);
      chains.set(key, settled);
      void settled.then(() => {
        if (chains.get(key) === settled) chains.delete(key);
      });
      return next;
    },
    size: () => live.size,
    close: () => clearInterval(sweep),
  };
}
