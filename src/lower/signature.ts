// A model's signature: its inputs and outputs with their roles, as the runtime validates them (stored as JSON in the metadata).

import type { EmbeddingOp, ModelIR, ValueType } from '../ir/ir.js';

/** The model's inputs and outputs as the runtime validates them; stored as JSON in the metadata. */
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

export function modelSignature(ir: ModelIR): ModelSignature {
  const dims = (t: ValueType): (string | number)[] => t.dims.map((d) => (d.kind === 'symbol' ? d.name : d.size));
  return {
    name: ir.name,
    inputs: ir.inputs.map((i) => {
      const vocabs = ir.ops.filter((o): o is EmbeddingOp => o.kind === 'embedding' && o.input === i.name).map((o) => o.vocab);
      return {
        name: i.name,
        dtype: i.type.dtype,
        dims: dims(i.type),
        role: i.role.kind,
        ...(i.role.kind === 'lengths' ? { of: i.role.of } : {}),
        ...(i.role.kind === 'state' ? { layer: i.role.layer } : {}),
        ...(vocabs.length > 0 ? { vocab: Math.min(...vocabs) } : {}),
      };
    }),
    outputs: ir.outputs.map((o) => ({ name: o.name, dtype: o.type.dtype, dims: dims(o.type) })),
  };
}
