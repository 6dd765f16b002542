// Generation from a compiled decoder bundle on an injected ONNX Runtime (node or web): the encoder once, then the step graph under greedy, beam or sampling search.

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { assertNever } from '../contracts/assert.js';
import { parseManifest, type BundleFile, type BundleManifest } from './manifest.js';
import { generationLimits } from '../contracts/limits.js';
import { fixedStepCandidates } from '../contracts/manifest.js';
import {
  beamSearch,
  greedy,
  sample,
  type DecoderSession,
  type Hypothesis,
  type StepBest,
  type StepCandidates,
  type StepNeed,
  type StepOutput,
} from './search.js';
import type { OrtModule, OrtSession, OrtTensor } from './ort.js';
import { readSignature } from './session.js';
import { GpuTensors, onGpu, rowGatherModel, type GpuStateReport } from './gpu-state.js';

export type { OrtModule, OrtSession, OrtTensor } from './ort.js';
export type { GpuStateReport } from './gpu-state.js';

/** A bundle as read from disk or fetched: the parsed manifest and each file's bytes, keyed by the manifest's `path`. */
export interface BundleSource {
  /** The parsed `*.manifest.json`; it is checked by `loadBundle`. */
  readonly manifest: unknown;
  readonly files: Readonly<Record<string, Uint8Array>>;
}

export interface LoadBundleOptions {
  /** ONNX Runtime execution providers in order of preference, such as ['cpu'] or ['webgpu', 'wasm']; default: ONNX Runtime's. */
  readonly executionProviders?: readonly string[];
  /**
   * Where the decoder state stays between steps. `'cpu'` (the default): every step's `h_out`, `c_out`
   * and `feed_out` are read back and fed in again from JavaScript. `'gpu-buffer'`, for onnxruntime-web's
   * WebGPU provider only: they, and the encoder's `memory`, `h0` and `c0`, stay GPU tensors from step to
   * step, rows are dropped and beams reordered by a small Gather graph on the GPU, and only the search's
   * choice (or the logits) and the attention weights are read back. The web runtime picks it when
   * `executionProviders` starts with `'webgpu'`.
   */
  readonly stateLocation?: 'cpu' | 'gpu-buffer';
}

export type Rows = readonly (readonly number[])[];

export interface GenerateOptions {
  readonly strategy: 'greedy' | 'beam' | 'sample';
  /** For `beam`: width (default 5), nBest (default 1, at most width), lengthPenalty α (default 0). */
  readonly beam?: { readonly width?: number; readonly nBest?: number; readonly lengthPenalty?: number };
  /** For `sample`: temperature (default 1), topK (0 = off), topP (default 1), seed (default 0), count per row (default 1). */
  readonly sample?: {
    readonly temperature?: number;
    readonly topK?: number;
    readonly topP?: number;
    readonly seed?: number;
    readonly count?: number;
  };
  /**
   * Ids fed after `bos`, per row, before generation starts; they are not part of the output. For a
   * language model this is the prompt, and its row count is the batch (default one empty prompt).
   * For a seq2seq model it is an optional forced target prefix, one row per source row.
   */
  readonly prompt?: Rows;
  /** The most tokens generated per row, `eos` included; default the manifest's `maxLength`. */
  readonly maxLength?: number;
  /** `eos` is forbidden before this many tokens; default 0. */
  readonly minLength?: number;
  /** Called after each decoding step with how many of the rows have finished, for a progress display. */
  readonly onProgress?: (finishedRows: number, rows: number) => void;
  /** Greedy and sampling: called with each generated token and its row as soon as it is chosen (streaming). */
  readonly onToken?: (row: number, token: number) => void;
}

/** One input row's results: one hypothesis (greedy), the n best (beam, best first) or the samples (in order). */
export interface GeneratedRow {
  readonly hypotheses: readonly Hypothesis[];
}

export interface GenerateResult {
  readonly rows?: readonly GeneratedRow[];
  readonly diagnostics: readonly Diagnostic[];
  /** With the state on the GPU (`stateLocation: 'gpu-buffer'`): where each step's state came from, and the GPU tensors held. */
  readonly gpuState?: GpuStateReport;
}

export interface GreedyGraphResult {
  /** Per row, the generated ids up to and including `eos`. */
  readonly rows?: readonly (readonly number[])[];
  readonly diagnostics: readonly Diagnostic[];
}

/** A loaded bundle. */
export interface SeqBundle {
  readonly manifest: BundleManifest;
  /**
   * Generates for each source row (seq2seq), or for each prompt (language model: pass `[]` as
   * `src`). Source rows may differ in length: they are padded with 0 and `src_lengths` says where
   * each ends. Attention weights, when the decoder has them, are cut to the row's source length.
   */
  generate(src: Rows, options: GenerateOptions): Promise<GenerateResult>;
  /**
   * Runs the greedy Loop graph: `rows` are the source rows (seq2seq), or the prompts (language
   * model, passed to the graph's `prompt` input as they are, all the same length).
   */
  runGreedyGraph(rows: Rows): Promise<GreedyGraphResult>;
  /** Releases the ONNX Runtime sessions. */
  release(): Promise<void>;
}

/** Checks the manifest, opens the encoder and step graphs (the greedy graph on first use) and returns the bundle. */
export async function loadBundle(
  ort: OrtModule,
  source: BundleSource,
  options: LoadBundleOptions = {},
): Promise<{ bundle?: SeqBundle; diagnostics: Diagnostic[] }> {
  const parsed = parseManifest(source.manifest);
  if (parsed.manifest === undefined) {
    return {
      diagnostics: parsed.problems.map((p) =>
        error(
          'SEQ320',
          spanOfWhole('manifest'),
          `the bundle's manifest is not usable: ${p}`,
          'compile the spec again with `seqc compile`',
          { names: ['manifest'], found: p },
        ),
      ),
    };
  }
  const manifest = parsed.manifest;
  // The graphs share one weights file (ONNX external data): its bytes are read once and handed to every
  // session. Graphs that hold their own weights (a CompiledBundle's `bytes`) open without it.
  const weights = manifest.weights === undefined ? undefined : source.files[manifest.weights.path];
  const sessionOptions = {
    ...(options.executionProviders === undefined ? {} : { executionProviders: options.executionProviders }),
    // A model too small to have any tensor outside its graphs has an empty weights file, which ONNX Runtime would refuse.
    ...(weights === undefined || weights.byteLength === 0
      ? {}
      : { externalData: [{ path: manifest.weights!.path, data: weights }] }),
  };
  // With the state on the GPU, these outputs of the encoder and the step are left there by ONNX Runtime.
  const stateOnGpu = options.stateLocation === 'gpu-buffer';
  const onGpuOutputs = (file: BundleFile | undefined, names: readonly string[]) =>
    stateOnGpu && file !== undefined
      ? {
          preferredOutputLocation: Object.fromEntries(
            file.outputs.filter((n) => names.includes(n)).map((n) => [n, 'gpu-buffer' as const]),
          ),
        }
      : {};
  const open = async (
    file: BundleFile,
    outputLocations: ReturnType<typeof onGpuOutputs> = {},
  ): Promise<{ session?: OrtSession; diagnostics: Diagnostic[] }> => {
    const bytes = source.files[file.path];
    if (bytes === undefined)
      return {
        diagnostics: [
          error(
            'SEQ311',
            spanOfWhole(file.path),
            `the bundle has no file ${file.path}, which its manifest names`,
            undefined,
            { names: [file.path] },
          ),
        ],
      };
    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(bytes, { ...sessionOptions, ...outputLocations });
    } catch (e) {
      const hint =
        manifest.weights !== undefined && weights === undefined
          ? `the bundle's weights file ${manifest.weights.path}, which its graphs read, was not given: keep it beside the manifest`
          : undefined;
      return {
        diagnostics: [
          error(
            'SEQ312',
            spanOfWhole(file.path),
            `ONNX Runtime could not load ${file.path}: ${(e as Error).message}`,
            hint,
            { names: [file.path] },
          ),
        ],
      };
    }
    const missing = file.inputs.filter((n) => session.inputNames !== undefined && !session.inputNames.includes(n));
    const missingOut = file.outputs.filter(
      (n) => session.outputNames !== undefined && !session.outputNames.includes(n),
    );
    if (missing.length > 0 || missingOut.length > 0) {
      const names = [...missing, ...missingOut].map((n) => `\`${n}\``).join(', ');
      return {
        diagnostics: [
          error(
            'SEQ313',
            spanOfWhole(file.path),
            `${file.path} does not have ${names}, which the manifest lists`,
            'the manifest and the ONNX files come from different compilations',
            { names: [...missing, ...missingOut] },
          ),
        ],
      };
    }
    return { session, diagnostics: [] };
  };

  const step = await open(manifest.files.step, onGpuOutputs(manifest.files.step, ['h_out', 'c_out', 'feed_out']));
  const encoder =
    manifest.files.encoder === undefined
      ? { diagnostics: [] }
      : await open(manifest.files.encoder, onGpuOutputs(manifest.files.encoder, ['memory', 'h0', 'c0']));
  const gathers = stateOnGpu ? await openRowGathers(ort, manifest, options.executionProviders) : { diagnostics: [] };
  const diagnostics = [...step.diagnostics, ...encoder.diagnostics, ...gathers.diagnostics];
  if (
    step.session === undefined ||
    (manifest.files.encoder !== undefined && encoder.session === undefined) ||
    (stateOnGpu && gathers.sessions === undefined)
  )
    return { diagnostics };
  const sessions: Sessions = {
    ort,
    manifest,
    step: step.session,
    encoder: encoder.session,
    sourceVocab: sourceVocabulary(manifest, source.files),
    ...(gathers.sessions === undefined ? {} : { gpu: gathers.sessions }),
  };

  let greedyGraph: Promise<{ session?: OrtSession; diagnostics: Diagnostic[] }> | undefined;
  const bundle: SeqBundle = {
    manifest,
    generate: (src, generateOptions) => generateRows(sessions, src, generateOptions),
    runGreedyGraph: async (rows) => {
      greedyGraph ??= open(manifest.files.greedy);
      const opened = await greedyGraph;
      if (opened.session === undefined) return { diagnostics: opened.diagnostics };
      return runGreedy(sessions, opened.session, rows);
    },
    release: async () => {
      const opened = greedyGraph === undefined ? undefined : (await greedyGraph).session;
      const gpu = sessions.gpu;
      for (const s of [sessions.step, sessions.encoder, opened, gpu?.rows, gpu?.origins]) await s?.release?.();
    },
  };
  return { bundle, diagnostics };
}

// Internals.

interface Sessions {
  readonly ort: OrtModule;
  /** The encoder's vocabulary, from its signature: source ids outside it never reach the encoder's Gather. */
  readonly sourceVocab: number | undefined;
  readonly manifest: BundleManifest;
  readonly step: OrtSession;
  readonly encoder: OrtSession | undefined;
  /** With the state on the GPU: the Gather graphs that pick state rows (`h`, `c`, `feed`) and memory rows, there. */
  readonly gpu?: RowGathers;
}

interface RowGathers {
  readonly rows: OrtSession;
  /** Absent when the step reads no `memory`. */
  readonly origins: OrtSession | undefined;
}

/** Opens the row-gather graphs (./gpu-state.ts) for the step's state inputs and its `memory`, with GPU outputs. */
async function openRowGathers(
  ort: OrtModule,
  manifest: BundleManifest,
  executionProviders: readonly string[] | undefined,
): Promise<{ sessions?: RowGathers; diagnostics: Diagnostic[] }> {
  const inputs = new Set(manifest.files.step.inputs);
  const state = [
    { name: 'h', axis: 1 },
    { name: 'c', axis: 1 },
    { name: 'feed', axis: 0 },
  ].filter((s) => inputs.has(s.name));
  const create = (gathered: readonly { name: string; axis: number }[]): Promise<OrtSession> =>
    ort.InferenceSession.create(rowGatherModel(gathered), {
      ...(executionProviders === undefined ? {} : { executionProviders }),
      preferredOutputLocation: Object.fromEntries(gathered.map((g) => [`${g.name}_rows`, 'gpu-buffer' as const])),
    });
  try {
    const rows = await create(state);
    const origins = inputs.has('memory') ? await create([{ name: 'memory', axis: 0 }]) : undefined;
    return { sessions: { rows, origins }, diagnostics: [] };
  } catch (e) {
    return {
      diagnostics: [
        error(
          'SEQ312',
          spanOfWhole(manifest.files.step.path),
          `ONNX Runtime could not load the graph that reorders ${manifest.files.step.path}'s state on the GPU: ${(e as Error).message}`,
          "pass `stateLocation: 'cpu'` to keep the state on the CPU",
          { names: [manifest.files.step.path] },
        ),
      ],
    };
  }
}

/**
 * The decoder state of `rows` rows, as the step graph reads it: the tensors a step returned are fed to the next
 * step as they are, without a copy; only `select` (rows finishing, beams reordering) builds new ones. Each state
 * is read once, by `step` or by `select` (src/runtime/search.ts passes each on once), so with the state on the
 * GPU its tensors are disposed as soon as it has been read.
 */
interface OrtState {
  readonly rows: number;
  /** The batch row that each state row decodes, for picking its memory and source length. */
  readonly origins: Int32Array;
  /** The tensors; on the GPU, after a `select`, the Gather run that makes them. */
  readonly tensors: StateTensors | Promise<StateTensors>;
}

/** Float32 tensors, on the CPU or (`stateLocation: 'gpu-buffer'`) the GPU. */
interface StateTensors {
  /** `[layers, rows, hidden]`. */
  readonly h: OrtTensor;
  readonly c: OrtTensor | undefined;
  /** `[rows, hidden]`. */
  readonly feed: OrtTensor | undefined;
}

/** The encoder's outputs for the whole batch, which every step reads (by origin). */
interface Source {
  /** `[batch, src_time, D]`, on the CPU or the GPU. */
  readonly memory: OrtTensor;
  /** `[batch]`. */
  readonly lengths: BigInt64Array;
}

async function generateRows(sessions: Sessions, src: Rows, options: GenerateOptions): Promise<GenerateResult> {
  const { manifest } = sessions;
  const problems = optionProblems(manifest, src, options, sessions.sourceVocab);
  if (problems.length > 0) return { diagnostics: problems };
  const batch = manifest.kind === 'seq2seq' ? src.length : (options.prompt?.length ?? 1);
  if (batch === 0) return { rows: [], diagnostics: [] };
  const prefix = options.prompt ?? (manifest.kind === 'lm' ? [[]] : undefined);
  const onProgress = options.onProgress;
  const search = {
    bos: manifest.bos,
    eos: manifest.eos,
    maxLength: options.maxLength ?? manifest.maxLength,
    minLength: options.minLength ?? 0,
    ...(prefix === undefined ? {} : { prefix }),
    ...(onProgress === undefined ? {} : { onProgress: (finished: number) => onProgress(finished, batch) }),
    ...(options.onToken === undefined ? {} : { onToken: options.onToken }),
  };
  const gpu = sessions.gpu === undefined ? undefined : new GpuTensors();
  try {
    const session = await decoderSession(sessions, src, batch, gpu);
    let rows: Hypothesis[][];
    switch (options.strategy) {
      case 'greedy':
        rows = (await greedy(session, search)).map((h) => [h]);
        break;
      case 'beam':
        rows = await beamSearch(session, {
          ...search,
          width: options.beam?.width ?? 5,
          nBest: options.beam?.nBest ?? 1,
          lengthPenalty: options.beam?.lengthPenalty ?? 0,
        });
        break;
      case 'sample':
        rows = await sample(session, { ...search, ...options.sample });
        break;
      default:
        return assertNever(options.strategy);
    }
    await gpu?.releaseAll();
    return {
      rows: rows.map((hypotheses, row) => ({
        hypotheses: hypotheses.map((h) => cutAttention(h, manifest.kind === 'seq2seq' ? src[row]!.length : 0)),
      })),
      diagnostics: [],
      ...(gpu === undefined ? {} : { gpuState: gpu.report() }),
    };
  } catch (e) {
    await gpu?.releaseAll();
    // Step names follow the spec, so ONNX Runtime's message points at the layer.
    return {
      diagnostics: [
        error(
          'SEQ302',
          spanOfWhole(manifest.name),
          `generation failed while running the bundle: ${(e as Error).message}`,
        ),
      ],
    };
  }
}

/**
 * A `DecoderSession` over the step graph, after running the encoder (seq2seq) or with zero state (language
 * model). With `gpu`, the state and the memory stay GPU tensors, which `gpu` owns and disposes.
 */
async function decoderSession(
  sessions: Sessions,
  src: Rows,
  batch: number,
  gpu: GpuTensors | undefined,
): Promise<DecoderSession<OrtState>> {
  const { ort, manifest } = sessions;
  const { layers, hidden } = manifest.state;
  const stepInputs = new Set(manifest.files.step.inputs);
  // The step reads the source lengths under the spec's name for them (`src_lengths` in docs/seq2seq.md).
  const lengthsInput = manifest.source === undefined ? 'src_lengths' : manifest.source.lengths;
  const zeros = (dims: readonly number[]): OrtTensor =>
    new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  const ownAll = (out: Record<string, OrtTensor>): void => {
    if (gpu !== undefined) for (const tensor of Object.values(out)) gpu.own(tensor);
  };
  const stateDims = [layers, batch, hidden];
  let source: Source | undefined;
  let initial: OrtState;

  if (sessions.encoder !== undefined) {
    const file = manifest.files.encoder!.path;
    const { feeds, lengths } = paddedSource(ort, src, manifest.source);
    const out = await sessions.encoder.run(feeds);
    ownAll(out);
    const memory = floatTensorOutput(out, 'memory', file);
    if (memory.dims.length !== 3 || memory.dims[0] !== batch)
      throw new Error(`the encoder's memory has dims [${memory.dims.join(', ')}], not [${batch}, src_time, D]`);
    source = { memory, lengths: lengths.data };
    const h0 = floatTensorOutput(out, 'h0', file);
    checkDims(h0, stateDims, 'h0');
    const c0 = 'c0' in out ? floatTensorOutput(out, 'c0', file) : undefined;
    if (c0 !== undefined) checkDims(c0, stateDims, 'c0');
    if (!stepInputs.has('c')) gpu?.release(c0);
    initial = {
      rows: batch,
      origins: Int32Array.from({ length: batch }, (_, i) => i),
      tensors: {
        h: h0,
        c: stepInputs.has('c') ? (c0 ?? zeros(stateDims)) : undefined,
        feed: stepInputs.has('feed') ? zeros([batch, hidden]) : undefined,
      },
    };
  } else {
    initial = {
      rows: batch,
      origins: Int32Array.from({ length: batch }, (_, i) => i),
      tensors: {
        h: zeros(stateDims),
        c: stepInputs.has('c') ? zeros(stateDims) : undefined,
        feed: stepInputs.has('feed') ? zeros([batch, hidden]) : undefined,
      },
    };
  }

  // The memory and source lengths for the current origins; beams reordered within their rows keep the same origins.
  let cached =
    source === undefined
      ? undefined
      : {
          origins: initial.origins,
          memory: source.memory,
          lengths: new ort.Tensor('int64', source.lengths, [batch]),
        };
  const sourceFor = async (origins: Int32Array): Promise<{ memory: OrtTensor; lengths: OrtTensor }> => {
    if (cached !== undefined && sameValues(cached.origins, origins)) return cached;
    const full = source!.memory;
    const [, time, dim] = full.dims as [number, number, number];
    let memory: OrtTensor;
    if (gpu === undefined) {
      const rows = gatherRows(floatData(full), 1, batch, time * dim, origins);
      memory = new ort.Tensor('float32', rows, [origins.length, time, dim]);
    } else {
      const out = await sessions.gpu!.origins!.run({ memory: full, rows: rowIndices(ort, origins) });
      ownAll(out);
      gpu.countGather();
      memory = out['memory_rows']!;
      // The memory for the previous origins is not read again; the encoder's, for the whole batch, is.
      if (cached !== undefined && cached.memory !== full) gpu.release(cached.memory);
    }
    const lengths = BigInt64Array.from(origins, (o) => source!.lengths[o]!);
    cached = { origins, memory, lengths: new ort.Tensor('int64', lengths, [origins.length]) };
    return cached;
  };

  /** Picks state rows on the GPU: the Gather graph runs now, and the next step waits for it. */
  const selectOnGpu = (state: OrtState, rows: Int32Array, tensors: GpuTensors): OrtState => {
    const gathered = (async (): Promise<StateTensors> => {
      const from = await state.tensors;
      const feeds: Record<string, OrtTensor> = { h: from.h, rows: rowIndices(ort, rows) };
      if (from.c !== undefined) feeds['c'] = from.c;
      if (from.feed !== undefined) feeds['feed'] = from.feed;
      const out = await sessions.gpu!.rows.run(feeds);
      ownAll(out);
      tensors.countGather();
      for (const t of [from.h, from.c, from.feed]) tensors.release(t);
      return {
        h: out['h_rows']!,
        c: from.c === undefined ? undefined : out['c_rows']!,
        feed: from.feed === undefined ? undefined : out['feed_rows']!,
      };
    })();
    tensors.track(gathered);
    return { rows: rows.length, origins: Int32Array.from(rows, (r) => state.origins[r]!), tensors: gathered };
  };

  /** Picks state rows in JavaScript, from tensors on the CPU. */
  const selectOnCpu = (state: OrtState, rows: Int32Array): OrtState => {
    const from = state.tensors;
    if (from instanceof Promise) throw new Error('a state on the CPU was still being gathered');
    const pick = (tensor: OrtTensor, outer: number, dims: readonly number[]): OrtTensor =>
      new ort.Tensor('float32', gatherRows(floatData(tensor), outer, state.rows, hidden, rows), dims);
    return {
      rows: rows.length,
      origins: Int32Array.from(rows, (r) => state.origins[r]!),
      tensors: {
        h: pick(from.h, layers, [layers, rows.length, hidden]),
        c: from.c === undefined ? undefined : pick(from.c, layers, [layers, rows.length, hidden]),
        feed: from.feed === undefined ? undefined : pick(from.feed, 1, [rows.length, hidden]),
      },
    };
  };

  const stepOutputs = new Set(manifest.files.step.outputs);
  const choice = new StepChoice(ort, stepInputs, stepOutputs, manifest.vocab, manifest.files.step.path);
  const tokenFeed = new TokenFeed(ort);
  const state = ['h_out', 'c_out', 'feed_out', 'attention'].filter((n) => stepOutputs.has(n));
  const fetches: Record<StepAnswer, string[]> = {
    logits: ['logits', ...state],
    best: ['next_token', 'next_log_prob', ...state],
    candidates: ['top_tokens', 'top_log_probs', 'top_logits', ...state],
  };
  return {
    batch,
    start: async () => initial,
    step: async (
      tokens: Int32Array,
      state: OrtState,
      need: StepNeed = { kind: 'logits' },
    ): Promise<StepOutput<OrtState>> => {
      const rows = state.rows;
      const file = manifest.files.step.path;
      const fed = await state.tensors;
      const feeds: Record<string, OrtTensor> = { tokens: tokenFeed.fill(tokens), h: fed.h };
      if (fed.c !== undefined) feeds['c'] = fed.c;
      if (fed.feed !== undefined) feeds['feed'] = fed.feed;
      if (stepInputs.has('memory') || (lengthsInput !== undefined && stepInputs.has(lengthsInput))) {
        const { memory, lengths } = await sourceFor(state.origins);
        if (stepInputs.has('memory')) feeds['memory'] = memory;
        if (lengthsInput !== undefined && stepInputs.has(lengthsInput)) feeds[lengthsInput] = lengths;
      }
      gpu?.countStep([fed.h, fed.c, fed.feed, feeds['memory']]);
      const answer = choice.answer(need);
      const topK = choice.topKFeed(answer, need);
      if (topK !== undefined) feeds['top_k'] = topK;
      const out = await sessions.step.run(feeds, fetches[answer]);
      ownAll(out);
      // The state this step read is not read again.
      if (gpu !== undefined) for (const t of [fed.h, fed.c, fed.feed]) gpu.release(t);
      const h = floatTensorOutput(out, 'h_out', file);
      checkDims(h, [layers, rows, hidden], 'h_out');
      const c = fed.c === undefined ? undefined : floatTensorOutput(out, 'c_out', file);
      if (c !== undefined) checkDims(c, [layers, rows, hidden], 'c_out');
      const feed = fed.feed === undefined ? undefined : floatTensorOutput(out, 'feed_out', file);
      if (feed !== undefined) checkDims(feed, [rows, hidden], 'feed_out');
      const attention = stepOutputs.has('attention') ? floatOutput(out, 'attention', file).data : undefined;
      const next: OrtState = { rows, origins: state.origins, tensors: { h, c, feed } };
      const withAttention = attention === undefined ? {} : { attention };
      switch (answer) {
        case 'logits': {
          const logits = floatOutput(out, 'logits', file);
          checkDims(logits, [rows, manifest.vocab], 'logits');
          return { logits: logits.data, state: next, ...withAttention };
        }
        case 'best':
          return { best: choice.best(out, rows), state: next, ...withAttention };
        case 'candidates':
          return { candidates: choice.candidates(out, rows, need), state: next, ...withAttention };
        default:
          return assertNever(answer);
      }
    },
    select: (state: OrtState, rows: Int32Array): OrtState =>
      gpu === undefined ? selectOnCpu(state, rows) : selectOnGpu(state, rows, gpu),
  };
}

/** Row indices as the int64 `rows` input of a row-gather graph. */
function rowIndices(ort: OrtModule, rows: Int32Array): OrtTensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(rows, (r) => BigInt(r)),
    [rows.length],
  );
}

/** What a step fetches from the step graph: its logits, its ArgMax, or its TopK candidates (besides the state). */
type StepAnswer = 'logits' | 'best' | 'candidates';

/** The `tokens` feed: one buffer and tensor per row count, refilled at each step. */
class TokenFeed {
  private readonly byRows = new Map<number, { data: BigInt64Array; tensor: OrtTensor }>();
  constructor(private readonly ort: OrtModule) {}
  fill(tokens: Int32Array): OrtTensor {
    let entry = this.byRows.get(tokens.length);
    if (entry === undefined) {
      const data = new BigInt64Array(tokens.length);
      entry = { data, tensor: new this.ort.Tensor('int64', data, [tokens.length]) };
      this.byRows.set(tokens.length, entry);
    }
    for (let i = 0; i < tokens.length; i++) entry.data[i] = BigInt(tokens[i]!);
    return entry.tensor;
  }
}

/**
 * The choice outputs of the step graph (docs/seq2seq.md: `next_token`, `next_log_prob`, `top_tokens`,
 * `top_log_probs`, `top_logits`), when it has them: which answer a search's need gets, the `top_k` it is fed, and
 * reading the answer. Step graphs compiled before `top_k` was an input return a fixed min(V, 64) candidates.
 */
class StepChoice {
  /** The candidates per row of a step graph without `top_k`; 0 without TopK outputs. */
  private readonly fixedCount: number;
  /** Whether the step graph takes its TopK's k as the input `top_k`, which it is then always fed. */
  private readonly feedsTopK: boolean;
  /** Whether the manifest also lists the TopK outputs, so that any count of candidates can be read. */
  private readonly takesTopK: boolean;
  private readonly topKTensors = new Map<number, OrtTensor>();
  private ids = new Int32Array(0);
  constructor(
    private readonly ort: OrtModule,
    inputs: ReadonlySet<string>,
    private readonly outputs: ReadonlySet<string>,
    private readonly vocab: number,
    private readonly file: string,
  ) {
    const hasTopK = ['top_tokens', 'top_log_probs', 'top_logits'].every((n) => outputs.has(n));
    this.feedsTopK = inputs.has('top_k');
    this.takesTopK = hasTopK && this.feedsTopK;
    this.fixedCount = hasTopK && !this.takesTopK ? Math.min(vocab, fixedStepCandidates) : 0;
  }

  /** The answer for `need`: the graph's choice where it has one that covers the need, else the logits. */
  answer(need: StepNeed): StepAnswer {
    switch (need.kind) {
      case 'logits':
        return 'logits';
      case 'best':
        return this.outputs.has('next_token') && this.outputs.has('next_log_prob') ? 'best' : 'logits';
      case 'candidates':
        if (this.takesTopK) return 'candidates';
        // A webgpu bundle's step graph has no TopK; a wider need than a fixed k reads the logits.
        if (this.fixedCount === 0) return 'logits';
        return need.count <= this.fixedCount || this.fixedCount === this.vocab ? 'candidates' : 'logits';
      default:
        return assertNever(need);
    }
  }

  /**
   * The `top_k` feed of a step graph that takes one (undefined otherwise): 1 for the best id, the count asked for
   * (at most V) for candidates, and 1 where the logits are read. One tensor per count, reused from step to step.
   */
  topKFeed(answer: StepAnswer, need: StepNeed): OrtTensor | undefined {
    if (!this.feedsTopK) return undefined;
    const k = answer === 'candidates' && need.kind === 'candidates' ? this.countFor(need.count) : 1;
    let tensor = this.topKTensors.get(k);
    if (tensor === undefined) {
      tensor = new this.ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]);
      this.topKTensors.set(k, tensor);
    }
    return tensor;
  }

  best(out: Record<string, OrtTensor>, rows: number): StepBest {
    const tokens = this.idsOf(out, 'next_token', rows, 1);
    const logProbs = floatOutput(out, 'next_log_prob', this.file);
    checkDims(logProbs, [rows], 'next_log_prob');
    return { tokens, logProbs: logProbs.data };
  }

  candidates(out: Record<string, OrtTensor>, rows: number, need: StepNeed): StepCandidates {
    const count = this.takesTopK && need.kind === 'candidates' ? this.countFor(need.count) : this.fixedCount;
    const tokens = this.idsOf(out, 'top_tokens', rows, count);
    const logProbs = floatOutput(out, 'top_log_probs', this.file);
    checkDims(logProbs, [rows, count], 'top_log_probs');
    const logits = floatOutput(out, 'top_logits', this.file);
    checkDims(logits, [rows, count], 'top_logits');
    return { count, tokens, logProbs: logProbs.data, logits: logits.data };
  }

  private countFor(asked: number): number {
    return Math.max(1, Math.min(asked, this.vocab));
  }

  /** Ids returned as int64, as an Int32Array that is reused from step to step (the search reads it before the next). */
  private idsOf(out: Record<string, OrtTensor>, name: string, rows: number, columns: number): Int32Array {
    const tensor = out[name];
    if (tensor?.type !== 'int64' || !(tensor.data instanceof BigInt64Array))
      throw new Error(`${this.file} returned \`${name}\` as ${tensor?.type ?? 'nothing'}, not int64`);
    checkDims(tensor, columns === 1 && name === 'next_token' ? [rows] : [rows, columns], name);
    const n = rows * columns;
    if (this.ids.length < n) this.ids = new Int32Array(n);
    const ids = this.ids.subarray(0, n);
    for (let i = 0; i < n; i++) {
      const id = Number(tensor.data[i]!);
      if (!(id >= 0 && id < this.vocab)) throw new Error(`${this.file} returned the id ${id} in \`${name}\``);
      ids[i] = id;
    }
    return ids;
  }
}

async function runGreedy(sessions: Sessions, greedyGraph: OrtSession, rows: Rows): Promise<GreedyGraphResult> {
  const { ort, manifest } = sessions;
  const span = spanOfWhole(manifest.kind === 'seq2seq' ? 'src' : 'prompt');
  const problems =
    manifest.kind === 'seq2seq'
      ? emptyRowProblems(rows, 'src').concat(idProblems(rows, 'src', sessions.sourceVocab))
      : idProblems(rows, 'prompt', manifest.vocab);
  if (manifest.kind === 'lm' && rows.some((r) => r.length !== rows[0]!.length)) {
    problems.push(
      error(
        'SEQ301',
        span,
        'the greedy graph takes prompts of one length, but these differ',
        'use `generate` with the greedy strategy, which takes prompts of any length',
      ),
    );
  }
  appendAll(problems, workProblems(manifest.maxLength, 'greedy graph', rows.length, oneHypothesis));
  if (manifest.kind === 'lm') appendAll(problems, prefixProblems(rows, 'prompt'));
  if (problems.length > 0) return { diagnostics: problems };
  if (rows.length === 0) return { rows: [], diagnostics: [] };
  try {
    const feeds =
      manifest.kind === 'seq2seq'
        ? paddedSource(ort, rows, manifest.source).feeds
        : {
            prompt: new ort.Tensor(
              'int64',
              BigInt64Array.from(rows.flat(), (t) => BigInt(t)),
              [rows.length, rows[0]!.length],
            ),
          };
    const out = await greedyGraph.run(feeds);
    const tokens = out['tokens'];
    const lengths = out['lengths'];
    if (tokens?.type !== 'int64' || lengths?.type !== 'int64')
      throw new Error(`${manifest.files.greedy.path} should return int64 \`tokens\` and \`lengths\``);
    const ids = tokens.data as BigInt64Array;
    const width = tokens.dims[1] ?? 0;
    const counts = lengths.data as BigInt64Array;
    return {
      rows: rows.map((_, r) => Array.from(ids.subarray(r * width, r * width + Number(counts[r])), Number)),
      diagnostics: [],
    };
  } catch (e) {
    return {
      diagnostics: [error('SEQ302', spanOfWhole(manifest.name), `the greedy graph failed: ${(e as Error).message}`)],
    };
  }
}

/**
 * The source rows padded with 0 to `[batch, max length]`, and their lengths, fed under the names the
 * spec gives them (the manifest's `source`; `src` and `src_lengths` in docs/seq2seq.md).
 */
function paddedSource(
  ort: OrtModule,
  rows: Rows,
  names: BundleManifest['source'],
): { feeds: Record<string, OrtTensor>; lengths: OrtTensor & { data: BigInt64Array } } {
  const time = rows.reduce((longest, r) => Math.max(longest, r.length), 1);
  const ids = new BigInt64Array(rows.length * time);
  rows.forEach((row, b) => row.forEach((id, t) => (ids[b * time + t] = BigInt(id))));
  const lengths = new ort.Tensor(
    'int64',
    BigInt64Array.from(rows, (r) => BigInt(r.length)),
    [rows.length],
  ) as OrtTensor & { data: BigInt64Array };
  const input = names?.input ?? 'src';
  const lengthsName = names === undefined ? 'src_lengths' : names.lengths;
  return {
    feeds: {
      [input]: new ort.Tensor('int64', ids, [rows.length, time]),
      ...(lengthsName === undefined ? {} : { [lengthsName]: lengths }),
    },
    lengths,
  };
}

function optionProblems(
  manifest: BundleManifest,
  src: Rows,
  options: GenerateOptions,
  sourceVocab: number | undefined,
): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const bad = (what: string, message: string, hint?: string): void => {
    problems.push(error('SEQ300', spanOfWhole(what), message, hint));
  };
  const whole = (value: number | undefined, min: number): boolean =>
    value === undefined || (Number.isInteger(value) && value >= min);
  if (!['greedy', 'beam', 'sample'].includes(options.strategy))
    bad('strategy', `the strategy should be greedy, beam or sample, not ${JSON.stringify(options.strategy)}`);
  if (!whole(options.maxLength, 1))
    bad('maxLength', `maxLength should be a whole number ≥ 1, not ${options.maxLength}`);
  if (!whole(options.minLength, 0))
    bad('minLength', `minLength should be a whole number ≥ 0, not ${options.minLength}`);
  const beam = options.beam ?? {};
  if (!whole(beam.width, 1)) bad('beam.width', `the beam width should be a whole number ≥ 1, not ${beam.width}`);
  if (!whole(beam.nBest, 1) || (beam.nBest ?? 1) > (beam.width ?? 5))
    bad(
      'beam.nBest',
      `nBest should be a whole number from 1 to the beam width ${beam.width ?? 5}, not ${beam.nBest}`,
      'widen the beam to return more hypotheses',
    );
  if (beam.lengthPenalty !== undefined && !Number.isFinite(beam.lengthPenalty))
    bad('beam.lengthPenalty', `the length penalty should be a finite number, not ${beam.lengthPenalty}`);
  const s = options.sample ?? {};
  if (s.temperature !== undefined && !(s.temperature >= 0 && Number.isFinite(s.temperature)))
    bad('sample.temperature', `the temperature should be a finite number ≥ 0, not ${s.temperature}`);
  if (!whole(s.topK, 0)) bad('sample.topK', `topK should be a whole number ≥ 0 (0 keeps every id), not ${s.topK}`);
  if (s.topP !== undefined && !(s.topP > 0 && s.topP <= 1))
    bad('sample.topP', `topP should be in (0, 1], not ${s.topP}`);
  if (s.seed !== undefined && !Number.isInteger(s.seed))
    bad('sample.seed', `the seed should be an integer, not ${s.seed}`);
  if (!whole(s.count, 1)) bad('sample.count', `count should be a whole number ≥ 1, not ${s.count}`);
  if (problems.length === 0) {
    const batch = manifest.kind === 'seq2seq' ? src.length : (options.prompt?.length ?? 1);
    const perRow =
      options.strategy === 'beam'
        ? { count: beam.width ?? 5, limit: generationLimits.beamWidth, name: 'beam.width' }
        : options.strategy === 'sample'
          ? { count: s.count ?? 1, limit: generationLimits.samples, name: 'sample.count' }
          : oneHypothesis;
    const length =
      options.maxLength === undefined
        ? { value: manifest.maxLength, from: 'manifest' as const }
        : { value: options.maxLength, from: 'option' as const };
    appendAll(problems, workProblems(length.value, length.from, batch, perRow));
  }

  if (manifest.kind === 'seq2seq') {
    appendAll(problems, emptyRowProblems(src, 'src'));
    appendAll(problems, idProblems(src, 'src', sourceVocab));
    if (options.prompt !== undefined && options.prompt.length !== src.length) {
      problems.push(
        error(
          'SEQ301',
          spanOfWhole('prompt'),
          `there are ${options.prompt.length} prompt rows for ${src.length} source rows`,
          'give one target prefix per source row, or none',
        ),
      );
    }
  } else if (src.length > 0) {
    problems.push(
      error(
        'SEQ300',
        spanOfWhole('src'),
        `${manifest.name} is a language model, which takes no source`,
        'pass the start of the text as the prompt',
      ),
    );
  }
  if (options.prompt !== undefined) {
    appendAll(problems, idProblems(options.prompt, 'prompt', manifest.vocab));
    appendAll(problems, prefixProblems(options.prompt, 'prompt'));
  }
  return problems;
}

/** Prompts are fed one step per token before generation starts, so their length is bounded as the generated length is. */
function prefixProblems(rows: Rows, name: string): Diagnostic[] {
  const limit = generationLimits.maxLength;
  const at = rows.findIndex((row) => row.length > limit);
  if (at < 0) return [];
  return [
    error(
      'SEQ330',
      spanOfWhole(name),
      `${name} row ${at} has ${rows[at]!.length.toLocaleString('en-US')} tokens, above seqc's bound of ${limit}`,
      `keep the last ${limit} tokens of the prompt`,
      { names: [name], position: [at], limit, found: rows[at]!.length },
    ),
  ];
}

/** How many hypotheses each row keeps, their bound, and the option that asked for them. */
interface HypothesesPerRow {
  readonly count: number;
  readonly limit: number;
  readonly name: string;
}

const oneHypothesis: HypothesesPerRow = { count: 1, limit: 1, name: 'strategy' };

/**
 * Where a request's maximum length comes from: the caller's `maxLength`, the manifest's default
 * for the host loop, or the greedy graph's, which is compiled in.
 */
type LengthSource = 'option' | 'manifest' | 'greedy graph';

/** The bounds of `generationLimits` for one request: the maximum length, the hypotheses per row and the total token positions. */
function workProblems(length: number, from: LengthSource, rows: number, hypotheses: HypothesesPerRow): Diagnostic[] {
  const limits = generationLimits;
  const perRow = hypotheses.count;
  if (length > limits.maxLength) {
    const count = length.toLocaleString('en-US');
    const recompile = `compile the spec again with max_length ≤ ${limits.maxLength}`;
    const [where, hint] =
      from === 'option'
        ? [`maxLength is ${count}`, `ask for at most ${limits.maxLength} tokens`]
        : from === 'manifest'
          ? [`the bundle's max_length is ${count}`, `pass a maxLength of at most ${limits.maxLength}, or ${recompile}`]
          : [`the greedy graph's max_length is ${count}`, recompile];
    return [
      error(
        'SEQ330',
        spanOfWhole(from === 'option' ? 'maxLength' : 'manifest'),
        `${where}, above seqc's bound of ${limits.maxLength} generated tokens`,
        hint,
        { names: [from === 'option' ? 'maxLength' : 'max_length'], limit: limits.maxLength, found: length },
      ),
    ];
  }
  if (perRow > hypotheses.limit) {
    return [
      error(
        'SEQ330',
        spanOfWhole(hypotheses.name),
        `${hypotheses.name} is ${perRow.toLocaleString('en-US')}, above seqc's bound of ${hypotheses.limit}`,
        `ask for at most ${hypotheses.limit}`,
        { names: [hypotheses.name], limit: hypotheses.limit, found: perRow },
      ),
    ];
  }
  const work = rows * perRow * length;
  if (work > limits.work) {
    // perRow ≤ 256 and length ≤ 4096, so at least one row always fits.
    const rowsThatFit = Math.floor(limits.work / (perRow * length));
    const lower = perRow > 1 ? 'the hypotheses per row or the maximum length' : 'the maximum length';
    return [
      error(
        'SEQ330',
        spanOfWhole('rows'),
        `${rows.toLocaleString('en-US')} rows × ${perRow} ${perRow === 1 ? 'hypothesis' : 'hypotheses'} × ${length.toLocaleString('en-US')} tokens is ${work.toLocaleString('en-US')} token positions, above seqc's bound of ${limits.work.toLocaleString('en-US')}`,
        `generate at most ${rowsThatFit.toLocaleString('en-US')} ${rowsThatFit === 1 ? 'row' : 'rows'} per call with these settings, or lower ${lower}; the bound is fixed`,
        { names: ['rows'], limit: limits.work, found: work },
      ),
    ];
  }
  return [];
}

/** Appends one by one: a batch of many rows could hold more problems than a spread call takes arguments. */
function appendAll<T>(to: T[], items: readonly T[]): void {
  for (const item of items) to.push(item);
}

/**
 * The source vocabulary, read from the encoder's `seqc.signature` (its `src` input's vocab). Bundles
 * compiled before graphs carried signatures have none; their source ids are only checked to be ≥ 0.
 */
function sourceVocabulary(manifest: BundleManifest, files: BundleSource['files']): number | undefined {
  const encoder = manifest.files.encoder === undefined ? undefined : files[manifest.files.encoder.path];
  if (encoder === undefined) return undefined;
  const input = manifest.source?.input ?? 'src';
  return readSignature(encoder, manifest.files.encoder!.path).signature?.inputs.find((i) => i.name === input)?.vocab;
}

function emptyRowProblems(rows: Rows, name: string): Diagnostic[] {
  return rows.flatMap((row, r) =>
    row.length === 0
      ? [error('SEQ301', spanOfWhole(name), `${name} row ${r} is empty`, 'every source row needs at least one token')]
      : [],
  );
}

/** Ids that are not whole numbers, or (when `vocab` is given) fall outside the vocabulary. */
function idProblems(rows: Rows, name: string, vocab: number | undefined): Diagnostic[] {
  const problems: Diagnostic[] = [];
  rows.forEach((row, r) => {
    const at = row.findIndex((id) => !Number.isInteger(id) || id < 0 || (vocab !== undefined && id >= vocab));
    if (at >= 0) {
      const range = vocab === undefined ? 'a whole number ≥ 0' : `an id in [0, ${vocab})`;
      problems.push(error('SEQ301', spanOfWhole(name), `${name}[${r}][${at}] is ${row[at]}, not ${range}`));
    }
  });
  return problems;
}

function floatOutput(
  out: Record<string, OrtTensor>,
  name: string,
  file: string,
): { data: Float32Array; dims: readonly number[] } {
  const tensor = out[name];
  if (tensor === undefined) throw new Error(`${file} returned no \`${name}\``);
  if (tensor.type !== 'float32' || !(tensor.data instanceof Float32Array))
    throw new Error(`${file} returned \`${name}\` as ${tensor.type}, not float32`);
  return { data: tensor.data, dims: tensor.dims };
}

/**
 * A float32 output, checked without reading it: a GPU tensor (`stateLocation: 'gpu-buffer'`) has no
 * `data` in JavaScript. A CPU tensor's data must be a Float32Array.
 */
function floatTensorOutput(out: Record<string, OrtTensor>, name: string, file: string): OrtTensor {
  const tensor = out[name];
  if (tensor === undefined) throw new Error(`${file} returned no \`${name}\``);
  if (tensor.type !== 'float32' || (!onGpu(tensor) && !(tensor.data instanceof Float32Array)))
    throw new Error(`${file} returned \`${name}\` as ${tensor.type}, not float32`);
  return tensor;
}

/** The data of a float32 tensor on the CPU. */
function floatData(tensor: OrtTensor): Float32Array {
  if (onGpu(tensor) || !(tensor.data instanceof Float32Array))
    throw new Error('a float32 tensor on the CPU was expected');
  return tensor.data;
}

function checkDims(tensor: { dims: readonly number[] }, expected: readonly number[], name: string): void {
  if (tensor.dims.length !== expected.length || tensor.dims.some((d, i) => d !== expected[i])) {
    throw new Error(`\`${name}\` has dims [${tensor.dims.join(', ')}], but [${expected.join(', ')}] was expected`);
  }
}

/**
 * Picks rows along the middle axis of `[outer, rows, inner]` data: the result's row i is row
 * `indices[i]`.
 */
function gatherRows(data: Float32Array, outer: number, rows: number, inner: number, indices: Int32Array): Float32Array {
  const out = new Float32Array(outer * indices.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < indices.length; i++) {
      const from = (o * rows + indices[i]!) * inner;
      out.set(data.subarray(from, from + inner), (o * indices.length + i) * inner);
    }
  }
  return out;
}

function cutAttention(hypothesis: Hypothesis, sourceLength: number): Hypothesis {
  if (hypothesis.attention === undefined || sourceLength === 0) return hypothesis;
  return { ...hypothesis, attention: hypothesis.attention.map((a) => a.slice(0, sourceLength)) };
}

function sameValues(a: Int32Array, b: Int32Array): boolean {
  return a === b || (a.length === b.length && a.every((v, i) => v === b[i]));
}
