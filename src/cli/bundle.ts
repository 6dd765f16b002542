// Writing a decoder model's bundle: every graph and the manifest, all or nothing.

import { unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BundleFileEntry, BundleManifest, CompiledBundle } from '../index.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { writeAtomically } from './io.js';

/**
 * Writes a decoder model's bundle next to `out` (`x.onnx`, `x.encoder.onnx`, …, `x.manifest.json`),
 * named after its stem. Either every file is written or none is left behind.
 */
export function writeBundle(out: string, bundle: CompiledBundle, fail: (d: Diagnostic) => void, extra: (stem: string) => [string, Uint8Array | string][] = () => []): string[] | undefined {
  const dir = dirname(out);
  const stem = basename(out).replace(/\.onnx$/, '');
  const oldStem = bundle.manifest.files.scoring.path.replace(/\.onnx$/, '');
  const rename = (file: string): string => stem + file.slice(oldStem.length);
  const rewrite = (entry: BundleFileEntry): BundleFileEntry => ({ ...entry, path: rename(entry.path) });
  const m = bundle.manifest;
  const manifest: BundleManifest = {
    ...m,
    files: {
      scoring: rewrite(m.files.scoring),
      ...(m.files.encoder === undefined ? {} : { encoder: rewrite(m.files.encoder) }),
      step: rewrite(m.files.step),
      greedy: rewrite(m.files.greedy),
    },
  };
  const entries: [string, Uint8Array | string][] = [
    // The weights file keeps its name: the graphs record it as their external data's location.
    [join(dir, bundle.weights.file), bundle.weights.bytes],
    ...bundle.files.map((f): [string, Uint8Array] => [join(dir, rename(f.file)), f.sharedBytes]),
    [join(dir, `${stem}.manifest.json`), `${JSON.stringify(manifest, null, 2)}\n`],
    ...extra(join(dir, stem)),
  ];
  const written: string[] = [];
  for (const [path, data] of entries) {
    const failure = writeAtomically(path, data);
    if (failure !== undefined) {
      for (const done of written) {
        try {
          unlinkSync(done);
        } catch {
          // Nothing more can be done; the diagnostic below names the file that failed.
        }
      }
      fail(failure);
      return undefined;
    }
    written.push(path);
  }
  return written;
}
