// Generation throughput: tokens per second for host-loop greedy, beam 4 and the ONNX Loop graph, batch 1 and 32.

import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { compile } from '../src/index.js';
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
  readonly strategy: string;
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

async function measure(
  bundle: SeqBundle,
  strategy: 'greedy' | 'beam' | 'loop',
  batch: number,
): Promise<{ ms: number[]; tokens: number }> {
  const src = sources(batch);
  const run = async (): Promise<number> => {
    if (strategy === 'loop') {
      const result = await bundle.runGreedyGraph(src);
      return result.rows!.reduce((n, r) => n + r.length, 0);
    }
    const options =
      strategy === 'beam'
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
  const bundle = loaded.bundle;
  const rows: Row[] = [];
  for (const batch of [1, 32]) {
    await waitForQuiet(load);
    const results = new Map<string, { ms: number[]; tokens: number }>();
    // Round-robin over the strategies so that machine load falls on all of them alike.
    for (const strategy of ['greedy', 'beam', 'loop'] as const) results.set(strategy, { ms: [], tokens: 0 });
    const group = await withLoad(async () => {
      for (let round = 0; round < (quick ? 1 : 2); round++) {
        for (const strategy of ['greedy', 'beam', 'loop'] as const) {
          const r = await measure(bundle, strategy, batch);
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
  bundle.release();
  const label: Record<string, string> = {
    greedy: 'greedy, host loop over the step graph',
    beam: 'beam 4, host loop over the step graph',
    loop: 'greedy, the ONNX Loop graph (no host code)',
  };
  const table = [
    '| batch | decoding | median ms per batch | tokens generated | tokens / s | ÷ host greedy | load average before → after the group |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const baseline = rows.find((b) => b.batch === r.batch && b.strategy === 'greedy')!;
      return `| ${r.batch} | ${label[r.strategy]} | ${r.medianMs.toFixed(1)} | ${r.tokens} | ${r.tokensPerSecond.toFixed(0)} | ${(r.tokensPerSecond / baseline.tokensPerSecond).toFixed(2)}× | ${formatLoad(r.load)} |`;
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
