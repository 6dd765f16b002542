import * as tf from '@tensorflow/tfjs';
import { makeSplits, sourceVocabulary, targetVocabulary } from './data.js';
import { initialParameters, loss, sourceBatch, greedyDecode } from './network.js';
await import('@tensorflow/tfjs-backend-wasm'); console.log(await tf.setBackend(process.env.BACKEND ?? 'cpu')); await tf.ready(); console.log(tf.getBackend());
const sizes = { sourceVocab: sourceVocabulary.length, targetVocab: targetVocabulary.length, sourceDim: 32, targetDim: 16, encoderHidden: 32, maxLength: 12 };
const p = initialParameters(sizes, 1);
const s = makeSplits();
const opt = tf.train.adam(0.003);
for (const B of [32, 64, 128, 256]) {
  let t0 = 0;
  for (let i = 0; i < 6; i++) {
    if (i === 1) t0 = Date.now();
    const ex = s.train.slice(i * B, (i + 1) * B);
    tf.tidy(() => {
      const src = sourceBatch(ex.map(e => e.src));
      const { value, grads } = tf.variableGrads(() => loss(p, src, ex.map(e => e.tgt)));
      opt.applyGradients(grads);
    });
  }
  console.log(B, (Date.now() - t0) / 5, 'ms/step', tf.memory().numTensors);
}
const t0 = Date.now(); greedyDecode(p, s.validation.slice(0, 500).map(e => e.src), 12); console.log('greedy 500', Date.now() - t0);
