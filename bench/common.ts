// What the benchmarks share: the statistics and formatting of timings, and where the repository is.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WeightMap, WeightTensor } from '../src/weights/types.js';
import { loadSettings, type LoadSettings } from './quiet.js';

/** The repository's root folder, whatever the working directory. */
export function repositoryRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
}

export function packageVersion(name: string): string {
  const file = path.join(repositoryRoot(), 'node_modules', ...name.split('/'), 'package.json');
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

export function ratio(value: number, baseline: number): string {
  return `${value / baseline >= 100 ? (value / baseline).toFixed(0) : (value / baseline).toFixed(2)}×`;
}

export function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/**
 * `--quick`, `--out FILE`, `--allow-load` and `--wait-quiet SECONDS` of a benchmark script. A quick run
 * is a smoke test, so it leaves the committed results alone unless told where to write, and does not
 * wait for a quiet machine; a full run writes `bench/<defaultOut>`.
 */
export function parseBenchArguments(
  allArgs: readonly string[],
  script: string,
  defaultOut: string,
): { quick: boolean; out?: string; load: LoadSettings } {
  const { settings, rest: args } = loadSettings(allArgs);
  let quick = false;
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--quick') {
      quick = true;
    } else if (arg === '--out' && i + 1 < args.length) {
      out = args[++i];
    } else if (arg.startsWith('--out=')) {
      out = arg.slice('--out='.length);
    } else {
      console.error(
        `error: unknown argument ${arg}\nusage: tsx ${script} [--quick] [--out FILE] [--allow-load] [--wait-quiet SECONDS]`,
      );
      process.exit(2);
    }
  }
  out ??= quick ? undefined : path.join(repositoryRoot(), 'bench', defaultOut);
  const load = quick ? { ...settings, allowLoad: true, waitMs: 0 } : settings;
  return out === undefined ? { quick, load } : { quick, out, load };
}

/** A parameter the benchmark's spec must have. */
export function parameter(weights: WeightMap, name: string): WeightTensor {
  const t = weights.get(name);
  if (t === undefined) throw new Error(`bench: no parameter ${name}`);
  return t;
}
