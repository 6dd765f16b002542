// `seqc export triton`: a spec, a compiled model or a bundle written as a Triton Inference Server model repository (ONNX Runtime backend).

import { dirname, join, basename } from 'node:path';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { decodeModel } from '../onnx/decode.js';
import { externalLocations } from '../onnx/external.js';
import type { ModelProto } from '../onnx/types.js';
import { formatTritonConfig, tritonConfig } from '../serve/triton.js';
import { integerFlag, type FlagSpec, type ParsedArgs } from './args.js';
import { readBundle } from './bundle.js';
import {
  compileFromArgs,
  emit,
  ExitCode,
  readBytes,
  report,
  seedFlag,
  weightsFlag,
  writeFilesAtomically,
  type FileToWrite,
  type Io,
} from './io.js';

export const exportFlags: readonly FlagSpec[] = [
  { name: 'out', alias: 'o', takesValue: true, description: 'the model repository folder to write into' },
  {
    name: 'max-batch',
    takesValue: true,
    description: "Triton's max_batch_size for models that batch, 1 to 4096 (default 32)",
  },
  weightsFlag,
  seedFlag,
];

/** One graph to export: the model's name in the repository, its bytes, and the files beside it. */
interface Graph {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly extra: readonly { readonly file: string; readonly data: Uint8Array }[];
}

export async function exportCommand(args: ParsedArgs, io: Io): Promise<number> {
  const [format, path, ...rest] = args.positionals;
  const out = args.flags.get('out')?.[0];
  const maxBatch = integerFlag(args, 'max-batch', { min: 1, max: 4096 });
  const usageProblems: Diagnostic[] = [...maxBatch.diagnostics];
  if (format !== 'triton')
    usageProblems.push(
      error(
        'SEQ200',
        spanOfWhole('<command line>'),
        format === undefined
          ? '`seqc export` needs a format: triton'
          : `\`seqc export\` knows the format triton, not \`${format.slice(0, 40)}\``,
        'seqc export triton SPEC|MODEL.onnx|BUNDLE.manifest.json --out REPO/',
        { expected: ['triton'], ...(format === undefined ? {} : { found: format.slice(0, 40) }) },
      ),
    );
  else if (path === undefined || rest.length > 0 || out === undefined)
    usageProblems.push(
      error(
        'SEQ200',
        spanOfWhole('<command line>'),
        path === undefined || rest.length > 0
          ? '`seqc export triton` takes one spec, model or bundle manifest'
          : '`seqc export triton` needs --out REPO/',
        'seqc export triton SPEC|MODEL.onnx|BUNDLE.manifest.json --out REPO/',
      ),
    );
  if (usageProblems.length > 0 || path === undefined || out === undefined) {
    report(usageProblems, new Map(), io);
    return ExitCode.usage;
  }
  const graphs = graphsOf(path, args);
  report(graphs.diagnostics, graphs.sources, io);
  if (graphs.graphs === undefined) return graphs.usageProblem ? ExitCode.usage : ExitCode.diagnostics;
  const files: FileToWrite[] = [];
  const problems: Diagnostic[] = [];
  const written: { name: string; maxBatchSize: number; stateful: boolean }[] = [];
  for (const graph of graphs.graphs) {
    let proto: ModelProto;
    try {
      proto = decodeModel(graph.bytes);
    } catch (e) {
      problems.push(
        error(
          'SEQ309',
          spanOfWhole(path),
          `${path} is not a readable ONNX model: ${(e as Error).message.slice(0, 200)}`,
        ),
      );
      continue;
    }
    const made = tritonConfig(graph.name, proto, maxBatch.value ?? 32);
    problems.push(...made.diagnostics);
    if (made.config === undefined) continue;
    files.push({ path: join(out, graph.name, '1', 'model.onnx'), data: graph.bytes });
    for (const extra of graph.extra) files.push({ path: join(out, graph.name, '1', extra.file), data: extra.data });
    files.push({ path: join(out, graph.name, 'config.pbtxt'), data: formatTritonConfig(made.config) });
    written.push({ name: graph.name, maxBatchSize: made.config.maxBatchSize, stateful: made.config.states.length > 0 });
  }
  if (problems.length > 0) {
    report(problems, graphs.sources, io);
    return ExitCode.diagnostics;
  }
  const failures = await writeFilesAtomically(files, { inputs: [path] });
  if (failures.length > 0) {
    report(failures, new Map(), io);
    return ExitCode.diagnostics;
  }
  emit(
    io,
    { repository: out, models: written },
    written.map((w) => `${join(out, w.name)}: config.pbtxt, 1/model.onnx\n`).join(''),
  );
  return ExitCode.ok;
}

// Internals.

function stemOf(path: string): string {
  return basename(path).replace(/(\.manifest\.json|\.onnx|\.seq)$/, '');
}

function graphsOf(
  path: string,
  args: ParsedArgs,
): { graphs?: Graph[]; sources: Map<string, string>; diagnostics: Diagnostic[]; usageProblem: boolean } {
  const name = stemOf(path);
  if (path.endsWith('.manifest.json')) {
    const read = readBundle(path);
    if (read.bundle === undefined) return { sources: new Map(), diagnostics: read.diagnostics, usageProblem: false };
    const manifest = read.bundle.manifest as { files: Record<string, { path: string }>; weights?: { path: string } };
    const weights = manifest.weights === undefined ? undefined : read.bundle.files[manifest.weights.path];
    const extra =
      weights === undefined || weights.byteLength === 0 ? [] : [{ file: manifest.weights!.path, data: weights }];
    return {
      graphs: bundleRoles
        .filter((r) => manifest.files[r.role] !== undefined)
        .map((r) => ({ name: `${name}${r.suffix}`, bytes: read.bundle!.files[manifest.files[r.role]!.path]!, extra })),
      sources: new Map(),
      diagnostics: read.diagnostics,
      usageProblem: false,
    };
  }
  if (path.endsWith('.onnx')) {
    const read = readBytes(path);
    if (read.bytes === undefined) return { sources: new Map(), diagnostics: read.diagnostics, usageProblem: false };
    const extra: { file: string; data: Uint8Array }[] = [];
    for (const location of externalLocations(read.bytes)) {
      const beside = readBytes(join(dirname(path), location), 'weights');
      if (beside.bytes === undefined)
        return { sources: new Map(), diagnostics: beside.diagnostics, usageProblem: false };
      extra.push({ file: location, data: beside.bytes });
    }
    return { graphs: [{ name, bytes: read.bytes, extra }], sources: new Map(), diagnostics: [], usageProblem: false };
  }
  const compiled = compileFromArgs(path, args);
  const bundle = compiled.result?.bundle;
  if (bundle !== undefined) {
    return {
      graphs: bundleRoles.flatMap((r) => {
        const file = bundle.files.find((f) => f.role === r.role);
        return file === undefined ? [] : [{ name: `${name}${r.suffix}`, bytes: file.bytes, extra: [] }];
      }),
      sources: compiled.sources,
      diagnostics: compiled.diagnostics,
      usageProblem: false,
    };
  }
  const model = compiled.result?.model;
  return {
    ...(model === undefined ? {} : { graphs: [{ name, bytes: model, extra: [] }] }),
    sources: compiled.sources,
    diagnostics: compiled.diagnostics,
    usageProblem: compiled.usageProblem,
  };
}

/** A bundle's graphs in the repository: the greedy Loop graph is the generation model under the bundle's own name. */
const bundleRoles = [
  { role: 'greedy', suffix: '' },
  { role: 'encoder', suffix: '_encoder' },
  { role: 'step', suffix: '_step' },
] as const;
