// What `seqc/runtime/node` and `seqc/runtime/web` both export besides their own loaders: running, inputs, generation and text.

export { readSignature, runModel, toNested, tensorsFromInputs } from './session.js';
export type { LoadedModel, ModelInputs, RunResult, RunTiming } from './session.js';
export { checkTensorData, tensorFromNested, tensorFromValue, validateInputs } from './inputs.js';
export type { FlatInput, InputValue, NestedNumbers, TensorData } from './inputs.js';
export type {
  BundleSource,
  GenerateOptions,
  GenerateResult,
  GpuStateReport,
  LoadBundleOptions,
  SeqBundle,
} from './generate.js';
export { readTokenizer, maxTextLength } from './tokenizer.js';
export type {
  SpecialTokenUse,
  SpecialTokens,
  TextTokenizer,
  TokenizerFormat,
  TokenizerModelType,
} from './tokenizer.js';
export { decodeGenerated, generateText, readBundleTokenizers, runText, tokenizerFitProblems } from './text.js';
export type {
  BundleTokenizerSet,
  GenerateTextOptions,
  GenerateTextResult,
  RunTextResult,
  TextBundle,
  TextHypothesis,
  TextInput,
  TokenizerFit,
} from './text.js';
