// The playground's compiler, off the page's main thread: a quick parse-and-check for live diagnostics, then `compile()` for the ONNX bytes of the target the page will run.

import { checkSource, compile } from '../../src/index.js';
import type { CheckedMessage, CompiledMessage, CompileRequest, WorkerMessage } from './protocol.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<CompileRequest>) => void) | null;
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (event) => {
  const request = event.data;
  try {
    const checked = quickCheck(request);
    scope.postMessage(checked);
    if (checked.ir === undefined) return;
    scope.postMessage(...fullCompile(request));
  } catch (e) {
    scope.postMessage({ id: request.id, phase: 'failed', message: (e as Error).stack ?? String(e) });
  }
};

/** Parse and check only: milliseconds even for large models, so diagnostics follow the typing. */
function quickCheck(request: CompileRequest): CheckedMessage {
  const started = performance.now();
  const { diagnostics, ir, summary } = checkSource(request.source, { sourceName: request.sourceName });
  const base = { id: request.id, phase: 'checked' as const, diagnostics, ms: performance.now() - started };
  return ir === undefined || summary === undefined ? base : { ...base, ir, summary };
}

/**
 * The whole pipeline with seeded weights, for the requested target; the bytes travel to the page
 * without a copy. When the webgpu target refuses the spec (SEQ050: hard sigmoid gates, int64 outputs),
 * the generic graphs instead, with the refusal for the page to show: some nodes will run on the CPU.
 */
function fullCompile(request: CompileRequest): [CompiledMessage, Transferable[]] {
  const started = performance.now();
  const options = { sourceName: request.sourceName, bundleStem: request.stem, seed: 0 };
  let target = request.target;
  let result = compile(request.source, { ...options, target });
  const refused = result.diagnostics.filter((d) => d.code === 'SEQ050');
  if (result.model === undefined && refused.length > 0) {
    target = 'generic';
    result = compile(request.source, { ...options, target });
  }
  const ms = performance.now() - started;
  const files = result.bundle?.files.map((f) => ({ role: f.role, file: f.file, bytes: f.bytes }));
  const message: CompiledMessage = {
    id: request.id,
    phase: 'compiled',
    target,
    ...(target === request.target ? {} : { refused }),
    diagnostics: result.diagnostics,
    ms,
    ...(result.model === undefined ? {} : { model: result.model }),
    ...(result.signature === undefined ? {} : { signature: result.signature }),
    ...(result.bundle === undefined ? {} : { bundle: { manifest: result.bundle.manifest, files: files! } }),
  };
  const buffers = new Set<ArrayBuffer>();
  for (const bytes of [result.model, ...(files ?? []).map((f) => f.bytes)])
    if (bytes !== undefined) buffers.add(bytes.buffer as ArrayBuffer);
  return [message, [...buffers]];
}
