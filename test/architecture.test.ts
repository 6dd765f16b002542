// The code's shape, checked: Node-free compiler core, every file in a stage that reads only the stages it names, no cycles, no default exports.

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

const files = [...sourceFiles('src'), ...sourceFiles('grammar')];

/**
 * Every file of src/ and grammar/ in one stage, in order, with what each stage may import: only
 * stages before it, and of those only the ones it names, so a stage neither reaches forward nor
 * sideways into another stage's internals. A name in `reads` is a stage, or one file of a stage
 * when only that file is the contract. ARCHITECTURE.md draws this table.
 */
interface Stage {
  readonly name: string;
  /** Folders (ending in `/`) or files that belong to the stage. */
  readonly paths: readonly string[];
  readonly reads: readonly string[];
}

const stages: readonly Stage[] = [
  { name: 'contracts', paths: ['src/contracts/'], reads: [] },
  { name: 'diagnostics', paths: ['src/diagnostics/'], reads: ['contracts'] },
  { name: 'grammar', paths: ['grammar/'], reads: [] },
  { name: 'syntax', paths: ['src/syntax/'], reads: ['contracts', 'diagnostics', 'grammar'] },
  { name: 'ir', paths: ['src/ir/'], reads: ['contracts', 'diagnostics'] },
  { name: 'check', paths: ['src/check/'], reads: ['contracts', 'diagnostics', 'syntax', 'ir'] },
  { name: 'weights', paths: ['src/weights/'], reads: ['contracts', 'diagnostics', 'ir'] },
  { name: 'onnx', paths: ['src/onnx/'], reads: ['contracts', 'diagnostics'] },
  { name: 'lower', paths: ['src/lower/'], reads: ['contracts', 'diagnostics', 'ir', 'onnx', 'src/weights/types.ts'] },
  { name: 'summary', paths: ['src/summary/'], reads: ['contracts', 'ir'] },
  { name: 'emit', paths: ['src/emit/'], reads: ['contracts', 'ir'] },
  {
    name: 'compile',
    paths: ['src/index.ts', 'src/version.ts'],
    reads: ['contracts', 'diagnostics', 'syntax', 'ir', 'check', 'weights', 'onnx', 'lower', 'summary'],
  },
  { name: 'runtime', paths: ['src/runtime/'], reads: ['contracts', 'diagnostics', 'onnx'] },
  { name: 'serve', paths: ['src/serve/'], reads: ['contracts', 'diagnostics', 'onnx', 'runtime'] },
  { name: 'import', paths: ['src/import/'], reads: ['contracts', 'diagnostics', 'ir', 'check'] },
  {
    name: 'cli',
    paths: ['src/cli/'],
    reads: [
      'contracts',
      'diagnostics',
      'grammar',
      'syntax',
      'ir',
      'check',
      'weights',
      'onnx',
      'lower',
      'summary',
      'compile',
      'runtime',
      'emit',
      'serve',
      'import',
    ],
  },
];

const owns = (path: string, file: string): boolean => (path.endsWith('/') ? file.startsWith(path) : file === path);

function stageOf(file: string): Stage | undefined {
  return stages.find((stage) => stage.paths.some((path) => owns(path, file)));
}

/** The imports among `edges` that leave their file's stage for one it does not name in `reads`. */
function forbiddenImports(edges: readonly { readonly file: string; readonly imports: readonly string[] }[]): string[] {
  return edges.flatMap(({ file, imports }) => {
    const from = stageOf(file);
    if (from === undefined) return [];
    return imports
      .filter((target) => target.endsWith('.ts'))
      .filter((target) => {
        const to = stageOf(target);
        if (to === from) return false;
        return !from.reads.some((read) => read === to?.name || owns(read, target));
      })
      .map(
        (target) =>
          `${file} (${from.name}) imports ${relative('.', target)} (${stageOf(target)?.name ?? 'no stage'}), which ${from.name} does not read`,
      );
  });
}

/** Module specifiers a file imports or re-exports, resolved to repo paths where relative. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!);
  return specifiers.map((s) => (s.startsWith('.') ? normalize(join(dirname(file), s)).replace(/\.js$/, '.ts') : s));
}

/** Files that may use Node: the command line and the onnxruntime-node runtime. */
const nodeOnly = (file: string): boolean =>
  file.startsWith('src/cli/') ||
  file.startsWith('src/serve/') ||
  file === 'src/runtime/node.ts' ||
  file === 'src/runtime/node-ort.ts';

describe('architecture', () => {
  it('keeps the compiler core free of Node APIs so it runs in a browser', () => {
    const offenders = files
      .filter((f) => !nodeOnly(f))
      .flatMap((f) =>
        importsOf(f)
          .filter((s) => s.startsWith('node:') || ['fs', 'path', 'os', 'onnxruntime-node'].includes(s))
          .map((s) => `${f} imports ${s}`),
      );
    expect(offenders).toEqual([]);
    const globals = files
      .filter((f) => !nodeOnly(f))
      .filter((f) => /\b(process\.|Buffer\.|require\()/.test(readFileSync(f, 'utf8')));
    expect(globals).toEqual([]);
  });

  it('loads onnxruntime-node only through src/runtime/node-ort.ts, so the compiler runs where it is not installed', () => {
    const valueImport = /^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'onnxruntime-node(?:\/[^']*)?'/ms;
    expect(
      files.filter((f) => f !== 'src/runtime/node-ort.ts').filter((f) => valueImport.test(readFileSync(f, 'utf8'))),
    ).toEqual([]);
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

  it('puts every file of src/ and grammar/ in exactly one stage', () => {
    const homeless = files.filter(
      (f) => stages.filter((stage) => stage.paths.some((path) => owns(path, f))).length !== 1,
    );
    expect(homeless).toEqual([]);
  });

  it('orders the stages: each reads only stages before it', () => {
    const misordered = stages.flatMap((stage, index) =>
      stage.reads
        .filter((read) => {
          const at = stages.findIndex((s) => s.name === read || s.paths.some((path) => owns(path, read)));
          return at < 0 || at >= index;
        })
        .map((read) => `${stage.name} reads ${read}, which is not a stage before it`),
    );
    expect(misordered).toEqual([]);
  });

  it('never lets a stage import a later stage or one it does not read', () => {
    expect(forbiddenImports(files.map((file) => ({ file, imports: importsOf(file) })))).toEqual([]);
  });

  it('catches a sideways import, a reach forward and a reach into a stage past its contract file', () => {
    const edges = [
      { file: 'src/runtime/session.ts', imports: ['src/lower/lower.ts'] },
      { file: 'src/check/decoder.ts', imports: ['src/runtime/search.ts'] },
      { file: 'src/lower/lower.ts', imports: ['src/check/parameters.ts'] },
      { file: 'src/lower/lower.ts', imports: ['src/weights/random.ts'] },
      {
        file: 'src/lower/lower.ts',
        imports: ['src/weights/types.ts', 'src/lower/pack.ts', 'src/contracts/signature.ts'],
      },
      { file: 'src/cli/run.ts', imports: ['src/runtime/node.ts', 'src/lower/lower.ts'] },
    ];
    expect(forbiddenImports(edges)).toEqual([
      'src/runtime/session.ts (runtime) imports src/lower/lower.ts (lower), which runtime does not read',
      'src/check/decoder.ts (check) imports src/runtime/search.ts (runtime), which check does not read',
      'src/lower/lower.ts (lower) imports src/check/parameters.ts (check), which lower does not read',
      'src/lower/lower.ts (lower) imports src/weights/random.ts (weights), which lower does not read',
    ]);
  });

  it('opens every file with a sentence on its purpose', () => {
    const missing = files.filter((f) => !/^\/\/ \S.*\S/.test(readFileSync(f, 'utf8').split('\n')[0]!));
    expect(missing).toEqual([]);
  });
});
