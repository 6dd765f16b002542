// Packaging, checked the way a web developer's bundler sees it: each browser entry bundles without Node built-ins, and unused entries shake out.

import { builtinModules } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, type Plugin, type Rolldown } from 'vite';

interface Bundle {
  /** The bundle's JavaScript, all chunks together. */
  readonly code: string;
  /** Every module that ended up in the bundle. */
  readonly modules: readonly string[];
  /** Every import the bundler was asked to resolve, with the file that asked. */
  readonly requested: readonly { readonly specifier: string; readonly importer: string }[];
}

/** Bundles `entry` for the browser with Vite (production mode, ESM, nothing external), in memory. */
async function bundleForBrowser(entry: string): Promise<Bundle> {
  const requested: { specifier: string; importer: string }[] = [];
  const recorder: Plugin = {
    name: 'record-imports',
    enforce: 'pre',
    resolveId(specifier, importer) {
      requested.push({ specifier, importer: importer ?? '' });
      return null;
    },
  };
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    mode: 'production',
    plugins: [recorder],
    build: {
      write: false,
      minify: false,
      emptyOutDir: false,
      lib: { entry, formats: ['es'], fileName: 'entry' },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const chunks = outputs.flatMap((o) => o.output).filter((c): c is Rolldown.OutputChunk => c.type === 'chunk');
  return {
    code: chunks.map((c) => c.code).join('\n'),
    modules: chunks.flatMap((c) => Object.keys(c.modules)),
    requested,
  };
}

const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/**
 * Node built-ins that reach the bundle: imports of them, except those a dependency itself maps to
 * `false` in its package.json `browser` field (protobufjs's optional `fs`, inside a try/catch),
 * which bundlers replace by an empty module; and any import of them left in the emitted code.
 */
function nodeImports(bundle: Bundle): string[] {
  const asked = bundle.requested
    .filter(({ specifier }) => nodeBuiltins.has(specifier) || specifier.startsWith('node:'))
    .filter(({ specifier, importer }) => !browserFieldDisables(importer, specifier))
    .map(({ specifier, importer }) => `${specifier} <- ${relative(process.cwd(), importer)}`);
  const emitted = [
    ...bundle.code.matchAll(
      /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'](node:[^"']+|fs|path|os|crypto|module|url|worker_threads|child_process)["']/g,
    ),
  ].map((m) => `emitted ${m[1]!}`);
  return [...asked, ...emitted];
}

/** Whether the nearest package.json above `importer` (in node_modules) declares `"browser": { [specifier]: false }`. */
function browserFieldDisables(importer: string, specifier: string): boolean {
  for (let dir = dirname(importer); dir.includes('/node_modules/'); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name, browser } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; browser?: unknown };
    if (typeof browser === 'object' && browser !== null && (browser as Record<string, unknown>)[specifier] === false)
      return true;
    if (name !== undefined) return false;
  }
  return false;
}

describe('package entry points', () => {
  let compiler: Bundle;
  let web: Bundle;

  beforeAll(async () => {
    [compiler, web] = await Promise.all([bundleForBrowser('src/index.ts'), bundleForBrowser('src/runtime/web.ts')]);
  });

  it('exports the compiler, the node runtime and the web runtime, with types, from dist', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      type: string;
      sideEffects: boolean;
      exports: Record<string, { types: string; default: string }>;
    };
    expect(pkg.type).toBe('module');
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.exports).toEqual({
      '.': { types: './dist/src/index.d.ts', default: './dist/src/index.js' },
      './runtime/node': { types: './dist/src/runtime/node.d.ts', default: './dist/src/runtime/node.js' },
      './runtime/web': { types: './dist/src/runtime/web.d.ts', default: './dist/src/runtime/web.js' },
    });
  });

  it('bundles the compiler for the browser without Node built-ins', () => {
    expect(compiler.code).toContain('function compile(');
    expect(nodeImports(compiler)).toEqual([]);
  });

  it('bundles the web runtime for the browser without Node built-ins', () => {
    expect(web.code).toContain('function loadModel(');
    expect(web.modules.some((m) => m.includes('onnxruntime-web'))).toBe(true);
    expect(web.code).toMatch(/\bInferenceSession\b/);
    expect(nodeImports(web)).toEqual([]);
  });

  it('notices a Node built-in when one sneaks in (the check itself works)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqc-package-'));
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `import { compile } from '${join(process.cwd(), 'src/index.ts')}';\nimport { readFileSync } from 'node:fs';\nexport const run = (path: string) => compile(readFileSync(path, 'utf8'));\n`,
    );
    const bundle = await bundleForBrowser(entry);
    expect(nodeImports(bundle).join('\n')).toMatch(/node:fs <- .*entry\.ts/);
  });

  it('keeps ONNX Runtime out of the compiler bundle', () => {
    expect(compiler.modules.filter((m) => m.includes('onnxruntime'))).toEqual([]);
    // Messages may name onnxruntime-web; its code (an import, or the InferenceSession it defines) must not be there.
    expect(compiler.code).not.toMatch(/\bInferenceSession\b|(?:from|import)\s*\(?\s*["']onnxruntime/);
  });

  it('keeps the parser and onnxruntime-node out of the web runtime bundle', () => {
    expect(
      web.modules.filter(
        (m) =>
          m.includes('chevrotain') ||
          m.includes('onnxruntime-node') ||
          m.includes('/src/syntax/') ||
          m.includes('/src/check/'),
      ),
    ).toEqual([]);
  });
});
