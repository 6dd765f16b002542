// A model's signature: its inputs and outputs with their roles, as the runtime validates them (stored as JSON in the metadata).

import type { ModelSignature } from '../contracts/signature.js';
import type { EmbeddingOp, ModelIR, ValueType } from '../ir/ir.js';

export type { ModelSignature } from '../contracts/signature.js';

export function modelSignature(ir: ModelIR): ModelSignature {
  const dims = (t: ValueType): (string | number)[] => t.dims.map((d) => (d.kind === 'symbol' ? d.name : d.size));
  return {
    name: ir.name,
    inputs: ir.inputs.map((i) => {
      const vocabs = ir.ops
        .filter((o): o is EmbeddingOp => o.kind === 'embedding' && o.input === i.name)
        .map((o) => o.vocab);
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
