// A decoder model's bundle on disk: its files written as one unit (manifest last), and read back through a checked manifest that names only files in its folder.

import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BundleFileEntry, BundleManifest, CompiledBundle } from '../index.js';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { bundleFileKeys, checkManifest } from '../runtime/manifest.js';
import type { BundleSource } from '../runtime/generate.js';
import { readBytes, readText, writeFilesAtomically, type FileToWrite, type WriteOptions } from './io.js';

/**
 * The files of a decoder model's bundle written next to `out` (`x.onnx`, `x.encoder.onnx`, …,
 * `x.manifest.json`), named after its stem, in the order they are put in place: the graphs, then
 * the manifest. A bundle that gains a file gains a line here, before the manifest.
 */
export function bundleFiles(out: string, bundle: CompiledBundle): FileToWrite[] {
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
  return [
    // The weights file keeps its name: the graphs record it as their external data's location.
    { path: join(dir, bundle.weights.file), data: bundle.weights.bytes },
    ...bundle.files.map((f): FileToWrite => ({ path: join(dir, rename(f.file)), data: f.sharedBytes })),
    { path: bundleManifestPath(out), data: `${JSON.stringify(manifest, null, 2)}\n` },
  ];
}

/** Where the manifest of a bundle written to `out` goes: `x.onnx` → `x.manifest.json`. */
export function bundleManifestPath(out: string): string {
  return join(dirname(out), `${basename(out).replace(/\.onnx$/, '')}.manifest.json`);
}

/**
 * Writes a bundle as one unit, with `extra` files (text dumps) before the manifest: either every
 * file is replaced or none is, and an old bundle in its place stays intact when writing fails.
 */
export async function writeBundle(
  out: string,
  bundle: CompiledBundle,
  extra: readonly FileToWrite[] = [],
  options: WriteOptions = {},
): Promise<{ written?: string[]; diagnostics: Diagnostic[] }> {
  const files = bundleFiles(out, bundle);
  const ordered = [...files.slice(0, -1), ...extra, files[files.length - 1]!];
  const diagnostics = await writeFilesAtomically(ordered, options);
  return diagnostics.length > 0 ? { diagnostics } : { written: ordered.map((f) => f.path), diagnostics };
}

/**
 * Reads a bundle from its manifest: the manifest is checked against its schema first (SEQ320),
 * then only the files it lists are read, each a plain file name in the manifest's folder that does
 * not lead out of it through a link (SEQ321), each within the size limit of a model file.
 */
export function readBundle(manifestPath: string): { bundle?: BundleSource; diagnostics: Diagnostic[] } {
  const text = readText(manifestPath, 'json');
  if (text.text === undefined) return { diagnostics: text.diagnostics };
  let value: unknown;
  try {
    value = JSON.parse(text.text);
  } catch (e) {
    return {
      diagnostics: [
        error(
          'SEQ320',
          spanOfWhole(manifestPath),
          `${manifestPath} is not JSON: ${(e as Error).message}`,
          'a manifest is the .manifest.json that `seqc compile` writes next to a bundle; compile the spec again',
          { names: [manifestPath], expected: 'JSON', found: (e as Error).message },
        ),
      ],
    };
  }
  const checked = checkManifest(value);
  if (checked.manifest === undefined) {
    return {
      diagnostics: checked.issues.map((issue) =>
        issue.kind === 'file'
          ? error(
              'SEQ321',
              spanOfWhole(manifestPath),
              `\`${issue.key}\` ${issue.problem}`,
              "a manifest names its files by plain names, and seqc reads them only from the manifest's folder",
              { names: [manifestPath, issue.key], found: issue.problem },
            )
          : error(
              'SEQ320',
              spanOfWhole(manifestPath),
              issue.key === '' ? issue.problem : `\`${issue.key}\` ${issue.problem}`,
              'compile the spec again with `seqc compile` to get a valid manifest',
              { names: issue.key === '' ? [manifestPath] : [manifestPath, issue.key], found: issue.problem },
            ),
      ),
    };
  }
  const manifest = checked.manifest;
  const folder = dirname(manifestPath);
  const files: Record<string, Uint8Array> = {};
  // The graphs, then the one weights file they share (ONNX external data), which may pass 2 GiB.
  const listed = [
    ...bundleFileKeys.flatMap((key) =>
      manifest.files[key] === undefined
        ? []
        : [{ key: `files.${key}.path`, path: manifest.files[key]!.path, kind: 'model' as const }],
    ),
    ...(manifest.weights === undefined
      ? []
      : [{ key: 'weights.path', path: manifest.weights.path, kind: 'weights' as const }]),
  ];
  for (const entry of listed) {
    const path = join(folder, entry.path);
    const outside = leadsOutside(path, folder);
    if (outside !== undefined)
      return {
        diagnostics: [
          error(
            'SEQ321',
            spanOfWhole(manifestPath),
            `\`${entry.key}\` is ${JSON.stringify(entry.path)}, a link to ${outside}, outside the manifest's folder`,
            "copy the file into the bundle's folder instead of linking to it",
            { names: [manifestPath, entry.key], found: outside },
          ),
        ],
      };
    const bytes = readBytes(path, entry.kind);
    if (bytes.bytes === undefined) return { diagnostics: bytes.diagnostics };
    files[entry.path] = bytes.bytes;
  }
  return { bundle: { manifest, files }, diagnostics: [] };
}

// Internals.

/** Where `path` really is when a link takes it out of `folder`; undefined when it stays (or does not exist, which reading reports). */
function leadsOutside(path: string, folder: string): string | undefined {
  try {
    const real = realpathSync(path);
    return dirname(real) === realpathSync(folder) ? undefined : real;
  } catch {
    return undefined;
  }
}
