// Reports how well seqc's compiled Dates bundle decodes the held-out dates, next to the TensorFlow.js model it was trained as.
//
//   npx tsx demo/dates/evaluate.ts [--limit N] [--beam 4] [--backend wasm|cpu] [--out demo/dates/out]
//
// Exits with status 1 when an accuracy is below 95% or seqc's graphs disagree with tfjs.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { agreementTolerance, demoFolder, evaluateDates } from './evaluation.js';

const { values: args } = parseArgs({
  options: {
    limit: { type: 'string' },
    beam: { type: 'string', default: '4' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string', default: join(demoFolder, 'out') },
  },
});
const minimumAccuracy = 0.95;

try {
  await report();
} catch (e) {
  // tfjs's wasm module rethrows uncaught errors with its whole minified source; report them plainly instead.
  console.error(`evaluation failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
}

async function report(): Promise<void> {
  const { evaluation, bundle } = await evaluateDates({
    ...(args.limit === undefined ? {} : { limit: Number(args.limit) }),
    beamWidth: Number(args.beam),
    backend: args.backend,
  });

  mkdirSync(args.out, { recursive: true });
  for (const f of bundle.files) writeFileSync(join(args.out, f.file), f.bytes);
  writeFileSync(join(args.out, 'dates.manifest.json'), `${JSON.stringify(bundle.manifest, null, 2)}\n`);

  const { examples, methods, agreement } = evaluation;
  const percent = (x: number): string => `${(100 * x).toFixed(2)}%`;
  console.log(
    `compiled demo/dates/model.seq with weights.safetensors in ${evaluation.compileMilliseconds.toFixed(0)} ms; wrote the bundle to ${args.out}`,
  );
  console.log(`${examples.length} held-out dates, none of them seen in training in any wording\n`);
  console.log(`${'decoding'.padEnd(44)}${'exact match'.padStart(12)}${'time'.padStart(10)}`);
  for (const m of methods)
    console.log(
      `${m.method.padEnd(44)}${percent(m.accuracy).padStart(12)}${`${(m.milliseconds / 1000).toFixed(2)} s`.padStart(10)}`,
    );
  console.log();
  console.log(
    `tfjs vs seqc on ${agreement.examples} padded examples, max |difference|: logits ${agreement.logits.toExponential(2)}, memory ${agreement.memory.toExponential(2)}, h0 ${agreement.h0.toExponential(2)} (tolerance ${agreementTolerance.toExponential(0)})`,
  );
  console.log(
    `seqc's greedy graph and tfjs's greedy decoding give the same tokens on ${percent(evaluation.greedySame)} of the examples\n`,
  );

  const [, greedy, beam] = methods;
  const wrong = [...examples.keys()].filter(
    (i) => greedy!.outputs[i] !== examples[i]!.iso || beam!.outputs[i] !== examples[i]!.iso,
  );
  console.log(`${'source'.padEnd(50)}${'expected'.padEnd(12)}${'greedy'.padEnd(13)}beam`);
  for (const i of [...examples.keys()].slice(0, 8).concat(wrong.slice(0, 8))) {
    const e = examples[i]!;
    const mark = (text: string): string => (text === e.iso ? text : `${text} ✗`);
    console.log(
      `${e.text.padEnd(50)}${e.iso.padEnd(12)}${mark(greedy!.outputs[i]!).padEnd(13)}${mark(beam!.outputs[i]!)}`,
    );
  }
  if (wrong.length > 8) console.log(`… and ${wrong.length - 8} more wrong`);

  const failures = [
    ...methods
      .filter((m) => m.accuracy < minimumAccuracy)
      .map((m) => `${m.method}: ${percent(m.accuracy)} < ${percent(minimumAccuracy)}`),
    ...(['logits', 'memory', 'h0'] as const)
      .filter((k) => !(agreement[k] < agreementTolerance))
      .map((k) => `${k} differ by ${agreement[k]} ≥ ${agreementTolerance}`),
  ];
  if (failures.length > 0) {
    console.error(`\nFAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}
