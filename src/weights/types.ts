// The weights a compiled model carries: float32 tensors keyed by PyTorch state_dict names.

/** One parameter tensor, row-major, in PyTorch layout. */
export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Parameter name → tensor, e.g. `lstm.weight_ih_l0` → [4·H, in]. */
export type WeightMap = ReadonlyMap<string, WeightTensor>;
