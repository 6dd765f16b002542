// `seqc build`: every spec of a folder compiled into goldens (model, text dumps, summary), optionally run once.

import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import type { CompiledBundle } from '../index.js';
import { error, spanOfWhole } from '../diagnostics/diagnostic.js';
import { formatSummary } from '../summary/summary.js';
import { formatModel } from '../onnx/text.js';
import { formatIr } from '../ir/print.js';
import type { TensorData } from '../runtime/inputs.js';
import { loadModel, runModel } from '../runtime/node.js';
import { loadOrtNode } from '../runtime/node-ort.js';
import { type ParsedArgs } from './args.js';
import { tokenizersBesideSpec, writeBundle } from './bundle.js';
import { compileProgress } from './progress.js';
import { compileFromArgs, emit, ExitCode, fileError, report, usage, writeFilesAtomically, type Io } from './io.js';

export async function buildCommand(args: ParsedArgs, io: Io): Promise<number> {
  if (args.positionals.length > 1)
    return usage(io, `\`seqc build\` takes one folder, found ${args.positionals.length}`, 'build');
  const dir = args.positionals[0] ?? 'specs';
  const out = args.flags.get('out')?.[0] ?? 'generated';
  let files: string[];
  try {
    if (!statSync(dir).isDirectory()) return usage(io, `${dir} is not a folder`, 'build');
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.seq'))
      .sort();
  } catch (e) {
    report([fileError(dir, e)], new Map(), io);
    return ExitCode.diagnostics;
  }
  if (files.length === 0) {
    report(
      [
        error('SEQ202', spanOfWhole(dir), `${dir} holds no .seq files`, undefined, {
          names: [dir],
          expected: '.seq files',
          found: 0,
        }),
      ],
      new Map(),
      io,
    );
    return ExitCode.diagnostics;
  }
  let failed = 0;
  /** What `--json` reports: each spec built, with the files written. */
  const built: { spec: string; model: string; parameters: number; graphs?: number }[] = [];
  for (const file of files) {
    const specPath = join(dir, file);
    const compiled = compileFromArgs(specPath, args, { onProgress: compileProgress(io, specPath) });
    report(compiled.diagnostics, compiled.sources, io);
    if (compiled.usageProblem) return ExitCode.usage;
    const result = compiled.result;
    if (result?.model === undefined || result.proto === undefined || result.summary === undefined) {
      failed++;
      continue;
    }
    const stem = join(out, basename(file, '.seq'));
    const options = { inputs: compiled.inputs };
    if (result.bundle !== undefined) {
      const bundle = result.bundle;
      // Tokenizer files beside the spec (NAME.tokenizer.json …) travel with its bundle.
      const tokenizers = tokenizersBesideSpec(specPath, result);
      report(tokenizers.diagnostics, compiled.sources, io);
      if (tokenizers.diagnostics.some((d) => d.severity === 'error')) {
        failed++;
        continue;
      }
      const written = await writeBundle(
        `${stem}.onnx`,
        bundle,
        [
          ...bundle.files.map((f) => ({
            path: `${stem}${f.file.slice(bundle.manifest.files.scoring.path.length - 5)}.txt`,
            data: formatModel(f.proto),
          })),
          { path: `${stem}.summary.txt`, data: formatSummary(result.summary) },
          { path: `${stem}.ir.txt`, data: formatIr(result.ir!) },
        ],
        { inputs: [...compiled.inputs, ...tokenizers.inputs] },
        tokenizers.tokenizers,
      );
      report(written.diagnostics, compiled.sources, io);
      if (written.written === undefined) {
        failed++;
        continue;
      }
      built.push({
        spec: specPath,
        model: `${stem}.onnx`,
        parameters: result.summary.totalParameters,
        graphs: bundle.files.length,
      });
      io.out(
        `${specPath} -> ${stem}.onnx + ${bundle.files.length - 1} graphs and a manifest (${result.summary.totalParameters.toLocaleString('en-US')} parameters)\n`,
      );
      if (args.flags.has('run')) {
        const ran = await exampleGreedy(bundle, specPath, io);
        if (!ran) failed++;
      }
      continue;
    }
    // The model and its dumps are one unit: a golden folder never holds a model with stale dumps.
    const problems = await writeFilesAtomically(
      [
        // A model past 2 GiB keeps its weights beside it (the library decides; see CompileOptions.externalWeights).
        ...(result.weights === undefined ? [] : [{ path: join(out, result.weights.file), data: result.weights.bytes }]),
        { path: `${stem}.onnx`, data: result.model },
        { path: `${stem}.onnx.txt`, data: formatModel(result.proto) },
        { path: `${stem}.summary.txt`, data: formatSummary(result.summary) },
        { path: `${stem}.ir.txt`, data: formatIr(result.ir!) },
      ],
      options,
    );
    if (problems.length > 0) {
      report(problems, compiled.sources, io);
      failed++;
      continue;
    }
    built.push({ spec: specPath, model: `${stem}.onnx`, parameters: result.summary.totalParameters });
    io.out(`${specPath} -> ${stem}.onnx (${result.summary.totalParameters.toLocaleString('en-US')} parameters)\n`);
    if (args.flags.has('run')) {
      const ran = await exampleRun(result.model, specPath, io);
      if (!ran) failed++;
    }
  }
  emit(io, { built, failed, out }, `built ${files.length - failed} of ${files.length} specs into ${out}/\n`);
  return failed > 0 ? ExitCode.diagnostics : ExitCode.ok;
}

/** Runs a model once on a deterministic example batch (2 rows, 6 steps, the second row 4 long). */
async function exampleRun(model: Uint8Array, name: string, io: Io): Promise<boolean> {
  const loaded = await loadModel(model, name);
  if (loaded.model === undefined) {
    report(loaded.diagnostics, new Map(), io);
    return false;
  }
  const inputs = new Map<string, TensorData>();
  for (const input of loaded.model.signature.inputs) {
    if (input.role !== 'data') continue;
    const dims = input.dims.map((d, axis) => (typeof d === 'number' ? d : axis === 0 ? 2 : 6));
    const count = dims.reduce((a, b) => a * b, 1);
    const data =
      input.dtype === 'int64'
        ? BigInt64Array.from({ length: count }, (_, i) =>
            BigInt(1 + ((i * 7919) % Math.max(1, (input.vocab ?? 100) - 1))),
          )
        : Float32Array.from({ length: count }, (_, i) => Math.sin(i));
    inputs.set(input.name, { dtype: input.dtype as 'int64' | 'float32', dims, data });
  }
  for (const input of loaded.model.signature.inputs) {
    if (input.role === 'lengths')
      inputs.set(input.name, { dtype: 'int64', dims: [2], data: BigInt64Array.from([6n, 4n]) });
  }
  const result = await runModel(loaded.model, inputs);
  if (result.outputs === undefined) {
    report(result.diagnostics, new Map(), io);
    return false;
  }
  for (const [outName, t] of result.outputs) {
    const head = Array.from(t.data as ArrayLike<number>)
      .slice(0, 4)
      .map((v) => Number(v).toFixed(4));
    io.out(
      `  ran on batch 2 × time 6: ${outName} [${t.dims.join(', ')}] = ${head.join(', ')}${t.data.length > 4 ? ', …' : ''}\n`,
    );
  }
  return true;
}

/** Runs a bundle's greedy graph once on an example batch of two source rows. */
async function exampleGreedy(bundle: CompiledBundle, name: string, io: Io): Promise<boolean> {
  const greedy = bundle.files.find((f) => f.role === 'greedy')!;
  const { ort, diagnostics } = await loadOrtNode();
  if (ort === undefined) {
    report(diagnostics, new Map(), io);
    return false;
  }
  try {
    const session = await ort.InferenceSession.create(greedy.sharedBytes, {
      logSeverityLevel: 3,
      ...(bundle.weights.bytes.length === 0
        ? {}
        : { externalData: [{ path: bundle.weights.file, data: bundle.weights.bytes }] }),
    });
    const m = bundle.manifest;
    const feeds: Record<string, Ort.Tensor> = {};
    const time = 6;
    const ids = BigInt64Array.from({ length: 2 * time }, (_, i) => BigInt(3 + ((i * 7919) % 50)));
    if (m.source !== undefined) {
      feeds[m.source.input] = new ort.Tensor('int64', ids, [2, time]);
      if (m.source.lengths !== undefined)
        feeds[m.source.lengths] = new ort.Tensor('int64', BigInt64Array.from([6n, 4n]), [2]);
    } else {
      feeds.prompt = new ort.Tensor('int64', BigInt64Array.from([BigInt(m.bos), BigInt(m.bos)]), [2, 1]);
    }
    const out = await session.run(feeds);
    const tokens = Array.from(out.tokens!.data as BigInt64Array, Number);
    const lengths = Array.from(out.lengths!.data as BigInt64Array, Number);
    io.out(
      `  greedy-decoded a batch of 2: lengths [${lengths.join(', ')}], first tokens ${tokens.slice(0, 6).join(' ')} …\n`,
    );
    return true;
  } catch (e) {
    report(
      [error('SEQ302', spanOfWhole(name), `ONNX Runtime failed on the greedy graph: ${(e as Error).message}`)],
      new Map(),
      io,
    );
    return false;
  }
}
