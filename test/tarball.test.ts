// The published package, checked as a user gets it: `npm pack`, then `npm install ./seqc-X.tgz` in an empty project, then the CLI, `seqc` and `seqc/runtime/node`.
//
// The tarball is built in a staging copy so that this file never rewrites the dist/ that other
// test files import. npm runs with --prefer-offline: in CI `npm ci` has filled its cache first.

import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve('.');
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, { version?: string }>;
};
const ortNodeVersion = lock.packages['node_modules/onnxruntime-node']!.version!;

interface Ran {
  readonly status: number;
  readonly out: string;
  readonly err: string;
}

/** Runs a command with an environment free of the npm_* settings that `npm test` passes down. */
function sh(cwd: string, command: string, args: readonly string[]): Ran {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^npm_/i.test(key) && key !== 'INIT_CWD') env[key] = value;
  }
  const ran = spawnSync(command, args, {
    cwd,
    env: { ...env, NO_COLOR: '1', npm_config_update_notifier: 'false' },
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { status: ran.status ?? -1, out: ran.stdout ?? '', err: `${ran.stderr ?? ''}${ran.error?.message ?? ''}` };
}

function npm(cwd: string, ...args: string[]): Ran {
  return sh(cwd, 'npm', [...args, '--no-audit', '--no-fund', '--prefer-offline']);
}

/**
 * npm's warnings, less the two that a user who installs from the registry never sees or that we
 * cannot act on: `prepare` listed as an install script (npm lists it only for packages installed from
 * a file or git, as this test does), and protobufjs's postinstall (a version-scheme check of
 * a dependency; harmless, and its to approve or deny).
 */
function warnings(ran: Ran): string[] {
  return `${ran.out}\n${ran.err}`
    .split('\n')
    .filter((line) => /^npm (warn|WARN|error|ERR)/.test(line))
    .filter((line) => !/^npm warn install-scripts\s*$/.test(line))
    .filter((line) => !/install-scripts (\d+ packages? ha(ve|s) install scripts|Run `npm install-scripts)/.test(line))
    .filter((line) => !/install-scripts\s+seqc@[\d.]+ \(prepare: /.test(line))
    .filter((line) => !/install-scripts\s+protobufjs@[\d.]+ \(postinstall: node scripts\/postinstall\)/.test(line));
}

/** Bytes of the files under `dir`, links not followed. */
function bytesUnder(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => {
    const path = join(dir, name);
    const stat = lstatSync(path);
    return sum + (stat.isDirectory() ? bytesUnder(path) : stat.size);
  }, 0);
}

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix)).flatMap((name) => {
    const path = join(prefix, name);
    return lstatSync(join(dir, path)).isDirectory() ? filesUnder(dir, path) : [path];
  });
}

const spec = 'model M {\n  input x: float32[batch, time, 2]\n  x -> GRU(hidden=3) -> last -> output y\n}\n';

describe('the npm package', () => {
  let work: string;
  let tarball: string;
  let packed: string[];
  let app: string;
  let installed: Ran;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'seqc-tarball-'));
    const stage = join(work, 'stage');
    mkdirSync(stage);
    for (const entry of [
      'package.json',
      'README.md',
      'ARCHITECTURE.md',
      'LICENSE',
      'tsconfig.json',
      'tsconfig.build.json',
      'bin',
      'src',
      'grammar',
      'docs',
    ])
      cpSync(entry, join(stage, entry), { recursive: true });
    mkdirSync(join(stage, 'bench'));
    for (const name of readdirSync('bench').filter((n) => n.endsWith('.md')))
      cpSync(join('bench', name), join(stage, 'bench', name));
    cpSync('playground/screenshots', join(stage, 'playground/screenshots'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: stage,
    });
    const pack = npm(stage, 'pack', '--ignore-scripts', '--json', '--pack-destination', work);
    expect(pack.status, pack.err).toBe(0);
    const report = JSON.parse(pack.out) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, report[0]!.filename);
    packed = report[0]!.files.map((f) => f.path);

    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
    );
    installed = npm(app, 'install', tarball);
  }, 600_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('ships the licence, the docs the README links to, and no source maps', () => {
    expect(packed).toContain('LICENSE');
    expect(packed).toContain('dist/src/index.js');
    expect(packed).toContain('dist/src/runtime/node-ort.js');
    expect(packed.filter((p) => p.endsWith('.map'))).toEqual([]);
    const broken = packed
      .filter((p) => p.endsWith('.md'))
      .flatMap((doc) =>
        [...readFileSync(doc, 'utf8').matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
          .map((m) => m[1]!)
          .filter((target) => !/^[a-z]+:/.test(target))
          .map((target) => normalize(join(dirname(doc), target)))
          .filter((target) => !packed.includes(target) && !packed.some((p) => p.startsWith(`${target}/`)))
          .map((target) => `${doc} -> ${target}`),
      );
    expect(broken).toEqual([]);
  });

  it('installs without ONNX Runtime, without downloads and without npm warnings, in a few MB', () => {
    expect(installed.status, installed.err).toBe(0);
    expect(warnings(installed)).toEqual([]);
    const modules = join(app, 'node_modules');
    expect(existsSync(join(modules, 'seqc/package.json'))).toBe(true);
    expect(existsSync(join(modules, 'onnxruntime-node'))).toBe(false);
    expect(existsSync(join(modules, 'onnxruntime-web'))).toBe(false);
    expect(existsSync(join(modules, 'h5wasm'))).toBe(false);
    // 2026-11: 9.6 MB, of which seqc is 1 MB and chevrotain, lodash-es, protobufjs and @types/node the rest (with ONNX Runtime it was 455 MB); later @huggingface/tokenizers (0.6 MB). h5wasm (15 MB) is an optional peer.
    expect(bytesUnder(modules)).toBeLessThan(20_000_000);
  });

  it('compiles, checks and summarizes with `npx seqc`, and reports SEQ340 when asked to run without onnxruntime-node and SEQ609 to import a .h5 without h5wasm', () => {
    writeFileSync(join(app, 'm.seq'), spec);
    for (const command of ['check', 'summary']) {
      const ran = sh(app, 'npx', ['--no', 'seqc', command, 'm.seq']);
      expect(ran.err).toBe('');
      expect(ran.status).toBe(0);
    }
    const compiled = sh(app, 'npx', ['--no', 'seqc', 'compile', 'm.seq']);
    expect(compiled.err).toBe('');
    expect(compiled.status).toBe(0);
    expect(existsSync(join(app, 'm.onnx'))).toBe(true);
    const ran = sh(app, 'npx', ['--no', 'seqc', 'run', 'm.onnx', '--input', 'x=[[[1,2]]]']);
    expect(ran.status).toBe(1);
    expect(ran.err).toContain('error[SEQ340]');
    expect(ran.err).toContain('npm install onnxruntime-node');
    // h5wasm (15 MB) is an optional peer too: TF.js model.json imports without it, Keras's HDF5 files do not.
    writeFileSync(join(app, 'm.h5'), 'not read: h5wasm is missing');
    const imported = sh(app, 'npx', ['--no', 'seqc', 'import', 'm.h5', '-o', 'imported.seq']);
    expect(imported.status).toBe(1);
    expect(imported.err).toContain('error[SEQ609]');
    expect(imported.err).toContain('npm install h5wasm');
    expect(existsSync(join(app, 'imported.seq'))).toBe(false);
  }, 300_000);

  it("compiles through `import { compile } from 'seqc'`", () => {
    writeFileSync(
      join(app, 'compile.mjs'),
      `import { compile } from 'seqc';\nconst r = compile(${JSON.stringify(spec)});\nconsole.log(r.diagnostics.length, r.model.length > 0);\n`,
    );
    const ran = sh(app, process.execPath, ['compile.mjs']);
    expect(ran.err).toBe('');
    expect(ran.out.trim()).toBe('0 true');
  });

  it('runs through `seqc/runtime/node` once onnxruntime-node is installed, which downloads nothing when its script is denied', () => {
    // What the README tells users: deny onnxruntime-node's postinstall, which only fetches CUDA libraries from NuGet.
    const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ ...manifest, allowScripts: { 'onnxruntime-node': false } }, null, 2)}\n`,
    );
    const added = npm(app, 'install', `onnxruntime-node@${ortNodeVersion}`);
    expect(added.status, added.err).toBe(0);
    expect(warnings(added)).toEqual([]);
    const binaries = filesUnder(join(app, 'node_modules/onnxruntime-node/bin'));
    expect(binaries.some((f) => f.endsWith('onnxruntime_binding.node'))).toBe(true);
    expect(binaries.filter((f) => /providers_(cuda|tensorrt|shared)/.test(f))).toEqual([]);

    writeFileSync(
      join(app, 'run.mjs'),
      [
        "import { compile } from 'seqc';",
        "import { loadModel, runModel } from 'seqc/runtime/node';",
        `const { model } = compile(${JSON.stringify(spec)});`,
        "const loaded = await loadModel(model, 'm.onnx');",
        "const run = await runModel(loaded.model, new Map([['x', { dtype: 'float32', dims: [1, 2, 2], data: Float32Array.of(1, 2, 3, 4) }]]));",
        "console.log(JSON.stringify(run.outputs.get('y').dims));",
        '',
      ].join('\n'),
    );
    const ran = sh(app, process.execPath, ['run.mjs']);
    expect(ran.err).toBe('');
    expect(ran.out.trim()).toBe('[1,3]');
  }, 300_000);
});

describe('our own install', () => {
  it('did not download the CUDA libraries onnxruntime-node fetches on Linux x64 (allowScripts denies its postinstall)', () => {
    const bin = 'node_modules/onnxruntime-node/bin';
    expect(filesUnder(bin).some((f) => f.endsWith('onnxruntime_binding.node'))).toBe(true);
    expect(filesUnder(bin).filter((f) => /providers_(cuda|tensorrt|shared)/.test(f))).toEqual([]);
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(manifest.allowScripts?.['onnxruntime-node']).toBe(false);
  });

  it('gives npm no unknown settings or unreviewed install scripts to warn about', () => {
    const listed = sh(root, 'npm', ['install-scripts', 'ls']);
    expect(listed.err).toBe('');
    expect(listed.out).toContain('No packages with unreviewed install scripts');
  });
});
