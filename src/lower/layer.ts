// What the lowering of one layer reads from the graph around it: the builder, the target, the weights and the values lowered so far.

import type { Span } from '../diagnostics/diagnostic.js';
import type { GraphBuilder } from './builder.js';
import type { Target } from './target.js';
import type { Lowered } from './values.js';

/** The graph a layer is lowered into; the classifier graph, the encoder and the decoder step all give one (`Lowering` in ./lower.ts). */
export interface LayerContext {
  readonly b: GraphBuilder;
  /** Every generic-vs-webgpu decision (./target.ts). */
  readonly target: Target;
  /** A weight's data; resolving the weights guaranteed that every parameter is there. */
  weight(name: string): Float32Array;
  /** A value as it is in the graph now. */
  value(id: string): Lowered;
  /** A value as a time-major tensor, transposed on first use. */
  timeMajor(id: string, span: Span): Lowered;
}

/** A layer's output tensor and its layout (sequences are time-major inside the graph). */
export interface LayerOutput {
  readonly name: string;
  readonly timeMajor: boolean;
}
