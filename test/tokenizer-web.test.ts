// Text in, text out on the web runtime (onnxruntime-web's wasm provider under Node): fetchBundle fetches the tokenizers, generateText matches the node runtime and the library.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import {
  loadBundle as loadOnNode,
  loadModel as loadModelOnNode,
  runText as runTextOnNode,
} from '../src/runtime/node.js';
import { fetchBundle, loadBundle as loadOnWeb, readTokenizer } from '../src/runtime/web.js';
import { bpeJson, wordPieceJson } from './tokenizer-fixtures.js';

// As in test/runtime-web.test.ts: the browser build of onnxruntime-web does not start under Node; its Node build has the same API.
vi.mock('onnxruntime-web/webgpu', async () => import('onnxruntime-web'));

const dir = mkdtempSync(join(tmpdir(), 'seqc-tokenizer-web-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = `model Tiny {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=16, dim=8, padding_idx=0) -> encoder: GRU(hidden=8)
  }
  decoder(bos=0, eos=2, max_length=6) {
    -> tgt_embedding: Embedding(vocab=24, dim=8, padding_idx=1) -> decoder: GRU(hidden=8) -> attention: Attention(score=dot) -> generator: Linear(24)
  }
}
`;

/** Compiles the translator with both tokenizers through the CLI and returns its folder's files. */
async function bundleOnDisk(): Promise<{ manifest: Record<string, any>; files: Record<string, Uint8Array> }> {
  writeFileSync(join(dir, 'tiny.seq'), spec);
  writeFileSync(join(dir, 'wp.json'), JSON.stringify(wordPieceJson()));
  writeFileSync(join(dir, 'bpe.json'), JSON.stringify(bpeJson()));
  const code = await main(
    [
      'compile',
      join(dir, 'tiny.seq'),
      '-o',
      join(dir, 'tiny.onnx'),
      '--src-tokenizer',
      join(dir, 'wp.json'),
      '--tgt-tokenizer',
      join(dir, 'bpe.json'),
    ],
    { out: () => {}, err: () => {}, color: false },
  );
  expect(code).toBe(0);
  const manifest = JSON.parse(readFileSync(join(dir, 'tiny.manifest.json'), 'utf8'));
  const names = [
    ...Object.values(manifest.files).map((f: any) => f.path as string),
    manifest.weights.path,
    manifest.tokenizers.source.path,
    manifest.tokenizers.target.path,
  ];
  return { manifest, files: Object.fromEntries(names.map((n) => [n, new Uint8Array(readFileSync(join(dir, n)))])) };
}

describe('text through the web runtime', () => {
  it('loadBundle and fetchBundle on the web give the node runtime’s ids and text', async () => {
    const { manifest, files } = await bundleOnDisk();
    const texts = ['Hello unbelievable World!', 'the cats sat.'];
    const onNode = await loadOnNode({ manifest, files });
    expect(onNode.diagnostics).toEqual([]);
    const onWeb = await loadOnWeb({ manifest, files }, { executionProviders: ['wasm'] });
    expect(onWeb.diagnostics).toEqual([]);
    const requested: string[] = [];
    const server = createServer((request, response) => {
      requested.push(request.url!);
      const name = request.url!.replace('/models/', '');
      const body = name === 'tiny.manifest.json' ? Buffer.from(JSON.stringify(manifest)) : files[name];
      if (body === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200).end(Buffer.from(body));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    try {
      const { port } = server.address() as AddressInfo;
      const fetched = await fetchBundle(`http://127.0.0.1:${port}/models/tiny.manifest.json`, {
        executionProviders: ['wasm'],
      });
      expect(fetched.diagnostics).toEqual([]);
      expect(requested).toEqual(
        expect.arrayContaining(['/models/tiny.source.tokenizer.json', '/models/tiny.target.tokenizer.json']),
      );
      const library = { source: new Tokenizer(wordPieceJson(), {}), target: new Tokenizer(bpeJson(), {}) };
      const node = await onNode.bundle!.generateText(texts, { strategy: 'beam', beam: { width: 3, nBest: 2 } });
      expect(node.diagnostics).toEqual([]);
      expect(node.inputs).toEqual(texts.map((t) => library.source.encode(t).ids));
      for (const bundle of [onWeb.bundle!, fetched.bundle!]) {
        const web = await bundle.generateText(texts, { strategy: 'beam', beam: { width: 3, nBest: 2 } });
        expect(web.diagnostics).toEqual([]);
        expect(web.rows!.map((r) => r.hypotheses.map((h) => [h.tokens, h.text]))).toEqual(
          node.rows!.map((r) => r.hypotheses.map((h) => [h.tokens, h.text])),
        );
        for (const row of web.rows!)
          for (const h of row.hypotheses) {
            const end = h.tokens.indexOf(2);
            const kept = end < 0 ? [...h.tokens] : h.tokens.slice(0, end);
            expect(h.text).toBe(kept.length === 0 ? '' : library.target.decode(kept, { skip_special_tokens: true }));
          }
      }
      // The same source ids give the same hypotheses: text is only the layer around generate().
      const byIds = await onWeb.bundle!.generate(node.inputs!, { strategy: 'beam', beam: { width: 3, nBest: 2 } });
      expect(byIds.rows!.map((r) => r.hypotheses.map((h) => h.tokens))).toEqual(
        node.rows!.map((r) => r.hypotheses.map((h) => h.tokens)),
      );
    } finally {
      server.close();
      await Promise.all([onNode.bundle?.release(), onWeb.bundle?.release()]);
    }
  });

  it('a bundle whose tokenizer file is missing or broken does not load (SEQ311, SEQ240)', async () => {
    const { manifest, files } = await bundleOnDisk();
    const { [manifest.tokenizers.target.path]: _dropped, ...without } = files;
    const missing = await loadOnWeb({ manifest, files: without });
    expect(missing.bundle).toBeUndefined();
    expect(missing.diagnostics.map((d) => d.code)).toEqual(['SEQ311']);
    const broken = await loadOnWeb({
      manifest,
      files: { ...files, [manifest.tokenizers.target.path]: new TextEncoder().encode('{"model": ') },
    });
    expect(broken.diagnostics.map((d) => d.code)).toEqual(['SEQ240']);
    // A tokenizer edited to disagree with the decoder's bos is caught on loading, too.
    const edited: Record<string, any> = { ...bpeJson(), added_tokens: [] };
    const vocab = { ...((edited.model as any).vocab as Record<string, number>), '<s>': 5, l: 0 };
    const moved = JSON.stringify({ ...edited, model: { ...(edited.model as object), vocab } });
    const mismatched = await loadOnWeb({
      manifest,
      files: { ...files, [manifest.tokenizers.target.path]: new TextEncoder().encode(moved) },
    });
    expect(mismatched.diagnostics.map((d) => d.code)).toEqual(['SEQ245']);
  });

  it('runText feeds text to a model on node, and readTokenizer is the same on web', async () => {
    writeFileSync(
      join(dir, 'classifier.seq'),
      'model C {\n  input tokens: int64[batch, time]\n  input lengths: lengths(tokens)\n  tokens -> embedding: Embedding(vocab=16, dim=4) -> gru: GRU(hidden=3) -> last -> output y\n}\n',
    );
    await main(['compile', join(dir, 'classifier.seq'), '-o', join(dir, 'c.onnx')], {
      out: () => {},
      err: () => {},
      color: false,
    });
    const model = (await loadModelOnNode(join(dir, 'c.onnx'))).model!;
    const tokenizer = readTokenizer(JSON.stringify(wordPieceJson()), 'wp.json').tokenizer!;
    const ran = await runTextOnNode(model, { tokens: ['hello world', 'a cat sat .'] }, { tokens: tokenizer });
    expect(ran.diagnostics).toEqual([]);
    expect(ran.inputs!['tokens']!.ids).toEqual([
      [4, 5],
      [15, 11, 13, 14],
    ]);
    const byIds = await model.run({
      tokens: [
        [4, 5, 0, 0],
        [15, 11, 13, 14],
      ],
      lengths: [2, 4],
    });
    expect(Array.from(ran.outputs!.get('y')!.data as Float32Array)).toEqual(
      Array.from(byIds.outputs!.get('y')!.data as Float32Array),
    );
    await model.release();
  });
});
