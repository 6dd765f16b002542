// Loads onnxruntime-node on first use, so that the compiler and the commands that only compile work where it is not installed (it is an optional peer dependency).

import type * as OrtNode from 'onnxruntime-node';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';

/** The onnxruntime-node module, or the diagnostics that say why it could not be loaded. */
export interface OrtNodeLoad {
  readonly ort?: typeof OrtNode;
  readonly diagnostics: Diagnostic[];
}

const packageName = 'onnxruntime-node';

let loading: Promise<OrtNodeLoad> | undefined;

/**
 * Imports onnxruntime-node once per process. When it is not installed the result is SEQ340, which
 * says what to install; when it is installed but fails to load (a missing native library, an
 * unsupported platform), SEQ340 too, with Node's own message.
 */
export async function loadOrtNode(): Promise<OrtNodeLoad> {
  loading ??= importOrtNode();
  return loading;
}

/**
 * Makes `loadOrtNode` answer as if onnxruntime-node were not installed until the returned function
 * is called. It exists for the tests and the generated docs/errors.md page, which run where it is.
 */
export function pretendOrtNodeIsMissing(): () => void {
  const before = loading;
  loading = Promise.resolve({ diagnostics: [ortNodeMissing()] });
  return () => {
    loading = before;
  };
}

async function importOrtNode(): Promise<OrtNodeLoad> {
  try {
    const ort = (await import(packageName)) as typeof OrtNode;
    return { ort, diagnostics: [] };
  } catch (e) {
    return { diagnostics: [isMissingPackage(e, packageName) ? ortNodeMissing() : ortNodeBroken(e)] };
  }
}

/** Whether `e` is Node's error for `name` itself not being installed (not for something it imports). */
export function isMissingPackage(e: unknown, name: string): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${name}'`);
}

function ortNodeMissing(): Diagnostic {
  return error(
    'SEQ340',
    spanOfWhole(packageName),
    'running a model on Node needs onnxruntime-node, which is not installed',
    'install it next to seqc with `npm install onnxruntime-node` (compile, check and summary work without it)',
    { names: [packageName], expected: 'installed', found: 'not installed' },
  );
}

function ortNodeBroken(e: unknown): Diagnostic {
  const message = e instanceof Error ? e.message : String(e);
  return error(
    'SEQ340',
    spanOfWhole(packageName),
    `onnxruntime-node is installed but could not be loaded: ${message.split('\n')[0]}`,
    'reinstall it with `npm install onnxruntime-node` on this machine; its native library must match the platform and Node version',
    { names: [packageName], found: message.split('\n')[0]! },
  );
}
