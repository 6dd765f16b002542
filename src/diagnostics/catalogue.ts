// The one catalogue of diagnostic codes: each code, its stage, and a one-line description.
// docs/errors.md is generated from this table together with the fixtures in test/fixtures/diagnostics.

export const catalogue = {
  // Syntax: the lexer and the parser.
  SEQ001: { stage: 'syntax', title: 'A character that cannot start any token.' },
  SEQ002: { stage: 'syntax', title: 'A token where the grammar expects something else.' },
  SEQ003: { stage: 'syntax', title: 'The file must hold exactly one model.' },

  // Limits on a spec's size, past which seqc stops rather than run long or use much memory.
  SEQ004: { stage: 'limits', title: 'The spec is longer than 1 MiB (1,048,576 characters).' },
  SEQ005: { stage: 'limits', title: 'More than 100 diagnostics: the rest are counted, not shown.' },
  SEQ006: { stage: 'limits', title: 'A name is longer than 256 characters.' },
  SEQ007: { stage: 'limits', title: 'The model has more than 65,536 steps.' },

  // Names: inputs, labels, outputs and references.
  SEQ010: { stage: 'check', title: 'A step names a layer or builtin that does not exist.' },
  SEQ011: { stage: 'check', title: 'A chain starts from a name that is neither an input nor a label.' },
  SEQ012: { stage: 'check', title: 'Two layers have the same label.' },
  SEQ013: { stage: 'check', title: 'An unlabeled layer whose kind occurs more than once needs a label.' },
  SEQ014: { stage: 'check', title: 'Two inputs have the same name.' },
  SEQ015: { stage: 'check', title: 'Two outputs have the same name, or an output reuses an input name.' },
  SEQ016: { stage: 'check', title: 'An input is declared but never used.' },
  SEQ017: { stage: 'check', title: 'The model has no output.' },
  SEQ018: { stage: 'check', title: "A chain's result is neither an output nor used by another chain." },
  SEQ019: { stage: 'check', title: 'A label is also the name of an input or a builtin.' },

  // Arguments of layers.
  SEQ020: { stage: 'check', title: 'A layer got an argument it does not take.' },
  SEQ021: { stage: 'check', title: 'A layer is missing a required argument.' },
  SEQ022: { stage: 'check', title: 'An argument has the wrong type.' },
  SEQ023: { stage: 'check', title: 'An argument is outside its allowed range.' },
  SEQ024: { stage: 'check', title: 'An argument is given twice, or a positional argument is misplaced.' },
  SEQ025: { stage: 'check', title: 'A builtin takes no arguments.' },

  // Types and shapes.
  SEQ030: { stage: 'check', title: 'An input has an unknown element type.' },
  SEQ031: { stage: 'check', title: 'An input has a shape seqc cannot use.' },
  SEQ032: { stage: 'check', title: '`lengths(x)` names something that is not a sequence input.' },
  SEQ033: { stage: 'check', title: 'A layer got a value of the wrong element type.' },
  SEQ034: { stage: 'check', title: 'A layer got a value of the wrong rank.' },
  SEQ035: { stage: 'check', title: 'A feature size must be a fixed number, but it is symbolic.' },
  SEQ036: { stage: 'check', title: 'A step reads a time axis that the value no longer has.' },
  SEQ037: { stage: 'check', title: 'A recurrent layer option does not fit the layer.' },
  SEQ038: { stage: 'check', title: 'Attention is only meaningful inside a decoder block.' },

  // Encoder–decoder models and language models.
  SEQ040: {
    stage: 'check',
    title: "The decoder's initial state cannot come from the encoder's final state as declared.",
  },
  SEQ041: {
    stage: 'check',
    title:
      "A decoder's steps are not as seqc expects: one Embedding first, only an Attention between it and the recurrent layer, no `output` steps, logits at the end.",
  },
  SEQ042: { stage: 'check', title: "An attention layer's sizes do not fit its query and memory." },
  SEQ044: { stage: 'check', title: 'An input or output name that ONNX Runtime for JavaScript cannot feed or fetch.' },
  SEQ045: {
    stage: 'check',
    title:
      "The model's blocks are not arranged as seqc expects: an unknown block, a block given twice, an encoder without a decoder, or a chain outside the encoder.",
  },
  SEQ046: {
    stage: 'check',
    title: 'The encoder does not end in a sequence [batch, time, features] for the decoder to attend over.',
  },
  SEQ048: {
    stage: 'check',
    title: "A decoder's Attention is misplaced: in a language model, given twice, or not next to the recurrent layer.",
  },
  SEQ049: { stage: 'check', title: "A decoder's recurrent layer is missing, given twice, bidirectional or stateful." },
  SEQ060: {
    stage: 'check',
    title:
      'A label is also the module path of another label (`encoder` and `encoder.rnn`), which no PyTorch module can be.',
  },
  SEQ061: {
    stage: 'check',
    title:
      'A merge is malformed: not `concat` or `add`, fewer than two operands, an operand that is not a name, or a merge written as a step.',
  },
  SEQ062: { stage: 'check', title: 'A merge operand is not float32 (token ids are merged after an Embedding).' },
  SEQ063: {
    stage: 'check',
    title: 'Merge operands differ in form: a sequence with a vector, or a value without a feature axis.',
  },
  SEQ064: { stage: 'check', title: 'Merge operands differ in their batch or time axis.' },
  SEQ065: { stage: 'check', title: 'Merged sequences have different lengths (another `lengths(…)` input, or none).' },
  SEQ066: {
    stage: 'check',
    title: '`add` operands differ in feature size, or a merge operand has a symbolic feature size.',
  },

  // Compile targets.
  SEQ050: {
    stage: 'target',
    title: 'A part of the model cannot run where `--target webgpu` promises to run it: on the WebGPU provider.',
  },
  SEQ051: { stage: 'target', title: "The model's weights exceed what seqc can write in one weights file (4 GiB)." },

  // Layers beyond the recurrent ones.
  SEQ070: { stage: 'check', title: 'A Conv1d reads something other than a float sequence [batch, time, features].' },
  SEQ071: { stage: 'check', title: "A Conv1d's kernel span exceeds its padded input, leaving no output steps." },
  SEQ072: {
    stage: 'check',
    title:
      "A Conv1d in an encoder changes the number of steps of a sequence with lengths: a decoder masks the encoder's memory only by a lengths input.",
  },
  SEQ073: { stage: 'check', title: "An LSTM's `proj` is not smaller than its `hidden` size." },
  SEQ074: {
    stage: 'check',
    title:
      "A decoder's LSTM, or the encoder LSTM whose final state starts it, has a projection (`proj`): not supported there.",
  },
  SEQ075: {
    stage: 'check',
    title:
      'An LSTM with a projection (`proj`) also asks for a `recurrent_activation` other than sigmoid or an `activation` other than tanh.',
  },
  // CRF layers.
  SEQ080: { stage: 'check', title: "A CRF's `tags` differs from the number of scores per step it reads." },
  SEQ081: { stage: 'check', title: 'A step follows a CRF, whose best tag path only outputs may take.' },
  SEQ082: { stage: 'check', title: 'A CRF reads something other than a sequence of tag scores [batch, time, tags].' },
  // Keras masking and the Keras recurrent options.
  SEQ083: { stage: 'check', title: 'A value would carry both a Keras mask (`mask_zero`, `masking`) and `lengths`.' },
  SEQ084: {
    stage: 'check',
    title: 'A recurrent layer asks for a `merge` mode other than concat but is not one bidirectional layer.',
  },
  SEQ085: {
    stage: 'check',
    title: '`go_backwards` on a bidirectional or stacked layer, or over a sequence with `lengths`.',
  },
  SEQ086: { stage: 'check', title: '`masked_output=zero` on a recurrent layer whose input carries no Keras mask.' },
  SEQ087: {
    stage: 'check',
    title: '`max` pools over a value with a Keras mask: every step counts, masked ones too, as in Keras and TF.js.',
  },
  SEQ088: {
    stage: 'check',
    title:
      'A step cannot take a Keras mask: Conv1d, CRF, an LSTM with `proj`, a merge of differently masked values, or a mask without a time axis.',
  },
  SEQ089: {
    stage: 'check',
    title: "A decoder's recurrent layer asks for `go_backwards`, a `merge` mode or `masked_output`.",
  },
  SEQ090: {
    stage: 'cli',
    title: '`seqc emit pytorch` got a spec with Keras masking, `go_backwards` or a `merge` mode.',
  },

  // Weights files.
  SEQ091: {
    stage: 'check',
    title:
      "An input of a model with a decoder takes a name the bundle's graphs use for their own values (`tokens`, `memory`, …).",
  },
  SEQ100: { stage: 'weights', title: 'The weights file is not a valid safetensors file.' },
  SEQ101: { stage: 'weights', title: 'A tensor in the weights file has an element type seqc cannot read.' },
  SEQ102: { stage: 'weights', title: "The weights file's tensors do not match the model's parameters." },
  SEQ103: { stage: 'weights', title: 'A tensor in the weights file holds NaN or infinite values.' },
  SEQ104: {
    stage: 'target',
    title: '`--quantize int8` (ONNX Runtime CPU kernels) is asked for the webgpu target, which has no int8 kernels.',
  },
  SEQ105: { stage: 'target', title: '`--quantize` and `--precision fp16` are both given; they are two stored forms.' },
  SEQ210: {
    stage: 'weights',
    title: 'The PyTorch checkpoint is not a readable zip archive of a pickle and its storages.',
  },
  SEQ211: {
    stage: 'weights',
    title: "The checkpoint's pickle uses an opcode or global outside the allow-list that a state_dict needs.",
  },
  SEQ212: { stage: 'weights', title: "The checkpoint's pickle or a tensor view in it is malformed or out of bounds." },
  SEQ213: { stage: 'weights', title: 'The checkpoint holds no state_dict where `--weights FILE.pt[:KEY]` points.' },
  SEQ214: {
    stage: 'weights',
    title: 'A PyTorch format seqc does not read: the legacy (pre-zip) format, TorchScript, or big-endian.',
  },

  // Command line.
  SEQ200: { stage: 'cli', title: 'An unknown command or flag.' },
  SEQ201: { stage: 'cli', title: 'A flag is missing its value or has a value of the wrong form.' },
  SEQ202: { stage: 'cli', title: 'A file could not be read or written.' },
  SEQ203: {
    stage: 'cli',
    title: 'A file is larger than seqc reads of its kind (`SEQC_MAX_READ_BYTES` raises the limit).',
  },
  SEQ204: { stage: 'cli', title: 'A path to read is a device, a FIFO or a socket, not a regular file.' },
  SEQ205: { stage: 'cli', title: 'An output path exists and is not a regular file; seqc replaces only regular files.' },
  SEQ206: { stage: 'cli', title: "An output path is one of the command's inputs (the same file, or a link to it)." },

  // Tokenizers: text in and out (src/runtime/tokenizer.ts, src/runtime/text.ts).
  SEQ240: {
    stage: 'runtime',
    title: 'A tokenizer file is not JSON, or not a tokenizer.json or vocabulary list seqc can read.',
  },
  SEQ241: { stage: 'runtime', title: "A tokenizer.json's model (or another part) is of a type seqc does not read." },
  SEQ242: { stage: 'runtime', title: 'A tokenizer has more ids than the Embedding it feeds has rows (`vocab`).' },
  SEQ243: { stage: 'runtime', title: 'A token id in a tokenizer file is not a whole number from 0 to 2^31 − 1.' },
  SEQ244: { stage: 'runtime', title: 'The decoder can generate ids that its tokenizer has no token for.' },
  SEQ245: {
    stage: 'runtime',
    title: "The decoder's `bos` or `eos` differs from its tokenizer's special token of that role.",
  },
  SEQ246: { stage: 'runtime', title: "An Embedding's `padding_idx` differs from its tokenizer's pad token." },
  SEQ247: { stage: 'runtime', title: 'A text is too long to tokenize at once, or the tokenizer failed on it.' },
  SEQ248: { stage: 'cli', title: 'A tokenizer or text flag that the model cannot use.' },

  // Running a model.
  SEQ300: { stage: 'runtime', title: 'An input given to `seqc run` is missing, unknown or malformed.' },
  SEQ301: { stage: 'runtime', title: 'An input has the wrong shape or a value outside its range.' },
  SEQ302: { stage: 'runtime', title: 'ONNX Runtime failed while running a model or a bundle that it had opened.' },
  SEQ309: { stage: 'runtime', title: 'A model given to run is not a readable ONNX model.' },
  SEQ310: { stage: 'runtime', title: 'An ONNX model that seqc did not compile: it has no seqc.signature metadata.' },
  SEQ311: {
    stage: 'runtime',
    title:
      'A file that a model or bundle needs cannot be read or fetched: the model itself, its weights file, or a graph its manifest names.',
  },
  SEQ312: { stage: 'runtime', title: "ONNX Runtime could not open one of a bundle's graphs." },
  SEQ313: { stage: 'runtime', title: "A bundle's graph lacks an input or output that its manifest lists." },
  SEQ320: { stage: 'runtime', title: "A bundle's manifest is not JSON, or does not match the manifest's schema." },
  SEQ321: { stage: 'runtime', title: "A bundle's manifest names a file outside its folder." },

  // Generating with a decoder.
  SEQ330: {
    stage: 'runtime',
    title: "A generation request exceeds seqc's bounds on length, beam width, samples or total work.",
  },
  SEQ331: {
    stage: 'cli',
    title: '`seqc generate` flags that contradict each other or that the chosen decoding cannot honour.',
  },
  SEQ340: {
    stage: 'runtime',
    title: 'Running a model on Node needs onnxruntime-node, which is not installed or could not be loaded.',
  },
  SEQ303: { stage: 'runtime', title: "The model's seqc.signature is malformed or does not match its graph." },
  SEQ304: {
    stage: 'runtime',
    title:
      'A number is too large to pass exactly: beyond ±(2^53 − 1) for an int64 input, beyond float32 range for a float32 input.',
  },
  SEQ306: { stage: 'runtime', title: 'The same input is given more than once.' },
  SEQ307: {
    stage: 'runtime',
    title: "An output name that ONNX Runtime's JavaScript API cannot return, such as `__proto__`.",
  },
  SEQ308: {
    stage: 'runtime',
    title: 'An execution provider is not available; the model runs on the next one listed, or not at all.',
  },

  // Emitting the spec in another language.
  SEQ400: { stage: 'cli', title: '`seqc emit` got a target language it cannot write (it writes `pytorch`).' },
  // Serving: `seqc serve` (the KServe v2 / Open Inference Protocol over HTTP) and `seqc export triton`.
  SEQ500: {
    stage: 'serve',
    title: 'A request to `seqc serve` is not JSON, or not an inference request of the protocol.',
  },
  SEQ501: { stage: 'serve', title: 'A request names a model that `seqc serve` does not serve.' },
  SEQ502: { stage: 'serve', title: "A tensor's datatype, shape or data disagree with each other or with the model." },
  SEQ503: { stage: 'serve', title: 'The server is overloaded: the queue of a model is full; retry after a moment.' },
  SEQ504: { stage: 'serve', title: 'A request body is larger than `--max-body-bytes`.' },
  SEQ505: {
    stage: 'serve',
    title:
      "A stateful model's sequence request is out of order: no start, an unknown or ended id, or too many sequences.",
  },
  SEQ506: {
    stage: 'serve',
    title: 'A generation request to a model that does not generate, or with parameters it cannot honour.',
  },
  SEQ507: { stage: 'serve', title: '`seqc serve` found nothing to serve, or two models with the same name.' },
  SEQ508: { stage: 'serve', title: '`seqc serve` could not listen on the host and port given.' },
  SEQ509: { stage: 'serve', title: '`seqc export triton` cannot export the model as it is.' },
  SEQ510: { stage: 'serve', title: '`seqc serve` needs fastify, which is not installed or could not be loaded.' },
  // Importing Keras and TensorFlow.js models: `seqc import`.
  SEQ600: {
    stage: 'import',
    title: 'The model file is not a Keras or TensorFlow.js Layers model: bad JSON or missing fields.',
  },
  SEQ601: {
    stage: 'import',
    title: "The model's weights are missing, malformed, of the wrong size or shape, or of a type seqc cannot read.",
  },
  SEQ602: { stage: 'import', title: 'A layer of a class that seqc cannot import (map a custom one with `--map`).' },
  SEQ603: { stage: 'import', title: 'A layer option that has no exact seqc equivalent.' },
  SEQ604: {
    stage: 'import',
    title: 'A model structure seqc cannot import: not Sequential, or layers in an order or shape it cannot express.',
  },
  SEQ605: { stage: 'import', title: 'An output file of `seqc import` exists; pass `--force` to replace it.' },
  SEQ606: {
    stage: 'import',
    title: 'A `--map CLASS=builtin` value is malformed, names no builtin, or maps a layer with weights.',
  },
  SEQ607: {
    stage: 'import',
    title: "A TensorFlow.js model's GlobalAveragePooling1D over a mask, which TF.js averages over every step.",
  },
  SEQ608: {
    stage: 'import',
    title: 'A recurrent layer with `zero_output_for_mask` that returns its last output over a mask.',
  },
  SEQ609: {
    stage: 'import',
    title: 'Importing a `.keras` or `.h5` file needs h5wasm, an optional peer dependency that is not installed.',
  },
  SEQ613: {
    stage: 'import',
    title:
      'A functional Keras model that is not the Luong-attention encoder–decoder recipe seqc imports; the layer where it differs is named.',
  },
  SEQ614: {
    stage: 'import',
    title:
      'An encoder–decoder import without `--bos`, `--eos` or `--max-length`, or with values that do not fit the model.',
  },
  SEQ615: {
    stage: 'import',
    title: "The decoder's Embedding of an imported encoder–decoder has `mask_zero`, which seqc's decoder leaves out.",
  },
} as const;

export type DiagnosticCode = keyof typeof catalogue;
export const diagnosticCodes = Object.keys(catalogue) as DiagnosticCode[];
