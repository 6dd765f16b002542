// The manifest of a compiled encoder–decoder or language-model bundle: its files, their signatures, its special tokens.
//
// The compiler writes it (src/lower/seq2seq.ts) and the runtime reads it (src/runtime/manifest.ts); docs/seq2seq.md defines it.

export type BundleRole = 'scoring' | 'encoder' | 'step' | 'greedy';

/**
 * The candidates per row that a step graph with choice outputs returns (`top_tokens`, `top_log_probs`,
 * `top_logits`, docs/seq2seq.md): min(V, stepCandidates). Searches that need more read the logits.
 */
export const stepCandidates = 64;

export interface BundleFileEntry {
  /** The file name, relative to the manifest's folder, such as `translator.step.onnx`. */
  readonly path: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export interface BundleManifest {
  readonly format: 'seqc-bundle';
  readonly version: 1;
  /** Present for `--target webgpu` bundles, whose graphs use no Loop (README, "WebGPU target"). */
  readonly target?: 'webgpu';
  readonly name: string;
  readonly kind: 'seq2seq' | 'lm';
  readonly bos: number;
  readonly eos: number;
  readonly maxLength: number;
  /** Size of the logits: the vocabulary the decoder predicts. */
  readonly vocab: number;
  /** Size of the decoder's embedding: the ids it accepts. */
  readonly targetVocab: number;
  readonly state: { readonly cell: 'rnn' | 'lstm' | 'gru'; readonly layers: number; readonly hidden: number };
  readonly inputFeed: boolean;
  /** Features of the encoder's memory, for seq2seq models. */
  readonly memoryDim?: number;
  readonly attention?: { readonly score: 'dot' | 'general' | 'additive'; readonly placement: 'luong' | 'bahdanau' };
  /** The model's source input and its lengths input, for seq2seq models. */
  readonly source?: { readonly input: string; readonly lengths?: string };
  readonly files: {
    readonly scoring: BundleFileEntry;
    readonly encoder?: BundleFileEntry;
    readonly step: BundleFileEntry;
    readonly greedy: BundleFileEntry;
  };
  /**
   * The weights file that every graph of the bundle reads its initializers from (ONNX external
   * data), each tensor stored once. Absent in bundles from before seqc stored weights once.
   */
  readonly weights?: BundleWeightsEntry;
}

export interface BundleWeightsEntry {
  /** The file name, relative to the manifest's folder, such as `translator.weights.bin`; the graphs' `external_data` `location`. */
  readonly path: string;
  /** Its size in bytes. */
  readonly bytes: number;
}
