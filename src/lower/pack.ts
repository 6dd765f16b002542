// Converts PyTorch recurrent weights into ONNX layout: gate blocks reordered, biases stacked.

import type { RecurrentCell } from '../ir/ir.js';

/**
 * Where each ONNX gate block comes from in PyTorch's layout. ONNX LSTM gates are i,o,f,c and
 * PyTorch's are i,f,g,o; ONNX GRU gates are z,r,h and PyTorch's are r,z,n; RNN has one block.
 */
export function onnxGateOrder(cell: RecurrentCell): readonly number[] {
  switch (cell) {
    case 'lstm':
      return [0, 3, 1, 2];
    case 'gru':
      return [1, 0, 2];
    case 'rnn':
      return [0];
  }
}

/** Reorders the row blocks of a [gates·hidden, columns] matrix (columns = 1 for a bias). */
export function reorderGateBlocks(
  data: Float32Array,
  hidden: number,
  columns: number,
  order: readonly number[],
): Float32Array {
  const block = hidden * columns;
  const result = new Float32Array(data.length);
  order.forEach((from, to) => result.set(data.subarray(from * block, (from + 1) * block), to * block));
  return result;
}

export function concatFloat(parts: readonly Float32Array[]): Float32Array {
  const result = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    result.set(p, offset);
    offset += p.length;
  }
  return result;
}

/** Transposes a row-major [rows, columns] matrix. */
export function transpose2d(data: Float32Array, rows: number, columns: number): Float32Array {
  const result = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) result[c * rows + r] = data[r * columns + c]!;
  }
  return result;
}
