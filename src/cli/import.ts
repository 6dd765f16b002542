// `seqc import MODEL.json -o OUT/NAME.seq`: a TensorFlow.js Layers model as a seqc spec and its weights, checked by compiling them, written as one unit.

import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { builtinNames } from '../check/signatures.js';
import { error, spanOfWhole, warning, type Diagnostic } from '../diagnostics/diagnostic.js';
import { importKeras, type ImportOptions, type ImportResult } from '../import/keras.js';
import { decodeTfjsWeights, parseTfjsModel, shardPaths } from '../import/tfjs.js';
import { readKerasArchive, readKerasH5 } from './keras-files.js';
import { compile } from '../index.js';
import { writeSafetensors } from '../weights/safetensors.js';
import { integerFlag, type FlagSpec, type ParsedArgs } from './args.js';
import type { GenerationFlags } from '../import/keras-seq2seq.js';
import { generationLimits } from '../contracts/limits.js';
import { emit, ExitCode, help, readBytes, readText, report, usage, writeFilesAtomically, type Io } from './io.js';

export const importUsage =
  'seqc import MODEL.json|MODEL.keras|MODEL.h5 [-o OUT/NAME.seq] [--force] [--map CLASS=builtin …] [--bos ID --eos ID --max-length N]';

export const importFlags: readonly FlagSpec[] = [
  { name: 'out', alias: 'o', takesValue: true, description: 'the spec to write; NAME.safetensors goes beside it' },
  { name: 'force', takesValue: false, description: 'replace NAME.seq and NAME.safetensors if they exist' },
  {
    name: 'map',
    takesValue: true,
    repeatable: true,
    description: 'CLASS=builtin: write a custom Keras layer class as a seqc builtin (e.g. GetLastTimestepLayer=last)',
  },
  { name: 'bos', takesValue: true, description: "an encoder–decoder's start token id (the decoder's first input)" },
  { name: 'eos', takesValue: true, description: "an encoder–decoder's end token id" },
  { name: 'max-length', takesValue: true, description: 'the most tokens an encoder–decoder generates' },
  help,
];

export async function importCommand(args: ParsedArgs, io: Io): Promise<number> {
  const [modelPath, ...extra] = args.positionals;
  if (modelPath === undefined || extra.length > 0)
    return usage(
      io,
      modelPath === undefined
        ? '`seqc import` needs a model: `seqc import model.json -o out/name.seq`'
        : `\`seqc import\` takes one model, found ${args.positionals.length}`,
      'import',
    );
  const map = mapFlags(args.flags.get('map') ?? []);
  if (map.diagnostics.length > 0) {
    report(map.diagnostics, new Map(), io);
    return ExitCode.usage;
  }
  const ids = { min: 0, max: 2 ** 31 - 1 };
  const bos = integerFlag(args, 'bos', ids);
  const eos = integerFlag(args, 'eos', ids);
  const maxLength = integerFlag(args, 'max-length', { min: 1, max: generationLimits.maxLength });
  const flagProblems = [...bos.diagnostics, ...eos.diagnostics, ...maxLength.diagnostics];
  if (flagProblems.length > 0) {
    report(flagProblems, new Map(), io);
    return ExitCode.usage;
  }
  const generation: GenerationFlags = {
    ...(bos.value === undefined ? {} : { bos: bos.value }),
    ...(eos.value === undefined ? {} : { eos: eos.value }),
    ...(maxLength.value === undefined ? {} : { maxLength: maxLength.value }),
  };
  const out = args.flags.get('out')?.[0] ?? join(dirname(modelPath), `${basename(modelPath, extname(modelPath))}.seq`);
  const weightsPath = join(dirname(out), `${basename(out, extname(out))}.safetensors`);
  if (!args.flags.has('force')) {
    const existing = [out, weightsPath].filter((p) => existsSync(p));
    if (existing.length > 0) {
      report(
        [
          error(
            'SEQ605',
            spanOfWhole(existing[0]!),
            `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}`,
            'pass `--force` to replace them, or choose another `-o`',
            { names: existing },
          ),
        ],
        new Map(),
        io,
      );
      return ExitCode.diagnostics;
    }
  }

  const read = await readModel(modelPath, { modelName: basename(out, extname(out)), map: map.map, generation });
  report(read.result?.diagnostics ?? read.diagnostics, new Map(), io);
  const { spec, tensors } = read.result ?? {};
  if (spec === undefined || tensors === undefined) return ExitCode.diagnostics;
  const safetensors = writeSafetensors(tensors, { source: `seqc import ${basename(modelPath)}` });

  // The spec must compile with its weights before anything is written.
  const compiled = compile(spec, { sourceName: out, weights: { bytes: safetensors, name: weightsPath } });
  report(compiled.diagnostics, new Map([[out, spec]]), io);
  if (compiled.diagnostics.some((d) => d.severity === 'error')) return ExitCode.diagnostics;
  const ignored = Object.keys(generation);
  if (ignored.length > 0 && compiled.bundle === undefined)
    report(
      [
        warning(
          'SEQ614',
          spanOfWhole(modelPath),
          `the model does not generate, so ${ignored.map((k) => (k === 'maxLength' ? '--max-length' : `--${k}`)).join(', ')} ${ignored.length === 1 ? 'is' : 'are'} ignored`,
          'these flags are for encoder–decoder models (the functional Luong-attention recipe)',
          { names: ignored },
        ),
      ],
      new Map(),
      io,
    );
  const failures = await writeFilesAtomically(
    [
      { path: weightsPath, data: safetensors },
      { path: out, data: spec },
    ],
    { inputs: read.inputs },
  );
  if (failures.length > 0) {
    report(failures, new Map(), io);
    return ExitCode.diagnostics;
  }
  const signature = compiled.signature;
  const scoring = compiled.bundle?.manifest.files.scoring;
  emit(
    io,
    {
      spec: out,
      weights: weightsPath,
      parameters: [...tensors.keys()],
      // An encoder–decoder's are its scoring graph's (docs/seq2seq.md).
      inputs: scoring?.inputs ?? signature?.inputs.map((i) => i.name) ?? [],
      outputs: scoring?.outputs ?? signature?.outputs.map((o) => o.name) ?? [],
    },
    `wrote ${out} and ${weightsPath} (${tensors.size} tensors)\n`,
  );
  return ExitCode.ok;
}

/** Reads a model by its extension (`.keras`, `.h5`, else TF.js model.json) and converts it. */
async function readModel(
  modelPath: string,
  options: Omit<ImportOptions, 'source'>,
): Promise<{ result?: ImportResult; diagnostics: Diagnostic[]; inputs: string[] }> {
  const extension = extname(modelPath).toLowerCase();
  if (extension !== '.keras' && extension !== '.h5' && extension !== '.hdf5') return readTfjs(modelPath, options);
  const inputs = [modelPath];
  const bytes = readBytes(modelPath, 'weights');
  if (bytes.bytes === undefined) return { diagnostics: bytes.diagnostics, inputs };
  const read =
    extension === '.keras' ? await readKerasArchive(bytes.bytes, modelPath) : await readKerasH5(modelPath, modelPath);
  if (read.model === undefined) return { diagnostics: read.diagnostics, inputs };
  return { result: importKeras(read.model, { ...options, source: modelPath }), diagnostics: [], inputs };
}

/** Reads model.json and its shards and converts them; `inputs` are the files read, which no output may replace. */
function readTfjs(
  modelPath: string,
  options: Omit<ImportOptions, 'source'>,
): { result?: ImportResult; diagnostics: Diagnostic[]; inputs: string[] } {
  const inputs = [modelPath];
  const text = readText(modelPath, 'json');
  if (text.text === undefined) return { diagnostics: text.diagnostics, inputs };
  const parsed = parseTfjsModel(text.text, modelPath);
  if (parsed.model === undefined) return { diagnostics: parsed.diagnostics, inputs };
  const shards = new Map<string, Uint8Array>();
  for (const path of shardPaths(parsed.model)) {
    const full = join(dirname(modelPath), path);
    inputs.push(full);
    const bytes = readBytes(full, 'weights');
    if (bytes.bytes === undefined) {
      const missing = bytes.diagnostics.map((d) =>
        error(
          'SEQ601',
          spanOfWhole(modelPath),
          `the weight shard ${path} cannot be read: ${d.message}`,
          'keep the shard files that the weights manifest lists beside model.json',
          { names: [path] },
        ),
      );
      return { diagnostics: missing, inputs };
    }
    shards.set(path, bytes.bytes);
  }
  const decoded = decodeTfjsWeights(parsed.model, shards, modelPath);
  if (decoded.model === undefined) return { diagnostics: decoded.diagnostics, inputs };
  return { result: importKeras(decoded.model, { ...options, source: modelPath }), diagnostics: [], inputs };
}

/** The builtins a custom layer may be mapped to: every one but `repeat`, which needs its `n`. */
const mappable = builtinNames.filter((b) => b !== 'repeat');

/** `--map CLASS=builtin` flags as a map, or SEQ606 for a malformed one. */
function mapFlags(values: readonly string[]): { map: Map<string, string>; diagnostics: Diagnostic[] } {
  const map = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  for (const value of values) {
    const match = /^([A-Za-z_][A-Za-z0-9_.>-]*)=([a-z_]+)$/.exec(value);
    const builtin = match?.[2];
    if (match === null || builtin === undefined || !(mappable as readonly string[]).includes(builtin)) {
      diagnostics.push(
        error(
          'SEQ606',
          spanOfWhole('--map'),
          `\`--map ${value}\` is not CLASS=builtin`,
          `write \`--map CustomLayerClass=last\`; builtins: ${mappable.join(', ')}`,
          { found: value, expected: mappable },
        ),
      );
      continue;
    }
    map.set(match[1]!, builtin);
  }
  return { map, diagnostics };
}
