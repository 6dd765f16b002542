// The code's shape, checked: Node-free compiler core, stages that never reach back, no cycles, no default exports.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

const files = [...sourceFiles('src'), 'grammar/tokens.ts', 'grammar/parser.ts'];

/** Module specifiers a file imports or re-exports, resolved to repo paths where relative. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!);
  return specifiers.map((s) => (s.startsWith('.') ? normalize(join(dirname(file), s)).replace(/\.js$/, '.ts') : s));
}

/** Files that may use Node: the command line and the onnxruntime-node runtime. */
const nodeOnly = (file: string): boolean => file.startsWith('src/cli/') || file === 'src/runtime/node.ts' || file === 'src/runtime/node-ort.ts';

describe('architecture', () => {
  it('keeps the compiler core free of Node APIs so it runs in a browser', () => {
    const offenders = files
      .filter((f) => !nodeOnly(f))
      .flatMap((f) => importsOf(f).filter((s) => s.startsWith('node:') || ['fs', 'path', 'os', 'onnxruntime-node'].includes(s)).map((s) => `${f} imports ${s}`));
    expect(offenders).toEqual([]);
    const globals = files.filter((f) => !nodeOnly(f)).filter((f) => /\b(process\.|Buffer\.|require\()/.test(readFileSync(f, 'utf8')));
    expect(globals).toEqual([]);
  });

  it('loads onnxruntime-node only through src/runtime/node-ort.ts, so the compiler runs where it is not installed', () => {
    const valueImport = /^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'onnxruntime-node(?:\/[^']*)?'/ms;
    expect(files.filter((f) => f !== 'src/runtime/node-ort.ts').filter((f) => valueImport.test(readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('has no default exports', () => {
    expect(files.filter((f) => /export\s+default\b/.test(readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('has no import cycles', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((s) => s.endsWith('.ts'))]));
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('never lets a pipeline stage import a later one', () => {
    const order = ['src/diagnostics', 'grammar', 'src/syntax', 'src/ir', 'src/check', 'src/weights', 'src/onnx', 'src/lower', 'src/summary'];
    const stageOf = (f: string): number => order.findIndex((prefix) => f.startsWith(prefix));
    const violations = files.flatMap((f) => {
      const from = stageOf(f);
      if (from < 0) return [];
      return importsOf(f)
        .filter((s) => s.endsWith('.ts'))
        .filter((s) => stageOf(s) > from)
        .map((s) => `${f} (stage ${order[from]}) imports ${relative('.', s)} (stage ${order[stageOf(s)]})`);
    });
    // The weights stage reads parameters from the IR and the lowering reads gate counts from the checker's tables.
    expect(violations).toEqual([]);
  });

  it('opens every file with a sentence on its purpose', () => {
    const missing = files.filter((f) => !/^\/\/ \S.*\S/.test(readFileSync(f, 'utf8').split('\n')[0]!));
    expect(missing).toEqual([]);
  });
});
