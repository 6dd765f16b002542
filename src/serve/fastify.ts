// Loads fastify on first use, so that seqc installs without it and only `seqc serve` needs it (an optional peer dependency, as onnxruntime-node is).

import type FastifyModule from 'fastify';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { isMissingPackage } from '../runtime/node-ort.js';

export type FastifyFactory = typeof FastifyModule;

const packageName = 'fastify';

let loading: Promise<{ fastify?: FastifyFactory; diagnostics: Diagnostic[] }> | undefined;

/** Imports fastify once per process; SEQ510 when it is not installed or cannot load. */
export async function loadFastify(): Promise<{ fastify?: FastifyFactory; diagnostics: Diagnostic[] }> {
  loading ??= importFastify();
  return loading;
}

/** Makes `loadFastify` answer as if fastify were not installed until the returned function is called (tests, docs/errors.md). */
export function pretendFastifyIsMissing(): () => void {
  const before = loading;
  loading = Promise.resolve({ diagnostics: [missing()] });
  return () => {
    loading = before;
  };
}

async function importFastify(): Promise<{ fastify?: FastifyFactory; diagnostics: Diagnostic[] }> {
  try {
    const imported = (await import(packageName)) as { default: FastifyFactory };
    return { fastify: imported.default, diagnostics: [] };
  } catch (e) {
    if (isMissingPackage(e, packageName)) return { diagnostics: [missing()] };
    const message = e instanceof Error ? e.message : String(e);
    return {
      diagnostics: [
        error(
          'SEQ510',
          spanOfWhole(packageName),
          `fastify is installed but could not be loaded: ${message.split('\n')[0]}`,
          'reinstall it with `npm install fastify@5`',
        ),
      ],
    };
  }
}

function missing(): Diagnostic {
  return error(
    'SEQ510',
    spanOfWhole(packageName),
    '`seqc serve` needs fastify, which is not installed',
    'install it next to seqc with `npm install fastify@5` (and onnxruntime-node to run the models)',
  );
}
