// Files on disk for the CLI: reads bounded in size and limited to regular files, and writes of one or several files as one unit through temporaries.

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { error, fileProblem, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';

/** What a file holds, which decides the most seqc reads of it. */
export type ReadKind = 'spec' | 'json' | 'input' | 'model' | 'weights';

const MiB = 1024 * 1024;

/**
 * The most bytes seqc reads of each kind of file: specs 8 MiB (the compiler has its own, finer
 * limit on what it parses), JSON files (manifests, vocabularies) 64 MiB, `--input NAME=@FILE`
 * values 256 MiB (a batch of inputs can be large), ONNX graphs 2 GiB
 * (the protobuf limit) and weights 4 GiB − 1 (the largest buffer Node.js holds).
 * `SEQC_MAX_READ_BYTES` replaces every one of them.
 */
export const readLimits: Readonly<Record<ReadKind, number>> = {
  spec: 8 * MiB,
  json: 64 * MiB,
  input: 256 * MiB,
  model: 2048 * MiB,
  weights: 4096 * MiB - 1,
};

/** The environment variable that replaces every read limit. */
export const readLimitVariable = 'SEQC_MAX_READ_BYTES';

/** The limit for a kind of file: `SEQC_MAX_READ_BYTES` when it holds a whole number, else the default. */
export function readLimit(kind: ReadKind): number {
  const raw = process.env[readLimitVariable];
  if (raw !== undefined && /^\d+$/.test(raw.trim())) return Math.min(Number(raw.trim()), readLimits.weights);
  return readLimits[kind];
}

/**
 * Reads a regular file of at most the kind's limit. Devices, FIFOs and sockets are refused before
 * anything is read, the size is checked before reading, and at most limit + 1 bytes are read, so a
 * file that grows meanwhile is still bounded.
 */
export function readFileBounded(path: string, kind: ReadKind): { bytes?: Uint8Array; diagnostics: Diagnostic[] } {
  const limit = readLimit(kind);
  let fd: number | undefined;
  try {
    const before = statSync(path);
    const refused = refusal(path, before, limit, kind);
    if (refused !== undefined) return { diagnostics: [refused] };
    // O_NONBLOCK: if the path became a FIFO since the check, opening it must not wait for a writer.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const opened = fstatSync(fd);
    const refusedNow = refusal(path, opened, limit, kind);
    if (refusedNow !== undefined) return { diagnostics: [refusedNow] };
    let buffer = Buffer.allocUnsafeSlow(Math.min(opened.size, limit) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > limit) break;
        const grown = Buffer.allocUnsafeSlow(Math.min(limit + 1, Math.max(2 * buffer.length, 64 * 1024)));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const count = readSync(fd, buffer, length, Math.min(buffer.length - length, 1 << 30), null);
      if (count === 0) break;
      length += count;
    }
    if (length > limit)
      return { diagnostics: [tooLarge(path, `it grew past ${formatBytes(limit)} while seqc read it`, limit, kind)] };
    return { bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, length), diagnostics: [] };
  } catch (e) {
    return { diagnostics: [fileError(path, e)] };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A text file read as UTF-8 within the kind's limit. */
export function readTextBounded(path: string, kind: ReadKind): { text?: string; diagnostics: Diagnostic[] } {
  const read = readFileBounded(path, kind);
  if (read.bytes === undefined) return { diagnostics: read.diagnostics };
  return {
    text: Buffer.from(read.bytes.buffer, read.bytes.byteOffset, read.bytes.length).toString('utf8'),
    diagnostics: [],
  };
}

/** A file that could not be read: SEQ202 with the reason in words. */
export function fileError(path: string, e: unknown): Diagnostic {
  const problem = fileProblem(e);
  return error('SEQ202', spanOfWhole(path), `cannot read ${path}: ${problem}`, undefined, {
    names: [path],
    found: problem,
  });
}

/** One file of a unit written by `writeFilesAtomically`. */
export interface FileToWrite {
  readonly path: string;
  readonly data: Uint8Array | string;
}

export interface WriteOptions {
  /** Files the command read; none of them may be written over (compared by device and inode, so links count). */
  readonly inputs?: readonly string[];
  /** Writes one temporary file's data; tests pass one that fails to simulate a full disk. */
  readonly writeData?: (handle: FileHandle, data: Uint8Array, path: string) => Promise<void>;
}

/**
 * Writes files as one unit: each into a temporary next to it, then all renamed into place in list
 * order (put a manifest last, so a reader never sees it name a file that is not there yet). If any
 * write fails, every temporary is removed and the old files are left as they were. Targets that
 * exist must be regular files, and none may be one of `options.inputs`. Temporaries are named
 * `.NAME.seqc-tmp-PID-RANDOM`; those of runs that were killed are removed on the next write to
 * their folder.
 */
export async function writeFilesAtomically(
  files: readonly FileToWrite[],
  options: WriteOptions = {},
): Promise<Diagnostic[]> {
  const problems = files.flatMap((file) => targetProblems(file.path, options.inputs ?? []));
  if (problems.length > 0) return problems;
  const writeData = options.writeData ?? writeAll;
  const temporaries: string[] = [];
  let current = 0;
  try {
    for (const folder of new Set(files.map((f) => dirname(resolve(f.path))))) {
      mkdirSync(folder, { recursive: true });
      removeStaleTemporaries(folder);
    }
    for (const file of files) {
      current = temporaries.length;
      const temporary = temporaryName(file.path);
      // Tracked before it exists, so a signal at any moment finds it.
      temporaries.push(temporary);
      track(temporary);
      const handle = await open(temporary, 'wx');
      try {
        await writeData(handle, typeof file.data === 'string' ? Buffer.from(file.data, 'utf8') : file.data, file.path);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  } catch (e) {
    removeAll(temporaries);
    const failed = files[current]!.path;
    return [
      error(
        'SEQ202',
        spanOfWhole(failed),
        `cannot write ${failed}: ${(e as Error).message}`,
        files.length > 1
          ? 'nothing was written; the files that were there before are unchanged'
          : 'nothing was written',
        { names: [failed], found: (e as Error).message },
      ),
    ];
  }
  for (let i = 0; i < files.length; i++) {
    try {
      renameSync(temporaries[i]!, files[i]!.path);
      untrack(temporaries[i]!);
    } catch (e) {
      removeAll(temporaries.slice(i));
      const done = files.slice(0, i).map((f) => f.path);
      return [
        error(
          'SEQ202',
          spanOfWhole(files[i]!.path),
          `cannot write ${files[i]!.path}: ${(e as Error).message}`,
          done.length === 0 ? 'nothing was written' : `${done.join(', ')} were already replaced; write again`,
          { names: [files[i]!.path, ...done], found: (e as Error).message },
        ),
      ];
    }
  }
  return [];
}

/** Writes one file atomically; see `writeFilesAtomically`. */
export async function writeFileAtomically(
  path: string,
  data: Uint8Array | string,
  options: WriteOptions = {},
): Promise<Diagnostic[]> {
  return writeFilesAtomically([{ path, data }], options);
}

/**
 * Lets the CLI remove its live temporaries when it is interrupted: while a temporary exists,
 * SIGINT, SIGTERM and SIGHUP remove them and exit with 128 + the signal's number. Only the command
 * line calls this; a library caller keeps its own signal handling.
 */
export function removeTemporariesOnSignals(): void {
  signalsWanted = true;
  if (live.size > 0) listen();
}

/** The temporaries this process has open now, for tests. */
export function liveTemporaries(): readonly string[] {
  return [...live];
}

/** Removes temporaries left in `folder` by seqc processes that are no longer running. */
export function removeStaleTemporaries(folder: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return removed;
  }
  for (const name of names) {
    const match = temporaryPattern.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isRunning(pid)) continue;
    const path = join(folder, name);
    try {
      if (!lstatSync(path).isFile()) continue;
      unlinkSync(path);
      removed.push(path);
    } catch {
      // Another process removed it first, or it cannot be removed; either way it is not ours to fix.
    }
  }
  return removed;
}

// Internals.

const temporaryPattern = /^\..+\.seqc-tmp-(\d+)-[0-9a-f]+$/;

const live = new Set<string>();
let signalsWanted = false;
let listening = false;

const signalCodes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
const handlers = Object.fromEntries(
  Object.entries(signalCodes).map(([signal, code]) => [
    signal,
    (): void => {
      removeAll([...live]);
      process.exit(code);
    },
  ]),
) as Record<keyof typeof signalCodes, () => void>;

function listen(): void {
  if (listening) return;
  listening = true;
  for (const signal of Object.keys(signalCodes) as (keyof typeof signalCodes)[]) process.on(signal, handlers[signal]);
}

function stopListening(): void {
  if (!listening) return;
  listening = false;
  for (const signal of Object.keys(signalCodes) as (keyof typeof signalCodes)[]) process.off(signal, handlers[signal]);
}

/** While no temporary is live the default signal handling applies, so an interrupted compile stops at once. */
function track(temporary: string): void {
  live.add(temporary);
  if (signalsWanted) listen();
}

function untrack(temporary: string): void {
  live.delete(temporary);
  if (live.size === 0) stopListening();
}

function removeAll(temporaries: readonly string[]): void {
  for (const temporary of temporaries) {
    try {
      unlinkSync(temporary);
    } catch {
      // Already gone.
    }
    untrack(temporary);
  }
}

function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.seqc-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  const chunk = 64 * MiB;
  for (let at = 0; at < data.length;) {
    const { bytesWritten } = await handle.write(data, at, Math.min(chunk, data.length - at));
    at += bytesWritten;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a path that exists cannot be read: not a regular file, or larger than the limit. */
function refusal(path: string, stats: Stats, limit: number, kind: ReadKind): Diagnostic | undefined {
  if (stats.isDirectory())
    return error('SEQ202', spanOfWhole(path), `cannot read ${path}: it is a folder`, undefined, {
      names: [path],
      expected: 'a regular file',
      found: 'a folder',
    });
  if (!stats.isFile())
    return error(
      'SEQ204',
      spanOfWhole(path),
      `cannot read ${path}: it is ${fileType(stats)}, not a regular file`,
      'seqc reads only regular files; save the data to a file first',
      { names: [path], expected: 'a regular file', found: fileType(stats) },
    );
  if (stats.size > limit)
    return tooLarge(path, `it is ${stats.size.toLocaleString('en-US')} bytes`, limit, kind, stats.size);
  return undefined;
}

function tooLarge(path: string, found: string, limit: number, kind: ReadKind, size?: number): Diagnostic {
  return error(
    'SEQ203',
    spanOfWhole(path),
    `${path} is too large to read: ${found}, and seqc reads at most ${formatBytes(limit)} of a ${kindNames[kind]}`,
    `set ${readLimitVariable} to a larger number of bytes to raise the limit (at most ${formatBytes(readLimits.weights)})`,
    { names: [path], limit, ...(size === undefined ? {} : { found: size }) },
  );
}

const kindNames: Readonly<Record<ReadKind, string>> = {
  spec: 'spec',
  json: 'JSON file',
  input: 'run input',
  model: 'model file',
  weights: 'weights file',
};

/** Problems with writing `path`: it exists and is not a regular file, or it is one of the inputs. */
function targetProblems(path: string, inputs: readonly string[]): Diagnostic[] {
  let target: Stats;
  try {
    target = statSync(path);
  } catch {
    // Nothing there (or a dangling link, which the rename replaces): nothing to protect.
    return [];
  }
  if (!target.isFile()) {
    return [
      error(
        'SEQ205',
        spanOfWhole(path),
        `will not write ${path}: it is ${fileType(target)}, not a regular file`,
        'choose another output path; seqc replaces only regular files',
        { names: [path], expected: 'a regular file', found: fileType(target) },
      ),
    ];
  }
  for (const input of inputs) {
    let source: Stats;
    try {
      source = statSync(input);
    } catch {
      continue;
    }
    if (source.dev === target.dev && source.ino === target.ino) {
      return [
        error(
          'SEQ206',
          spanOfWhole(path),
          `will not write ${path}: it is the input ${input}${resolve(input) === resolve(path) ? '' : ' (through a link)'}`,
          'choose another output path, such as one ending in .onnx',
          { names: [path, input] },
        ),
      ];
    }
  }
  return [];
}

function fileType(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * MiB) return `${+(bytes / (1024 * MiB)).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${+(bytes / MiB).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(2)} KiB`;
  return `${bytes} bytes`;
}
