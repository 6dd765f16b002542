// What the benchmarks share: PyTorch-default random parameters, and the statistics and formatting of timings.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IrParameter } from '../src/ir/ir.js';

export function randomParameter(parameter: IrParameter, random: () => number): Float32Array {
  const data = new Float32Array(parameter.shape.reduce((a, b) => a * b, 1));
  const init = parameter.init;
  switch (init.kind) {
    case 'uniform':
      for (let i = 0; i < data.length; i++) data[i] = (2 * random() - 1) * init.bound;
      break;
    case 'normal':
      for (let i = 0; i < data.length; i++) data[i] = normal(random) * init.std;
      break;
    case 'ones':
      data.fill(1);
      break;
    case 'zeros':
      break;
  }
  return data;
}

/** A standard normal sample by the Box–Muller transform. */
export function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

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
