// Runs compiled seqc models on onnxruntime-node (CPU, or CUDA where it is installed), with inputs validated against the model's signature.

import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { externalLocations } from '../onnx/external.js';
import { loadOrtNode } from './node-ort.js';
import { error, fileProblem, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { loadBundle as loadBundleOn, type BundleSource, type LoadBundleOptions } from './generate.js';
import { openModel, type LoadedModel } from './session.js';
import { withTokenizers, type TextBundle } from './text.js';

export interface NodeModelOptions {
  /**
   * ONNX Runtime execution providers in order of preference; default ['cpu']. With ['cuda', 'cpu'],
   * a machine without onnxruntime-node's CUDA binaries runs on cpu, with a SEQ308 warning.
   */
  readonly executionProviders?: readonly string[];
  /** Names the model in diagnostics; default: the path, or `<model>` for bytes. */
  readonly name?: string;
  /**
   * ONNX Runtime's log severity, 0 (verbose) to 4 (fatal); default ONNX Runtime's (2, warnings).
   * onnxruntime-node's process-wide log takes it from the first model loaded, so pass 4 on the
   * first load to keep ONNX Runtime's own (coloured) error lines off standard error.
   */
  readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

/**
 * Opens a compiled model: bytes, or the path of a `.onnx` file. The parameters are those of
 * `loadModel` in src/runtime/web.ts. The older form `loadModel(bytes, name, options)` still works.
 * A model that keeps its weights in a file beside it (`seqc compile --external-weights`, or past
 * 2 GiB) has them read from the folder of its path (`source`, or `name` for bytes).
 */
export async function loadModel(
  source: Uint8Array | ArrayBuffer | string,
  options?: NodeModelOptions,
): Promise<{ model?: LoadedModel; diagnostics: Diagnostic[] }>;
/** @deprecated Pass the name as `options.name`: `loadModel(bytes, { name })`. */
export async function loadModel(
  source: Uint8Array,
  name: string,
  options?: NodeModelOptions,
): Promise<{ model?: LoadedModel; diagnostics: Diagnostic[] }>;
export async function loadModel(
  source: Uint8Array | ArrayBuffer | string,
  nameOrOptions: string | NodeModelOptions = {},
  legacyOptions: NodeModelOptions = {},
): Promise<{ model?: LoadedModel; diagnostics: Diagnostic[] }> {
  const options = typeof nameOrOptions === 'string' ? { ...legacyOptions, name: nameOrOptions } : (nameOrOptions ?? {});
  const name = options.name ?? (typeof source === 'string' ? source : '<model>');
  const bytes = bytesOf(source, name);
  if (bytes.bytes === undefined) return { diagnostics: bytes.diagnostics };
  const { ort, diagnostics } = await loadOrtNode();
  if (ort === undefined) return { diagnostics };
  if (options.logSeverityLevel !== undefined) ort.env.logLevel = logLevels[options.logSeverityLevel];
  const opening = {
    executionProviders: options.executionProviders ?? ['cpu'],
    ...(options.logSeverityLevel === undefined ? {} : { logSeverityLevel: options.logSeverityLevel }),
  };
  const locations = externalLocations(bytes.bytes);
  if (locations.length === 0) return openModel(ort, bytes.bytes, name, opening);
  // ONNX Runtime maps the weights from the file itself: quick, and past its 2 GiB limit on a tensor given in memory.
  const path = typeof source === 'string' ? source : name;
  const missing = locations.filter((location) => !existsSync(join(dirname(path), location)));
  if (missing.length > 0) {
    return {
      diagnostics: [
        error(
          'SEQ311',
          spanOfWhole(name),
          `${name} keeps its weights in ${missing.join(', ')}, which is not beside it`,
          `keep ${missing.join(', ')} in the folder of ${path}`,
          { names: missing },
        ),
      ],
    };
  }
  return openModel(ort, bytes.bytes, name, { ...opening, modelPath: path });
}

/** Reads a whole file, also one past the 2 GiB that `readFileSync` stops at, in 1 GiB pieces. */
export function readLargeFile(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const read = readSync(fd, bytes, done, Math.min(2 ** 30, size - done), done);
      if (read === 0) throw new Error(`${path} ended after ${done} of ${size} bytes`);
      done += read;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens a decoder bundle for `generate` (src/runtime/generate.ts) on onnxruntime-node. A bundle
 * built with tokenizers also reads and writes text: `bundle.generateText(["…"])`.
 */
export async function loadBundle(
  source: BundleSource,
  options: LoadBundleOptions = {},
): Promise<{ bundle?: TextBundle; diagnostics: Diagnostic[] }> {
  const { ort, diagnostics } = await loadOrtNode();
  if (ort === undefined) return { diagnostics };
  const loaded = await loadBundleOn(ort, source, options);
  if (loaded.bundle === undefined) return { diagnostics: loaded.diagnostics };
  const text = await withTokenizers(loaded.bundle, source.files);
  return { ...text, diagnostics: [...loaded.diagnostics, ...text.diagnostics] };
}

export * from './api.js';

// Internals.

const logLevels = { 0: 'verbose', 1: 'info', 2: 'warning', 3: 'error', 4: 'fatal' } as const;

function bytesOf(
  source: Uint8Array | ArrayBuffer | string,
  name: string,
): { bytes?: Uint8Array; diagnostics: Diagnostic[] } {
  if (source instanceof Uint8Array) return { bytes: source, diagnostics: [] };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), diagnostics: [] };
  if (typeof source !== 'string')
    return {
      diagnostics: [
        error(
          'SEQ309',
          spanOfWhole(name),
          'a model is bytes (a Uint8Array or an ArrayBuffer) or the path of a .onnx file',
        ),
      ],
    };
  try {
    return { bytes: new Uint8Array(readFileSync(source)), diagnostics: [] };
  } catch (e) {
    const reason = fileProblem(e);
    return {
      diagnostics: [
        error('SEQ311', spanOfWhole(name), `cannot read ${source}: ${reason}`, undefined, { names: [source] }),
      ],
    };
  }
}
