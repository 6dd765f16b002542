// `seqc serve`: loads compiled models, bundles and specs, then answers the KServe v2 REST protocol on a port (or one request given on the command line).

import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { loadBundle, loadModel } from '../runtime/node.js';
import { createServer, serveDefaults, type SeqServer, type ServedModel, type ServeOptions } from '../serve/server.js';
import { integerFlag, type FlagSpec, type ParsedArgs } from './args.js';
import { readBundle } from './bundle.js';
import { compileFromArgs, emit, ExitCode, readBytes, report, seedFlag, type Io } from './io.js';

export const serveFlags: readonly FlagSpec[] = [
  {
    name: 'port',
    alias: 'p',
    takesValue: true,
    description: 'the TCP port, 0 to 65535 (default 8000; 0: any free port)',
  },
  { name: 'host', takesValue: true, description: 'the address to listen on (default 127.0.0.1)' },
  {
    name: 'batch-window-ms',
    takesValue: true,
    description: `how long a request waits for others to batch with, 0 to 1000 ms (default ${serveDefaults.batchWindowMs})`,
  },
  {
    name: 'max-batch',
    takesValue: true,
    description: `the most rows in one batch, 1 to 4096; 1 turns batching off (default ${serveDefaults.maxBatch})`,
  },
  {
    name: 'max-queue',
    takesValue: true,
    description: `requests waiting per model before 503, 0 to 1000000 (default ${serveDefaults.maxQueue})`,
  },
  {
    name: 'max-body-bytes',
    takesValue: true,
    description: `the largest request body (default ${serveDefaults.maxBodyBytes})`,
  },
  {
    name: 'sequence-idle-ms',
    takesValue: true,
    description: `drop a stateful sequence after this long without a request (default ${serveDefaults.sequenceIdleMs})`,
  },
  {
    name: 'max-sequences',
    takesValue: true,
    description: `live sequences per stateful model (default ${serveDefaults.maxSequences})`,
  },
  {
    name: 'request',
    takesValue: true,
    description: 'answer one request, such as "POST /v2/models/tagger/infer", print the answer and exit',
  },
  { name: 'body', takesValue: true, description: 'the JSON body of --request' },
  seedFlag,
];

export async function serveCommand(args: ParsedArgs, io: Io): Promise<number> {
  const flags = serveOptions(args);
  if (flags.options === undefined) {
    report(flags.diagnostics, new Map(), io);
    return ExitCode.usage;
  }
  if (args.positionals.length === 0) {
    report(
      [
        error(
          'SEQ200',
          spanOfWhole('<command line>'),
          '`seqc serve` needs models: .onnx files, bundle manifests, specs or folders',
          'e.g. `seqc serve generated/ --port 8000`',
        ),
      ],
      new Map(),
      io,
    );
    return ExitCode.usage;
  }
  const loaded = await loadAll(args.positionals, args);
  report(loaded.diagnostics, loaded.sources, io);
  if (loaded.models === undefined) return ExitCode.diagnostics;
  const created = await createServer(loaded.models, flags.options);
  report(created.diagnostics, new Map(), io);
  const server = created.server;
  if (server === undefined) {
    for (const m of loaded.models) await (m.kind === 'model' ? m.model.release() : m.bundle.release());
    return ExitCode.diagnostics;
  }
  const oneRequest = args.flags.get('request')?.[0];
  if (oneRequest !== undefined) return answerOne(server.app, oneRequest, args.flags.get('body')?.[0], io, server.close);
  const host = args.flags.get('host')?.[0] ?? '127.0.0.1';
  let address: string;
  try {
    address = await server.app.listen({ host, port: flags.port });
  } catch (e) {
    await server.close();
    report(
      [
        error(
          'SEQ508',
          spanOfWhole('--port'),
          `cannot listen on ${host}:${flags.port}: ${(e as Error).message.slice(0, 300)}`,
          'choose another --port (0 picks a free one), or stop what uses it',
          { flag: '--port', value: String(flags.port) },
        ),
      ],
      new Map(),
      io,
    );
    return ExitCode.diagnostics;
  }
  io.err(`seqc serve: ${loaded.models.map((m) => m.name).join(', ')} on ${address}/v2 (Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return ExitCode.ok;
}

// Internals.

function serveOptions(args: ParsedArgs): { options?: ServeOptions; port: number; diagnostics: Diagnostic[] } {
  const port = integerFlag(args, 'port', { min: 0, max: 65535 });
  const window = integerFlag(args, 'batch-window-ms', { min: 0, max: 1000 });
  const maxBatch = integerFlag(args, 'max-batch', { min: 1, max: 4096 });
  const maxQueue = integerFlag(args, 'max-queue', { min: 0, max: 1_000_000 });
  const maxBody = integerFlag(args, 'max-body-bytes', { min: 16, max: 2 ** 30 });
  const idle = integerFlag(args, 'sequence-idle-ms', { min: 1, max: 86_400_000 });
  const maxSequences = integerFlag(args, 'max-sequences', { min: 1, max: 1_000_000 });
  const diagnostics = [port, window, maxBatch, maxQueue, maxBody, idle, maxSequences].flatMap((f) => f.diagnostics);
  if (args.flags.has('body') && !args.flags.has('request'))
    diagnostics.push(
      error('SEQ201', spanOfWhole('--body'), '`--body` is the body of `--request`, which is missing', undefined, {
        flag: '--body',
      }),
    );
  if (diagnostics.length > 0) return { port: 0, diagnostics };
  const options: ServeOptions = {
    ...(window.value === undefined ? {} : { batchWindowMs: window.value }),
    ...(maxBatch.value === undefined ? {} : { maxBatch: maxBatch.value }),
    ...(maxQueue.value === undefined ? {} : { maxQueue: maxQueue.value }),
    ...(maxBody.value === undefined ? {} : { maxBodyBytes: maxBody.value }),
    ...(idle.value === undefined ? {} : { sequenceIdleMs: idle.value }),
    ...(maxSequences.value === undefined ? {} : { maxSequences: maxSequences.value }),
  };
  return { options, port: port.value ?? 8000, diagnostics };
}

/** The files a folder serves: bundle manifests, and the .onnx models that no manifest names. */
function filesOf(path: string): string[] {
  let entries: string[];
  try {
    entries = statSync(path).isDirectory() ? readdirSync(path).sort() : [];
  } catch {
    return [path];
  }
  if (entries.length === 0) return statSync(path).isDirectory() ? [] : [path];
  const manifests = entries.filter((e) => e.endsWith('.manifest.json'));
  const stems = manifests.map((m) => m.slice(0, -'.manifest.json'.length));
  const models = entries.filter(
    (e) => e.endsWith('.onnx') && !stems.some((s) => e === `${s}.onnx` || e.startsWith(`${s}.`)),
  );
  return [...manifests, ...models].map((e) => join(path, e));
}

function stemOf(path: string): string {
  return basename(path).replace(/(\.manifest\.json|\.onnx|\.seq)$/, '');
}

async function loadAll(
  paths: readonly string[],
  args: ParsedArgs,
): Promise<{ models?: ServedModel[]; sources: Map<string, string>; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, string>();
  const models: ServedModel[] = [];
  const files = paths.flatMap(filesOf);
  for (const file of files) {
    const name = stemOf(file);
    if (models.some((m) => m.name === name)) {
      diagnostics.push(
        error(
          'SEQ507',
          spanOfWhole(file),
          `two models are named \`${name}\``,
          'serve them from different folders, or rename one',
          {
            names: [name],
          },
        ),
      );
      continue;
    }
    const loaded = await loadOne(file, name, args, sources);
    diagnostics.push(...loaded.diagnostics);
    if (loaded.model !== undefined) models.push(loaded.model);
  }
  if (models.length === 0 && !diagnostics.some((d) => d.severity === 'error'))
    diagnostics.push(
      error(
        'SEQ507',
        spanOfWhole(paths.join(' ')),
        `there is nothing to serve in ${paths.join(', ')}`,
        'give .onnx models, .manifest.json bundles, .seq specs, or folders holding them',
        { names: [...paths] },
      ),
    );
  if (diagnostics.some((d) => d.severity === 'error')) {
    for (const m of models) await (m.kind === 'model' ? m.model.release() : m.bundle.release());
    return { sources, diagnostics };
  }
  return { models, sources, diagnostics };
}

async function loadOne(
  file: string,
  name: string,
  args: ParsedArgs,
  sources: Map<string, string>,
): Promise<{ model?: ServedModel; diagnostics: Diagnostic[] }> {
  if (file.endsWith('.manifest.json')) {
    const read = readBundle(file);
    if (read.bundle === undefined) return { diagnostics: read.diagnostics };
    const opened = await loadBundle(read.bundle);
    return opened.bundle === undefined
      ? { diagnostics: opened.diagnostics }
      : { model: { kind: 'bundle', name, bundle: opened.bundle }, diagnostics: opened.diagnostics };
  }
  if (file.endsWith('.seq')) {
    const compiled = compileFromArgs(file, args);
    for (const [k, v] of compiled.sources) sources.set(k, v);
    const bundle = compiled.result?.bundle;
    if (bundle !== undefined) {
      const files = Object.fromEntries([
        ...bundle.files.map((f) => [f.file, f.sharedBytes]),
        [bundle.weights.file, bundle.weights.bytes],
      ]);
      const opened = await loadBundle({ manifest: bundle.manifest, files });
      return opened.bundle === undefined
        ? { diagnostics: [...compiled.diagnostics, ...opened.diagnostics] }
        : {
            model: { kind: 'bundle', name, bundle: opened.bundle },
            diagnostics: [...compiled.diagnostics, ...opened.diagnostics],
          };
    }
    const bytes = compiled.result?.model;
    if (bytes === undefined) return { diagnostics: compiled.diagnostics };
    const loaded = await loadModel(bytes, { name: file, logSeverityLevel: 4 });
    return loaded.model === undefined
      ? { diagnostics: [...compiled.diagnostics, ...loaded.diagnostics] }
      : {
          model: { kind: 'model', name, model: loaded.model },
          diagnostics: [...compiled.diagnostics, ...loaded.diagnostics],
        };
  }
  if (!file.endsWith('.onnx'))
    return {
      diagnostics: [
        error(
          'SEQ507',
          spanOfWhole(file),
          `${file} is not a .onnx model, a .manifest.json bundle, a .seq spec or a folder`,
          undefined,
          {
            names: [file],
          },
        ),
      ],
    };
  const read = readBytes(file);
  if (read.bytes === undefined) return { diagnostics: read.diagnostics };
  const loaded = await loadModel(file, { logSeverityLevel: 4 });
  return loaded.model === undefined
    ? { diagnostics: loaded.diagnostics }
    : { model: { kind: 'model', name, model: loaded.model }, diagnostics: loaded.diagnostics };
}

/** `--request "METHOD PATH" [--body JSON]`: one request answered in process, its status and body printed. */
async function answerOne(
  app: SeqServer['app'],
  request: string,
  body: string | undefined,
  io: Io,
  close: () => Promise<void>,
): Promise<number> {
  const match = /^(GET|POST)\s+(\/\S*)$/.exec(request.trim());
  if (match === null) {
    await close();
    report(
      [
        error(
          'SEQ201',
          spanOfWhole('--request'),
          `\`--request\` must be "GET PATH" or "POST PATH", found \`${request.slice(0, 60)}\``,
          undefined,
          {
            flag: '--request',
            value: request.slice(0, 60),
          },
        ),
      ],
      new Map(),
      io,
    );
    return ExitCode.usage;
  }
  const answer = await app.inject({
    method: match[1] as 'GET' | 'POST',
    url: match[2]!,
    ...(body === undefined ? {} : { payload: body, headers: { 'content-type': 'application/json' } }),
  });
  await close();
  let parsed: unknown = answer.body;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    // An event stream or other text: printed as it is.
  }
  const problems = (parsed as { diagnostics?: unknown })?.diagnostics;
  if (answer.statusCode >= 400 && Array.isArray(problems)) {
    report(
      problems.map((p: Diagnostic) => ({ ...p, span: spanOfWhole(`${match[1]} ${match[2]}`) })),
      new Map(),
      io,
    );
    emit(io, { status: answer.statusCode, body: parsed }, '');
    return ExitCode.diagnostics;
  }
  emit(
    io,
    { status: answer.statusCode, body: parsed },
    `${answer.statusCode} ${typeof parsed === 'string' ? parsed : JSON.stringify(parsed)}\n`,
  );
  return answer.statusCode < 400 ? ExitCode.ok : ExitCode.diagnostics;
}
