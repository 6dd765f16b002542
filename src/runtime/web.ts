// Runs compiled seqc models in the browser on onnxruntime-web (wasm or WebGPU), with inputs validated before they reach a kernel; it imports nothing from Node.

// The WebGPU build: its 'webgpu' is the native WebGpuExecutionProvider, with LSTM and GRU kernels, and it
// has the wasm provider too. The default `onnxruntime-web` build's 'webgpu' is the older JS provider,
// which has no recurrent kernel, so recurrent layers would silently run on the CPU there.
import * as ort from 'onnxruntime-web/webgpu';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { loadBundle as loadBundleOn, type BundleSource, type LoadBundleOptions } from './generate.js';
import { parseManifest } from './manifest.js';
import { openModel, type LoadedModel } from './session.js';
import { withTokenizers, type TextBundle } from './text.js';

export interface WebModelOptions {
  /** Execution providers in order of preference: ['wasm'] (the default), ['webgpu'], or ['webgpu', 'wasm']. */
  readonly executionProviders?: readonly string[];
  /**
   * Where onnxruntime-web fetches its `.wasm` files: a folder URL ending in `/`, or the file URLs.
   * Set it when a bundler does not serve them next to onnxruntime-web's script. It is global to
   * onnxruntime-web, so the last model loaded with it decides.
   */
  readonly wasmPaths?: string | { readonly wasm?: string; readonly mjs?: string };
  /** Threads for the wasm provider; default onnxruntime-web's (1 unless the page is cross-origin isolated). Global too. */
  readonly numThreads?: number;
  /** Names the model in diagnostics; default: the URL, or `<model>` for bytes. */
  readonly name?: string;
  /**
   * The session's log severity, 0 (verbose) to 4 (fatal); default ONNX Runtime's (2, warnings). At 0
   * the console gets ONNX Runtime's "Node placements" log: which provider runs each node.
   */
  readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

/**
 * Fetches (for a URL) and opens a compiled model. The parameters are those of `loadModel` in
 * src/runtime/node.ts: the model, then options with `name` and `executionProviders`.
 */
export async function loadModel(
  source: Uint8Array | ArrayBuffer | string | URL,
  options: WebModelOptions = {},
): Promise<{ model?: LoadedModel; diagnostics: Diagnostic[] }> {
  configure(options);
  const name =
    options.name ?? (source instanceof Uint8Array || source instanceof ArrayBuffer ? '<model>' : String(source));
  const bytes = await bytesOf(source, name);
  if (bytes.bytes === undefined) return { diagnostics: bytes.diagnostics };
  return openModel(ort, bytes.bytes, name, {
    executionProviders: options.executionProviders ?? ['wasm'],
    ...(options.logSeverityLevel === undefined ? {} : { logSeverityLevel: options.logSeverityLevel }),
  });
}

/**
 * Opens a decoder bundle for `generate` (src/runtime/generate.ts) on onnxruntime-web. A bundle
 * built with tokenizers also reads and writes text: `bundle.generateText(["…"])`. When
 * `executionProviders` starts with `'webgpu'`, the decoder state stays on the GPU between steps
 * (`stateLocation`, default `'gpu-buffer'` there); on wasm it is always `'cpu'`.
 */
export async function loadBundle(
  source: BundleSource,
  options: LoadBundleOptions & Pick<WebModelOptions, 'wasmPaths' | 'numThreads'> = {},
): Promise<{ bundle?: TextBundle; diagnostics: Diagnostic[] }> {
  configure(options);
  const executionProviders = options.executionProviders ?? ['wasm'];
  const loaded = await loadBundleOn(ort, source, {
    executionProviders,
    stateLocation: await stateLocationFor(executionProviders, options.stateLocation),
  });
  if (loaded.bundle === undefined) return { diagnostics: loaded.diagnostics };
  const text = await withTokenizers(loaded.bundle, source.files);
  return { ...text, diagnostics: [...loaded.diagnostics, ...text.diagnostics] };
}

/**
 * Fetches a bundle's manifest and the files that generation uses (encoder, step, greedy graph and
 * the weights file they share, once; not the scoring graph), each relative to the manifest's URL,
 * then opens it.
 */
export async function fetchBundle(
  manifestUrl: string | URL,
  options: LoadBundleOptions & Pick<WebModelOptions, 'wasmPaths' | 'numThreads'> = {},
): Promise<{ bundle?: TextBundle; diagnostics: Diagnostic[] }> {
  const base = new URL(String(manifestUrl), globalThis.location?.href);
  let manifest: unknown;
  try {
    const response = await fetch(base);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    manifest = await response.json();
  } catch (e) {
    return {
      diagnostics: [
        error(
          'SEQ311',
          spanOfWhole(base.href),
          `could not fetch the manifest ${base.href}: ${(e as Error).message}`,
          undefined,
          { names: [base.href] },
        ),
      ],
    };
  }
  const parsed = parseManifest(manifest);
  // An unusable manifest is reported by loadBundle itself.
  const graphs =
    parsed.manifest === undefined
      ? []
      : Object.values(parsed.manifest.files).filter((f) => f !== undefined && f !== parsed.manifest!.files.scoring);
  // The weights file, which every graph reads, is fetched once; then the tokenizers, where the bundle has them.
  const tokenizers = Object.values(parsed.manifest?.tokenizers ?? {}).filter((t) => t !== undefined);
  const entries = [
    ...graphs,
    ...(parsed.manifest?.weights === undefined ? [] : [parsed.manifest.weights]),
    ...tokenizers.filter((t, i) => tokenizers.findIndex((u) => u.path === t.path) === i),
  ];
  const files: Record<string, Uint8Array> = {};
  for (const entry of entries) {
    const fetched = await bytesOf(new URL(entry.path, base), entry.path);
    if (fetched.bytes === undefined) return { diagnostics: fetched.diagnostics };
    files[entry.path] = fetched.bytes;
  }
  return loadBundle({ manifest, files }, options);
}

export * from './api.js';

// Internals.

/**
 * The state stays on the GPU only when the sessions' first provider is WebGPU, and then unless asked not to.
 * It stays on the CPU where ONNX Runtime would fall back to wasm for want of WebGPU (no `navigator.gpu`, or
 * no adapter from it), and with onnxruntime-web's worker proxy, which refuses `preferredOutputLocation`.
 */
async function stateLocationFor(
  executionProviders: readonly string[],
  asked: LoadBundleOptions['stateLocation'],
): Promise<'cpu' | 'gpu-buffer'> {
  if (executionProviders[0] !== 'webgpu' || ort.env.wasm.proxy === true || asked === 'cpu') return 'cpu';
  return (await hasWebGpuAdapter()) ? 'gpu-buffer' : 'cpu';
}

async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (gpu === undefined) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

function configure(options: Pick<WebModelOptions, 'wasmPaths' | 'numThreads'>): void {
  if (options.wasmPaths !== undefined)
    ort.env.wasm.wasmPaths = typeof options.wasmPaths === 'string' ? options.wasmPaths : { ...options.wasmPaths };
  if (options.numThreads !== undefined) ort.env.wasm.numThreads = options.numThreads;
}

async function bytesOf(
  source: Uint8Array | ArrayBuffer | string | URL,
  name: string,
): Promise<{ bytes?: Uint8Array; diagnostics: Diagnostic[] }> {
  if (source instanceof Uint8Array) return { bytes: source, diagnostics: [] };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), diagnostics: [] };
  try {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    return { bytes: new Uint8Array(await response.arrayBuffer()), diagnostics: [] };
  } catch (e) {
    return {
      diagnostics: [
        error('SEQ311', spanOfWhole(name), `could not fetch ${name}: ${(e as Error).message}`, undefined, {
          names: [name],
        }),
      ],
    };
  }
}
