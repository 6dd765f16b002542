// A decoder model's bundle on disk: its files written as one unit (manifest last), and read back through a checked manifest that names only files in its folder.

import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BundleFileEntry, BundleManifest, CompiledBundle, CompileResult } from '../index.js';
import type { BundleTokenizerEntry, BundleTokenizers } from '../contracts/manifest.js';
import type { EmbeddingOp } from '../ir/ir.js';
import { readTokenizer, type TextTokenizer } from '../runtime/tokenizer.js';
import { tokenizerEntry, tokenizerFitProblems, type TokenizerFit } from '../runtime/text.js';
import type { FlagSpec, ParsedArgs } from './args.js';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { bundleFileKeys, checkManifest } from '../runtime/manifest.js';
import type { BundleSource } from '../runtime/generate.js';
import { readBytes, readText, writeFilesAtomically, type FileToWrite, type WriteOptions } from './io.js';

/**
 * The files of a decoder model's bundle written next to `out` (`x.onnx`, `x.encoder.onnx`, …,
 * `x.manifest.json`), named after its stem, in the order they are put in place: the graphs, then
 * the manifest. A bundle that gains a file gains a line here, before the manifest.
 */
export function bundleFiles(out: string, bundle: CompiledBundle, tokenizers: TokenizerFiles = {}): FileToWrite[] {
  const dir = dirname(out);
  const stem = basename(out).replace(/\.onnx$/, '');
  const oldStem = bundle.manifest.files.scoring.path.replace(/\.onnx$/, '');
  const rename = (file: string): string => stem + file.slice(oldStem.length);
  const rewrite = (entry: BundleFileEntry): BundleFileEntry => ({ ...entry, path: rename(entry.path) });
  const m = bundle.manifest;
  const carried = tokenizerFileNames(stem, tokenizers);
  const manifest: BundleManifest = {
    ...m,
    files: {
      scoring: rewrite(m.files.scoring),
      ...(m.files.encoder === undefined ? {} : { encoder: rewrite(m.files.encoder) }),
      step: rewrite(m.files.step),
      greedy: rewrite(m.files.greedy),
    },
    ...(carried.entries.source === undefined && carried.entries.target === undefined
      ? {}
      : { tokenizers: carried.entries }),
  };
  return [
    // The weights file keeps its name: the graphs record it as their external data's location.
    { path: join(dir, bundle.weights.file), data: bundle.weights.bytes },
    ...bundle.files.map((f): FileToWrite => ({ path: join(dir, rename(f.file)), data: f.sharedBytes })),
    ...carried.files.map((f): FileToWrite => ({ path: join(dir, f.path), data: f.data })),
    { path: bundleManifestPath(out), data: `${JSON.stringify(manifest, null, 2)}\n` },
  ];
}

/** A tokenizer file given to `seqc compile`: its text, copied into the bundle as it is, and what it reads as. */
export interface TokenizerFile {
  readonly text: string;
  readonly tokenizer: TextTokenizer;
}

/** The tokenizers a bundle carries: `source` for a seq2seq model's source, `target` for the decoder's ids. */
export interface TokenizerFiles {
  readonly source?: TokenizerFile;
  readonly target?: TokenizerFile;
}

/** The tokenizer flags of `seqc compile`: `--tokenizer` for both sides (the target only, for a language model). */
export const tokenizerFlags: readonly FlagSpec[] = [
  {
    name: 'tokenizer',
    takesValue: true,
    description: "a tokenizer.json or JSON vocabulary list for the bundle's source and target",
  },
  { name: 'src-tokenizer', takesValue: true, description: "the source's tokenizer, when it differs from the target's" },
  { name: 'tgt-tokenizer', takesValue: true, description: "the target's tokenizer, when it differs from the source's" },
];

/**
 * Reads the tokenizer files that `--tokenizer`, `--src-tokenizer` and `--tgt-tokenizer` name and
 * checks each against the model it will feed: the source's against the source Embedding, the
 * target's against the decoder's Embedding, logits, bos and eos (src/runtime/text.ts). A tokenizer
 * for a model without a decoder, or a source tokenizer for a language model, is SEQ248.
 */
export function tokenizersFromArgs(
  args: ParsedArgs,
  result: CompileResult,
): { tokenizers: TokenizerFiles; diagnostics: Diagnostic[]; usageProblem: boolean; inputs: string[] } {
  const both = args.flags.get('tokenizer')?.[0];
  const paths = {
    source: args.flags.get('src-tokenizer')?.[0] ?? both,
    target: args.flags.get('tgt-tokenizer')?.[0] ?? both,
  };
  const inputs = [...new Set([paths.source, paths.target].filter((p) => p !== undefined))];
  if (inputs.length === 0) return { tokenizers: {}, diagnostics: [], usageProblem: false, inputs };
  const bundle = result.bundle;
  const refuse = (flag: string, message: string, hint: string): Diagnostic =>
    error('SEQ248', spanOfWhole(`--${flag}`), message, hint, { flag: `--${flag}` });
  if (bundle === undefined || result.ir?.decoder === undefined) {
    const flag = both !== undefined ? 'tokenizer' : paths.source !== undefined ? 'src-tokenizer' : 'tgt-tokenizer';
    return {
      tokenizers: {},
      diagnostics: [
        refuse(
          flag,
          'only a bundle (a model with a decoder) carries tokenizers, and this model has no decoder',
          'pass the tokenizer when running it: seqc run MODEL --tokenizer INPUT=FILE --text INPUT="…"',
        ),
      ],
      usageProblem: true,
      inputs,
    };
  }
  const manifest = bundle.manifest;
  if (manifest.kind === 'lm' && args.flags.has('src-tokenizer'))
    return {
      tokenizers: {},
      diagnostics: [
        refuse(
          'src-tokenizer',
          `${manifest.name} is a language model, which has no source`,
          'pass its tokenizer with --tokenizer or --tgt-tokenizer',
        ),
      ],
      usageProblem: true,
      inputs,
    };
  const decoder = result.ir.decoder;
  const sourceEmbedding = result.ir.ops.find(
    (op): op is EmbeddingOp => op.kind === 'embedding' && op.input === manifest.source?.input,
  );
  const fits: Record<'source' | 'target', TokenizerFit> = {
    source: {
      side: 'source',
      ...(sourceEmbedding === undefined ? {} : { embeddingVocab: sourceEmbedding.vocab }),
      ...(sourceEmbedding?.paddingIdx === undefined ? {} : { paddingIdx: sourceEmbedding.paddingIdx }),
    },
    target: {
      side: 'target',
      embeddingVocab: decoder.embedding.vocab,
      ...(decoder.embedding.paddingIdx === undefined ? {} : { paddingIdx: decoder.embedding.paddingIdx }),
      logitsVocab: manifest.vocab,
      bos: manifest.bos,
      eos: manifest.eos,
    },
  };
  const diagnostics: Diagnostic[] = [];
  const tokenizers: { -readonly [K in keyof TokenizerFiles]: TokenizerFile } = {};
  const sides = manifest.kind === 'lm' ? (['target'] as const) : (['source', 'target'] as const);
  for (const side of sides) {
    const path = paths[side];
    if (path === undefined) continue;
    const text = readText(path, 'json');
    if (text.text === undefined) {
      diagnostics.push(...text.diagnostics);
      continue;
    }
    const read = readTokenizer(text.text, path);
    diagnostics.push(...read.diagnostics);
    if (read.tokenizer === undefined) continue;
    diagnostics.push(...tokenizerFitProblems(read.tokenizer, fits[side]));
    tokenizers[side] = { text: text.text, tokenizer: read.tokenizer };
  }
  // A file given for both sides is read once per side, and reported once.
  const seen = new Set<string>();
  const unique = diagnostics.filter((d) => {
    const key = `${d.code} ${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { tokenizers, diagnostics: unique, usageProblem: false, inputs };
}

/** Where the manifest of a bundle written to `out` goes: `x.onnx` → `x.manifest.json`. */
export function bundleManifestPath(out: string): string {
  return join(dirname(out), `${basename(out).replace(/\.onnx$/, '')}.manifest.json`);
}

/**
 * The tokenizers that `seqc build` finds beside a spec `DIR/NAME.seq` with a decoder:
 * `NAME.tokenizer.json` for both sides, or `NAME.src-tokenizer.json` and `NAME.tgt-tokenizer.json`
 * (each a tokenizer.json or a JSON vocabulary list), read and checked as `--tokenizer`,
 * `--src-tokenizer` and `--tgt-tokenizer` would be. A spec without a decoder carries none.
 */
export function tokenizersBesideSpec(
  specPath: string,
  result: CompileResult,
): { tokenizers: TokenizerFiles; diagnostics: Diagnostic[]; inputs: string[] } {
  if (result.bundle === undefined) return { tokenizers: {}, diagnostics: [], inputs: [] };
  const stem = specPath.replace(/\.seq$/, '');
  const flags = new Map<string, string[]>();
  for (const [flag, suffix] of [
    ['tokenizer', 'tokenizer'],
    ['src-tokenizer', 'src-tokenizer'],
    ['tgt-tokenizer', 'tgt-tokenizer'],
  ] as const) {
    const path = `${stem}.${suffix}.json`;
    if (existsSync(path)) flags.set(flag, [path]);
  }
  // A language model has no source: a source tokenizer beside it is left unread.
  if (result.bundle.manifest.kind === 'lm') flags.delete('src-tokenizer');
  if (flags.size === 0) return { tokenizers: {}, diagnostics: [], inputs: [] };
  const read = tokenizersFromArgs({ positionals: [specPath], flags }, result);
  return { tokenizers: read.tokenizers, diagnostics: read.diagnostics, inputs: read.inputs };
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
  tokenizers: TokenizerFiles = {},
): Promise<{ written?: string[]; diagnostics: Diagnostic[] }> {
  const files = bundleFiles(out, bundle, tokenizers);
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
    ...(['source', 'target'] as const).flatMap((side) => {
      const entry = manifest.tokenizers?.[side];
      return entry === undefined ? [] : [{ key: `tokenizers.${side}.path`, path: entry.path, kind: 'json' as const }];
    }),
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
    if (files[entry.path] !== undefined) continue;
    const bytes = readBytes(path, entry.kind);
    if (bytes.bytes === undefined) return { diagnostics: bytes.diagnostics };
    files[entry.path] = bytes.bytes;
  }
  return { bundle: { manifest, files }, diagnostics: [] };
}

// Internals.

/** The bundle's tokenizer files and their manifest entries: one `STEM.tokenizer.json` when both sides share a file, else one per side. */
function tokenizerFileNames(
  stem: string,
  tokenizers: TokenizerFiles,
): { files: { path: string; data: string }[]; entries: BundleTokenizers } {
  const { source, target } = tokenizers;
  const shared = source === undefined || target === undefined || source.text === target.text;
  const name = (side: 'source' | 'target'): string =>
    shared ? `${stem}.tokenizer.json` : `${stem}.${side}.tokenizer.json`;
  const files: { path: string; data: string }[] = [];
  const entries: { -readonly [K in keyof BundleTokenizers]: BundleTokenizerEntry } = {};
  for (const side of ['source', 'target'] as const) {
    const file = tokenizers[side];
    if (file === undefined) continue;
    const path = name(side);
    if (!files.some((f) => f.path === path)) files.push({ path, data: file.text });
    entries[side] = tokenizerEntry(file.tokenizer, path);
  }
  return { files, entries };
}

/** Where `path` really is when a link takes it out of `folder`; undefined when it stays (or does not exist, which reading reports). */
function leadsOutside(path: string, folder: string): string | undefined {
  try {
    const real = realpathSync(path);
    return dirname(real) === realpathSync(folder) ? undefined : real;
  } catch {
    return undefined;
  }
}
