// Beam search on a real compiled model equals exhaustive search over a tiny vocabulary, per the float64 reference.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { loadBundle } from '../src/runtime/generate.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { seededRandom } from './reference/float64.js';
import {
  exhaustiveBest,
  exhaustiveBestWithLengthPenalty,
  nextTokenLogProbs,
  randomSeq2seqWeights,
  type DecoderConfig,
  type EncoderConfig,
} from './reference/seq2seq.js';

const vocab = 4;
const maxLength = 4;

const spec = `model Tiny {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=9, dim=3) -> encoder: BiGRU(hidden=3)
  }
  decoder(bos=1, eos=2, max_length=${maxLength}) {
    -> tgt_embedding: Embedding(vocab=${vocab}, dim=3)
    -> decoder: LSTM(hidden=6)
    -> attention: Attention(score=general)
    -> generator: Linear(${vocab})
  }
}
`;

const enc: EncoderConfig = {
  embedding: { prefix: 'src_embedding', vocab: 9, dim: 3 },
  recurrent: [{ prefix: 'encoder', cell: 'gru', hidden: 3, layers: 1, bidirectional: true }],
};
const dec: DecoderConfig = {
  embedding: { prefix: 'tgt_embedding', vocab, dim: 3 },
  attention: { prefix: 'attention', score: 'general', placement: 'luong', inputFeed: false },
  recurrent: { prefix: 'decoder', cell: 'lstm', hidden: 6, layers: 1 },
  head: [{ kind: 'linear', prefix: 'generator', out: vocab }],
  bos: 1,
  eos: 2,
  maxLength,
};

describe('beam search covering every hypothesis', () => {
  // A width of vocab^(maxLength-1) keeps every live prefix, so beam search must find the exhaustive optimum.
  const width = vocab ** (maxLength - 1);

  for (const seed of [1, 2, 3]) {
    it(`finds the exhaustive best, with α = 0 and α = 0.8 (seed ${seed})`, async () => {
      const weights = randomSeq2seqWeights(seededRandom(seed), enc, dec, { scale: 1.5 });
      const result = compile(spec, { weights: { bytes: writeSafetensors(weights), name: 'w.safetensors' } });
      expect(result.diagnostics).toEqual([]);
      const files = Object.fromEntries(result.bundle!.files.map((f) => [f.file, f.bytes]));
      const { bundle } = await loadBundle(ort, { manifest: result.bundle!.manifest, files });
      const sources = [
        [3, 4, 5, 6],
        [7, 8],
      ];
      for (const alpha of [0, 0.8]) {
        const generated = await bundle!.generate(sources, {
          strategy: 'beam',
          beam: { width, nBest: 1, lengthPenalty: alpha },
        });
        sources.forEach((src, row) => {
          const logProbs = nextTokenLogProbs(weights, enc, dec, src, src.length);
          const best =
            alpha === 0
              ? exhaustiveBest(logProbs, vocab, maxLength, dec.eos)
              : exhaustiveBestWithLengthPenalty(logProbs, vocab, maxLength, dec.eos, alpha);
          const found = generated.rows![row]!.hypotheses[0]!;
          expect(found.tokens).toEqual(best.tokens);
          expect(found.score).toBeCloseTo(best.score, 4);
        });
      }
      bundle!.release();
    });
  }
});
