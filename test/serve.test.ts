// `seqc serve` over real HTTP on an ephemeral port: KServe v2 endpoints, dynamic batching that gives each client exactly its own rows, sequences of stateful models, server-sent generation, and the 4xx/404/503 paths.

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { loadBundle, loadModel, type LoadedModel } from '../src/runtime/node.js';
import { createServer, type SeqServer, type ServedModel, type ServeOptions } from '../src/serve/server.js';

const taggerSpec = `model Tagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=50, dim=8, padding_idx=0) -> gru: BiGRU(hidden=6) -> tags: Linear(5) -> output scores
}
`;
const sentimentSpec = `model Sentiment {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=50, dim=8, padding_idx=0) -> lstm: BiLSTM(hidden=6, layers=2) -> last -> fc: Linear(2) -> softmax -> output probs
}
`;
const streamerSpec = `model Streamer {
  input x: float32[batch, time, 3]
  x -> lstm: LSTM(hidden=5, layers=2, stateful=true) -> fc: Linear(2) -> output y
}
`;
const lmSpec = `model Lm {
  decoder(bos=1, eos=2, max_length=8) {
    -> embedding: Embedding(vocab=12, dim=4)
    -> lstm: LSTM(hidden=8)
    -> generator: Linear(12)
  }
}
`;

async function openModel(spec: string, seed = 7): Promise<LoadedModel> {
  const compiled = compile(spec, { seed });
  const loaded = await loadModel(compiled.model!, { logSeverityLevel: 4 });
  return loaded.model!;
}

async function served(): Promise<ServedModel[]> {
  const lm = compile(lmSpec, { seed: 3 }).bundle!;
  const files = Object.fromEntries([
    ...lm.files.map((f) => [f.file, f.sharedBytes]),
    [lm.weights.file, lm.weights.bytes],
  ]);
  const bundle = (await loadBundle({ manifest: lm.manifest, files })).bundle!;
  return [
    { kind: 'model', name: 'tagger', model: await openModel(taggerSpec) },
    { kind: 'model', name: 'sentiment', model: await openModel(sentimentSpec) },
    { kind: 'model', name: 'streamer', model: await openModel(streamerSpec) },
    { kind: 'bundle', name: 'lm', bundle },
  ];
}

async function start(options: ServeOptions): Promise<{ server: SeqServer; url: string }> {
  const server = (await createServer(await served(), options)).server!;
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return { server, url };
}

async function post(url: string, body: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: JSON.parse(text), headers: response.headers };
}

function tokens(rows: number[][], lengths?: number[]): unknown {
  const inputs: unknown[] = [
    { name: 'tokens', shape: [rows.length, rows[0]!.length], datatype: 'INT64', data: rows.flat() },
  ];
  if (lengths !== undefined)
    inputs.push({ name: 'lengths', shape: [lengths.length], datatype: 'INT64', data: lengths });
  return { inputs };
}

function maxDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

let batching: { server: SeqServer; url: string };
let plain: { server: SeqServer; url: string };
let direct: { tagger: LoadedModel; sentiment: LoadedModel; streamer: LoadedModel };

beforeAll(async () => {
  batching = await start({ batchWindowMs: 20, maxBatch: 64, sequenceIdleMs: 300 });
  plain = await start({ maxBatch: 1, maxQueue: 0, maxBodyBytes: 4096 });
  direct = {
    tagger: await openModel(taggerSpec),
    sentiment: await openModel(sentimentSpec),
    streamer: await openModel(streamerSpec),
  };
});

afterAll(async () => {
  await batching?.server.close();
  await plain?.server.close();
  for (const m of Object.values(direct ?? {})) await m.release();
});

/** The model's own outputs for one request, run alone without the server. */
async function single(model: LoadedModel, rows: number[][], lengths?: number[]): Promise<Map<string, number[]>> {
  const inputs: Record<string, unknown> = { tokens: rows };
  if (lengths !== undefined) inputs['lengths'] = lengths;
  const result = await model.run(inputs as never);
  return new Map([...result.outputs!].map(([name, t]) => [name, Array.from(t.data as Float32Array)]));
}

describe('KServe v2 endpoints', () => {
  it('answers health, server and model metadata, and model readiness', async () => {
    expect(await (await fetch(`${batching.url}/v2/health/live`)).json()).toEqual({ live: true });
    expect(await (await fetch(`${batching.url}/v2/health/ready`)).json()).toEqual({ ready: true });
    const metadata = await (await fetch(`${batching.url}/v2/models/tagger`)).json();
    expect(metadata).toEqual({
      name: 'tagger',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'tokens', datatype: 'INT64', shape: [-1, -1] },
        { name: 'lengths', datatype: 'INT64', shape: [-1] },
      ],
      outputs: [{ name: 'scores', datatype: 'FP32', shape: [-1, -1, 5] }],
    });
    const ready = await fetch(`${batching.url}/v2/models/sentiment/ready`);
    expect([ready.status, await ready.json()]).toEqual([200, { name: 'sentiment', ready: true }]);
  });

  it('answers an unknown model or version with 404 and SEQ501 naming the models served', async () => {
    const missing = await fetch(`${batching.url}/v2/models/taggr`);
    const body = await missing.json();
    expect(missing.status).toBe(404);
    expect(body.diagnostics[0]).toMatchObject({ code: 'SEQ501', facts: { names: ['taggr'] } });
    expect(body.diagnostics[0].facts.expected).toContain('tagger');
    const version = await post(`${batching.url}/v2/models/tagger/versions/2/infer`, tokens([[1, 2]]));
    expect([version.status, version.json.diagnostics[0].code]).toEqual([404, 'SEQ501']);
  });

  it('infers: outputs flat with shape and datatype, id and parameters echoed, outputs filtered', async () => {
    const body = {
      id: 'r1',
      parameters: { note: 'x' },
      ...(tokens([[3, 4, 5]]) as object),
      outputs: [{ name: 'scores' }],
    };
    const answer = await post(`${batching.url}/v2/models/tagger/infer`, body);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ model_name: 'tagger', id: 'r1', parameters: { note: 'x' } });
    const out = answer.json.outputs[0];
    expect([out.name, out.datatype, out.shape]).toEqual(['scores', 'FP32', [1, 3, 5]]);
    const alone = await single(direct.tagger, [[3, 4, 5]]);
    expect(maxDiff(out.data, alone.get('scores')!)).toBeLessThanOrEqual(1e-6);
  });

  it('takes nested data as well as flat data', async () => {
    const nested = {
      inputs: [
        {
          name: 'tokens',
          shape: [2, 2],
          datatype: 'INT64',
          data: [
            [1, 2],
            [3, 4],
          ],
        },
      ],
    };
    const flat = { inputs: [{ name: 'tokens', shape: [2, 2], datatype: 'INT64', data: [1, 2, 3, 4] }] };
    const a = await post(`${batching.url}/v2/models/sentiment/infer`, nested);
    const b = await post(`${batching.url}/v2/models/sentiment/infer`, flat);
    expect(a.status).toBe(200);
    expect(a.json.outputs).toEqual(b.json.outputs);
  });
});

describe('dynamic batching', () => {
  it('gives each of 24 concurrent requests of different lengths exactly its own rows, equal to a run alone at 1e-6', async () => {
    const requests = Array.from({ length: 24 }, (_, i) => {
      const rows = 1 + (i % 3);
      const time = 1 + ((i * 5) % 9);
      const data = Array.from({ length: rows }, (_, r) =>
        Array.from({ length: time }, (_, t) => 1 + ((i * 7 + r * 3 + t) % 49)),
      );
      // Some requests give their own shorter lengths; the others leave them to the server.
      const lengths = i % 4 === 0 ? data.map((_, r) => Math.max(1, time - r)) : undefined;
      return { model: i % 2 === 0 ? 'tagger' : 'sentiment', data, lengths };
    });
    const before = { t: batching.server.stats('tagger')!, s: batching.server.stats('sentiment')! };
    const answers = await Promise.all(
      requests.map((r) => post(`${batching.url}/v2/models/${r.model}/infer`, tokens(r.data, r.lengths))),
    );
    let worst = 0;
    for (const [i, r] of requests.entries()) {
      expect(answers[i]!.status).toBe(200);
      const model = r.model === 'tagger' ? direct.tagger : direct.sentiment;
      const alone = await single(model, r.data, r.lengths);
      const [name, want] = [...alone][0]!;
      const got = answers[i]!.json.outputs[0];
      expect(got.name).toBe(name);
      expect(got.shape[0]).toBe(r.data.length);
      if (r.model === 'tagger') expect(got.shape[1]).toBe(r.data[0]!.length);
      // Padded steps past a row's own length are the model's own output for padding: compare the steps the run alone gives.
      worst = Math.max(worst, maxDiff(got.data, want));
    }
    expect(worst).toBeLessThanOrEqual(1e-6);
    const after = { t: batching.server.stats('tagger')!, s: batching.server.stats('sentiment')! };
    const requestsRun = after.t.requests - before.t.requests + after.s.requests - before.s.requests;
    const batchesRun = after.t.batches - before.t.batches + after.s.batches - before.s.batches;
    expect(requestsRun).toBe(24);
    expect(batchesRun).toBeLessThan(24);
  });

  it('answers a bad request in a burst with 4xx and every other request correctly', async () => {
    const good = Array.from({ length: 6 }, (_, i) =>
      post(`${batching.url}/v2/models/tagger/infer`, tokens([[1 + i, 2]])),
    );
    const bad = post(`${batching.url}/v2/models/tagger/infer`, tokens([[1, 99]]));
    const [badAnswer, ...goodAnswers] = await Promise.all([bad, ...good]);
    expect(badAnswer!.status).toBe(400);
    expect(badAnswer!.json.diagnostics[0]).toMatchObject({ code: 'SEQ301', facts: { input: 'tokens', found: 99 } });
    for (const [i, a] of goodAnswers.entries()) {
      const alone = await single(direct.tagger, [[1 + i, 2]]);
      expect(maxDiff(a.json.outputs[0].data, alone.get('scores')!)).toBeLessThanOrEqual(1e-6);
    }
  });
});

describe('bad requests', () => {
  it('answers malformed JSON, a request that is not one, a wrong datatype and a shape that disagrees with 400', async () => {
    const url = `${batching.url}/v2/models/tagger/infer`;
    const cases: [unknown, string][] = [
      ['{"inputs": [', 'SEQ500'],
      ['[1, 2]', 'SEQ500'],
      [{ inputs: 'tokens' }, 'SEQ500'],
      [{ inputs: [{ name: 'tokens', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] }, 'SEQ502'],
      [{ inputs: [{ name: 'tokens', shape: [1, 3], datatype: 'INT64', data: [1, 2] }] }, 'SEQ502'],
      [{ inputs: [{ name: 'tokens', shape: [1, 2], datatype: 'INT64', data: [1, 'a'] }] }, 'SEQ502'],
      [{ inputs: [{ name: 'token', shape: [1, 2], datatype: 'INT64', data: [1, 2] }] }, 'SEQ300'],
      [{ inputs: [{ name: 'tokens', shape: [1, 2], datatype: 'INT64', data: [1, 2.5] }] }, 'SEQ301'],
      [{ ...(tokens([[1, 2]]) as object), outputs: [{ name: 'nope' }] }, 'SEQ500'],
    ];
    for (const [body, code] of cases) {
      const answer = await post(url, body);
      expect([answer.status, answer.json.diagnostics[0].code], JSON.stringify(body)).toEqual([400, code]);
      expect(typeof answer.json.error).toBe('string');
    }
  });

  it('refuses a body past --max-body-bytes with 413 and SEQ504, and a full queue with 503 and Retry-After', async () => {
    const big = tokens([Array.from({ length: 3000 }, () => 1)]);
    const tooBig = await post(`${plain.url}/v2/models/tagger/infer`, big);
    expect([tooBig.status, tooBig.json.diagnostics[0].code]).toEqual([413, 'SEQ504']);
    const full = await post(`${plain.url}/v2/models/tagger/infer`, tokens([[1, 2]]));
    expect([full.status, full.json.diagnostics[0].code, full.headers.get('retry-after')]).toEqual([503, 'SEQ503', '1']);
  });

  it('keeps serving after clients disconnect midway through a body and before their answer', async () => {
    const { port } = new URL(batching.url);
    const cut = (text: string): Promise<void> =>
      new Promise((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(text);
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 20);
        });
        socket.on('error', () => resolve());
      });
    const body = JSON.stringify(tokens([[1, 2, 3]]));
    await Promise.all([
      cut(
        `POST /v2/models/tagger/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"inputs": [`,
      ),
      cut(
        `POST /v2/models/tagger/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
      cut('GARBAGE\r\n\r\n'),
    ]);
    const after = await post(`${batching.url}/v2/models/tagger/infer`, tokens([[1, 2, 3]]));
    expect(after.status).toBe(200);
  });
});

describe('stateful sequences', () => {
  const url = (): string => `${batching.url}/v2/models/streamer/infer`;
  const chunk = (values: number[][], parameters: Record<string, unknown>): unknown => ({
    inputs: [{ name: 'x', shape: [1, values.length, 3], datatype: 'FP32', data: values.flat() }],
    parameters,
  });
  const steps = Array.from({ length: 7 }, (_, t) => [Math.sin(t), Math.cos(t) / 2, t / 7 - 0.5]);

  it('carries hn/cn from request to request of a sequence: chunks give the outputs of one whole run', async () => {
    const whole = await direct.streamer.run({ x: [steps] });
    const want = Array.from(whole.outputs!.get('y')!.data as Float32Array);
    const first = await post(url(), chunk(steps.slice(0, 3), { sequence_id: 42, sequence_start: true }));
    // Another sequence in between must not disturb sequence 42.
    await post(url(), chunk(steps.slice(0, 2), { sequence_id: 'other', sequence_start: true }));
    const second = await post(url(), chunk(steps.slice(3, 5), { sequence_id: 42 }));
    const last = await post(url(), chunk(steps.slice(5), { sequence_id: 42, sequence_end: true }));
    for (const a of [first, second, last]) expect(a.status).toBe(200);
    const y = (a: { json: any }): number[] => a.json.outputs.find((o: { name: string }) => o.name === 'y').data;
    expect(maxDiff([...y(first), ...y(second), ...y(last)], want)).toBeLessThanOrEqual(1e-6);
    expect(last.json.parameters).toEqual({ sequence_id: 42, sequence_end: true });
    // Ended: the next request without a start is refused.
    const again = await post(url(), chunk(steps.slice(0, 1), { sequence_id: 42 }));
    expect([again.status, again.json.diagnostics[0].code]).toEqual([400, 'SEQ505']);
  });

  it('refuses a sequence never started, state given by the client, and drops a sequence left idle', async () => {
    const never = await post(url(), chunk(steps.slice(0, 1), { sequence_id: 7 }));
    expect([never.status, never.json.diagnostics[0].code]).toEqual([400, 'SEQ505']);
    const withState = {
      inputs: [
        ...(chunk(steps.slice(0, 1), {}) as { inputs: unknown[] }).inputs,
        { name: 'lstm.h0', shape: [2, 1, 5], datatype: 'FP32', data: Array(10).fill(0) },
      ],
      parameters: { sequence_id: 8, sequence_start: true },
    };
    const given = await post(url(), withState);
    expect([given.status, given.json.diagnostics[0].code]).toEqual([400, 'SEQ505']);
    expect((await post(url(), chunk(steps.slice(0, 1), { sequence_id: 9, sequence_start: true }))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 450));
    const idle = await post(url(), chunk(steps.slice(1, 2), { sequence_id: 9 }));
    expect([idle.status, idle.json.diagnostics[0].code]).toEqual([400, 'SEQ505']);
  });
});

describe('generation', () => {
  it('streams tokens as server-sent events that spell the non-streaming answer', async () => {
    const body = {
      prompt: [
        [3, 4],
        [5, 6],
      ],
      parameters: { max_length: 6 },
    };
    const plainAnswer = await post(`${batching.url}/v2/models/lm/generate`, body);
    expect(plainAnswer.status).toBe(200);
    const response = await fetch(`${batching.url}/v2/models/lm/generate_stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = (await response.text())
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => JSON.parse(e.slice(6)));
    const streamed: number[][] = [[], []];
    for (const e of events.filter((e) => e.token !== undefined)) {
      expect(e.index).toBe(streamed[e.row]!.length);
      streamed[e.row]!.push(e.token);
    }
    expect(streamed).toEqual(plainAnswer.json.output_ids);
    expect(events.at(-1)).toMatchObject({ done: true, output_ids: plainAnswer.json.output_ids });
    expect(streamed.flat().length).toBeGreaterThan(2);
  });

  it('refuses generation from a model without a decoder, inference on a bundle and unknown parameters with SEQ506, and a full queue with 503', async () => {
    const fromModel = await post(`${batching.url}/v2/models/tagger/generate`, { prompt: [[1]] });
    expect([fromModel.status, fromModel.json.diagnostics[0].code]).toEqual([400, 'SEQ506']);
    const onBundle = await post(`${batching.url}/v2/models/lm/infer`, tokens([[1]]));
    expect([onBundle.status, onBundle.json.diagnostics[0].code]).toEqual([400, 'SEQ506']);
    const unknown = await post(`${batching.url}/v2/models/lm/generate`, { parameters: { beams: 3 } });
    expect([unknown.status, unknown.json.diagnostics[0].code]).toEqual([400, 'SEQ506']);
    const full = await post(`${plain.url}/v2/models/lm/generate`, { prompt: [[3]] });
    expect([full.status, full.json.diagnostics[0].code, full.headers.get('retry-after')]).toEqual([503, 'SEQ503', '1']);
  });
});
