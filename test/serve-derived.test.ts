// `seqc serve`'s dynamic batching for a model whose Conv1d changes the number of steps (an output time axis `<time>_<label>` that no input has): a request batched with others answers exactly what it answers alone.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { loadModel, type LoadedModel } from '../src/runtime/node.js';
import { batchLayout } from '../src/serve/batch.js';
import { createServer, type SeqServer } from '../src/serve/server.js';

/** kernel=3 without padding: the output has time − 2 steps, on the axis `time_conv`. */
const shrinkingSpec = `model Shrinking {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=50, dim=6) -> conv: Conv1d(out=5, kernel=3) -> rnn: BiGRU(hidden=4)
    -> scores: Linear(3) -> output scores
  rnn -> avg: mean -> output pooled
}
`;
const keepingSpec = `model Keeping {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=50, dim=6) -> conv: Conv1d(out=5, kernel=3, padding=1) -> scores: Linear(3)
    -> output scores
}
`;

async function open(spec: string): Promise<LoadedModel> {
  const compiled = compile(spec, { seed: 5 });
  return (await loadModel(compiled.model!, { logSeverityLevel: 4 })).model!;
}

interface Request {
  readonly rows: number[][];
  readonly lengths: number[];
}

function request(time: number, lengths: number[], seed: number): Request {
  const rows = lengths.map((_, r) => Array.from({ length: time }, (_, t) => 1 + ((seed * 7 + r * 3 + t * 5) % 49)));
  return { rows, lengths };
}

function body(r: Request): unknown {
  return {
    inputs: [
      { name: 'tokens', shape: [r.rows.length, r.rows[0]!.length], datatype: 'INT64', data: r.rows.flat() },
      { name: 'lengths', shape: [r.lengths.length], datatype: 'INT64', data: r.lengths },
    ],
  };
}

async function post(url: string, payload: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return { status: response.status, json: JSON.parse(await response.text()) };
}

/** The model's own outputs for one request run alone, without the server: name → [shape, values]. */
async function alone(model: LoadedModel, r: Request): Promise<Map<string, [number[], number[]]>> {
  const result = await model.run({ tokens: r.rows, lengths: r.lengths } as never);
  return new Map(
    [...result.outputs!].map(([name, t]) => [name, [[...t.dims], Array.from(t.data as Float32Array)]] as const),
  );
}

let server: SeqServer;
let url: string;
let direct: LoadedModel;

beforeAll(async () => {
  direct = await open(shrinkingSpec);
  server = (await createServer([{ kind: 'model', name: 'shrinking', model: await open(shrinkingSpec) }], {
    batchWindowMs: 50,
    maxBatch: 64,
  }))!.server!;
  url = `${await server.app.listen({ host: '127.0.0.1', port: 0 })}/v2/models/shrinking/infer`;
});

afterAll(async () => {
  await server?.close();
  await direct?.release();
});

describe('batching a model whose Conv1d changes the number of steps', () => {
  it('pads no time axis of such a model, and still pads one a length-keeping Conv1d keeps', async () => {
    const shrinking = await open(shrinkingSpec);
    const keeping = await open(keepingSpec);
    expect(shrinking.signature.outputs.find((o) => o.name === 'scores')!.dims).toEqual(['batch', 'time_conv', 3]);
    expect(batchLayout(shrinking.signature)).toEqual({ batch: 'batch', padded: [] });
    expect(batchLayout(keeping.signature)).toEqual({ batch: 'batch', padded: ['time'] });
    await shrinking.release();
    await keeping.release();
  });

  it('answers a request sent with a longer one exactly as alone, and batches requests of equal sizes', async () => {
    const requests = [
      request(4, [4, 1], 1), // 2 steps after the Conv1d, the second row none
      request(9, [9, 6, 3], 2), // 7 steps
      request(4, [2, 4], 3), // the same time as the first: these two may run as one batch
      request(6, [5], 4),
    ];
    const before = server.stats('shrinking')!;
    const answers = await Promise.all(requests.map((r) => post(url, body(r))));
    const after = server.stats('shrinking')!;
    for (const [i, r] of requests.entries()) {
      expect(answers[i]!.status, JSON.stringify(answers[i]!.json)).toBe(200);
      const own = await alone(direct, r);
      for (const output of answers[i]!.json.outputs as { name: string; shape: number[]; data: number[] }[]) {
        const [shape, data] = own.get(output.name)!;
        expect(output.shape, `request ${i} ${output.name}`).toEqual(shape);
        expect(output.data, `request ${i} ${output.name}`).toEqual(data);
      }
    }
    expect(answers[0]!.json.outputs.find((o: { name: string }) => o.name === 'scores').shape).toEqual([2, 2, 3]);
    expect(after.requests - before.requests).toBe(4);
    // Time 4 twice, 9 and 6: three batches at the most, the two requests of time 4 together.
    expect(after.batches - before.batches).toBe(3);
  });
});
