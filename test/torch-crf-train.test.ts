// Training through the emitted CRF: its log-likelihood against brute-force enumeration of every tag path, and the NerTagger of issue 10 trained in PyTorch, saved with torch.save and compiled by seqc with --weights model.pt.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { checkSource } from '../src/index.js';
import { emitPytorch } from '../src/emit/pytorch.js';
import { runPython, torchAvailable } from './torch/python.js';
import { maxAbsDiff, randomFeeds, runOnnx, type Tensor } from './torch/emitted.js';

const script = readFileSync(join(import.meta.dirname, 'torch', 'crf_train.py'), 'utf8');

/** The NerTagger of issue 10 with every layer kept (dotted labels, Conv1d, relu, projected BiLSTM, Linear, CRF), smaller. */
const nerTagger = `# A tagger as PyTorch users build it: nested modules, a conv front end, a projected BiLSTM, a CRF.
model NerTagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)

  tokens
    -> encoder.embedding: Embedding(vocab=40, dim=12, padding_idx=0)
    -> encoder.conv: Conv1d(out=12, kernel=3, padding=1)
    -> relu
    -> encoder.rnn: BiLSTM(hidden=10, layers=2, proj=6)
    -> emissions: Linear(5)
    -> crf: CRF(tags=5, score=true)
    -> output tags
}
`;

const io = { out: (): void => {}, err: (): void => {}, color: false };

describe('the emitted module documents its CRF training objective', () => {
  it('has crf_log_likelihood(tags, **inputs) with pytorch-crf’s reduction="sum" in its docstrings', () => {
    const python = emitPytorch(checkSource(nerTagger).ir!);
    expect(python).toContain('def crf_log_likelihood(self, tags, **inputs):');
    expect(python).toContain('loss = -model.crf_log_likelihood(tags, **inputs)');
    expect(python).toContain('def log_likelihood(self, emissions, tags, lengths=None):');
    expect(python).toContain('log_likelihood = log_likelihood + self.crf.log_likelihood(emissions, crf, lengths)');
  });

  it('takes a dict of gold tags by label when the model has two CRFs, and has no objective without one', () => {
    const two = checkSource(`model Two {
  input x: float32[batch, time, 3]
  input lengths: lengths(x)
  x -> a: CRF(tags=3) -> output ya
  x -> b: CRF(tags=3) -> output yb
}
`);
    expect(two.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const python = emitPytorch(two.ir!);
    expect(python).toContain('a = tags["a"]');
    expect(python).toContain('b = tags["b"]');
    expect(python).toContain('tags: {"a", "b"}');
    const plain = emitPytorch(
      checkSource('model P {\n  input x: float32[batch, 4]\n  x -> fc: Linear(2) -> output y\n}\n').ir!,
    );
    expect(plain).not.toContain('crf_log_likelihood');
  });
});

describe.skipIf(!torchAvailable())('the emitted CRF’s log-likelihood against enumerating every path', () => {
  it('matches brute force in float64 per row and summed over padded batches, junk tags past the lengths', () => {
    const folder = mkdtempSync(join(tmpdir(), 'seqc-crf-ll-'));
    try {
      const spec =
        'model Decoder {\n  input emissions: float32[batch, time, 3]\n  input lengths: lengths(emissions)\n  emissions -> crf: CRF(tags=3) -> output tags\n}\n';
      writeFileSync(join(folder, 'model.py'), emitPytorch(checkSource(spec).ir!));
      const cases = [
        [2, 4, 5],
        [3, 5, 5],
        [4, 4, 4],
        [5, 3, 3],
        [3, 3, 1],
      ];
      const result = runPython<{ cases: number; worstRow: number; worstBatch: number }>(script, {
        task: 'enumerate',
        model: join(folder, 'model.py'),
        seed: 7,
        cases,
      });
      console.log(
        `CRF log-likelihood vs enumeration (float64): max |Δ| per row ${result.worstRow.toExponential(2)}, per batch ${result.worstBatch.toExponential(2)}`,
      );
      expect(result.cases).toBe(cases.length);
      expect(result.worstRow).toBeLessThanOrEqual(1e-10);
      expect(result.worstBatch).toBeLessThanOrEqual(1e-10);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 120_000);
});

describe.skipIf(!torchAvailable())(
  'NerTagger trained in PyTorch through its CRF, loaded into seqc from torch.save',
  () => {
    const folder = mkdtempSync(join(tmpdir(), 'seqc-crf-train-'));
    afterAll(() => rmSync(folder, { recursive: true, force: true }));
    const ir = checkSource(nerTagger).ir!;
    const feeds = randomFeeds(ir, 23, { batch: 6, time: 9 });
    let trained: { losses: number[]; changed: string[]; outputs: Record<string, Tensor> } | undefined;

    it('emits the module with the CLI and trains it with -crf_log_likelihood: the loss falls, every parameter moves', () => {
      writeFileSync(join(folder, 'ner.seq'), nerTagger);
      return main(['emit', 'pytorch', join(folder, 'ner.seq'), '-o', join(folder, 'model.py')], io).then((code) => {
        expect(code).toBe(0);
        trained = runPython<NonNullable<typeof trained>>(script, {
          task: 'train',
          model: join(folder, 'model.py'),
          className: 'NerTagger',
          checkpoint: join(folder, 'model.pt'),
          seed: 3,
          steps: 8,
          batch: 8,
          time: 7,
          vocab: 40,
          tags: 5,
          inputs: feeds,
        });
        expect(trained.losses).toHaveLength(8);
        expect(trained.losses[7]!).toBeLessThan(trained.losses[0]!);
        expect(trained.changed.sort()).toEqual(ir.parameters.map((p) => p.name).sort());
      });
    }, 300_000);

    it('seqc compile --weights model.pt gives the trained module’s Viterbi tags exactly and its scores at 1e-5', async () => {
      expect(trained).toBeDefined();
      const onnxFile = join(folder, 'ner.onnx');
      const code = await main(
        ['compile', join(folder, 'ner.seq'), '--weights', join(folder, 'model.pt'), '-o', onnxFile],
        io,
      );
      expect(code).toBe(0);
      const onnx = await runOnnx(new Uint8Array(readFileSync(onnxFile)), feeds);
      expect(Object.keys(onnx).sort()).toEqual(['crf.score', 'tags']);
      expect(onnx.tags).toEqual(trained!.outputs.tags);
      const lengths = feeds.lengths!.data;
      expect(new Set(lengths).size).toBeGreaterThan(2);
      const scoreDelta = maxAbsDiff(onnx['crf.score']!, trained!.outputs['crf.score']!);
      console.log(
        `NerTagger after ${trained!.losses.length} Adam steps (loss ${trained!.losses[0]!.toFixed(3)} → ${trained!.losses.at(-1)!.toFixed(3)}): tags identical, max |Δscore| ${scoreDelta.toExponential(2)}`,
      );
      expect(scoreDelta).toBeLessThanOrEqual(1e-5);
    });
  },
);
