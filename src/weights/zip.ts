// Lists the entries of a zip archive held in memory, as PyTorch writes them, refusing anything odd.

/** One entry of the archive: its name and where its bytes lie in the file. */
export interface ZipEntry {
  readonly name: string;
  /** Offset of the entry's data (past its local header) in the archive. */
  readonly start: number;
  /** Bytes of data as stored in the archive. */
  readonly size: number;
  /** The compression method: 0 for stored, which is all `entryBytes` can give. */
  readonly method: number;
}

/** The entries by name, or the first problem found, in words, for a diagnostic. */
export type ZipListing = { readonly entries: ReadonlyMap<string, ZipEntry> } | { readonly problem: string };

/** At most this many entries: far more than a checkpoint's storages, and bounded work on a hostile directory. */
export const maxZipEntries = 1_000_000;
const maxNameLength = 4096;

const localHeaderSignature = 0x04034b50;
const centralHeaderSignature = 0x02014b50;
const endSignature = 0x06054b50;
const end64Signature = 0x06064b50;
const end64LocatorSignature = 0x07064b50;

/**
 * Reads the central directory of a zip archive (ZIP64 included) and checks every entry: not
 * encrypted, a plain relative name without `..` or backslashes, unique, and data that lies
 * inside the file before the directory and overlaps no other entry. Never throws on bad bytes.
 */
export function listZipEntries(bytes: Uint8Array): ZipListing {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const endAt = findEndRecord(bytes, view);
  if (endAt === undefined) return { problem: 'it has no zip end-of-directory record; the file may be truncated' };
  let count = view.getUint16(endAt + 10, true);
  let directorySize = view.getUint32(endAt + 12, true);
  let directoryStart = view.getUint32(endAt + 16, true);
  if (count === 0xffff || directorySize === 0xffffffff || directoryStart === 0xffffffff) {
    const zip64 = readEnd64(view, endAt);
    if ('problem' in zip64) return zip64;
    ({ count, directorySize, directoryStart } = zip64);
  }
  if (count > maxZipEntries)
    return { problem: `its directory claims ${count} entries, more than the ${maxZipEntries} seqc reads` };
  if (directoryStart + directorySize > endAt) {
    return {
      problem: `its directory claims bytes [${directoryStart}, ${directoryStart + directorySize}), past the end record at ${endAt}`,
    };
  }

  const entries = new Map<string, ZipEntry>();
  const ranges: { start: number; end: number; name: string }[] = [];
  let at = directoryStart;
  const directoryEnd = directoryStart + directorySize;
  for (let index = 0; index < count; index++) {
    if (at + 46 > directoryEnd)
      return { problem: `its directory ends after ${index} of the ${count} entries it claims` };
    if (view.getUint32(at, true) !== centralHeaderSignature) {
      return { problem: `directory entry ${index} at byte ${at} lacks the zip entry signature` };
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    let compressedSize = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let localOffset = view.getUint32(at + 42, true);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > directoryEnd) return { problem: `directory entry ${index} runs past the end of the directory` };
    const name = decodeName(bytes.subarray(at + 46, at + 46 + nameLength));
    if (name === undefined) return { problem: `directory entry ${index} has a name that is not UTF-8 text` };
    const shown = JSON.stringify(name.slice(0, 200));
    if (size === 0xffffffff || compressedSize === 0xffffffff || localOffset === 0xffffffff) {
      const wide = readZip64Extra(view, at + 46 + nameLength, extraLength, {
        size: size === 0xffffffff,
        compressedSize: compressedSize === 0xffffffff,
        localOffset: localOffset === 0xffffffff,
      });
      if (wide === undefined)
        return { problem: `entry ${shown} claims ZIP64 sizes but has no valid ZIP64 extra field` };
      size = wide.size ?? size;
      compressedSize = wide.compressedSize ?? compressedSize;
      localOffset = wide.localOffset ?? localOffset;
    }
    const nameProblem = unsafeName(name, nameLength);
    if (nameProblem !== undefined) return { problem: `entry ${shown} ${nameProblem}` };
    if ((flags & 1) !== 0) return { problem: `entry ${shown} is encrypted` };
    if (method === 0 && compressedSize !== size) {
      return {
        problem: `entry ${shown} is stored but claims ${compressedSize} stored bytes for ${size} bytes of data`,
      };
    }
    if (entries.has(name)) return { problem: `entry ${shown} appears twice` };
    if (localOffset + 30 > directoryStart) {
      return { problem: `entry ${shown} has its header at byte ${localOffset}, outside the archive's data` };
    }
    if (view.getUint32(localOffset, true) !== localHeaderSignature) {
      return { problem: `entry ${shown} points at byte ${localOffset}, which holds no zip entry header` };
    }
    const start = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    if (start + compressedSize > directoryStart) {
      return {
        problem: `entry ${shown} claims bytes [${start}, ${start + compressedSize}), past the start of the directory at ${directoryStart}`,
      };
    }
    entries.set(name, { name, start, size: compressedSize, method });
    ranges.push({ start: localOffset, end: start + compressedSize, name });
    at = next;
  }
  ranges.sort((a, b) => a.start - b.start);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]!.start < ranges[i - 1]!.end) {
      return {
        problem: `entries ${JSON.stringify(ranges[i - 1]!.name)} and ${JSON.stringify(ranges[i]!.name)} overlap in the file`,
      };
    }
  }
  return { entries };
}

/** The bytes of an entry found by `listZipEntries`. */
export function entryBytes(bytes: Uint8Array, entry: ZipEntry): Uint8Array {
  return bytes.subarray(entry.start, entry.start + entry.size);
}

/** The end-of-central-directory record, searched backwards over the longest possible comment. */
function findEndRecord(bytes: Uint8Array, view: DataView): number | undefined {
  const lowest = Math.max(0, bytes.length - 22 - 0xffff);
  for (let at = bytes.length - 22; at >= lowest; at--) {
    if (view.getUint32(at, true) === endSignature && at + 22 + view.getUint16(at + 20, true) === bytes.length)
      return at;
  }
  return undefined;
}

function readEnd64(
  view: DataView,
  endAt: number,
): { count: number; directorySize: number; directoryStart: number } | { problem: string } {
  const locatorAt = endAt - 20;
  if (locatorAt < 0 || view.getUint32(locatorAt, true) !== end64LocatorSignature) {
    return { problem: 'its end record asks for ZIP64 but no ZIP64 locator precedes it' };
  }
  const recordAt = safeUint64(view, locatorAt + 8);
  if (recordAt === undefined || recordAt + 56 > locatorAt || view.getUint32(recordAt, true) !== end64Signature) {
    return { problem: 'its ZIP64 locator points at no ZIP64 end record' };
  }
  const count = safeUint64(view, recordAt + 32);
  const directorySize = safeUint64(view, recordAt + 40);
  const directoryStart = safeUint64(view, recordAt + 48);
  if (count === undefined || directorySize === undefined || directoryStart === undefined) {
    return { problem: 'its ZIP64 end record claims sizes beyond any file' };
  }
  if (directoryStart + directorySize > recordAt) {
    return {
      problem: `its directory claims bytes [${directoryStart}, ${directoryStart + directorySize}), past its end record`,
    };
  }
  return { count, directorySize, directoryStart };
}

/** The ZIP64 extended-information field: the 64-bit values of the fields that were 0xffffffff, in order. */
function readZip64Extra(
  view: DataView,
  extraStart: number,
  extraLength: number,
  wanted: { size: boolean; compressedSize: boolean; localOffset: boolean },
): { size?: number; compressedSize?: number; localOffset?: number } | undefined {
  let at = extraStart;
  const end = extraStart + extraLength;
  while (at + 4 <= end) {
    const id = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    if (at + 4 + length > end) return undefined;
    if (id === 0x0001) {
      let field = at + 4;
      const take = (): number | undefined => {
        if (field + 8 > at + 4 + length) return undefined;
        const value = safeUint64(view, field);
        field += 8;
        return value;
      };
      const size = wanted.size ? take() : undefined;
      const compressedSize = wanted.compressedSize ? take() : undefined;
      const localOffset = wanted.localOffset ? take() : undefined;
      if ((wanted.size && size === undefined) || (wanted.compressedSize && compressedSize === undefined))
        return undefined;
      if (wanted.localOffset && localOffset === undefined) return undefined;
      return {
        ...(size === undefined ? {} : { size }),
        ...(compressedSize === undefined ? {} : { compressedSize }),
        ...(localOffset === undefined ? {} : { localOffset }),
      };
    }
    at += 4 + length;
  }
  return undefined;
}

/** A 64-bit little-endian count, or undefined past 2^53 (no file in memory is that long). */
function safeUint64(view: DataView, at: number): number | undefined {
  if (at + 8 > view.byteLength) return undefined;
  const value = view.getBigUint64(at, true);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

function decodeName(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Why a name is refused, or undefined for a plain relative path such as `archive/data/0`. */
function unsafeName(name: string, length: number): string | undefined {
  if (length === 0) return 'has an empty name';
  if (length > maxNameLength) return `has a name of ${length} bytes, more than ${maxNameLength}`;
  if (name.includes('\\')) return 'has a backslash in its name';
  if (name.includes('\0')) return 'has a NUL character in its name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'has an absolute path as its name';
  if (name.split('/').some((part) => part === '..' || part === '.')) return 'has `.` or `..` in its path';
  return undefined;
}
