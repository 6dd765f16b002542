// The model signature: a compiled graph's inputs and outputs as the compiler records them and the runtime validates them.

/**
 * The model's inputs and outputs as the runtime validates them. The compiler (`modelSignature` in
 * src/lower/lower.ts) stores it as JSON in the `seqc.signature` metadata entry; the runtime
 * (src/runtime/signature.ts) reads it back and checks it against the graph.
 */
export interface ModelSignature {
  readonly name: string;
  readonly inputs: readonly {
    name: string;
    dtype: string;
    dims: (string | number)[];
    role: string;
    of?: string;
    layer?: string;
    vocab?: number;
  }[];
  readonly outputs: readonly { name: string; dtype: string; dims: (string | number)[] }[];
}
