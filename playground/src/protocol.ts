// The messages between the playground page and its compile worker.

import type {
  BundleManifest,
  BundleRole,
  CompileTarget,
  Diagnostic,
  ModelSignature,
  ModelSummary,
} from '../../src/index.js';
import type { ModelIR } from '../../src/ir/ir.js';

export interface CompileRequest {
  readonly id: number;
  readonly source: string;
  /** Names the spec in diagnostics, such as `sentiment.seq`. */
  readonly sourceName: string;
  /** The stem of the downloaded files' names, such as `sentiment`. */
  readonly stem: string;
  /** `webgpu` for a run on WebGPU; the worker falls back to `generic` when the webgpu target refuses the spec. */
  readonly target: CompileTarget;
}

/** After parse and check: the diagnostics, and for a valid spec its IR and summary. */
export interface CheckedMessage {
  readonly id: number;
  readonly phase: 'checked';
  readonly diagnostics: readonly Diagnostic[];
  readonly ir?: ModelIR;
  readonly summary?: ModelSummary;
  readonly ms: number;
}

/** After `compile()`: the model's bytes and signature, and the bundle for a decoder model. */
export interface CompiledMessage {
  readonly id: number;
  readonly phase: 'compiled';
  /** The target the bytes were compiled for. */
  readonly target: CompileTarget;
  /** When the webgpu target was asked for and refused the spec: its SEQ050 diagnostics, and the bytes are generic. */
  readonly refused?: readonly Diagnostic[];
  readonly diagnostics: readonly Diagnostic[];
  readonly model?: Uint8Array;
  readonly signature?: ModelSignature;
  readonly bundle?: {
    readonly manifest: BundleManifest;
    readonly files: readonly { readonly role: BundleRole; readonly file: string; readonly bytes: Uint8Array }[];
  };
  readonly ms: number;
}

/** A bug in the compiler: `compile()` threw. */
export interface FailedMessage {
  readonly id: number;
  readonly phase: 'failed';
  readonly message: string;
}

export type WorkerMessage = CheckedMessage | CompiledMessage | FailedMessage;
