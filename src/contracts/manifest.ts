// The manifest of a compiled encoder–decoder or language-model bundle: its files, their signatures, its special tokens.
//
// The compiler writes it (src/lower/seq2seq.ts) and the runtime reads it (src/runtime/manifest.ts); docs/seq2seq.md defines it.

export type BundleRole = 'scoring' | 'encoder' | 'step' | 'greedy';

/**
 * The candidates per row that a step graph with choice outputs but no `top_k` input returns (`top_tokens`,
 * `top_log_probs`, `top_logits`, docs/seq2seq.md): min(V, fixedStepCandidates). Step graphs compiled since
 * take the count as their `top_k` input. Searches that need more than a fixed count read the logits.
 */
export const fixedStepCandidates = 64;

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
  /** How the weights are stored, when not float32 (`seqc compile --quantize`/`--precision`; README, "Smaller models"). */
  readonly precision?: ModelPrecision;
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
  /**
   * The tokenizers that turn text into the source's ids and the target's ids into text, each a
   * file beside the manifest. Absent in bundles built without tokenizers (and before seqc had them).
   */
  readonly tokenizers?: BundleTokenizers;
}

/** A bundle's tokenizers: `source` for a seq2seq model's source, `target` for the decoder's ids (and a language model's prompt). */
export interface BundleTokenizers {
  readonly source?: BundleTokenizerEntry;
  readonly target?: BundleTokenizerEntry;
}

export interface BundleTokenizerEntry {
  /** The file name, relative to the manifest's folder, such as `translator.target.tokenizer.json`; its bytes as given. */
  readonly path: string;
  /** `huggingface`: a tokenizer.json; `vocabulary`: a JSON list of tokens, index = id. */
  readonly format: 'huggingface' | 'vocabulary';
  readonly model: 'BPE' | 'WordPiece' | 'Unigram' | 'list';
  /** How many ids it uses: one more than its largest id. */
  readonly size: number;
  /** The ids of its special tokens, where it defines them. */
  readonly bos?: number;
  readonly eos?: number;
  readonly pad?: number;
  readonly unk?: number;
}

export interface BundleWeightsEntry {
  /** The file name, relative to the manifest's folder, such as `translator.weights.bin`; the graphs' `external_data` `location`. */
  readonly path: string;
  /** Its size in bytes. */
  readonly bytes: number;
}

/**
 * How a compiled model stores its weights when not as float32: `int8` (dynamic int8 kernels of
 * ONNX Runtime CPU, weight-only int8 where there is none), `int8-weights` (weight-only int8, for
 * onnxruntime-web), `fp16` (float16 weights, float32 compute).
 */
export type ModelPrecision = 'int8' | 'int8-weights' | 'fp16';
