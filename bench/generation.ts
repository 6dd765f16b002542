// Generation throughput: tokens per second for host-loop greedy and beam 4 (reading the step graph's choice, and reading its logits as before) and the ONNX Loop graph, batch 1 and 32.

import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { compile } from '../src/index.js';
import type { BundleManifest } from '../src/contracts/manifest.js';
import { loadBundle, type SeqBundle } from '../src/runtime/generate.js';
import { median } from './common.js';
import { formatLoad, loadSettings, waitForQuiet, withLoad, type GroupLoad } from './quiet.js';

const { settings: givenLoad, rest: args } = loadSettings(process.argv.slice(2));
const quick = args.includes('--quick');
// A quick run is a smoke test: it records nothing by default and does not wait for a quiet machine.
const load = quick ? { allowLoad: true, waitMs: 0 } : givenLoad;
const outIndex = args.indexOf('--out');
const outFile = outIndex >= 0 ? args[outIndex + 1]! : 'bench/GENERATION.md';
const specPath = 'specs/translator.seq';
const srcTime = 20;
const rounds = quick ? 1 : 5;

interface Row {
  readonly strategy: Strategy;
  readonly batch: number;
  readonly medianMs: number;
  readonly tokens: number;
  readonly tokensPerSecond: number;
  readonly load: GroupLoad;
}

/** Deterministic source rows of ids in [3, 8000), with lengths between srcTime/2 and srcTime. */
function sources(batch: number): number[][] {
  return Array.from({ length: batch }, (_, row) =>
    Array.from({ length: srcTime - (row % (srcTime / 2)) }, (_, t) => 3 + ((row * 7919 + t * 104729) % 7990)),
  );
}

type Strategy = 'greedy' | 'beam' | 'greedy-logits' | 'beam-logits' | 'loop';
const strategies: readonly Strategy[] = ['greedy', 'beam', 'loop', 'greedy-logits', 'beam-logits'];

/** The manifest without the step graph's choice outputs: the host loop then reads the logits, as before them. */
function withoutChoice(manifest: BundleManifest): BundleManifest {
  const choice = ['next_token', 'next_log_prob', 'top_tokens', 'top_log_probs', 'top_logits'];
  const step = { ...manifest.files.step, outputs: manifest.files.step.outputs.filter((o) => !choice.includes(o)) };
  return { ...manifest, files: { ...manifest.files, step } };
}

async function measure(
  bundles: { readonly choice: SeqBundle; readonly logits: SeqBundle },
  strategy: Strategy,
  batch: number,
): Promise<{ ms: number[]; tokens: number }> {
  const src = sources(batch);
  const bundle = strategy.endsWith('-logits') ? bundles.logits : bundles.choice;
  const run = async (): Promise<number> => {
    if (strategy === 'loop') {
      const result = await bundle.runGreedyGraph(src);
      return result.rows!.reduce((n, r) => n + r.length, 0);
    }
    const options = strategy.startsWith('beam')
      ? ({ strategy: 'beam', beam: { width: 4, nBest: 1 } } as const)
      : ({ strategy: 'greedy' } as const);
    const result = await bundle.generate(src, options);
    return result.rows!.reduce((n, r) => n + r.hypotheses[0]!.tokens.length, 0);
  };
  await run();
  const ms: number[] = [];
  let tokens = 0;
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    tokens = await run();
    ms.push(performance.now() - start);
  }
  return { ms, tokens };
}

async function main(): Promise<void> {
  const started = performance.now();
  const compiled = compile(readFileSync(specPath, 'utf8'), { sourceName: specPath, seed: 0 });
  if (compiled.bundle === undefined) throw new Error(`${specPath} did not compile to a bundle`);
  const files = Object.fromEntries(compiled.bundle.files.map((f) => [f.file, f.bytes]));
  const loaded = await loadBundle(ort, { manifest: compiled.bundle.manifest, files });
  if (loaded.bundle === undefined) throw new Error(JSON.stringify(loaded.diagnostics));
  const logitsLoaded = await loadBundle(ort, { manifest: withoutChoice(compiled.bundle.manifest), files });
  if (logitsLoaded.bundle === undefined) throw new Error(JSON.stringify(logitsLoaded.diagnostics));
  const bundles = { choice: loaded.bundle, logits: logitsLoaded.bundle };
  const rows: Row[] = [];
  for (const batch of [1, 32]) {
    await waitForQuiet(load);
    const results = new Map<Strategy, { ms: number[]; tokens: number }>();
    // Round-robin over the strategies so that machine load falls on all of them alike.
    for (const strategy of strategies) results.set(strategy, { ms: [], tokens: 0 });
    const group = await withLoad(async () => {
      for (let round = 0; round < (quick ? 1 : 2); round++) {
        for (const strategy of strategies) {
          const r = await measure(bundles, strategy, batch);
          const entry = results.get(strategy)!;
          entry.ms.push(...r.ms);
          entry.tokens = r.tokens;
        }
      }
    });
    for (const [strategy, r] of results) {
      const ms = median(r.ms);
      rows.push({
        strategy,
        batch,
        medianMs: ms,
        tokens: r.tokens,
        tokensPerSecond: (r.tokens / ms) * 1000,
        load: group.load,
      });
    }
  }
  await bundles.choice.release();
  await bundles.logits.release();
  const label: Record<Strategy, string> = {
    greedy: "greedy, host loop reading the step graph's TopK, k = 1",
    beam: "beam 4, host loop reading the step graph's TopK, k = 5",
    loop: 'greedy, the ONNX Loop graph (no host code)',
    'greedy-logits': 'greedy, host loop reading the logits (as before)',
    'beam-logits': 'beam 4, host loop reading the logits (as before)',
  };
  const table = [
    '| batch | decoding | median ms per batch | tokens generated | tokens / s | ÷ Loop graph | ÷ host greedy | load average before → after the group |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const of = (strategy: Strategy) => rows.find((b) => b.batch === r.batch && b.strategy === strategy)!;
      const ratio = (strategy: Strategy) => `${(r.tokensPerSecond / of(strategy).tokensPerSecond).toFixed(2)}×`;
      return `| ${r.batch} | ${label[r.strategy]} | ${r.medianMs.toFixed(1)} | ${r.tokens} | ${r.tokensPerSecond.toFixed(0)} | ${ratio('loop')} | ${ratio('greedy')} | ${formatLoad(r.load)} |`;
    }),
  ].join('\n');
  const report = `# Generation throughput

The latest \`npm run bench\` (bench/generation.ts), ${new Date().toISOString().slice(0, 10)}.

**The claim is the ratios between rows of one batch size, measured in the same run**, not the absolute
numbers, which depend on the machine and its load.

- Model: \`${specPath}\` (the DESIGN.md Translator: BiLSTM 2×256 encoder, LSTM 2×512 decoder, general
  attention, vocabulary 8000), seed-0 weights, so \`eos\` comes at random and rows stop at different steps.
- Sources: ${srcTime} steps at most, lengths varying per row; \`max_length\` ${compiled.bundle.manifest.maxLength}.
- Tokens counted: generated tokens up to and including \`eos\`; beam counts the best hypothesis.
- The host loop fetches from the step graph only what its search reads and feeds its TopK the count it needs
  (\`top_k\`, docs/seq2seq.md): greedy k = 1 and reads \`next_token\`, \`next_log_prob\`; beam 4 k = 5 and reads
  \`top_tokens\`, \`top_log_probs\`, \`top_logits\`; besides the state, which goes back in as it came out. The rows
  "as before" load the same bundle with a manifest that lists no choice outputs, so the host loop reads the
  \`[rows, V]\` logits and chooses in JavaScript, as bundles before the choice outputs do. ONNX Runtime runs every
  node of the step graph whichever outputs are fetched.
- The Loop graph decodes every row for as long as the longest row; the host loop drops rows as they finish.
- Runtime: onnxruntime-node ${readVersion('onnxruntime-node')}, CPU execution provider; Node ${process.version};
  ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} logical cores); load average ${loadavg()[0]!.toFixed(1)} at the start${load.allowLoad ? ' (recorded with --allow-load: the machine was not quiet)' : ''}.
- Each batch size's group starts only on a quiet machine (one-minute load average ≤ 0.25 per core; bench/quiet.ts)
  and records the load average before and after it.
- Each row: ${quick ? 1 : 2 * rounds} timed runs after a warm-up, strategies taking turns.

${table}

Whole run: ${((performance.now() - started) / 1000).toFixed(0)} s.
`;
  writeFileSync(outFile, report);
  console.log(report);
}

function readVersion(name: string): string {
  return (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
}

await main();
