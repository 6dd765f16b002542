// The emitted PyTorch module, run in real PyTorch with seqc's seeded weights, computes what seqc's compiled ONNX graphs compute (onnxruntime-node), for every spec in specs/ and a matrix covering every layer and option.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BundleRole } from '../src/contracts/manifest.js';
import { torchAvailable } from './torch/python.js';
import {
  compileAndEmit,
  maxAbsDiff,
  randomFeeds,
  randomIds,
  runEmitted,
  runOnnx,
  seeded,
  type Emitted,
  type Feeds,
  type Tensor,
} from './torch/emitted.js';

const TOLERANCE = 1e-5;

/** The specs under test: the shipped ones, and the option matrix in test/fixtures/emit. */
const specFiles = [
  ...readdirSync('specs')
    .filter((f) => f.endsWith('.seq'))
    .sort()
    .map((f) => join('specs', f)),
  ...readdirSync(join('test', 'fixtures', 'emit'))
    .filter((f) => f.endsWith('.seq'))
    .sort()
    .map((f) => join('test', 'fixtures', 'emit', f)),
];

/** Every measured max |Δ|, printed at the end for the record. */
const measured: [string, number][] = [];

function expectClose(what: string, torch: Tensor | undefined, onnx: Tensor | undefined): void {
  expect(torch, `${what}: PyTorch gave no such output`).toBeDefined();
  expect(onnx, `${what}: ONNX gave no such output`).toBeDefined();
  expect(torch!.shape, what).toEqual(onnx!.shape);
  const diff = maxAbsDiff(torch!, onnx!);
  measured.push([what, diff]);
  expect(diff, `${what}: max |Δ| ${diff}`).toBeLessThanOrEqual(TOLERANCE);
}

function expectParametersMatch(emitted: Emitted, parameters: [string, number[]][]): void {
  const expected = emitted.ir.parameters.map((p) => [p.name, [...p.shape]] as [string, number[]]);
  const byName = (a: [string, number[]], b: [string, number[]]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  expect([...parameters].sort(byName)).toEqual([...expected].sort(byName));
}

function graph(emitted: Emitted, role: BundleRole): Uint8Array {
  const file = emitted.compiled.bundle!.files.find((f) => f.role === role);
  if (file === undefined) throw new Error(`the bundle has no ${role} graph`);
  return file.bytes;
}

/** tgt_in: bos, then random target ids. */
function targetIn(emitted: Emitted, seed: number, batch: number, time: number): Tensor {
  const d = emitted.ir.decoder!;
  const ids = randomIds(seed, batch, time, d.vocab);
  return { ...ids, data: ids.data.map((v, i) => (i % time === 0 ? d.bos : v)) };
}

function randomFloats(seed: number, shape: number[]): Tensor {
  const random = seeded(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', shape, data: Array.from({ length: n }, () => Math.fround(random() * 2 - 1)) };
}

async function checkClassifier(name: string, emitted: Emitted): Promise<void> {
  const feeds = randomFeeds(emitted.ir, 7);
  const onnx = await runOnnx(emitted.compiled.model!, feeds);
  // Without the optional inputs too: lengths mean full rows, states start at zero.
  const required: Feeds = Object.fromEntries(
    Object.entries(feeds).filter(([n]) => emitted.ir.inputs.find((i) => i.name === n)!.role.kind === 'data'),
  );
  const torch = runEmitted(emitted, [
    { method: 'forward', inputs: feeds },
    { method: 'forward', inputs: required },
  ]);
  expectParametersMatch(emitted, torch.parameters);
  for (const output of emitted.ir.outputs)
    expectClose(`${name} ${output.name}`, torch.results[0]![output.name], onnx[output.name]);
  // The graph with full lengths and zero states, for the call that left them out.
  const full: Feeds = { ...feeds };
  for (const input of emitted.ir.inputs) {
    const t = feeds[input.name]!;
    if (input.role.kind === 'lengths') {
      const of = feeds[input.role.of]!;
      full[input.name] = { ...t, data: t.data.map(() => of.shape[1]!) };
    }
    if (input.role.kind === 'state') full[input.name] = { ...t, data: t.data.map(() => 0) };
  }
  const onnxFull = await runOnnx(emitted.compiled.model!, full);
  for (const output of emitted.ir.outputs)
    expectClose(`${name} ${output.name} (defaults)`, torch.results[1]![output.name], onnxFull[output.name]);
}

async function checkDecoder(name: string, emitted: Emitted): Promise<void> {
  const ir = emitted.ir;
  const d = ir.decoder!;
  const batch = 3;
  const lm = ir.encoder === undefined;
  const tgtTime = 4;
  const sourceFeeds = lm ? {} : randomFeeds(ir, 11);
  const scoringFeeds: Feeds = { ...sourceFeeds, tgt_in: targetIn(emitted, 5, batch, tgtTime) };
  const scoring = await runOnnx(graph(emitted, 'scoring'), scoringFeeds);

  // One step from a random state, against the step graph.
  const layers = d.recurrent.layers;
  const hidden = d.recurrent.hidden;
  const stepFeeds: Feeds = {
    tokens: { dtype: 'int64', shape: [batch], data: [d.bos, 3 % d.vocab, 4 % d.vocab] },
    h: randomFloats(21, [layers, batch, hidden]),
  };
  const stepArgs: Feeds = { ...stepFeeds };
  if (d.recurrent.cell === 'lstm') stepFeeds.c = stepArgs.c = randomFloats(22, [layers, batch, hidden]);
  const calls: { method: 'forward' | 'encode' | 'step'; inputs: Feeds }[] = [
    { method: 'forward', inputs: scoringFeeds },
  ];
  let encoded: Record<string, Tensor> | undefined;
  if (!lm) {
    encoded = await runOnnx(graph(emitted, 'encoder'), sourceFeeds);
    calls.push({ method: 'encode', inputs: sourceFeeds });
    stepFeeds.memory = stepArgs.memory = encoded.memory!;
    const lengths = ir.inputs.find((i) => i.role.kind === 'lengths');
    if (lengths !== undefined) {
      stepFeeds[lengths.name] = sourceFeeds[lengths.name]!;
      stepArgs[lengths.name] = sourceFeeds[lengths.name]!;
    }
  }
  if (d.attention?.inputFeed === true) stepFeeds.feed = stepArgs.feed = randomFloats(23, [batch, hidden]);
  // The count of candidates the step graph's TopK returns; the emitted module has no such argument.
  stepFeeds.top_k = { dtype: 'int64', shape: [1], data: [Math.min(d.vocab, 7)] };
  calls.push({ method: 'step', inputs: stepArgs });
  const step = await runOnnx(graph(emitted, 'step'), stepFeeds);
  const torch = runEmitted(emitted, calls);
  expectParametersMatch(emitted, torch.parameters);
  expectClose(`${name} scoring logits`, torch.results[0]!.logits, scoring.logits);
  if (encoded !== undefined) {
    for (const output of Object.keys(encoded))
      expectClose(`${name} encoder ${output}`, torch.results[1]![output], encoded[output]);
  }
  const stepResult = torch.results[torch.results.length - 1]!;
  const choices = ['next_token', 'next_log_prob', 'top_tokens', 'top_log_probs', 'top_logits'];
  const stateAndLogits = Object.keys(step).filter((output) => !choices.includes(output));
  expect(Object.keys(stepResult).sort()).toEqual(stateAndLogits.sort());
  for (const output of stateAndLogits) expectClose(`${name} step ${output}`, stepResult[output], step[output]);
  expectChoicesOf(name, stepResult.logits!, step);
}

/**
 * The step graph's choice outputs against the emitted module's logits: the largest logit (lowest id
 * among equals) and the k largest in order, with their log-softmax, computed here in float64.
 */
function expectChoicesOf(name: string, logits: Tensor, step: Record<string, Tensor>): void {
  const [rows, vocab] = logits.shape as [number, number];
  const k = step.top_tokens?.shape[1] ?? 0;
  const expected = { next_token: [] as number[], next_log_prob: [] as number[], top: [] as number[] };
  const topLogits: number[] = [];
  const topLogProbs: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: vocab }, (_, v) => Number(logits.data[r * vocab + v]));
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((sum, x) => sum + Math.exp(x - max), 0));
    const order = row.map((_, v) => v).sort((a, b) => row[b]! - row[a]! || a - b);
    expected.next_token.push(order[0]!);
    expected.next_log_prob.push(row[order[0]!]! - logSum);
    for (const v of order.slice(0, k)) {
      expected.top.push(v);
      topLogits.push(row[v]!);
      topLogProbs.push(row[v]! - logSum);
    }
  }
  expect(step.next_token!.data.map(Number), `${name} next_token`).toEqual(expected.next_token);
  expectClose(
    `${name} next_log_prob`,
    { dtype: 'float32', shape: [rows], data: expected.next_log_prob },
    step.next_log_prob,
  );
  if (k === 0) return;
  expect(step.top_tokens!.data.map(Number), `${name} top_tokens`).toEqual(expected.top);
  expectClose(`${name} top_logits`, { dtype: 'float32', shape: [rows, k], data: topLogits }, step.top_logits);
  expectClose(`${name} top_log_probs`, { dtype: 'float32', shape: [rows, k], data: topLogProbs }, step.top_log_probs);
}

describe.skipIf(!torchAvailable())('the emitted PyTorch module computes what the compiled graphs compute', () => {
  for (const file of specFiles) {
    it(`${file}: state_dict keys and shapes are the spec's parameters, and outputs match at 1e-5`, async () => {
      const emitted = compileAndEmit(readFileSync(file, 'utf8'), 3);
      if (emitted.ir.decoder === undefined) await checkClassifier(file, emitted);
      else await checkDecoder(file, emitted);
    }, 300_000);
  }

  it('catches a difference: with one bias moved by 1e-3 the outputs differ by more than 1e-5', async () => {
    // Named after a helper class of the emitted file, so the class becomes AttentionModel.
    const source = `model Attention {
  input frames: float32[batch, time, 3]
  input lengths: lengths(frames)
  frames -> gru: GRU(hidden=4) -> fc: Linear(2) -> output out
}
`;
    const emitted = compileAndEmit(source, 5);
    expect(emitted.python).toContain('class AttentionModel(nn.Module):');
    const feeds = randomFeeds(emitted.ir, 3);
    const onnx = await runOnnx(emitted.compiled.model!, feeds);
    const bias = emitted.weights.get('fc.bias')!;
    const moved = new Map(emitted.weights);
    moved.set('fc.bias', { shape: bias.shape, data: bias.data.map((v) => v + 1e-3) });
    const [same, differs] = [emitted, { ...emitted, weights: moved }].map(
      (e) => runEmitted(e, [{ method: 'forward', inputs: feeds }]).results[0]!.out!,
    );
    expect(maxAbsDiff(same!, onnx.out!)).toBeLessThanOrEqual(TOLERANCE);
    expect(maxAbsDiff(differs!, onnx.out!)).toBeGreaterThan(TOLERANCE);
  }, 120_000);

  it('measured the differences it checked', () => {
    // The figures for the record (vitest prints them with --reporter=verbose).
    console.log(measured.map(([what, d]) => `${what}: max |Δ| ${d.toExponential(2)}`).join('\n'));
    expect(measured.length).toBeGreaterThan(0);
  });
});
