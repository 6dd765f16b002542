// Trains the Dates model of model.seq in TensorFlow.js and writes its weights (PyTorch layout) and vocabularies.
//
//   npx tsx demo/dates/train.ts [--seed N] [--backend wasm|cpu] [--target 0.99] [--max-steps N]
//
// Everything is seeded: the data, the initialization and the batch order. Training stops at the
// first validation check whose greedy exact-match accuracy reaches the target, so a run with the
// same seed and backend gives the same weights.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import {
  decodeTarget,
  defaultSeed,
  makeSplits,
  seededRandom,
  sourceVocabulary,
  targetVocabulary,
  vocabularyFiles,
  vocabularyJson,
  type Example,
} from './data.js';
import {
  demoSizes,
  exactMatch,
  greedyDecode,
  initialParameters,
  loss,
  parameterValues,
  sourceBatch,
  useBackend,
  type Parameters,
} from './network.js';

const here = dirname(fileURLToPath(import.meta.url));

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    'data-seed': { type: 'string', default: String(defaultSeed) },
    backend: { type: 'string', default: 'wasm' },
    target: { type: 'string', default: '0.995' },
    'max-steps': { type: 'string', default: '4000' },
    'batch-size': { type: 'string', default: '128' },
    'learning-rate': { type: 'string', default: '0.005' },
    'check-every': { type: 'string', default: '50' },
    out: { type: 'string', default: here },
  },
});
const seed = Number(args.seed);
const target = Number(args.target);
const maxSteps = Number(args['max-steps']);
const batchSize = Number(args['batch-size']);
const learningRate = Number(args['learning-rate']);
const checkEvery = Number(args['check-every']);
/** Gradients are scaled down to this global norm when they exceed it. */
const clipNorm = 5;

try {
  await train();
} catch (e) {
  // tfjs's wasm module rethrows uncaught errors with its whole minified source; report them plainly instead.
  console.error(`training failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
}

async function train(): Promise<void> {
  await useBackend(args.backend);
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)}s`;
  const splits = makeSplits(Number(args['data-seed']));
  console.log(
    `backend ${tf.getBackend()}, seed ${seed}; ${splits.train.length} training, ${splits.validation.length} validation and ${splits.heldOut.length} held-out examples (disjoint dates)`,
  );
  const parameters = initialParameters(demoSizes, seed);
  const count = [...parameters.values()].reduce((n, v) => n + v.size, 0);
  console.log(
    `${count.toLocaleString('en-US')} parameters; batches of ${batchSize}, Adam at ${learningRate}, until validation accuracy ≥ ${(100 * target).toFixed(1)}%`,
  );

  const optimizer = tf.train.adam(learningRate);
  const order = batchOrder(splits.train.length, seed);
  let step = 0;
  let losses: number[] = [];
  let accuracy = 0;
  while (step < maxSteps) {
    const batch = order.next(batchSize).map((i) => splits.train[i]!);
    losses.push(trainStep(optimizer, parameters, batch));
    step++;
    if (step % checkEvery === 0 || step === maxSteps) {
      accuracy = validationAccuracy(parameters, splits.validation);
      const meanLoss = losses.reduce((a, b) => a + b, 0) / losses.length;
      console.log(
        `step ${String(step).padStart(5)}  epoch ${order.epochs().toFixed(2)}  loss ${meanLoss.toFixed(4)}  validation ${(100 * accuracy).toFixed(1)}%  ${elapsed()}`,
      );
      losses = [];
      if (accuracy >= target) break;
    }
  }

  const heldOut = greedyDecode(
    parameters,
    splits.heldOut.map((e) => e.src),
    demoSizes.maxLength,
  );
  console.log(
    `held-out greedy exact match in tfjs: ${(100 * exactMatch(heldOut, splits.heldOut)).toFixed(2)}% (${splits.heldOut.length} examples)`,
  );
  splits.heldOut.slice(0, 5).forEach((e, i) => console.log(`  ${e.text.padEnd(48)} → ${decodeTarget(heldOut[i]!)}`));

  mkdirSync(args.out, { recursive: true });
  const metadata = { format: 'pt', model: 'Dates', seed: String(seed), steps: String(step), backend: tf.getBackend() };
  writeFileSync(join(args.out, 'weights.safetensors'), writeSafetensors(parameterValues(parameters), metadata));
  writeFileSync(join(args.out, vocabularyFiles.source), vocabularyJson(sourceVocabulary));
  writeFileSync(join(args.out, vocabularyFiles.target), vocabularyJson(targetVocabulary));
  console.log(
    `wrote weights.safetensors, ${vocabularyFiles.source} and ${vocabularyFiles.target} to ${args.out} after ${step} steps in ${elapsed()}`,
  );
  if (accuracy < target) {
    console.error(
      `validation accuracy ${(100 * accuracy).toFixed(1)}% is below the target ${(100 * target).toFixed(1)}%`,
    );
    process.exitCode = 1;
  }
}

/** One Adam step on a batch, with the gradients clipped to `clipNorm`; returns the batch's loss. */
function trainStep(optimizer: tf.Optimizer, p: Parameters, batch: readonly Example[]): number {
  return tf.tidy(() => {
    const src = sourceBatch(batch.map((e) => e.src));
    const { value, grads } = tf.variableGrads(() =>
      loss(
        p,
        src,
        batch.map((e) => e.tgt),
      ),
    );
    const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
    const scale = tf.minimum(1, tf.div(clipNorm, tf.add(norm, 1e-6)));
    optimizer.applyGradients(Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.mul(g, scale)])));
    return value.dataSync()[0]!;
  });
}

function validationAccuracy(p: Parameters, examples: readonly Example[]): number {
  const decoded: number[][] = [];
  for (let i = 0; i < examples.length; i += 500) {
    decoded.push(
      ...greedyDecode(
        p,
        examples.slice(i, i + 500).map((e) => e.src),
        demoSizes.maxLength,
      ),
    );
  }
  return exactMatch(decoded, examples);
}

/** Shuffled passes over the training set, reshuffled each epoch from a seeded stream. */
function batchOrder(size: number, orderSeed: number): { next(n: number): number[]; epochs(): number } {
  const random = seededRandom(orderSeed + 1);
  let permutation: number[] = [];
  let at = 0;
  let served = 0;
  const shuffle = (): void => {
    permutation = Array.from({ length: size }, (_, i) => i);
    for (let i = size - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [permutation[i], permutation[j]] = [permutation[j]!, permutation[i]!];
    }
    at = 0;
  };
  shuffle();
  return {
    next(n: number): number[] {
      if (at + n > size) shuffle();
      served += n;
      at += n;
      return permutation.slice(at - n, at);
    },
    epochs: () => served / size,
  };
}
