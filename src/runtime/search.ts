// Decoding algorithms over an abstract one-step decoder: greedy search, beam search and seeded sampling, free of Node and ONNX Runtime.

import { rngFor } from '../contracts/random.js';

/**
 * What a search reads from a step: every next-token score (`logits`), the best id of each row
 * (`best`), or each row's `count` best ids (`candidates`). A session may always answer with the
 * logits instead; the search then chooses from them itself.
 */
export type StepNeed =
  { readonly kind: 'logits' } | { readonly kind: 'best' } | { readonly kind: 'candidates'; readonly count: number };

/** Each row's best id and its log-softmax, chosen by the decoder (the step graph's ArgMax). */
export interface StepBest {
  /** `[rows]`: the lowest id among equal largest logits. */
  readonly tokens: Int32Array;
  /** `[rows]`: the log-softmax of the logits at that id. */
  readonly logProbs: Float32Array;
}

/** Each row's `count` best ids, best first (the lower id first among equals), chosen by the decoder (TopK). */
export interface StepCandidates {
  /** Columns per row; at least the count asked for, or the whole vocabulary when that is smaller. */
  readonly count: number;
  /** `[rows, count]` ids. */
  readonly tokens: Int32Array;
  /** `[rows, count]` their log-softmax values. */
  readonly logProbs: Float32Array;
  /** `[rows, count]` their logits, for sampling at a temperature. */
  readonly logits: Float32Array;
}

/** What one decoder step returns for the rows it was given: the logits, or what the search asked for. */
export interface StepOutput<S> {
  /**
   * Next-token scores, `[rows, V]` row-major. Logits or log-probabilities both work: the search
   * applies log-softmax itself, and log-softmax of log-probabilities changes nothing.
   */
  readonly logits?: Float32Array;
  /** Present when the search asked for `best` and the decoder chose inside its graph. */
  readonly best?: StepBest;
  /** Present when the search asked for `candidates` and the decoder chose inside its graph. */
  readonly candidates?: StepCandidates;
  /** The state after the step, one row per row of the input state. */
  readonly state: S;
  /** Attention weights over the source, `[rows, src_time]` row-major, when the decoder attends. */
  readonly attention?: Float32Array;
}

/**
 * A decoder that a search drives one token at a time. The state `S` is opaque to the search; it
 * only ever passes a state back to the session that made it.
 */
export interface DecoderSession<S> {
  /** How many independent rows (source sentences or prompts) the session decodes. */
  readonly batch: number;
  /** The state before the first step, with one row per batch row, in batch order. */
  start(): Promise<S>;
  /**
   * Feeds `tokens[i]` to row i of `state`; `tokens.length` is the state's row count. `need` says
   * what the search will read (default: the logits); the logits always do.
   */
  step(tokens: Int32Array, state: S, need?: StepNeed): Promise<StepOutput<S>>;
  /**
   * A state whose row i is row `rows[i]` of `state`. Indices may repeat (a beam that splits in
   * two) and may be left out (a finished row or a pruned beam). Rows that come from the same batch
   * row must keep that batch row's source data (memory, source lengths) with them.
   */
  select(state: S, rows: Int32Array): S;
}

/** One generated sequence. */
export interface Hypothesis {
  /** Generated ids: without `bos` and the forced prefix, with `eos` when it was generated. */
  readonly tokens: readonly number[];
  /** What the hypotheses are ranked by: `logProb` divided by the length penalty (beam search), else `logProb`. */
  readonly score: number;
  /** Sum over `tokens` of the model's log-softmax at temperature 1, before any top-k or top-p cut. */
  readonly logProb: number;
  /** For each token, the attention weights of the step that produced it, when the decoder attends. */
  readonly attention?: readonly Float32Array[];
}

export interface SearchOptions {
  /** The id fed at the first step. */
  readonly bos: number;
  /** The id that ends a hypothesis. */
  readonly eos: number;
  /** The most tokens generated per hypothesis, `eos` included and the prefix not; at least 1. */
  readonly maxLength: number;
  /**
   * `eos` is forbidden while fewer than `minLength` tokens have been generated, so a finished
   * hypothesis has at least `minLength` tokens before its `eos`. Forbidding masks the log-probability
   * to −∞ without renormalizing the others. Default 0.
   */
  readonly minLength?: number;
  /**
   * Per batch row, ids forced after `bos` before generation starts: a language model's prompt, or
   * a target prefix. They are fed but not scored, and are not part of `Hypothesis.tokens`.
   */
  readonly prefix?: readonly (readonly number[])[];
  /** Called after each step with how many batch rows have finished, for a progress display. */
  readonly onProgress?: (finishedRows: number) => void;
  /** Greedy and sampling: called with each token as it is chosen and the batch row it belongs to, for streaming. */
  readonly onToken?: (row: number, token: number) => void;
}

export interface BeamSearchOptions extends SearchOptions {
  /** How many live hypotheses each row keeps; at least 1. */
  readonly width: number;
  /** How many finished hypotheses to return per row, best first; 1 to `width`, default 1. */
  readonly nBest?: number;
  /** GNMT's α: score = logProb / ((5 + |Y|) / 6)^α, with |Y| counting `eos`. Default 0 (plain logProb). */
  readonly lengthPenalty?: number;
}

export interface SampleOptions extends SearchOptions {
  /** Logits are divided by it before sampling; 0 means greedy. Default 1. */
  readonly temperature?: number;
  /** Keep only the k most probable ids (after temperature); 0 means all. Default 0. */
  readonly topK?: number;
  /** Keep the smallest set of most probable ids whose probability reaches p, after top-k; in (0, 1], default 1. */
  readonly topP?: number;
  /** Seed of the random streams; an integer, default 0. Equal seeds give equal samples. */
  readonly seed?: number;
  /** Samples per batch row; default 1. */
  readonly count?: number;
}

/**
 * Greedy search: each row takes the most probable id at each step (the lowest id among equals).
 * Rows that emit `eos` or reach `maxLength` are dropped from the batch, so later steps run on the
 * unfinished rows only. Returns one hypothesis per batch row.
 */
export async function greedy<S>(session: DecoderSession<S>, options: SearchOptions): Promise<Hypothesis[]> {
  checkSearchOptions(session, options);
  const results = await decodeStreams(session, options, 1, greedyChooser);
  return results.map((row) => row[0]!);
}

/**
 * Samples `count` sequences per row. Each sequence has its own xoshiro128** stream, seeded from
 * (`seed`, row, sample index), so results repeat for equal seeds and batches. At each step the
 * logits are divided by the temperature, `eos` is masked before `minLength`, the top-k most
 * probable ids are kept, then the smallest prefix of them (most probable first, lower id first
 * among equals) whose renormalized probability reaches top-p, and an id is drawn from what is
 * left in proportion to its probability. Returns, per row, the samples in order.
 */
export async function sample<S>(session: DecoderSession<S>, options: SampleOptions): Promise<Hypothesis[][]> {
  checkSearchOptions(session, options);
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  const seed = options.seed ?? 0;
  const count = options.count ?? 1;
  if (!(temperature >= 0 && Number.isFinite(temperature)))
    throw new RangeError(`temperature must be a finite number ≥ 0, not ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new RangeError(`topK must be a whole number ≥ 0, not ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], not ${topP}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, not ${seed}`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a whole number ≥ 1, not ${count}`);

  const streams = Array.from({ length: session.batch * count }, (_, s) => xoshiro128ss(streamSeed(seed, s)));
  if (temperature === 0) return decodeStreams(session, options, count, greedyChooser);
  let scaled = new Float64Array(0);
  let ranked = new Int32Array(0);
  let weights = new Float64Array(0);
  const chooser: Chooser = {
    // The first step reads the logits, which tell the vocabulary; after it, a top-k below the vocabulary reads
    // only the k best ids (one more while eos is forbidden, since eos is then left out).
    need: (masking, vocab) =>
      vocab === undefined || topK === 0 || topK >= vocab
        ? logitsNeed
        : { kind: 'candidates', count: masking ? topK + 1 : topK },
    fromLogits: (stream, logits, logProbs) => {
      if (scaled.length !== logits.length) scaled = new Float64Array(logits.length);
      // Shifted by the largest logit first, so that a tiny temperature gives −∞ and 0, never +∞.
      let max = -Infinity;
      for (let v = 0; v < logits.length; v++) if (logits[v]! > max) max = logits[v]!;
      const shift = Number.isFinite(max) ? max : 0;
      for (let v = 0; v < logits.length; v++) scaled[v] = (logits[v]! - shift) / temperature;
      // Keep the eos mask that the driver put into logProbs.
      for (let v = 0; v < logits.length; v++) if (logProbs[v] === -Infinity) scaled[v] = -Infinity;
      logSoftmaxInPlace(scaled);
      return drawToken(scaled, topK, topP, streams[stream]!);
    },
    fromCandidates: (stream, columns) => {
      // The same draw as from the logits, over the k best allowed ids: the weights exp((x − x_best) / T) are the
      // probabilities up to the normalization, which the draw divides out.
      if (ranked.length < topK) {
        ranked = new Int32Array(topK);
        weights = new Float64Array(topK);
      }
      let kept = 0;
      let best = NaN;
      for (let j = 0; j < columns.count && kept < topK; j++) {
        if (!columns.allowed(j)) continue;
        const logit = columns.logit(j);
        if (kept === 0) best = Number.isFinite(logit) ? logit : 0;
        const weight = Math.exp((logit - best) / temperature);
        if (weight === 0 || Number.isNaN(weight)) break;
        ranked[kept] = j;
        weights[kept++] = weight;
      }
      if (kept === 0) return firstAllowed(columns);
      return ranked[drawRanked(weights, kept, topP, streams[stream]!)]!;
    },
  };
  return decodeStreams(session, options, count, chooser);
}

/**
 * Beam search, batched over rows that finish at different steps.
 *
 * Each row starts with one live hypothesis (so the first step yields no duplicates). At each step,
 * every extension of every live hypothesis of a row is a candidate, ranked by log-probability
 * (ties: the better parent, then the lower id). Walking down the ranking, an `eos` candidate becomes
 * a finished hypothesis and any other candidate a live one, until `width` live ones are chosen.
 * Candidates of equal length rank the same by log-probability as by score, so no length penalty is
 * needed here. At `maxLength` the live hypotheses count as finished ones.
 *
 * Early stopping, exact for every α: a row stops once it has `nBest` finished
 * hypotheses and the `nBest`-th best score is at least the best score that any continuation of its
 * best live hypothesis could reach. Log-probabilities only fall as tokens are added, so that bound
 * is `logProb / max(lp(n + 1), lp(maxLength))` for a live hypothesis of length n, with
 * `lp(m) = ((5 + m) / 6)^α` monotone in m; for α = 0 it is the live log-probability itself. A
 * stopped row therefore returns exactly what running it to `maxLength` would return.
 *
 * Returns, per row, up to `nBest` finished hypotheses sorted by score, best first (among equal
 * scores, the one finished first).
 */
export async function beamSearch<S>(session: DecoderSession<S>, options: BeamSearchOptions): Promise<Hypothesis[][]> {
  checkSearchOptions(session, options);
  const width = options.width;
  const nBest = options.nBest ?? 1;
  const alpha = options.lengthPenalty ?? 0;
  if (!Number.isInteger(width) || width < 1)
    throw new RangeError(`beam width must be a whole number ≥ 1, not ${width}`);
  if (!Number.isInteger(nBest) || nBest < 1 || nBest > width)
    throw new RangeError(`nBest must be a whole number from 1 to the beam width ${width}, not ${nBest}`);
  if (!Number.isFinite(alpha)) throw new RangeError(`lengthPenalty must be a finite number, not ${alpha}`);
  const { bos, eos, maxLength } = options;
  const minLength = options.minLength ?? 0;
  const penalty = (length: number): number => (alpha === 0 ? 1 : ((5 + length) / 6) ** alpha);

  const finished: Hypothesis[][] = Array.from({ length: session.batch }, () => []);
  const prefixFed = new Int32Array(session.batch);
  /** Adds a hypothesis to its row's n-best list, unless it would fall off the end. */
  const offer = (row: number, trail: Trail, length: number, logProb: number): void => {
    const list = finished[row]!;
    const score = logProb / penalty(length);
    if (list.length === nBest && !(score > list[nBest - 1]!.score)) return;
    let at = list.length;
    while (at > 0 && list[at - 1]!.score < score) at--;
    list.splice(at, 0, hypothesisFromTrail(trail, score, logProb));
    if (list.length > nBest) list.pop();
  };

  let state: S = await session.start();
  let beams: Beam[] = Array.from({ length: session.batch }, (_, row) => ({
    row,
    trail: undefined,
    length: 0,
    logProb: 0,
    last: bos,
  }));
  let scratch = new Float64Array(0);
  let fed = new Int32Array(0);
  // Each parent contributes at most `width` live candidates and one eos, and always its best ones.
  const need: StepNeed = { kind: 'candidates', count: width + 1 };
  while (beams.length > 0) {
    if (fed.length !== beams.length) fed = new Int32Array(beams.length);
    for (let i = 0; i < beams.length; i++) fed[i] = beams[i]!.last;
    const out = await session.step(fed, state, need);
    const vocab = stepWidth(out, beams.length);
    const columns = out.candidates === undefined ? undefined : new RowColumns(out.candidates);
    const attentionWidth = out.attention === undefined ? 0 : out.attention.length / beams.length;
    if (columns === undefined && scratch.length !== vocab) scratch = new Float64Array(vocab);
    const next: Beam[] = [];
    const parents: number[] = [];
    for (let first = 0; first < beams.length;) {
      const row = beams[first]!.row;
      let end = first;
      while (end < beams.length && beams[end]!.row === row) end++;
      const prefix = options.prefix?.[row] ?? [];
      if (prefixFed[row]! < prefix.length) {
        // A forced step: the (single) live hypothesis is fed the next prefix id, unscored.
        const forced = prefix[prefixFed[row]!++]!;
        for (let i = first; i < end; i++) {
          next.push({ ...beams[i]!, last: forced });
          parents.push(i);
        }
        first = end;
        continue;
      }

      const candidates: Candidate[] = [];
      for (let i = first; i < end; i++) {
        const beam = beams[i]!;
        if (columns !== undefined) {
          // The decoder's best width + 1 ids, best first; a forbidden eos is left out.
          const row = columns.at(i, width + 1, beam.length < minLength ? eos : -1);
          for (let j = 0; j < row.count; j++) {
            if (!row.allowed(j)) continue;
            const logProb = row.logProb(j);
            if (Number.isNaN(logProb)) throw new RangeError(`the decoder gave a log-probability of NaN`);
            if (logProb === -Infinity) break;
            candidates.push({ parent: i, token: row.token(j), logProb: beam.logProb + logProb });
          }
          continue;
        }
        logSoftmaxInto(out.logits!.subarray(i * vocab, (i + 1) * vocab), scratch);
        if (beam.length < minLength) scratch[eos] = -Infinity;
        for (const token of rankTokens(scratch, Math.min(width + 1, vocab))) {
          if (scratch[token] === -Infinity) break;
          candidates.push({ parent: i, token, logProb: beam.logProb + scratch[token]! });
        }
      }
      candidates.sort((a, b) => b.logProb - a.logProb || a.parent - b.parent || a.token - b.token);

      const length = beams[first]!.length + 1;
      const live: Beam[] = [];
      const liveParents: number[] = [];
      for (const c of candidates) {
        if (live.length === width) break;
        const attention = out.attention?.slice(c.parent * attentionWidth, (c.parent + 1) * attentionWidth);
        const trail: Trail = { token: c.token, attention, previous: beams[c.parent]!.trail };
        if (c.token === eos) {
          offer(row, trail, length, c.logProb);
        } else {
          live.push({ row, trail, length, logProb: c.logProb, last: c.token });
          liveParents.push(c.parent);
        }
      }

      const list = finished[row]!;
      const bestPossible =
        live.length === 0 ? -Infinity : live[0]!.logProb / Math.max(penalty(length + 1), penalty(maxLength));
      if (length >= maxLength) {
        for (const beam of live) offer(row, beam.trail!, beam.length, beam.logProb);
      } else if (!(list.length === nBest && list[nBest - 1]!.score >= bestPossible)) {
        // One by one: a wide beam would overflow the stack as spread arguments.
        for (let i = 0; i < live.length; i++) {
          next.push(live[i]!);
          parents.push(liveParents[i]!);
        }
      }
      first = end;
    }
    options.onProgress?.(session.batch - rowsIn(next));
    if (next.length === 0) break;
    state = isIdentity(parents, beams.length) ? out.state : session.select(out.state, Int32Array.from(parents));
    beams = next;
  }
  return finished;
}

/** Log-softmax of a vector, in float64: `(x - max) - log Σ exp(x - max)`. Entries of −∞ stay −∞. */
export function logSoftmax(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  logSoftmaxInPlace(out);
  return out;
}

/** Writes the log-softmax of `values` into `out` (same length). Throws on NaN or +∞, which no decoder should produce. */
export function logSoftmaxInto(values: ArrayLike<number>, out: Float64Array): void {
  for (let v = 0; v < values.length; v++) out[v] = values[v]!;
  logSoftmaxInPlace(out);
}

/**
 * A seeded generator of floats in [0, 1): the same xoshiro128** generator that initializes weights
 * (src/contracts/random.ts), keyed by the sampling seed. The same seed gives the same numbers everywhere.
 */
export function xoshiro128ss(seed: number): () => number {
  const rng = rngFor(seed >>> 0, 'sampling');
  return () => rng.nextUint32() / 4294967296;
}

/**
 * The ids of the `k` largest values, largest first; among equal values the lower id comes first.
 * `values` must hold no NaN.
 */
export function rankTokens(values: ArrayLike<number>, k: number): Int32Array {
  const n = values.length;
  const take = Math.max(0, Math.min(k, n));
  if (take * 8 >= n) {
    const ids = Int32Array.from({ length: n }, (_, i) => i);
    ids.sort((a, b) => values[b]! - values[a]! || a - b);
    return ids.slice(0, take);
  }
  // Few ids wanted: keep a sorted list of the best so far.
  const ids = new Int32Array(take);
  const best = new Float64Array(take);
  let filled = 0;
  for (let id = 0; id < n; id++) {
    const x = values[id]!;
    if (filled === take && !(x > best[take - 1]!)) continue;
    let at = filled === take ? take - 1 : filled++;
    while (at > 0 && best[at - 1]! < x) {
      best[at] = best[at - 1]!;
      ids[at] = ids[at - 1]!;
      at--;
    }
    best[at] = x;
    ids[at] = id;
  }
  return ids;
}

// Internals.

/** A generated id with what came before it: hypotheses that share a beginning share its trail. */
interface Trail {
  readonly token: number;
  readonly attention: Float32Array | undefined;
  readonly previous: Trail | undefined;
}

interface Beam {
  readonly row: number;
  readonly trail: Trail | undefined;
  /** Generated ids so far, the prefix not counted. */
  readonly length: number;
  readonly logProb: number;
  /** The id to feed at the next step. */
  readonly last: number;
}

interface Candidate {
  readonly parent: number;
  readonly token: number;
  readonly logProb: number;
}

/** One sequence decoded on its own: a greedy row or one sample. */
interface Stream {
  readonly row: number;
  readonly tokens: number[];
  readonly attention: Float32Array[];
  logProb: number;
  hasAttention: boolean;
  prefixFed: number;
  last: number;
}

/**
 * Picks the next id of a stream. `logits` are the step's raw scores; `logProbs` their log-softmax,
 * with `eos` already masked to −∞ where it is forbidden.
 */
type ChooseToken = (stream: number, logits: Float32Array, logProbs: Float64Array) => number;

/** One row's candidates as a chooser reads them: columns best first, `eos` not allowed while forbidden. */
interface CandidateColumns {
  readonly count: number;
  allowed(column: number): boolean;
  logit(column: number): number;
}

/** How a stream's next id is picked: from the logits, or from the candidates the decoder chose in its graph. */
interface Chooser {
  /** What to ask the step for; `masking` while some stream has `eos` forbidden; `vocab` once a step told it. */
  need(masking: boolean, vocab: number | undefined): StepNeed;
  readonly fromLogits: ChooseToken;
  /** The column chosen among `columns`. */
  fromCandidates(stream: number, columns: CandidateColumns): number;
}

const logitsNeed: StepNeed = { kind: 'logits' };
const bestNeed: StepNeed = { kind: 'best' };
const twoCandidates: StepNeed = { kind: 'candidates', count: 2 };

/** The most probable id: the decoder's ArgMax, or its best two while `eos` is forbidden (the best allowed of them). */
const greedyChooser: Chooser = {
  need: (masking) => (masking ? twoCandidates : bestNeed),
  fromLogits: (_stream, _logits, logProbs) => argmax(logProbs),
  fromCandidates: (_stream, columns) => firstAllowed(columns),
};

/** The first allowed column, or 0 when none is. */
function firstAllowed(columns: CandidateColumns): number {
  for (let j = 0; j < columns.count; j++) if (columns.allowed(j)) return j;
  return 0;
}

/** A row's candidates inside a step's `StepCandidates`, reused from row to row. */
class RowColumns implements CandidateColumns {
  count = 0;
  private offset = 0;
  private forbidden = -1;
  constructor(private readonly candidates: StepCandidates) {}
  /** Points at row `row`, with `eos` forbidden or not. */
  at(row: number, limit: number, forbidden: number): this {
    this.count = Math.min(limit, this.candidates.count);
    this.offset = row * this.candidates.count;
    this.forbidden = forbidden;
    return this;
  }
  allowed(column: number): boolean {
    return this.candidates.tokens[this.offset + column] !== this.forbidden;
  }
  logit(column: number): number {
    return this.candidates.logits[this.offset + column]!;
  }
  token(column: number): number {
    return this.candidates.tokens[this.offset + column]!;
  }
  logProb(column: number): number {
    return this.candidates.logProbs[this.offset + column]!;
  }
}

/**
 * Decodes `count` independent streams per batch row, one id per stream per step. A stream ends at
 * `eos` or `maxLength`; ended streams are selected out of the state.
 */
async function decodeStreams<S>(
  session: DecoderSession<S>,
  options: SearchOptions,
  count: number,
  chooser: Chooser,
): Promise<Hypothesis[][]> {
  const { bos, eos, maxLength } = options;
  const minLength = options.minLength ?? 0;
  const streams: Stream[] = Array.from({ length: session.batch * count }, (_, s) => ({
    row: Math.floor(s / count),
    tokens: [],
    attention: [],
    logProb: 0,
    hasAttention: false,
    prefixFed: 0,
    last: bos,
  }));
  let state: S = await session.start();
  if (count > 1)
    state = session.select(
      state,
      Int32Array.from(streams, (s) => s.row),
    );
  let active = streams.map((_, s) => s);
  let logProbs = new Float64Array(0);
  let fed = new Int32Array(active.length);
  const unfinished = new Int32Array(session.batch).fill(count);
  let finishedRows = 0;
  let vocab: number | undefined;
  while (active.length > 0) {
    if (fed.length !== active.length) fed = new Int32Array(active.length);
    for (let i = 0; i < active.length; i++) fed[i] = streams[active[i]!]!.last;
    const masking = minLength > 0 && active.some((s) => streams[s]!.tokens.length < minLength);
    const out = await session.step(fed, state, chooser.need(masking, vocab));
    const width = stepWidth(out, active.length);
    if (out.logits !== undefined) vocab = width;
    const attentionWidth = out.attention === undefined ? 0 : out.attention.length / active.length;
    if (out.logits !== undefined && logProbs.length !== width) logProbs = new Float64Array(width);
    const columns = out.candidates === undefined ? undefined : new RowColumns(out.candidates);
    const keep: number[] = [];
    for (let i = 0; i < active.length; i++) {
      const id = active[i]!;
      const stream = streams[id]!;
      const prefix = options.prefix?.[stream.row] ?? [];
      if (stream.prefixFed < prefix.length) {
        stream.last = prefix[stream.prefixFed++]!;
        keep.push(i);
        continue;
      }
      const forbidden = stream.tokens.length < minLength ? eos : -1;
      let token: number;
      let logProb: number;
      if (out.logits !== undefined) {
        const logits = out.logits.subarray(i * width, (i + 1) * width);
        logSoftmaxInto(logits, logProbs);
        const eosLogProb = logProbs[eos]!;
        if (forbidden === eos) logProbs[eos] = -Infinity;
        token = chooser.fromLogits(id, logits, logProbs);
        // The model's log-probability, before the eos mask.
        logProb = token === eos ? eosLogProb : logProbs[token]!;
      } else if (columns !== undefined) {
        const row = columns.at(i, width, forbidden);
        const column = chooser.fromCandidates(id, row);
        token = row.token(column);
        logProb = row.logProb(column);
      } else {
        token = out.best!.tokens[i]!;
        logProb = out.best!.logProbs[i]!;
      }
      if (Number.isNaN(logProb)) throw new RangeError(`the decoder gave token ${token} a log-probability of NaN`);
      stream.logProb += logProb;
      stream.tokens.push(token);
      options.onToken?.(stream.row, token);
      if (out.attention !== undefined) {
        stream.hasAttention = true;
        stream.attention.push(out.attention.slice(i * attentionWidth, (i + 1) * attentionWidth));
      }
      stream.last = token;
      if (token !== eos && stream.tokens.length < maxLength) keep.push(i);
      else if (--unfinished[stream.row]! === 0) finishedRows++;
    }
    options.onProgress?.(finishedRows);
    if (keep.length === 0) break;
    state = keep.length === active.length ? out.state : session.select(out.state, Int32Array.from(keep));
    active = keep.map((i) => active[i]!);
  }
  const results: Hypothesis[][] = Array.from({ length: session.batch }, () => []);
  for (const s of streams) {
    const base = { tokens: s.tokens, score: s.logProb, logProb: s.logProb };
    results[s.row]!.push(s.hasAttention ? { ...base, attention: s.attention } : base);
  }
  return results;
}

function checkSearchOptions<S>(session: DecoderSession<S>, options: SearchOptions): void {
  const { bos, eos, maxLength } = options;
  const minLength = options.minLength ?? 0;
  if (!Number.isInteger(session.batch) || session.batch < 0)
    throw new RangeError(`a session's batch must be a whole number, not ${session.batch}`);
  if (!Number.isInteger(bos) || bos < 0) throw new RangeError(`bos must be a token id, not ${bos}`);
  if (!Number.isInteger(eos) || eos < 0) throw new RangeError(`eos must be a token id, not ${eos}`);
  if (!Number.isInteger(maxLength) || maxLength < 1)
    throw new RangeError(`maxLength must be a whole number ≥ 1, not ${maxLength}`);
  if (!Number.isInteger(minLength) || minLength < 0)
    throw new RangeError(`minLength must be a whole number ≥ 0, not ${minLength}`);
  if (options.prefix !== undefined && options.prefix.length !== session.batch) {
    throw new RangeError(`prefix has ${options.prefix.length} rows, but the session decodes ${session.batch}`);
  }
}

/**
 * The columns per row of a step's answer: the vocabulary for logits, the candidates per row, or 1
 * for the best ids. Throws when the answer does not fit `rows` rows.
 */
function stepWidth<S>(out: StepOutput<S>, rows: number): number {
  if (out.attention !== undefined && out.attention.length % rows !== 0) {
    throw new RangeError(
      `a step for ${rows} rows returned ${out.attention.length} attention weights, which is not [rows, src_time]`,
    );
  }
  if (out.logits !== undefined) {
    const vocab = out.logits.length / rows;
    if (!Number.isInteger(vocab) || vocab < 1)
      throw new RangeError(`a step for ${rows} rows returned ${out.logits.length} logits, which is not [rows, V]`);
    return vocab;
  }
  if (out.candidates !== undefined) {
    const { count, tokens, logProbs, logits } = out.candidates;
    if (!(count >= 1) || [tokens, logProbs, logits].some((a) => a.length !== rows * count))
      throw new RangeError(`a step for ${rows} rows returned candidates that are not [rows, ${count}]`);
    return count;
  }
  if (out.best !== undefined) {
    if (out.best.tokens.length !== rows || out.best.logProbs.length !== rows)
      throw new RangeError(`a step for ${rows} rows returned best ids that are not [rows]`);
    return 1;
  }
  throw new RangeError(`a step for ${rows} rows returned neither logits nor chosen ids`);
}

function logSoftmaxInPlace(values: Float64Array): void {
  let max = -Infinity;
  for (let v = 0; v < values.length; v++) {
    const x = values[v]!;
    if (Number.isNaN(x) || x === Infinity) throw new RangeError(`log-softmax of a vector holding ${x}`);
    if (x > max) max = x;
  }
  if (max === -Infinity) return;
  let sum = 0;
  for (let v = 0; v < values.length; v++) sum += Math.exp(values[v]! - max);
  // Subtracting max first keeps the bits that `max + log(sum)` would round away.
  const logSum = Math.log(sum);
  for (let v = 0; v < values.length; v++) values[v] = values[v]! - max - logSum;
}

/** The index of the largest value; the lowest among equals, and 0 when all are −∞. */
function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let v = 1; v < values.length; v++) if (values[v]! > values[best]!) best = v;
  return best;
}

/** Draws an id from log-probabilities after the top-k and top-p cuts. */
function drawToken(logProbs: Float64Array, topK: number, topP: number, random: () => number): number {
  const vocab = logProbs.length;
  if ((topK === 0 || topK >= vocab) && topP >= 1) {
    // No cut: walk the ids in order.
    let total = 0;
    for (let v = 0; v < vocab; v++) total += Math.exp(logProbs[v]!);
    const u = random() * total;
    let sum = 0;
    let last = argmax(logProbs);
    for (let v = 0; v < vocab; v++) {
      const p = Math.exp(logProbs[v]!);
      if (p === 0) continue;
      sum += p;
      last = v;
      if (u < sum) return v;
    }
    return last;
  }
  const ranked = rankTokens(logProbs, topK === 0 ? vocab : topK);
  const probs: number[] = [];
  for (const id of ranked) {
    const p = Math.exp(logProbs[id]!);
    if (p === 0) break;
    probs.push(p);
  }
  if (probs.length === 0) return ranked[0] ?? 0;
  return ranked[drawRanked(probs, probs.length, topP, random)]!;
}

/**
 * Draws an index below `count` in proportion to `weights` (ranked, most probable first, all above 0), after the
 * top-p cut: the smallest prefix whose weight reaches `topP` of the total.
 */
function drawRanked(weights: ArrayLike<number>, count: number, topP: number, random: () => number): number {
  let kept = count;
  if (topP < 1) {
    let total = 0;
    for (let i = 0; i < count; i++) total += weights[i]!;
    let sum = 0;
    for (let i = 0; i < count; i++) {
      sum += weights[i]!;
      if (sum >= topP * total) {
        kept = i + 1;
        break;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < kept; i++) total += weights[i]!;
  const u = random() * total;
  let sum = 0;
  for (let i = 0; i < kept; i++) {
    sum += weights[i]!;
    if (u < sum) return i;
  }
  return kept - 1;
}

function hypothesisFromTrail(trail: Trail, score: number, logProb: number): Hypothesis {
  const tokens: number[] = [];
  const attention: Float32Array[] = [];
  let hasAttention = true;
  for (let t: Trail | undefined = trail; t !== undefined; t = t.previous) {
    tokens.push(t.token);
    if (t.attention === undefined) hasAttention = false;
    else attention.push(t.attention);
  }
  tokens.reverse();
  attention.reverse();
  return hasAttention ? { tokens, score, logProb, attention } : { tokens, score, logProb };
}

/** How many batch rows the beams belong to; beams of one row are adjacent. */
function rowsIn(beams: readonly Beam[]): number {
  let rows = 0;
  for (let i = 0; i < beams.length; i++) if (i === 0 || beams[i]!.row !== beams[i - 1]!.row) rows++;
  return rows;
}

function isIdentity(indices: readonly number[], rows: number): boolean {
  return indices.length === rows && indices.every((v, i) => v === i);
}

/** The seed of stream `stream` for a user's seed: distinct streams get unrelated seeds. */
function streamSeed(seed: number, stream: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b9) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d);
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
