// A seq2seq spec may name its source input and its lengths as it likes (docs/seq2seq.md writes them `src` and
// `src_lengths`): the bundle's manifest records the names, and generation feeds them under those names.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

const workspace = mkdtempSync(join(tmpdir(), 'seqc-source-names-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** A small Luong translator whose source input is `input` and its lengths `lengths` (none when undefined). */
function spec(input: string, lengths: string | undefined): string {
  return [
    'model Names {',
    `  input ${input}: int64[batch, time]`,
    ...(lengths === undefined ? [] : [`  input ${lengths}: lengths(${input})`]),
    '  encoder {',
    `    ${input} -> emb: Embedding(vocab=30, dim=8) -> enc: LSTM(hidden=8)`,
    '  }',
    '  decoder(bos=1, eos=2, max_length=7) {',
    '    -> tgt_embedding: Embedding(vocab=30, dim=8)',
    '    -> dec: LSTM(hidden=8)',
    '    -> attention: Attention(score=general)',
    '    -> out: Linear(30)',
    '  }',
    '}',
    '',
  ].join('\n');
}

async function seqc(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { status, out, err };
}

/** Compiles the spec into its own folder and decodes two sources of different lengths three ways. */
async function decodes(name: string, source: string): Promise<{ manifest: unknown; results: unknown[] }> {
  const path = join(workspace, `${name}.seq`);
  writeFileSync(path, source);
  const compiled = await seqc('compile', path, '--seed', '3');
  expect(compiled.status, compiled.err).toBe(0);
  const manifest = join(workspace, `${name}.manifest.json`);
  const results: unknown[] = [];
  for (const how of [[], ['--beam', '3'], ['--greedy-graph']]) {
    const ran = await seqc('generate', manifest, '--src', '3 4 5 6', '--src', '7 8', ...how, '--json');
    expect(ran.status, `${name} ${how.join(' ')}: ${ran.out}`).toBe(0);
    results.push((JSON.parse(ran.out) as { result: unknown }).result);
  }
  return { manifest: JSON.parse(readFileSync(manifest, 'utf8')), results };
}

describe('a seq2seq bundle whose source input is not called src', () => {
  it('records the names and decodes as the same model written with src and src_lengths', async () => {
    const documented = await decodes('documented', spec('src', 'src_lengths'));
    const renamed = await decodes('renamed', spec('words', 'n'));
    expect((renamed.manifest as { source: unknown }).source).toEqual({ input: 'words', lengths: 'n' });
    expect(renamed.results).toEqual(documented.results);
  });

  it('decodes a source without lengths under its own name', async () => {
    const unmasked = await decodes('unmasked', spec('words', undefined));
    const documented = await decodes('unmasked_src', spec('src', undefined));
    expect((unmasked.manifest as { source: unknown }).source).toEqual({ input: 'words' });
    expect(unmasked.results).toEqual(documented.results);
  });
});

describe('names the bundle keeps for its own values', () => {
  it.each(['tokens', 'lengths', 'memory', 'tgt_in', 'h'])('refuses an input named %s (SEQ091)', async (name) => {
    const path = join(workspace, `reserved_${name}.seq`);
    writeFileSync(path, spec(name === 'lengths' ? 'src' : name, name === 'lengths' ? 'lengths' : 'src_lengths'));
    const ran = await seqc('check', path, '--json');
    expect(ran.status).toBe(1);
    const codes = (JSON.parse(ran.out) as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code);
    expect(codes).toEqual(['SEQ091']);
  });

  it('leaves a model without a decoder free to call its input tokens', async () => {
    const path = join(workspace, 'tagger.seq');
    writeFileSync(
      path,
      'model T {\n  input tokens: int64[batch, time]\n  input lengths: lengths(tokens)\n  tokens -> emb: Embedding(vocab=5, dim=2) -> rnn: LSTM(hidden=2) -> output y\n}\n',
    );
    expect((await seqc('check', path)).status).toBe(0);
  });
});
