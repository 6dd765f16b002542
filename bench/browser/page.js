// The in-page half of bench/browser.ts: builds every runtime once (`benchSetup` for SimpleLSTM,
// `benchSetupImported` for each imported Keras model), then runs one of them on one input when asked
// (`benchRun`) and reports the call's wall-clock milliseconds.
//
// onnxruntime-web comes from its WebGPU build (`ort.webgpu.min.mjs`), whose 'webgpu' provider is the
// native WebGpuExecutionProvider with LSTM kernels; the same build has the wasm provider. Both run on
// one wasm thread. TensorFlow.js is the global `tf` from its browser bundle, with the wasm backend's
// bundle registered beside it; the wasm backend is held to one thread too, like tfjs's cpu backend.

import * as ort from '/node_modules/onnxruntime-web/dist/ort.webgpu.min.mjs';

const tf = window.tf;

/** Runner name → { run(shapeKey) → Float32Array, prepare(shape) }. */
const runners = new Map();

window.benchSetup = async (manifest) => {
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = 1;
  const fetchBytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
  const info = {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    ort: ort.env.versions?.web ?? ort.env.versions?.common,
    tfjs: tf.version.tfjs,
  };
  const available = [];
  const unavailable = [];
  const attempt = async (name, build) => {
    try {
      runners.set(name, await build());
      available.push(name);
    } catch (e) {
      unavailable.push({ name, reason: String(e?.message ?? e).split('\n')[0] });
    }
  };

  const generic = await fetchBytes(manifest.genericModel);
  const webgpu = await fetchBytes(manifest.webgpuModel);
  await attempt(manifest.names.ortWasm, () => ortRunner(generic, 'wasm'));
  if (navigator.gpu === undefined)
    unavailable.push({ name: manifest.names.ortWebgpu, reason: 'navigator.gpu is undefined' });
  else {
    const adapter = await navigator.gpu.requestAdapter();
    if (adapter === null) unavailable.push({ name: manifest.names.ortWebgpu, reason: 'no WebGPU adapter' });
    else {
      const a = adapter.info ?? {};
      info.webgpuAdapter = [a.vendor, a.architecture, a.device, a.description].filter((s) => s).join(', ') || 'unknown';
      await attempt(manifest.names.ortWebgpu, () => ortRunner(webgpu, 'webgpu'));
    }
  }

  const weights = await fetchBytes(manifest.tfjsWeights);
  const floats = new Float32Array(weights.buffer, weights.byteOffset, weights.byteLength / 4);
  const tensors = manifest.tfjsTensors.map((t) => ({
    shape: t.shape,
    data: floats.subarray(t.offset, t.offset + t.length),
  }));
  tf.wasm.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  // The page is cross-origin isolated (the harness sends COOP/COEP), so tfjs would pick its threaded
  // binary; one thread keeps the comparison like for like.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  for (const [name, backend] of [
    [manifest.names.tfjsCpu, 'cpu'],
    [manifest.names.tfjsWasm, 'wasm'],
    [manifest.names.tfjsWebgl, 'webgl'],
  ]) {
    await attempt(name, () => tfjsRunner(backend, manifest.hidden, tensors));
    if (backend === 'wasm' && runners.has(name))
      info.tfjsWasm = `SIMD ${(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'on' : 'off'}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'on' : 'off'}`;
    if (backend === 'webgl' && runners.has(name)) {
      const gl = document.createElement('canvas').getContext('webgl2');
      const debug = gl?.getExtension('WEBGL_debug_renderer_info');
      info.webglRenderer = debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : 'unknown';
    }
  }
  return { available, unavailable, info };
};

/** Runs one runner on tokens [batch, time]; only the call and the read-back are timed. */
window.benchRun = async (name, shape) => {
  const runner = runners.get(name);
  await runner.prepare(shape);
  const started = performance.now();
  const output = await runner.run(shape);
  const ms = performance.now() - started;
  return { ms, output: Array.from(output) };
};

async function ortRunner(bytes, provider) {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
  });
  const inputs = new Map();
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  return {
    prepare: async (shape) => {
      if (!inputs.has(shape.key))
        inputs.set(
          shape.key,
          new ort.Tensor(
            'int64',
            BigInt64Array.from(shape.tokens, (t) => BigInt(t)),
            [shape.batch, shape.time],
          ),
        );
    },
    run: async (shape) => {
      const results = await session.run({ [inputName]: inputs.get(shape.key) });
      // On WebGPU the output is read back to the CPU as part of the call, as tfjs's dataSync does.
      return results[outputName].data;
    },
  };
}

/**
 * Embedding → LSTM (last step) → Dense on one tfjs backend, its variables created there. The
 * weights arrive converted already (bench/browser.ts: kernels transposed, biases summed); the gate
 * activation is sigmoid explicitly, since tfjs defaults to hard sigmoid.
 */
async function tfjsRunner(backend, hidden, tensors) {
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') returned false`);
  await tf.ready();
  const input = tf.input({ shape: [null], dtype: 'int32' });
  const [table, kernel, recurrent, bias, denseKernel, denseBias] = tensors;
  const layers = [
    tf.layers.embedding({ inputDim: table.shape[0], outputDim: table.shape[1], embeddingsInitializer: 'zeros' }),
    tf.layers.lstm({
      units: hidden,
      returnSequences: false,
      activation: 'tanh',
      recurrentActivation: 'sigmoid',
      kernelInitializer: 'zeros',
      recurrentInitializer: 'zeros',
    }),
    tf.layers.dense({ units: denseKernel.shape[1], kernelInitializer: 'zeros' }),
  ];
  let symbolic = input;
  for (const layer of layers) symbolic = layer.apply(symbolic);
  const values = [[table], [kernel, recurrent, bias], [denseKernel, denseBias]];
  layers.forEach((layer, i) => {
    const ts = values[i].map((t) => tf.tensor(t.data, t.shape));
    layer.setWeights(ts);
    tf.dispose(ts);
  });
  return layersRunner(backend, tf.model({ inputs: input, outputs: symbolic }));
}

/**
 * An imported model's runners, under the keys `MODEL|RUNNER`: seqc's graphs on onnxruntime-web (the
 * webgpu target's only where seqc compiled it), and the original TF.js model, loaded from the very
 * model.json and shard that `seqc import` read, once per tfjs backend.
 */
window.benchSetupImported = async (manifest) => {
  const available = [];
  const unavailable = [];
  const key = (name) => `${manifest.model}|${name}`;
  const attempt = async (name, build) => {
    try {
      runners.set(key(name), await build());
      available.push(name);
    } catch (e) {
      unavailable.push({ name, reason: String(e?.message ?? e).split('\n')[0] });
    }
  };
  const fetchBytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
  await attempt(manifest.names.ortWasm, async () => ortRunner(await fetchBytes(manifest.genericModel), 'wasm'));
  if (manifest.webgpuModel === undefined)
    unavailable.push({ name: manifest.names.ortWebgpu, reason: manifest.webgpuRefused });
  else if (navigator.gpu === undefined || (await navigator.gpu.requestAdapter()) === null)
    unavailable.push({ name: manifest.names.ortWebgpu, reason: 'no WebGPU adapter' });
  else await attempt(manifest.names.ortWebgpu, async () => ortRunner(await fetchBytes(manifest.webgpuModel), 'webgpu'));
  for (const [name, backend] of [
    [manifest.names.tfjsCpu, 'cpu'],
    [manifest.names.tfjsWasm, 'wasm'],
    [manifest.names.tfjsWebgl, 'webgl'],
  ]) {
    await attempt(name, async () => {
      if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') returned false`);
      await tf.ready();
      return layersRunner(backend, await tf.loadLayersModel(manifest.modelJson));
    });
  }
  return { available, unavailable };
};

/** Runs a tfjs Layers model on its backend: `predict` and `dataSync` are timed, the input is made beforehand. */
function layersRunner(backend, model) {
  const inputs = new Map();
  return {
    prepare: async (shape) => {
      if (tf.getBackend() !== backend && !(await tf.setBackend(backend)))
        throw new Error(`tfjs backend ${backend} failed`);
      if (!inputs.has(shape.key))
        inputs.set(shape.key, tf.tensor2d(Int32Array.from(shape.tokens), [shape.batch, shape.time], 'int32'));
    },
    run: async (shape) => {
      const output = model.predict(inputs.get(shape.key), { batchSize: shape.batch });
      const data = output.dataSync();
      output.dispose();
      return data;
    },
  };
}
