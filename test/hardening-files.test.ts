// Files as a user meets them: bounded reads of regular files only, outputs that never destroy a device or an input, bundles written whole or not at all, temporaries cleaned up, manifests that stay in their folder.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  truncateSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { main } from '../src/cli/main.js';
import { readBundle, writeBundle } from '../src/cli/bundle.js';
import {
  readFileBounded,
  readLimits,
  readLimitVariable,
  removeStaleTemporaries,
  writeFilesAtomically,
} from '../src/cli/files.js';
import { checkManifest, parseManifest } from '../src/runtime/manifest.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Ran {
  readonly status: number;
  readonly out: string;
  readonly err: string;
  readonly diagnostics: { code: string; message: string; hint?: string }[];
}

/** Runs the CLI with `--json` and returns its exit status and diagnostics. */
async function seqc(...argv: string[]): Promise<Ran> {
  let out = '';
  let err = '';
  const status = await main([...argv, '--json'], { out: (t) => (out += t), err: (t) => (err += t), color: false });
  const document = JSON.parse(out) as { diagnostics: Ran['diagnostics'] };
  return { status, out, err, diagnostics: document.diagnostics };
}

function folder(): string {
  return mkdtempSync(join(tmpdir(), 'seqc-files-'));
}

const tagger = `model Tagger {
  input tokens: int64[batch, time]
  tokens -> embedding: Embedding(vocab=10, dim=4) -> fc: Linear(3) -> output scores
}
`;

const translator = `model TinyTranslator {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)

  encoder {
    src
      -> src_embedding: Embedding(vocab=20, dim=4, padding_idx=0)
      -> encoder: LSTM(hidden=4)
  }

  decoder(bos=1, eos=2, max_length=8) {
    -> tgt_embedding: Embedding(vocab=20, dim=4, padding_idx=0)
    -> decoder: LSTM(hidden=4)
    -> attention: Attention(score=dot)
    -> generator: Linear(20)
  }
}
`;

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** Every file in a folder with its bytes, to compare a folder before and after. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => [name, readFileSync(join(dir, name)).toString('base64')]),
  );
}

const savedLimit = process.env[readLimitVariable];
afterEach(() => {
  if (savedLimit === undefined) delete process.env[readLimitVariable];
  else process.env[readLimitVariable] = savedLimit;
});

describe('reads are bounded and only of regular files', () => {
  it('refuses --weights /dev/zero before reading a byte (SEQ204)', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'tagger.seq'), tagger);
    const started = Date.now();
    const ran = await seqc('compile', join(dir, 'tagger.seq'), '--weights', '/dev/zero');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(ran.status).toBe(1);
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ204']);
    expect(ran.diagnostics[0]!.message).toBe('cannot read /dev/zero: it is a character device, not a regular file');
    expect(ran.diagnostics[0]!.hint).toMatch(/regular files/);
    expect(readdirSync(dir)).toEqual(['tagger.seq']);
  });

  it('refuses a FIFO as the spec without waiting for a writer (SEQ204)', async () => {
    const dir = folder();
    mkfifo(join(dir, 'pipe.seq'));
    const ran = await seqc('compile', join(dir, 'pipe.seq'));
    expect(ran.status).toBe(1);
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ204']);
    expect(ran.diagnostics[0]!.message).toMatch(/is a FIFO \(named pipe\), not a regular file/);
  });

  it('refuses a spec larger than the limit and names the limit and how to raise it (SEQ203)', async () => {
    const dir = folder();
    const spec = join(dir, 'huge.seq');
    writeFileSync(spec, '');
    truncateSync(spec, readLimits.spec + 1); // sparse: nothing is written or read
    const ran = await seqc('compile', spec);
    expect(ran.status).toBe(1);
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ203']);
    expect(ran.diagnostics[0]!.message).toBe(
      `${spec} is too large to read: it is 8,388,609 bytes, and seqc reads at most 8 MiB of a spec`,
    );
    expect(ran.diagnostics[0]!.hint).toMatch(/set SEQC_MAX_READ_BYTES to a larger number of bytes/);
  });

  it('refuses a weights file over 4 GiB by its size alone (SEQ203)', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'tagger.seq'), tagger);
    const weights = join(dir, 'w.safetensors');
    writeFileSync(weights, '');
    truncateSync(weights, 5 * 1024 ** 3);
    const ran = await seqc('compile', join(dir, 'tagger.seq'), '--weights', weights);
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ203']);
    expect(ran.diagnostics[0]!.message).toMatch(
      /it is 5,368,709,120 bytes, and seqc reads at most 4 GiB of a weights file/,
    );
  });

  it('SEQC_MAX_READ_BYTES lowers (and raises) the limit for every kind of file', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'tagger.seq'), tagger);
    process.env[readLimitVariable] = '100';
    const ran = await seqc('compile', join(dir, 'tagger.seq'));
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ203']);
    expect(ran.diagnostics[0]!.message).toMatch(/reads at most 100 bytes of a spec/);
    expect(readFileBounded(join(dir, 'tagger.seq'), 'json').diagnostics.map((d) => d.code)).toEqual(['SEQ203']);
    process.env[readLimitVariable] = String(tagger.length);
    expect(readFileBounded(join(dir, 'tagger.seq'), 'spec').bytes?.length).toBe(tagger.length);
    expect((await seqc('compile', join(dir, 'tagger.seq'))).status).toBe(0);
  });

  it('reads an empty file and reports a missing one as before (SEQ202)', () => {
    const dir = folder();
    writeFileSync(join(dir, 'empty.json'), '');
    expect(readFileBounded(join(dir, 'empty.json'), 'json')).toEqual({ bytes: new Uint8Array(0), diagnostics: [] });
    expect(readFileBounded(join(dir, 'missing.json'), 'json').diagnostics[0]!.message).toMatch(/no such file/);
    expect(readFileBounded(dir, 'json').diagnostics[0]!.message).toMatch(/it is a folder/);
  });

  it('refuses a run input given as @FIFO (SEQ204)', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'tagger.seq'), tagger);
    mkfifo(join(dir, 'input.json'));
    const ran = await seqc('run', join(dir, 'tagger.seq'), '--input', `tokens=@${join(dir, 'input.json')}`);
    expect(ran.status).toBe(1);
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ204']);
  });
});

describe('outputs never destroy what is there', () => {
  it('will not replace a FIFO with the model (SEQ205)', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'tagger.seq'), tagger);
    mkfifo(join(dir, 'out.onnx'));
    const ran = await seqc('compile', join(dir, 'tagger.seq'), '-o', join(dir, 'out.onnx'));
    expect(ran.status).toBe(1);
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ205']);
    expect(ran.diagnostics[0]!.message).toMatch(/it is a FIFO \(named pipe\), not a regular file/);
    expect(ran.diagnostics[0]!.hint).toMatch(/replaces only regular files/);
    expect(lstatSync(join(dir, 'out.onnx')).isFIFO()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['out.onnx', 'tagger.seq']);
  });

  it('will not replace a folder (SEQ205)', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'tagger.seq'), tagger);
    mkdirSync(join(dir, 'out.onnx'));
    const ran = await seqc('compile', join(dir, 'tagger.seq'), '-o', join(dir, 'out.onnx'));
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ205']);
    expect(lstatSync(join(dir, 'out.onnx')).isDirectory()).toBe(true);
  });

  it.each([
    ['the same path', (dir: string) => join(dir, 'tagger.seq')],
    ['another spelling of it', (dir: string) => join(dir, '.', '..', dir.split('/').pop()!, 'tagger.seq')],
    [
      'a hard link',
      (dir: string) => (linkSync(join(dir, 'tagger.seq'), join(dir, 'hard.onnx')), join(dir, 'hard.onnx')),
    ],
    [
      'a symbolic link',
      (dir: string) => (symlinkSync(join(dir, 'tagger.seq'), join(dir, 'soft.onnx')), join(dir, 'soft.onnx')),
    ],
  ])('will not write over the spec through %s (SEQ206)', async (_, out) => {
    const dir = folder();
    writeFileSync(join(dir, 'tagger.seq'), tagger);
    const target = out(dir);
    const ran = await seqc('compile', join(dir, 'tagger.seq'), '-o', target);
    expect(ran.status).toBe(1);
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ206']);
    expect(ran.diagnostics[0]!.hint).toMatch(/choose another output path/);
    expect(readFileSync(join(dir, 'tagger.seq'), 'utf8')).toBe(tagger);
    expect(readFileSync(target, 'utf8')).toBe(tagger);
  });

  it('will not write over a spec named .onnx by default, nor over the weights (SEQ206)', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'tagger.onnx'), tagger);
    const ran = await seqc('compile', join(dir, 'tagger.onnx'));
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ206']);
    expect(readFileSync(join(dir, 'tagger.onnx'), 'utf8')).toBe(tagger);
  });

  it('writes over an old regular file as before', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'tagger.seq'), tagger);
    writeFileSync(join(dir, 'tagger.onnx'), 'old');
    const ran = await seqc('compile', join(dir, 'tagger.seq'));
    expect(ran.status).toBe(0);
    expect(readFileSync(join(dir, 'tagger.onnx')).length).toBeGreaterThan(100);
    expect(readdirSync(dir).sort()).toEqual(['tagger.onnx', 'tagger.seq']);
  });
});

describe('bundles are written as a whole or not at all', () => {
  const compiled = (seed: number) => compile(translator, { sourceName: 'tiny.seq', seed }).bundle!;

  it('puts the manifest in place last', async () => {
    const dir = folder();
    const written = await writeBundle(join(dir, 't.onnx'), compiled(0));
    expect(written.diagnostics).toEqual([]);
    expect(written.written!.map((p) => p.slice(dir.length + 1))).toEqual([
      'tiny.weights.bin',
      't.onnx',
      't.encoder.onnx',
      't.step.onnx',
      't.greedy.onnx',
      't.manifest.json',
    ]);
  });

  it.each([1, 3, 5])('leaves the old bundle byte for byte when write %i of 5 fails (a full disk)', async (failing) => {
    const dir = folder();
    expect((await writeBundle(join(dir, 't.onnx'), compiled(0))).diagnostics).toEqual([]);
    const before = snapshot(dir);
    let writes = 0;
    const failed = await writeBundle(join(dir, 't.onnx'), compiled(7), [], {
      writeData: async (handle, data) => {
        writes++;
        if (writes === failing) {
          await handle.write(data.subarray(0, data.length >> 1));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        await handle.write(data);
      },
    });
    expect(failed.written).toBeUndefined();
    expect(failed.diagnostics.map((d) => d.code)).toEqual(['SEQ202']);
    expect(failed.diagnostics[0]!.message).toMatch(/no space left on device/);
    expect(failed.diagnostics[0]!.hint).toMatch(/files that were there before are unchanged/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('replaces every file when writing succeeds', async () => {
    const dir = folder();
    await writeBundle(join(dir, 't.onnx'), compiled(0));
    const before = snapshot(dir);
    await writeBundle(join(dir, 't.onnx'), compiled(7));
    const after = snapshot(dir);
    expect(Object.keys(after)).toEqual(Object.keys(before));
    expect(after['t.step.onnx']).not.toBe(before['t.step.onnx']);
  });

  it('checks every target before writing any (SEQ205 for the manifest leaves the graphs alone)', async () => {
    const dir = folder();
    mkdirSync(join(dir, 't.manifest.json'));
    const written = await writeBundle(join(dir, 't.onnx'), compiled(0));
    expect(written.diagnostics.map((d) => d.code)).toEqual(['SEQ205']);
    expect(readdirSync(dir)).toEqual(['t.manifest.json']);
  });
});

describe('temporaries', () => {
  /** A process id that is not running: a child that has exited. */
  function deadPid(): number {
    return spawnSync(process.execPath, ['-e', '']).pid!;
  }

  it('removes stale temporaries of killed runs on the next write to their folder, and keeps live ones', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'tagger.seq'), tagger);
    const stale = `.tagger.onnx.seqc-tmp-${deadPid()}-0a1b2c3d`;
    const alive = `.tagger.onnx.seqc-tmp-${process.ppid}-0a1b2c3d`;
    const unrelated = '.notes.seqc-tmp-x';
    for (const name of [stale, alive, unrelated]) writeFileSync(join(dir, name), 'partial');
    const ran = await seqc('compile', join(dir, 'tagger.seq'));
    expect(ran.status).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([alive, unrelated, 'tagger.onnx', 'tagger.seq'].sort());
    expect(removeStaleTemporaries(dir)).toEqual([]);
  });

  it('leaves no temporary when a write fails', async () => {
    const dir = folder();
    const failed = await writeFilesAtomically(
      [
        { path: join(dir, 'a'), data: 'a' },
        { path: join(dir, 'b'), data: 'b' },
      ],
      {
        writeData: async () => {
          throw new Error('EIO: i/o error, write');
        },
      },
    );
    expect(failed.map((d) => d.code)).toEqual(['SEQ202']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an interrupted `seqc compile` removes its temporary and exits 143 (needs `npm run build`)', async () => {
    expect(
      existsSync(join(root, 'dist/src/cli/files.js')),
      'run `npm run build` first: this test runs bin/seqc.js',
    ).toBe(true);
    const dir = folder();
    // 64 MB of parameters: the write takes long enough to be interrupted in the middle.
    writeFileSync(
      join(dir, 'big.seq'),
      'model Big {\n  input tokens: int64[batch, time]\n  tokens -> embedding: Embedding(vocab=125000, dim=128) -> mean -> fc: Linear(2) -> output y\n}\n',
    );
    const child = spawn(process.execPath, [join(root, 'bin/seqc.js'), 'compile', join(dir, 'big.seq')], {
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const sawTemporary = new Promise<string>((done) => {
      const watcher = watch(dir, (_, name) => {
        if (name !== null && name.includes('.seqc-tmp-')) {
          watcher.close();
          done(name);
        }
      });
    });
    const name = await Promise.race([sawTemporary, exited.then(() => undefined)]);
    expect(name, 'the compile ended before it wrote a temporary').toMatch(/^\.big\.onnx\.seqc-tmp-\d+-[0-9a-f]+$/);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(readdirSync(dir)).toEqual(['big.seq']);
  }, 60_000);
});

describe('manifests stay inside their folder', () => {
  it('accepts the manifest seqc writes for a model without source lengths, and generates from it', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'plain.seq'), translator.replace('  input src_lengths: lengths(src)\n', ''));
    expect((await seqc('compile', join(dir, 'plain.seq'))).status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'plain.manifest.json'), 'utf8'));
    expect(manifest.files.step.inputs).not.toContain('src_lengths');
    const ran = await seqc('generate', join(dir, 'plain.manifest.json'), '--src', '3 4 5');
    expect(ran.diagnostics).toEqual([]);
    expect(ran.status).toBe(0);
    // With lengths declared, a step graph that does not read them is refused.
    const withLengths = folder();
    writeFileSync(join(withLengths, 't.seq'), translator);
    expect((await seqc('compile', join(withLengths, 't.seq'))).status).toBe(0);
    const edited = JSON.parse(readFileSync(join(withLengths, 't.manifest.json'), 'utf8'));
    edited.files.step.inputs = edited.files.step.inputs.filter((n: string) => n !== 'src_lengths');
    writeFileSync(join(withLengths, 't.manifest.json'), JSON.stringify(edited));
    const refused = await seqc('generate', join(withLengths, 't.manifest.json'), '--src', '3 4 5');
    expect(refused.diagnostics.map((d) => d.code)).toEqual(['SEQ320']);
  });

  async function bundleFolder(): Promise<{ dir: string; manifest: Record<string, unknown> }> {
    const dir = folder();
    writeFileSync(join(dir, 'tiny.seq'), translator);
    const ran = await seqc('compile', join(dir, 'tiny.seq'), '-o', join(dir, 't.onnx'));
    expect(ran.status).toBe(0);
    return { dir, manifest: JSON.parse(readFileSync(join(dir, 't.manifest.json'), 'utf8')) };
  }

  async function generateWith(dir: string, manifest: unknown): Promise<Ran> {
    writeFileSync(join(dir, 't.manifest.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    return seqc('generate', join(dir, 't.manifest.json'), '--src', '3 4 5');
  }

  it('generates from a good bundle (the baseline)', async () => {
    const { dir } = await bundleFolder();
    const ran = await seqc('generate', join(dir, 't.manifest.json'), '--src', '3 4 5');
    expect(ran.diagnostics).toEqual([]);
    expect(ran.status).toBe(0);
  });

  it.each([
    ['null', 'null', /the manifest is null, not a JSON object/],
    ['a list', '[1, 2]', /the manifest is a list of 2, not a JSON object/],
    ['not JSON', '{"files": ', /is not JSON/],
  ])('a manifest that is %s is a diagnostic, not a crash (SEQ320)', async (_, text, message) => {
    const { dir } = await bundleFolder();
    const ran = await generateWith(dir, text);
    expect(ran.status).toBe(1);
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ320']);
    expect(ran.diagnostics[0]!.message).toMatch(message);
    expect(ran.diagnostics[0]!.hint).toMatch(/compile the spec again/);
  });

  it.each([
    ['a path into another folder', '../outside/x.onnx'],
    ['an absolute path', '/dev/zero'],
    ['a backslash path', '..\\outside.onnx'],
    ['the parent folder', '..'],
    ['a NUL', 't.step.onnx\u0000.txt'],
    ['a drive path', 'C:t.step.onnx'],
  ])('a file entry with %s is refused and nothing is read (SEQ321)', async (_, path) => {
    const { dir, manifest } = await bundleFolder();
    const files = manifest['files'] as Record<string, Record<string, unknown>>;
    const ran = await generateWith(dir, { ...manifest, files: { ...files, step: { ...files['step'], path } } });
    expect(ran.status).toBe(1);
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ321']);
    expect(ran.diagnostics[0]!.message).toMatch(/^`files\.step\.path` is /);
    expect(ran.diagnostics[0]!.hint).toMatch(/plain names/);
  });

  it('a plain name that links out of the folder is refused (SEQ321)', async () => {
    const { dir, manifest } = await bundleFolder();
    const outside = folder();
    writeFileSync(join(outside, 'x.onnx'), readFileSync(join(dir, 't.step.onnx')));
    symlinkSync(join(outside, 'x.onnx'), join(dir, 'link.onnx'));
    const files = manifest['files'] as Record<string, Record<string, unknown>>;
    const ran = await generateWith(dir, {
      ...manifest,
      files: { ...files, step: { ...files['step'], path: 'link.onnx' } },
    });
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ321']);
    expect(ran.diagnostics[0]!.message).toMatch(/a link to .*x\.onnx, outside the manifest's folder/);
  });

  it('a plain name that is a FIFO or a link to /dev/zero is refused before reading', async () => {
    const { dir, manifest } = await bundleFolder();
    const files = manifest['files'] as Record<string, Record<string, unknown>>;
    mkfifo(join(dir, 'pipe.onnx'));
    const fifo = await generateWith(dir, {
      ...manifest,
      files: { ...files, step: { ...files['step'], path: 'pipe.onnx' } },
    });
    expect(fifo.diagnostics.map((d) => d.code)).toEqual(['SEQ204']);
    symlinkSync('/dev/zero', join(dir, 'zero.onnx'));
    const zero = await generateWith(dir, {
      ...manifest,
      files: { ...files, step: { ...files['step'], path: 'zero.onnx' } },
    });
    expect(zero.diagnostics.map((d) => d.code)).toEqual(['SEQ321']);
  });

  it('an unknown files.* key is refused, so its file is never read (SEQ320)', async () => {
    const { dir, manifest } = await bundleFolder();
    const files = manifest['files'] as Record<string, unknown>;
    const ran = await generateWith(dir, {
      ...manifest,
      files: { ...files, secrets: { path: 'secrets.onnx', inputs: [], outputs: [] } },
    });
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ320']);
    expect(ran.diagnostics[0]!.message).toBe(
      '`files.secrets` is not a file of a bundle (scoring, encoder, step, greedy); seqc reads no other file',
    );
  });

  it('names the key and the problem for wrong types, missing keys and huge numbers (SEQ320)', async () => {
    const { dir, manifest } = await bundleFolder();
    const { maxLength: _, ...withoutMaxLength } = manifest;
    const ran = await generateWith(dir, {
      ...withoutMaxLength,
      vocab: 1e300,
      state: 'lstm',
      format: 7,
      precision: 'int4',
    });
    expect(ran.diagnostics.map((d) => d.code)).toEqual(['SEQ320', 'SEQ320', 'SEQ320', 'SEQ320', 'SEQ320']);
    expect(ran.diagnostics.map((d) => d.message)).toEqual([
      '`format` should be "seqc-bundle", not 7',
      '`precision` should be "int8", "int8-weights" or "fp16" when present, not "int4"',
      '`maxLength` should be a whole number up to 2147483647, not missing',
      '`vocab` should be a whole number up to 2147483647, not 1e+300',
      '`state` should be an object { cell, layers, hidden }, not "lstm"',
    ]);
  });

  it('parseManifest refuses the same paths, so fetchBundle and loadBundle never request them', () => {
    const compiledManifest = compile(translator, { sourceName: 'tiny.seq' }).bundle!.manifest;
    expect(parseManifest(compiledManifest).problems).toEqual([]);
    const escaped = parseManifest({
      ...compiledManifest,
      files: { ...compiledManifest.files, greedy: { ...compiledManifest.files.greedy, path: '../../etc/passwd' } },
    });
    expect(escaped.manifest).toBeUndefined();
    expect(escaped.problems).toEqual([
      '`files.greedy.path` is "../../etc/passwd", which is not a plain file name: a bundle\'s files sit next to its manifest, named without folders',
    ]);
    expect(
      checkManifest({
        ...compiledManifest,
        files: { ...compiledManifest.files, greedy: { ...compiledManifest.files.greedy, path: '/abs.onnx' } },
      }).issues.map((i) => i.kind),
    ).toEqual(['file']);
  });

  it('readBundle reads only the files the manifest lists', async () => {
    const { dir } = await bundleFolder();
    writeFileSync(join(dir, 'other.onnx'), 'not listed');
    const read = readBundle(join(dir, 't.manifest.json'));
    expect(read.diagnostics).toEqual([]);
    expect(Object.keys(read.bundle!.files).sort()).toEqual([
      't.encoder.onnx',
      't.greedy.onnx',
      't.onnx',
      't.step.onnx',
      't.weights.bin',
    ]);
  });
});
