// Load test of `seqc serve` on 127.0.0.1: 32 concurrent clients on the Sentiment and Tagger specs, dynamic batching against batching off, then lost and wrong answers under disconnects and malformed requests.
//
// `npx tsx bench/serve.ts [--seconds N] [--rounds N] [--allow-load] [--out bench/SERVE.md]`. Groups run
// interleaved (on, off, on, off …) and each records the load average before and after it. The run
// waits up to a minute for a quiet machine (1-minute load below the core count) and refuses to record
// without one unless `--allow-load` is given, in which case the table says it was measured under load.

import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { compile } from '../src/index.js';
import { loadModel, type LoadedModel } from '../src/runtime/node.js';
import { createServer, type SeqServer } from '../src/serve/server.js';

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const seconds = Number(argValue('--seconds') ?? argValue('--clients') ?? 5);
const rounds = Number(argValue('--rounds') ?? 2);
const outFile = argValue('--out') ?? 'bench/SERVE.md';
const allowLoad = process.argv.includes('--allow-load');
const clients = 32;
const cores = cpus().length;

interface Case {
  readonly name: string;
  readonly model: LoadedModel;
  /** A pool of requests and the outputs each must get, from runs alone. */
  readonly pool: readonly { readonly body: string; readonly want: Float32Array }[];
  /** Milliseconds per row of one run at batch 1 and at batch 32 (24 steps), outside the server: batching's ceiling. */
  readonly perRow: { readonly one: number; readonly batched: number };
}

interface Group {
  readonly model: string;
  /** The batch window in milliseconds; undefined: batching off. */
  readonly window: number | undefined;
  readonly requests: number;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly meanBatch: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

async function main(): Promise<void> {
  const quiet = await waitForQuiet();
  if (!quiet && !allowLoad) {
    console.error(
      `refusing to record: the 1-minute load average stayed at ${loadavg()[0]!.toFixed(2)} (≥ ${cores} cores) for a minute; rerun on a quiet machine or pass --allow-load`,
    );
    process.exitCode = 1;
    return;
  }
  const cases = [await makeCase('sentiment', 'specs/sentiment.seq'), await makeCase('tagger', 'specs/tagger.seq')];
  const groups: Group[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      // Interleaved: the modes alternate, in reverse order every other round.
      const modes = [2, 10, undefined];
      const order = round % 2 === 0 ? modes : [...modes].reverse();
      for (const window of order) {
        const group = await runGroup(c, window);
        groups.push(group);
        console.log(
          `${group.model} batching ${window === undefined ? 'off' : `on, ${window} ms`}: ${group.throughput.toFixed(0)} req/s, p50 ${group.p50.toFixed(1)} ms, p99 ${group.p99.toFixed(1)} ms, mean batch ${group.meanBatch.toFixed(1)}, load ${group.loadBefore.toFixed(2)} → ${group.loadAfter.toFixed(2)}`,
        );
      }
    }
  }
  const chaos = await runChaos(cases[1]!);
  console.log(
    `chaos: ${chaos.answered} answered, ${chaos.lost} lost, ${chaos.wrong} wrong, ${chaos.malformed} malformed refused with 400 (${chaos.malformedWrong} otherwise), ${chaos.disconnects} disconnects`,
  );
  for (const c of cases) await c.model.release();
  writeFileSync(outFile, report(groups, chaos, quiet, cases));
  console.log(`wrote ${outFile}`);
}

async function waitForQuiet(): Promise<boolean> {
  for (let waited = 0; waited <= 60; waited += 5) {
    if (loadavg()[0]! < cores) return true;
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
  return false;
}

async function makeCase(name: string, path: string): Promise<Case> {
  const { readFileSync } = await import('node:fs');
  const compiled = compile(readFileSync(path, 'utf8'), { sourceName: path, seed: 0 });
  const model = (await loadModel(compiled.model!, { name: path, logSeverityLevel: 4 })).model!;
  const vocab = model.signature.inputs[0]!.vocab ?? 100;
  const pool = [];
  for (let i = 0; i < 64; i++) {
    const time = 8 + ((i * 13) % 33);
    const row = Array.from({ length: time }, (_, t) => 1 + ((i * 7919 + t * 104729) % (vocab - 1)));
    const result = await model.run({ tokens: [row] });
    const want = result.outputs!.values().next().value!.data as Float32Array;
    const body = JSON.stringify({ inputs: [{ name: 'tokens', shape: [1, time], datatype: 'INT64', data: row }] });
    pool.push({ body, want });
  }
  const timePerRow = async (batch: number): Promise<number> => {
    const rows = Array.from({ length: batch }, (_, r) =>
      Array.from({ length: 24 }, (_, t) => 1 + ((r * 31 + t * 7) % (vocab - 1))),
    );
    await model.run({ tokens: rows });
    const started = performance.now();
    for (let i = 0; i < 5; i++) await model.run({ tokens: rows });
    return (performance.now() - started) / 5 / batch;
  };
  const perRow = { one: await timePerRow(1), batched: await timePerRow(32) };
  return { name, model, pool, perRow };
}

async function startServer(c: Case, window: number | undefined): Promise<{ server: SeqServer; url: string }> {
  // Each group gets its own server over the same open model, so no group inherits another's queue.
  const model: LoadedModel = { ...c.model, release: async () => {} };
  const server = (
    await createServer(
      [{ kind: 'model', name: c.name, model }],
      window === undefined ? { maxBatch: 1 } : { batchWindowMs: window, maxBatch: 32 },
    )
  ).server!;
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return { server, url };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function runGroup(c: Case, window: number | undefined): Promise<Group> {
  const { server, url } = await startServer(c, window);
  const loadBefore = loadavg()[0]!;
  const { latencies, elapsed } = (await inChild({ phase: 'load', url, name: c.name, pool: c.pool.map(plainItem) })) as {
    latencies: number[];
    elapsed: number;
  };
  const loadAfter = loadavg()[0]!;
  const stats = server.stats(c.name);
  await server.close();
  latencies.sort((a, b) => a - b);
  return {
    model: c.name,
    window,
    requests: latencies.length,
    throughput: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    meanBatch: stats === undefined ? 1 : stats.rows / Math.max(1, stats.batches),
    loadBefore,
    loadAfter,
  };
}

interface PlainItem {
  readonly body: string;
  readonly want: number[];
}

function plainItem(item: Case['pool'][number]): PlainItem {
  return { body: item.body, want: Array.from(item.want) };
}

interface ClientJob {
  readonly phase: 'load' | 'chaos';
  readonly url: string;
  readonly name: string;
  readonly pool: readonly PlainItem[];
}

/** Runs the clients in a child process, so that their work does not share the server's event loop. */
function inChild(job: ClientJob): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = fork(process.argv[1]!, ['--clients', String(seconds)], { stdio: 'inherit' });
    child.once('message', (message) => {
      resolve(message);
      child.kill();
    });
    child.once('error', reject);
    child.send(job);
  });
}

async function loadClients(job: ClientJob): Promise<{ latencies: number[]; elapsed: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const item = job.pool[(client * 17 + i) % job.pool.length]!;
        const t0 = performance.now();
        const response = await fetch(`${job.url}/v2/models/${job.name}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: item.body,
        });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`status ${response.status}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, elapsed: (performance.now() - started) / 1000 };
}

interface Chaos {
  readonly answered: number;
  readonly lost: number;
  readonly wrong: number;
  readonly malformed: number;
  readonly malformedWrong: number;
  readonly disconnects: number;
  readonly maxDiff: number;
}

/** 32 clients with batching on; every 7th request is malformed, and 4 more clients keep cutting their connections midway. */
async function runChaos(c: Case): Promise<Chaos> {
  const { server, url } = await startServer(c, 2);
  const result = (await inChild({ phase: 'chaos', url, name: c.name, pool: c.pool.map(plainItem) })) as Chaos;
  await server.close();
  return result;
}

async function chaosClients(job: ClientJob): Promise<Chaos> {
  const c = { name: job.name, pool: job.pool };
  const url = job.url;
  const port = Number(new URL(url).port);
  const deadline = performance.now() + seconds * 1000;
  let answered = 0;
  let lost = 0;
  let wrong = 0;
  let malformed = 0;
  let malformedWrong = 0;
  let disconnects = 0;
  let maxDiff = 0;
  const malformedBodies = [
    '{"inputs": [',
    '{"inputs": [{"name": "tokens", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}',
    '{"inputs": [{"name": "tokens", "shape": [1, 3], "datatype": "INT64", "data": [1, 2]}]}',
    '{"inputs": [{"name": "tokens", "shape": [1, 2], "datatype": "INT64", "data": [1, 99999999]}]}',
    'null',
  ];
  const cutter = async (k: number): Promise<void> => {
    for (let i = 0; performance.now() < deadline; i++) {
      const item = c.pool[(k + i) % c.pool.length]!;
      const full = `POST /v2/models/${c.name}/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${item.body.length}\r\n\r\n${item.body}`;
      const cut = i % 2 === 0 ? full.slice(0, full.length - 10) : full;
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(cut);
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 1);
        });
        socket.on('error', () => resolve());
      });
      disconnects++;
    }
  };
  const client = async (k: number): Promise<void> => {
    for (let i = 0; performance.now() < deadline; i++) {
      const bad = (k + i) % 7 === 0;
      const item = c.pool[(k * 17 + i) % c.pool.length]!;
      try {
        const response = await fetch(`${url}/v2/models/${c.name}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: bad ? malformedBodies[(k + i) % malformedBodies.length]! : item.body,
        });
        const body = (await response.json()) as { outputs?: { data: number[] }[] };
        if (bad) {
          malformed++;
          if (response.status !== 400) malformedWrong++;
          continue;
        }
        if (response.status !== 200 || body.outputs === undefined) {
          lost++;
          continue;
        }
        answered++;
        const got = body.outputs[0]!.data;
        let diff = got.length === item.want.length ? 0 : Infinity;
        for (let j = 0; j < got.length && diff !== Infinity; j++)
          diff = Math.max(diff, Math.abs(got[j]! - item.want[j]!));
        maxDiff = Math.max(maxDiff, diff);
        if (diff > 1e-5) wrong++;
      } catch {
        lost++;
      }
    }
  };
  await Promise.all([
    ...Array.from({ length: clients }, (_, k) => client(k)),
    ...Array.from({ length: 4 }, (_, k) => cutter(k)),
  ]);
  return { answered, lost, wrong, malformed, malformedWrong, disconnects, maxDiff };
}

function report(groups: readonly Group[], chaos: Chaos, quiet: boolean, cases: readonly Case[]): string {
  const summary = ['sentiment', 'tagger'].map((model) => {
    const mean = (window: number | undefined, key: 'throughput' | 'p50'): number => {
      const rows = groups.filter((g) => g.model === model && g.window === window);
      return rows.reduce((n, g) => n + g[key], 0) / rows.length;
    };
    const ratio = (window: number, key: 'throughput' | 'p50'): string =>
      `${(mean(window, key) / mean(undefined, key)).toFixed(2)}×`;
    return `| ${model} | ${ratio(2, 'throughput')} | ${ratio(2, 'p50')} | ${ratio(10, 'throughput')} | ${ratio(10, 'p50')} |`;
  });
  return [
    '# seqc serve under load',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npx tsx bench/serve.ts` +
      `${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}\`, on ${cpus()[0]?.model ?? 'an unknown CPU'} ` +
      `(${cores} logical cores), Node ${process.version}, onnxruntime-node CPU.` +
      (quiet
        ? ''
        : ` **Not a quiet machine:** the 1-minute load average stayed at or above the core count, so the numbers below were measured under load from other processes (\`--allow-load\`); compare the on/off rows with each other, not with other files.`),
    '',
    `${clients} clients on 127.0.0.1, each sending one request after another for ${seconds} s per group: one row of 8 to 40 token ids,`,
    'from a pool of 64 requests. Batching on: `--batch-window-ms 2` or `10`, `--max-batch 32`; off: `--max-batch 1` (each request runs',
    "by itself; onnxruntime-node's `run` holds the event loop, so runs never overlap). The clients run in a child process.",
    'The specs are the committed `specs/sentiment.seq` (BiLSTM 256×2) and `specs/tagger.seq`',
    `(BiGRU 128) with seed 0. Groups are interleaved (2 ms, 10 ms, off, then off, 10 ms, 2 ms …) over ${rounds} rounds, and each records the`,
    '1-minute load average before and after it.',
    '',
    '| model | batching | requests | req/s | p50 ms | p99 ms | mean batch rows | load before → after |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...groups.map(
      (g) =>
        `| ${g.model} | ${g.window === undefined ? 'off' : `on, ${g.window} ms`} | ${g.requests} | ${g.throughput.toFixed(0)} | ${g.p50.toFixed(1)} | ${g.p99.toFixed(1)} | ${g.meanBatch.toFixed(1)} | ${g.loadBefore.toFixed(2)} → ${g.loadAfter.toFixed(2)} |`,
    ),
    '',
    'What batching can gain at most: one run outside the server, in milliseconds per row, at batch 1 and at batch 32',
    '(24 steps each), measured before the groups:',
    '',
    '| model | batch 1 ms/row | batch 32 ms/row | ceiling |',
    '| --- | ---: | ---: | ---: |',
    ...cases.map(
      (c) =>
        `| ${c.name} | ${c.perRow.one.toFixed(2)} | ${c.perRow.batched.toFixed(2)} | ${(c.perRow.one / c.perRow.batched).toFixed(2)}× |`,
    ),
    '',
    'Batching on against off (means over the rounds); the goal is ≥ 3× the throughput at ≤ 2× the p50 latency:',
    '',
    '| model | throughput, 2 ms | p50, 2 ms | throughput, 10 ms | p50, 10 ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...summary,
    '',
    `Under disruption (tagger, batching on with a 2 ms window, ${seconds} s): ${clients} clients of which every 7th request is malformed (cut JSON,`,
    'a wrong datatype, a shape that disagrees with the data, an id outside the vocabulary, `null`), and 4 more clients that',
    'open connections and drop them midway through the body or before the answer, over and over.',
    '',
    '| answered | lost | wrong (> 1e-5 from a run alone) | max abs diff | malformed → 400 | malformed answered otherwise | disconnects |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${chaos.answered} | ${chaos.lost} | ${chaos.wrong} | ${chaos.maxDiff.toExponential(1)} | ${chaos.malformed - chaos.malformedWrong} | ${chaos.malformedWrong} | ${chaos.disconnects} |`,
    '',
  ].join('\n');
}

if (process.argv.includes('--clients')) {
  process.once('message', (job: ClientJob) => {
    void (job.phase === 'load' ? loadClients(job) : chaosClients(job)).then((result) => process.send!(result));
  });
} else await main();
