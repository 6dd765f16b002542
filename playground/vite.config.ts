// Builds and serves the playground: root playground/, output playground/dist, and onnxruntime-web's wasm files from the page's own origin (no CDN).

import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const repository = fileURLToPath(new URL('..', import.meta.url));
const ortDist = join(repository, 'node_modules', 'onnxruntime-web', 'dist');

/**
 * The files that `onnxruntime-web/webgpu` (dist/ort.webgpu.min.mjs, which src/runtime/web.ts imports)
 * loads at run time for both its providers, wasm and WebGPU: the asyncify glue and its .wasm. The page
 * points `wasmPaths` at `ort/`.
 */
export const ortRuntimeFiles = ['ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.asyncify.mjs'];

/** Serves the ONNX Runtime files under /ort/ in development, and copies them to dist/ort/ in a build. */
function onnxRuntimeFiles(): Plugin {
  return {
    name: 'seqc-onnxruntime-files',
    configureServer(server) {
      server.middlewares.use('/ort/', (request, response, next) => {
        const file = (request.url ?? '').replace(/^\//, '').replace(/\?.*$/, '');
        if (!ortRuntimeFiles.includes(file)) return next();
        response.setHeader('content-type', file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        createReadStream(join(ortDist, file)).pipe(response);
      });
    },
    generateBundle() {
      for (const file of ortRuntimeFiles)
        this.emitFile({ type: 'asset', fileName: `ort/${file}`, source: readFileSync(join(ortDist, file)) });
    },
  };
}

/** The same headers the browser tests' server sends: a cross-origin-isolated page. */
const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

export const config = defineConfig({
  root,
  base: './',
  plugins: [onnxRuntimeFiles()],
  // onnxruntime-web's build that loads its glue and .wasm from `wasmPaths` (ort/ here), rather than a copy Vite would emit under assets/ as well.
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', 'module', 'browser', 'development|production'] },
  server: { host: '127.0.0.1', headers: isolation, fs: { allow: [repository] } },
  preview: { host: '127.0.0.1', headers: isolation },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es' },
  build: {
    outDir: join(root, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    // onnxruntime-web and a 20 MB model are the point of this page; no need to warn about big chunks.
    chunkSizeWarningLimit: 4096,
  },
});

// Vite reads the default export of its config file.
// eslint-disable-next-line import/no-default-export
export default config;
