// The part of ONNX Runtime's JavaScript API that seqc uses, so that one runtime core drives onnxruntime-node and onnxruntime-web alike.

/** The part of an ONNX Runtime tensor that seqc uses; `onnxruntime-node` and `onnxruntime-web` tensors have it. */
export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  /** Where the data lives: onnxruntime-web's 'gpu-buffer' tensors have no `data` to read (reading it throws). */
  readonly location?: string;
  /** Frees a GPU tensor's buffer. */
  dispose?(): void;
}

/** The part of an ONNX Runtime `InferenceSession` that seqc uses. */
export interface OrtSession {
  readonly inputNames?: readonly string[];
  readonly outputNames?: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  /** Returns only the outputs that `fetches` names (ONNX Runtime still runs every node of the graph). */
  run(feeds: Record<string, OrtTensor>, fetches: readonly string[]): Promise<Record<string, OrtTensor>>;
  release?(): Promise<void>;
}

/**
 * The ONNX Runtime module, injected so that the same code runs on `onnxruntime-node` and
 * `onnxruntime-web`: pass `await import('onnxruntime-node')` or `await import('onnxruntime-web')`.
 */
export interface OrtModule {
  readonly InferenceSession: {
    create(
      model: Uint8Array,
      options?: {
        readonly executionProviders?: readonly string[];
        readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
        /** The files the model's external-data initializers name: `path` is the model's `location`, `data` the bytes (or, on Node, a file path). */
        readonly externalData?: readonly { readonly path: string; readonly data: Uint8Array | string }[];
        /** Per output, where a run leaves it: onnxruntime-web's WebGPU provider keeps 'gpu-buffer' outputs on the GPU. */
        readonly preferredOutputLocation?: Readonly<Record<string, 'cpu' | 'gpu-buffer'>>;
      },
    ): Promise<OrtSession>;
  };
  readonly Tensor: new (
    type: 'int64' | 'float32',
    data: BigInt64Array | Float32Array,
    dims: readonly number[],
  ) => OrtTensor;
}
