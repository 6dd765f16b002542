// The step graph's choice outputs (TopK of its `top_k` input and the log-softmax) against its own logits, and generation that reads them giving what reading the logits gives.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { decodeModel } from '../src/onnx/decode.js';
import { encodeModel } from '../src/onnx/encode.js';
import { DataType } from '../src/onnx/types.js';
import type { BundleManifest } from '../src/contracts/manifest.js';
import { loadBundle, type GenerateOptions, type OrtModule, type SeqBundle } from '../src/runtime/generate.js';

/** A vocabulary above the step graph's 64 candidates, and one below them. */
const vocabularies = [100, 12] as const;
const batch = 5;
const srcTime = 6;

function specOf(vocab: number): string {
  return `model Speed {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=30, dim=8) -> encoder: BiLSTM(hidden=6)
  }
  decoder(bos=1, eos=2, max_length=12) {
    -> tgt_embedding: Embedding(vocab=${vocab}, dim=8)
    -> decoder: LSTM(hidden=12)
    -> attention: Attention(score=general)
    -> generator: Linear(${vocab})
  }
}
`;
}

function compiled(vocab: number) {
  const result = compile(specOf(vocab), { seed: 5 });
  expect(result.diagnostics).toEqual([]);
  const bundle = result.bundle!;
  const files = Object.fromEntries(bundle.files.map((f) => [f.file, f.bytes]));
  return { manifest: bundle.manifest, files, step: files[bundle.manifest.files.step.path]! };
}

/** A deterministic stream in [0, 1). */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function sources(rows: number): number[][] {
  const random = seeded(17);
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: srcTime - (r % 3) }, () => 3 + Math.floor(random() * 27)),
  );
}

/** log-softmax in float64. */
function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (x) => x - lse);
}

/** Ids by descending value, the lower id first among equals. */
function ranking(row: Float32Array): number[] {
  return Array.from(row, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
}

/** The step graph's feeds for `batch` rows of random state and memory, asking for `k` candidates. */
function stepFeeds(vocab: number, k: number): Record<string, ort.Tensor> {
  const random = seeded(vocab);
  const floats = (dims: number[]) =>
    new ort.Tensor(
      'float32',
      Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 4 * (random() - 0.5)),
      dims,
    );
  return {
    tokens: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % vocab)),
      [batch],
    ),
    h: floats([1, batch, 12]),
    c: floats([1, batch, 12]),
    memory: floats([batch, srcTime, 12]),
    src_lengths: new ort.Tensor('int64', BigInt64Array.from([6n, 5n, 4n, 6n, 1n]), [batch]),
    top_k: new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]),
  };
}

/** The step graph with its generator's weight and bias set to zero, so that every logit is 0: all ids tie. */
function tiedStep(step: Uint8Array): Uint8Array {
  const model = decodeModel(step);
  const initializers = model.graph.initializers.map((t) =>
    t.name.startsWith('generator')
      ? {
          name: t.name,
          dataType: t.dataType,
          dims: t.dims,
          floatData: new Float32Array(t.dims.reduce((a, b) => a * b, 1)),
        }
      : t,
  );
  return encodeModel({ ...model, graph: { ...model.graph, initializers } });
}

describe('the step graph chooses inside the graph', () => {
  for (const vocab of vocabularies) {
    for (const k of new Set([1, 3, Math.min(vocab, 64), vocab])) {
      it(`returns next_token = ArgMax and top_* = the top_k = ${k} best of the log-softmax (V = ${vocab})`, async () => {
        const { manifest, step } = compiled(vocab);
        expect(manifest.files.step.inputs).toEqual(['tokens', 'h', 'c', 'memory', 'src_lengths', 'top_k']);
        expect(manifest.files.step.outputs).toEqual([
          'logits',
          'h_out',
          'c_out',
          'attention',
          'next_token',
          'next_log_prob',
          'top_tokens',
          'top_log_probs',
          'top_logits',
        ]);
        const session = await ort.InferenceSession.create(step, { logSeverityLevel: 3 });
        const out = await session.run(stepFeeds(vocab, k));
        const logits = out['logits']!.data as Float32Array;
        expect([...out['top_tokens']!.dims]).toEqual([batch, k]);
        let worst = 0;
        for (let r = 0; r < batch; r++) {
          const row = logits.subarray(r * vocab, (r + 1) * vocab);
          const expected = logSoftmax(row);
          const ranked = ranking(row);
          expect(Number((out['next_token']!.data as BigInt64Array)[r])).toBe(ranked[0]);
          worst = Math.max(worst, Math.abs((out['next_log_prob']!.data as Float32Array)[r]! - expected[ranked[0]!]!));
          const tokens = Array.from((out['top_tokens']!.data as BigInt64Array).subarray(r * k, (r + 1) * k), Number);
          expect(tokens).toEqual(ranked.slice(0, k));
          const topLogits = (out['top_logits']!.data as Float32Array).subarray(r * k, (r + 1) * k);
          expect(Array.from(topLogits)).toEqual(tokens.map((t) => row[t]!));
          const topLogProbs = (out['top_log_probs']!.data as Float32Array).subarray(r * k, (r + 1) * k);
          tokens.forEach((t, j) => (worst = Math.max(worst, Math.abs(topLogProbs[j]! - expected[t]!))));
        }
        expect(worst).toBeLessThan(1e-6);
      });
    }

    it(`chooses the lowest ids among equal logits, as ArgMax does (V = ${vocab})`, async () => {
      const session = await ort.InferenceSession.create(tiedStep(compiled(vocab).step), { logSeverityLevel: 3 });
      for (const k of [1, 3]) {
        const out = await session.run(stepFeeds(vocab, k));
        expect(Array.from(out['logits']!.data as Float32Array).every((x) => x === 0)).toBe(true);
        expect(Array.from(out['next_token']!.data as BigInt64Array, Number)).toEqual(Array(batch).fill(0));
        const columns = Array.from({ length: k }, (_, j) => j);
        expect(Array.from(out['top_tokens']!.data as BigInt64Array, Number)).toEqual(
          Array.from({ length: batch }, () => columns).flat(),
        );
        const uniform = -Math.log(vocab);
        for (const p of out['next_log_prob']!.data as Float32Array) expect(Math.abs(p - uniform)).toBeLessThan(1e-6);
      }
    });
  }
});

/** onnxruntime-node, recording the outputs each step asks for, and then the `top_k` it was fed (when it was). */
function recordingOrt(fetched: string[][]): OrtModule {
  return {
    Tensor: ort.Tensor,
    InferenceSession: {
      create: async (model, options) => {
        const session = await ort.InferenceSession.create(model, options as ort.InferenceSession.SessionOptions);
        return {
          inputNames: session.inputNames,
          outputNames: session.outputNames,
          run: (feeds: Record<string, ort.Tensor>, fetches?: readonly string[]) => {
            const k = feeds['top_k'] === undefined ? [] : [`top_k=${(feeds['top_k'].data as BigInt64Array)[0]}`];
            if (fetches !== undefined && session.inputNames.includes('tokens')) fetched.push([...fetches, ...k]);
            return fetches === undefined ? session.run(feeds) : session.run(feeds, [...fetches]);
          },
          release: () => session.release(),
        };
      },
    },
  } as OrtModule;
}

/** The same bundle with a manifest that lists no choice outputs, as bundles from before them: every search reads the logits. */
function withoutChoice(manifest: BundleManifest): BundleManifest {
  const choice = ['next_token', 'next_log_prob', 'top_tokens', 'top_log_probs', 'top_logits'];
  const step = { ...manifest.files.step, outputs: manifest.files.step.outputs.filter((o) => !choice.includes(o)) };
  return { ...manifest, files: { ...manifest.files, step } };
}

const requests: readonly { readonly name: string; readonly options: GenerateOptions; readonly reads: string }[] = [
  { name: 'greedy', options: { strategy: 'greedy' }, reads: 'next_token' },
  { name: 'greedy, eos forbidden for 4 tokens', options: { strategy: 'greedy', minLength: 4 }, reads: 'top_tokens' },
  { name: 'beam 4', options: { strategy: 'beam', beam: { width: 4, nBest: 2 } }, reads: 'top_tokens' },
  {
    name: 'beam 3, α = 0.6, eos forbidden for 3 tokens',
    options: { strategy: 'beam', beam: { width: 3, lengthPenalty: 0.6 }, minLength: 3 },
    reads: 'top_tokens',
  },
  {
    name: 'top-k 5 sampling at temperature 0.8, top-p 0.9',
    options: { strategy: 'sample', sample: { topK: 5, topP: 0.9, temperature: 0.8, seed: 4, count: 3 } },
    reads: 'top_tokens',
  },
  {
    name: 'top-k 8 sampling, eos forbidden for 2 tokens',
    options: { strategy: 'sample', sample: { topK: 8, seed: 9 }, minLength: 2 },
    reads: 'top_tokens',
  },
  {
    name: 'sampling at temperature 0',
    options: { strategy: 'sample', sample: { temperature: 0 } },
    reads: 'next_token',
  },
  {
    name: 'beam 70, wider than the 64 candidates of step graphs without top_k',
    options: { strategy: 'beam', beam: { width: 70 } },
    reads: 'top_tokens',
  },
  { name: 'sampling without top-k', options: { strategy: 'sample', sample: { seed: 2 } }, reads: 'logits' },
];

describe('generation reading the choice gives what reading the logits gives', () => {
  for (const vocab of vocabularies) {
    describe(`V = ${vocab}`, () => {
      const src = sources(batch);
      let fast: SeqBundle;
      let slow: SeqBundle;
      const fetched: string[][] = [];

      it('loads the bundle twice: with its choice outputs, and with a manifest that lists none', async () => {
        const { manifest, files } = compiled(vocab);
        const a = await loadBundle(recordingOrt(fetched), { manifest, files });
        const b = await loadBundle(ort as unknown as OrtModule, { manifest: withoutChoice(manifest), files });
        expect([...a.diagnostics, ...b.diagnostics]).toEqual([]);
        fast = a.bundle!;
        slow = b.bundle!;
      });

      for (const request of requests) {
        it(`${request.name}: the same tokens, log-probabilities within 1e-5`, async () => {
          fetched.length = 0;
          const [x, y] = [await fast.generate(src, request.options), await slow.generate(src, request.options)];
          expect([...x.diagnostics, ...y.diagnostics]).toEqual([]);
          const tokens = (r: typeof x) => r.rows!.map((row) => row.hypotheses.map((h) => h.tokens));
          expect(tokens(x)).toEqual(tokens(y));
          let worst = 0;
          x.rows!.forEach((row, r) =>
            row.hypotheses.forEach((h, i) => {
              const other = y.rows![r]!.hypotheses[i]!;
              worst = Math.max(worst, Math.abs(h.logProb - other.logProb), Math.abs(h.score - other.score));
              expect(h.attention?.length).toBe(other.attention?.length);
            }),
          );
          expect(worst).toBeLessThan(1e-5);
          // What came back from the step graph: a few values per row, not the vocabulary, where the graph has them.
          const reads = new Set(fetched.map((f) => f[0]));
          if (request.name.startsWith('sampling without')) {
            expect(reads).toEqual(new Set(['logits']));
          } else if (request.options.strategy === 'sample' && request.reads === 'top_tokens') {
            // The first step reads the logits, which tell the vocabulary; a top-k below it then reads the candidates.
            expect(fetched[0]![0]).toBe('logits');
            expect(reads).toEqual(new Set(['logits', ...(8 < vocab ? ['top_tokens'] : [])]));
          } else if (request.name.startsWith('greedy, eos forbidden')) {
            // The best two while eos is forbidden, then the ArgMax alone.
            expect(fetched[0]![0]).toBe('top_tokens');
            expect(reads).toEqual(new Set(['top_tokens', 'next_token']));
          } else {
            expect(reads).toEqual(new Set([request.reads]));
          }
          // The count the search asked for, at most V: 1 for the best id, the width + 1 for a beam, k (+ 1) for top-k.
          const asked = new Set(fetched.map((f) => f.find((n) => n.startsWith('top_k='))));
          const beam = request.options.beam?.width;
          if (request.reads === 'next_token') expect(asked).toEqual(new Set(['top_k=1']));
          if (beam !== undefined) expect(asked).toEqual(new Set([`top_k=${Math.min(beam + 1, vocab)}`]));
          expect(fetched.every((f) => f.includes('h_out') && f.includes('c_out') && f.includes('attention'))).toBe(
            true,
          );
        });
      }

      it('releases the sessions', async () => {
        await fast.release();
        await slow.release();
      });
    });
  }
});

/**
 * A bundle as seqc compiled it before `top_k` was an input: the step graph's TopK returns a fixed min(V, 64)
 * candidates and the manifest lists no `top_k`.
 */
function fixedCandidates(vocab: number): { manifest: BundleManifest; files: Record<string, Uint8Array> } {
  const { manifest, files } = compiled(vocab);
  const path = manifest.files.step.path;
  const model = decodeModel(files[path]!);
  const k = {
    name: 'top_k',
    dataType: DataType.INT64,
    dims: [1],
    int64Data: BigInt64Array.of(BigInt(Math.min(vocab, 64))),
  };
  const graph = {
    ...model.graph,
    inputs: model.graph.inputs.filter((i) => i.name !== 'top_k'),
    initializers: [...model.graph.initializers, k],
  };
  const step = { ...manifest.files.step, inputs: manifest.files.step.inputs.filter((i) => i !== 'top_k') };
  return {
    manifest: { ...manifest, files: { ...manifest.files, step } },
    files: { ...files, [path]: encodeModel({ ...model, graph }) },
  };
}

describe('a step graph with a fixed count of candidates (compiled before top_k) still drives every search', () => {
  for (const vocab of vocabularies) {
    it(`reads its candidates up to min(V, 64) and the logits beyond (V = ${vocab})`, async () => {
      const fetched: string[][] = [];
      const old = fixedCandidates(vocab);
      const a = await loadBundle(recordingOrt(fetched), old);
      const b = await loadBundle(ort as unknown as OrtModule, {
        manifest: withoutChoice(old.manifest),
        files: old.files,
      });
      expect([...a.diagnostics, ...b.diagnostics]).toEqual([]);
      const src = sources(batch);
      for (const options of [
        { strategy: 'greedy' },
        { strategy: 'beam', beam: { width: 4 } },
        { strategy: 'beam', beam: { width: 70 } },
      ] as const) {
        fetched.length = 0;
        const [x, y] = [await a.bundle!.generate(src, options), await b.bundle!.generate(src, options)];
        expect(x.rows!.map((r) => r.hypotheses[0]!.tokens)).toEqual(y.rows!.map((r) => r.hypotheses[0]!.tokens));
        const wide = options.strategy === 'beam' && options.beam.width + 1 > 64 && vocab > 64;
        const read = options.strategy === 'greedy' ? 'next_token' : wide ? 'logits' : 'top_tokens';
        expect(new Set(fetched.map((f) => f[0]))).toEqual(new Set([read]));
        expect(fetched.some((f) => f.some((n) => n.startsWith('top_k=')))).toBe(false);
      }
      await a.bundle!.release();
      await b.bundle!.release();
    });
  }
});
