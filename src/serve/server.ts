// The `seqc serve` HTTP server on fastify: KServe v2 REST (health, metadata, infer) with dynamic batching and sequence state, and generation (JSON and server-sent events) for bundles.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { DiagnosticCode } from '../diagnostics/catalogue.js';
import { validateInputs, type TensorData } from '../runtime/inputs.js';
import type { LoadedModel } from '../runtime/session.js';
import type { GenerateOptions, SeqBundle } from '../runtime/generate.js';
import { batchLayout, createBatcher, type Batcher } from './batch.js';
import { loadFastify } from './fastify.js';
import { generationOptions, generationRows } from './generation.js';
import {
  inferResponse,
  isRecord,
  modelMetadata,
  problemBody,
  readInferRequest,
  requestError,
  type InferRequest,
} from './protocol.js';
import { createSequenceStore, statePairs, type SequenceStore, type StatePair } from './sequences.js';

/** What `seqc serve` serves: compiled models and decoder bundles, each under a name. */
export type ServedModel =
  | { readonly kind: 'model'; readonly name: string; readonly model: LoadedModel }
  | { readonly kind: 'bundle'; readonly name: string; readonly bundle: SeqBundle };

export interface ServeOptions {
  /** How long a request waits for others to batch with, in milliseconds; default 2. */
  readonly batchWindowMs?: number;
  /** The most rows in one batch; 1 turns batching off. Default 32. */
  readonly maxBatch?: number;
  /** The most requests waiting per model; beyond it the answer is 503 with Retry-After. Default 1024. */
  readonly maxQueue?: number;
  /** The largest request body in bytes; default 8 MiB. */
  readonly maxBodyBytes?: number;
  /** A sequence without a request for this long is dropped, in milliseconds; default 60 000. */
  readonly sequenceIdleMs?: number;
  /** The most live sequences per stateful model; default 1024. */
  readonly maxSequences?: number;
}

export interface SeqServer {
  readonly app: FastifyInstance;
  /** Batches run per model so far, for tests and the benchmark. */
  stats(name: string): { batches: number; rows: number; requests: number } | undefined;
  close(): Promise<void>;
}

export const serveDefaults = {
  batchWindowMs: 2,
  maxBatch: 32,
  maxQueue: 1024,
  maxBodyBytes: 8 * 1024 * 1024,
  sequenceIdleMs: 60_000,
  maxSequences: 1024,
} as const;

/**
 * Builds the server over models already loaded; `app.listen` or `app.inject` then answers
 * requests. Without fastify installed the answer is SEQ510.
 */
export async function createServer(
  models: readonly ServedModel[],
  options: ServeOptions = {},
): Promise<{ server?: SeqServer; diagnostics: Diagnostic[] }> {
  const { fastify, diagnostics } = await loadFastify();
  if (fastify === undefined) return { diagnostics };
  return {
    server: serverOn(
      fastify({ bodyLimit: { ...serveDefaults, ...options }.maxBodyBytes, logger: false }),
      models,
      options,
    ),
    diagnostics: [],
  };
}

// Internals.

function serverOn(app: FastifyInstance, models: readonly ServedModel[], options: ServeOptions): SeqServer {
  const settings = { ...serveDefaults, ...options };
  const routes = new Map<string, ModelRoute>();
  for (const served of models) routes.set(served.name, routeFor(served, settings));

  // Any content type is read as JSON (clients such as curl send form types by default).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (e) {
      done(
        Object.assign(new Error(`the body is not JSON: ${(e as Error).message.slice(0, 200)}`), { statusCode: 400 }),
        undefined,
      );
    }
  });
  app.setErrorHandler((e: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    const code: DiagnosticCode = status === 413 ? 'SEQ504' : 'SEQ500';
    const message =
      status === 413
        ? `the request body is larger than ${settings.maxBodyBytes} bytes`
        : status === 500
          ? `seqc serve failed on this request: ${e.message.slice(0, 300)}`
          : e.message.slice(0, 300);
    const hint =
      status === 413 ? 'send fewer rows per request, or start the server with a larger --max-body-bytes' : undefined;
    void reply
      .code(status)
      .send(
        problemBody([requestError(code, message, hint, status === 413 ? { limit: settings.maxBodyBytes } : undefined)]),
      );
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(
        problemBody([
          requestError(
            'SEQ500',
            `there is no route ${request.method} ${request.url.slice(0, 200)}`,
            'see the KServe v2 REST paths under /v2/',
          ),
        ]),
      );
  });

  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async () => ({ ready: true }));
  app.get('/v2', async () => ({ name: 'seqc', version: '1', extensions: ['sequence', 'generate'] }));
  app.get('/v2/models/:name', async (request, reply) =>
    withRoute(request, reply, routes, (route) => reply.send(route.metadata)),
  );
  app.get('/v2/models/:name/versions/:version', async (request, reply) =>
    withRoute(request, reply, routes, (route) => reply.send(route.metadata)),
  );
  app.get('/v2/models/:name/ready', async (request, reply) =>
    withRoute(request, reply, routes, () => reply.send({ name: nameOf(request), ready: true })),
  );
  app.post('/v2/models/:name/infer', async (request, reply) =>
    withRoute(request, reply, routes, (route) => infer(route, request.body, reply)),
  );
  app.post('/v2/models/:name/versions/:version/infer', async (request, reply) =>
    withRoute(request, reply, routes, (route) => infer(route, request.body, reply)),
  );
  app.post('/v2/models/:name/generate', async (request, reply) =>
    withRoute(request, reply, routes, (route) => generate(route, request.body, reply)),
  );
  app.post('/v2/models/:name/generate_stream', async (request, reply) =>
    withRoute(request, reply, routes, (route) => generateStream(route, request, reply)),
  );

  return {
    app,
    stats: (name) => {
      const route = routes.get(name);
      return route?.kind === 'model' && route.batcher !== undefined ? route.batcher.stats() : undefined;
    },
    close: async () => {
      await app.close();
      for (const route of routes.values()) {
        if (route.kind === 'model') {
          route.sequences?.close();
          await route.served.model.release();
        } else await route.served.bundle.release();
      }
    },
  };
}

type ModelRoute =
  | {
      readonly kind: 'model';
      readonly served: Extract<ServedModel, { kind: 'model' }>;
      readonly metadata: unknown;
      readonly batcher?: Batcher;
      readonly states: readonly StatePair[];
      readonly sequences?: SequenceStore;
      readonly maxQueue: number;
      inFlight: number;
    }
  | {
      readonly kind: 'bundle';
      readonly served: Extract<ServedModel, { kind: 'bundle' }>;
      readonly metadata: unknown;
      readonly maxQueue: number;
      inFlight: number;
    };

function routeFor(served: ServedModel, settings: Required<ServeOptions>): ModelRoute {
  if (served.kind === 'bundle') {
    const m = served.bundle.manifest;
    const metadata = {
      name: served.name,
      versions: ['1'],
      platform: 'seqc_bundle',
      inputs: [
        ...(m.kind === 'seq2seq' ? [{ name: m.source?.input ?? 'src', datatype: 'INT64', shape: [-1, -1] }] : []),
        { name: 'prompt', datatype: 'INT64', shape: [-1, -1] },
      ],
      outputs: [{ name: 'output_ids', datatype: 'INT64', shape: [-1, -1] }],
      parameters: { kind: m.kind, bos: m.bos, eos: m.eos, max_length: m.maxLength, vocab: m.vocab },
    };
    return { kind: 'bundle', served, metadata, maxQueue: settings.maxQueue, inFlight: 0 };
  }
  const signature = served.model.signature;
  const layout = batchLayout(signature);
  const states = statePairs(signature);
  const run = async (
    feeds: ReadonlyMap<string, TensorData>,
  ): Promise<{ outputs?: ReadonlyMap<string, TensorData>; diagnostics: readonly Diagnostic[] }> => {
    const result = await served.model.run(feeds);
    return result.outputs === undefined
      ? { diagnostics: result.diagnostics }
      : { outputs: result.outputs, diagnostics: [] };
  };
  const batcher =
    layout === undefined || settings.maxBatch <= 1
      ? undefined
      : createBatcher(
          signature,
          layout,
          { windowMs: settings.batchWindowMs, maxBatch: settings.maxBatch, maxQueue: settings.maxQueue },
          run,
        );
  return {
    kind: 'model',
    served,
    metadata: modelMetadata(served.name, signature, 'onnxruntime_onnx'),
    ...(batcher === undefined ? {} : { batcher }),
    states,
    ...(states.length === 0
      ? {}
      : { sequences: createSequenceStore({ idleMs: settings.sequenceIdleMs, maxSequences: settings.maxSequences }) }),
    maxQueue: settings.maxQueue,
    inFlight: 0,
  };
}

function nameOf(request: FastifyRequest): string {
  const params = request.params as { name?: unknown };
  return typeof params.name === 'string' ? params.name : '';
}

async function withRoute(
  request: FastifyRequest,
  reply: FastifyReply,
  routes: ReadonlyMap<string, ModelRoute>,
  answer: (route: ModelRoute) => unknown,
): Promise<unknown> {
  const name = nameOf(request);
  const route = routes.get(name);
  const version = (request.params as { version?: unknown }).version;
  if (route === undefined || (version !== undefined && version !== '1')) {
    const known = [...routes.keys()];
    return reply
      .code(404)
      .send(
        problemBody([
          requestError(
            'SEQ501',
            route === undefined
              ? `there is no model \`${name.slice(0, 100)}\``
              : `model \`${name}\` has no version ${String(version).slice(0, 20)}; it has version 1`,
            `models served: ${known.map((n) => `\`${n}\``).join(', ')}`,
            { names: [name.slice(0, 100)], expected: known },
          ),
        ]),
      );
  }
  return answer(route);
}

function refuse(reply: FastifyReply, status: number, diagnostics: readonly Diagnostic[]): FastifyReply {
  if (status === 503) void reply.header('Retry-After', '1');
  return reply.code(status).send(problemBody(diagnostics));
}

async function infer(route: ModelRoute, body: unknown, reply: FastifyReply): Promise<unknown> {
  if (route.kind === 'bundle')
    return refuse(reply, 400, [
      requestError(
        'SEQ506',
        `\`${route.served.name}\` is a decoder bundle: it generates rather than infers`,
        `POST /v2/models/${route.served.name}/generate or /generate_stream`,
        { names: [route.served.name] },
      ),
    ]);
  const signature = route.served.model.signature;
  const read = readInferRequest(body, signature);
  if (read.request === undefined) return refuse(reply, 400, read.diagnostics);
  const request = read.request;
  const sequence = request.sequence;
  if (sequence === undefined || route.sequences === undefined) {
    const answer = await runRequest(route, request.inputs);
    return answer.status === 200
      ? reply.send(inferResponse(route.served.name, request, answer.outputs))
      : refuse(reply, answer.status, answer.diagnostics);
  }
  const sequences = route.sequences;
  const given = route.states.filter((p) => request.inputs.has(p.input)).map((p) => p.input);
  if (given.length > 0)
    return refuse(reply, 400, [
      requestError(
        'SEQ505',
        `a request of sequence ${sequence.id} gives ${given.map((n) => `\`${n}\``).join(', ')}, which the server keeps per sequence`,
        'leave the state inputs out: the server feeds each request the state the previous one left',
        { names: given },
      ),
    ]);
  return sequences.inOrder(sequence.id, async () => {
    const state = sequence.start ? undefined : sequences.get(sequence.id);
    if (!sequence.start && state === undefined)
      return refuse(reply, 400, [
        requestError(
          'SEQ505',
          `sequence ${sequence.id} of \`${route.served.name}\` was not started, has ended or was idle too long`,
          'send its first request with "sequence_start": true',
          { names: [String(sequence.id)] },
        ),
      ]);
    const inputs = new Map(request.inputs);
    for (const [name, t] of state ?? []) inputs.set(name, t);
    const answer = await runRequest(route, inputs);
    if (answer.status !== 200) return refuse(reply, answer.status, answer.diagnostics);
    if (sequence.end) sequences.drop(sequence.id);
    else {
      const next = new Map(route.states.map((p) => [p.input, answer.outputs.get(p.output)!]));
      if (!sequences.set(sequence.id, next))
        return refuse(reply, 503, [
          requestError(
            'SEQ505',
            `\`${route.served.name}\` already keeps the most sequences it may; sequence ${sequence.id} cannot start`,
            'end sequences with "sequence_end": true, or start the server with a larger --max-sequences',
          ),
        ]);
    }
    return reply.send(inferResponse(route.served.name, request, answer.outputs));
  });
}

/** Validates one request's tensors with the runtime's checks, then runs it in a batch or by itself. */
async function runRequest(
  route: Extract<ModelRoute, { kind: 'model' }>,
  inputs: ReadonlyMap<string, TensorData>,
): Promise<
  | { status: 200; outputs: ReadonlyMap<string, TensorData> }
  | { status: 400 | 500 | 503; diagnostics: readonly Diagnostic[] }
> {
  const checked = validateInputs(route.served.model.signature, inputs);
  if (checked.feeds === undefined) return { status: 400, diagnostics: checked.diagnostics };
  if (route.batcher !== undefined) {
    const answer = await route.batcher.submit(checked.feeds);
    switch (answer.kind) {
      case 'done':
        return { status: 200, outputs: answer.outputs };
      case 'failed':
        return { status: 500, diagnostics: answer.diagnostics };
      case 'overloaded':
        return { status: 503, diagnostics: [overloaded(route.served.name, answer.waiting)] };
    }
  }
  if (route.inFlight >= route.maxQueue)
    return { status: 503, diagnostics: [overloaded(route.served.name, route.inFlight)] };
  route.inFlight++;
  try {
    const result = await route.served.model.run(checked.feeds);
    return result.outputs === undefined
      ? { status: 500, diagnostics: result.diagnostics }
      : { status: 200, outputs: result.outputs };
  } finally {
    route.inFlight--;
  }
}

function overloaded(name: string, waiting: number): Diagnostic {
  return requestError(
    'SEQ503',
    `\`${name}\` has ${waiting} requests waiting, the most it queues`,
    'retry after the time in Retry-After, or start the server with a larger --max-queue',
    { limit: waiting },
  );
}

/**
 * Prepares a generation request and takes its place in the model's queue (the caller gives it back
 * with `inFlight--`); a refusal, already answered with 400 or 503, when it cannot run.
 */
function admitGeneration(
  route: ModelRoute,
  body: unknown,
  reply: FastifyReply,
):
  | { refused: FastifyReply }
  | {
      refused?: undefined;
      generating: Extract<ModelRoute, { kind: 'bundle' }>;
      bundle: SeqBundle;
      rows: readonly (readonly number[])[];
      options: GenerateOptions;
    } {
  const prepared = prepareGeneration(route, body);
  if (prepared.problem !== undefined) return { refused: refuse(reply, 400, prepared.problem) };
  const generating = route as Extract<ModelRoute, { kind: 'bundle' }>;
  if (generating.inFlight >= generating.maxQueue)
    return { refused: refuse(reply, 503, [overloaded(generating.served.name, generating.inFlight)]) };
  generating.inFlight++;
  return { generating, bundle: prepared.bundle, rows: prepared.rows, options: prepared.options };
}

async function generate(route: ModelRoute, body: unknown, reply: FastifyReply): Promise<unknown> {
  const admitted = admitGeneration(route, body, reply);
  if (admitted.refused !== undefined) return admitted.refused;
  const { generating, bundle, rows, options } = admitted;
  let result: Awaited<ReturnType<SeqBundle['generate']>>;
  try {
    result = await bundle.generate(rows, options);
  } finally {
    generating.inFlight--;
  }
  if (result.rows === undefined) return refuse(reply, 400, result.diagnostics);
  return reply.send({
    model_name: route.served.name,
    model_version: '1',
    output_ids: result.rows.map((r) => r.hypotheses[0]?.tokens ?? []),
    hypotheses: result.rows.map((r) => r.hypotheses.map((h) => ({ tokens: h.tokens, score: h.score }))),
  });
}

/** Streams each token as a server-sent event `{ row, index, token }`, then one `{ done, output_ids }` event. */
async function generateStream(route: ModelRoute, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const admitted = admitGeneration(route, request.body, reply);
  if (admitted.refused !== undefined) return admitted.refused;
  const { generating, bundle, rows, options } = admitted;
  reply.hijack();
  const raw = reply.raw;
  // The response closing early means the client went away: the rest of the stream is dropped.
  let closed = false;
  raw.on('close', () => {
    closed = true;
  });
  raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const counts = new Map<number, number>();
  const send = (event: unknown): void => {
    if (!closed && !raw.destroyed) raw.write(`data: ${JSON.stringify(event)}\n\n`);
  };
  try {
    const result = await bundle.generate(rows, {
      ...options,
      onToken: (row, token) => {
        const index = counts.get(row) ?? 0;
        counts.set(row, index + 1);
        send({ model_name: route.served.name, row, index, token });
      },
    });
    if (result.rows === undefined) send({ error: problemBody(result.diagnostics) });
    else
      send({
        model_name: route.served.name,
        done: true,
        output_ids: result.rows.map((r) => r.hypotheses[0]?.tokens ?? []),
      });
  } catch (e) {
    send({ error: problemBody([requestError('SEQ500', `generation failed: ${(e as Error).message.slice(0, 300)}`)]) });
  }
  generating.inFlight--;
  if (!raw.destroyed) raw.end();
  return reply;
}

function prepareGeneration(
  route: ModelRoute,
  body: unknown,
):
  | { problem: readonly Diagnostic[]; bundle?: undefined; rows?: undefined; options?: undefined }
  | { problem?: undefined; bundle: SeqBundle; rows: readonly (readonly number[])[]; options: GenerateOptions } {
  if (route.kind !== 'bundle')
    return {
      problem: [
        requestError(
          'SEQ506',
          `\`${route.served.name}\` has no decoder, so there is nothing to generate`,
          `POST /v2/models/${route.served.name}/infer`,
          { names: [route.served.name] },
        ),
      ],
    };
  if (!isRecord(body))
    return {
      problem: [
        requestError(
          'SEQ500',
          'a generation request is a JSON object',
          'e.g. { "src": [[5, 6, 7]], "parameters": { "max_length": 20 } }',
        ),
      ],
    };
  const manifest = route.served.bundle.manifest;
  const rows = generationRows(body, manifest);
  const options = generationOptions(body['parameters'], rows.prompt);
  const problems = [...rows.diagnostics, ...options.diagnostics];
  if (problems.length > 0 || rows.src === undefined || options.options === undefined) return { problem: problems };
  return { bundle: route.served.bundle, rows: rows.src, options: options.options };
}
