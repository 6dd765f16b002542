// Streaming with `stateful=true`: feeding a long sequence chunk by chunk equals one run over all of it.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';

const features = 3;
const total = 12;
const batch = 2;

function series(): Float32Array {
  return Float32Array.from(
    { length: batch * total * features },
    (_, i) => Math.sin(0.37 * i) + 0.1 * Math.cos(1.3 * i),
  );
}

/** Rows [b][t][f] → a [batch, steps, features] slice from `start`. */
function chunk(data: Float32Array, start: number, steps: number): Float32Array {
  const out = new Float32Array(batch * steps * features);
  for (let b = 0; b < batch; b++)
    out.set(
      data.subarray((b * total + start) * features, (b * total + start + steps) * features),
      b * steps * features,
    );
  return out;
}

for (const layer of [
  'LSTM(hidden=5, layers=2, stateful=true)',
  'GRU(hidden=4, stateful=true)',
  'RNN(hidden=6, layers=3, nonlinearity=relu, stateful=true)',
  'GRU(hidden=4, reset_after=false, recurrent_activation=hard_sigmoid, stateful=true)',
]) {
  describe(`streaming ${layer}`, () => {
    it('gives the same outputs and final states for chunks 5 + 4 + 3 as for one run of 12 steps', async () => {
      const spec = `model Stream {\n  input frames: float32[batch, time, ${features}]\n  frames -> rec: ${layer} -> output y\n}\n`;
      const result = compile(spec, { seed: 3 });
      expect(result.diagnostics).toEqual([]);
      const session = await ort.InferenceSession.create(result.model!, { logSeverityLevel: 3 });
      const lstm = layer.startsWith('LSTM');
      const data = series();
      const layers = Number(/layers=(\d+)/.exec(layer)?.[1] ?? 1);
      const hiddenSize = Number(/hidden=(\d+)/.exec(layer)![1]);
      const stateDims = [layers, batch, hiddenSize];
      const zeros = (): ort.Tensor =>
        new ort.Tensor('float32', new Float32Array(layers * batch * hiddenSize), stateDims);
      const wholeFeeds: Record<string, ort.Tensor> = {
        frames: new ort.Tensor('float32', data, [batch, total, features]),
        'rec.h0': zeros(),
      };
      if (lstm) wholeFeeds['rec.c0'] = zeros();
      const whole = await session.run(wholeFeeds);

      let h: ort.Tensor | undefined;
      let c: ort.Tensor | undefined;
      const pieces: Float32Array[] = [];
      let start = 0;
      for (const steps of [5, 4, 3]) {
        const feeds: Record<string, ort.Tensor> = {
          frames: new ort.Tensor('float32', chunk(data, start, steps), [batch, steps, features]),
        };
        if (h !== undefined) feeds['rec.h0'] = h;
        if (c !== undefined) feeds['rec.c0'] = c;
        if (h === undefined) {
          feeds['rec.h0'] = zeros();
          if (lstm) feeds['rec.c0'] = zeros();
        }
        const out = await session.run(feeds);
        pieces.push(out.y!.data as Float32Array);
        h = out['rec.hn'];
        c = lstm ? out['rec.cn'] : undefined;
        start += steps;
      }
      const hidden = whole.y!.dims[2]!;
      const streamed = new Float32Array(batch * total * hidden);
      let offset = 0;
      [5, 4, 3].forEach((steps, k) => {
        for (let b = 0; b < batch; b++)
          streamed.set(
            pieces[k]!.subarray(b * steps * hidden, (b + 1) * steps * hidden),
            (b * total + offset) * hidden,
          );
        offset += steps;
      });
      const maxDiff = (a: Float32Array, b: Float32Array): number =>
        a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
      expect(maxDiff(streamed, whole.y!.data as Float32Array)).toBeLessThan(1e-6);
      expect(maxDiff(h!.data as Float32Array, whole['rec.hn']!.data as Float32Array)).toBeLessThan(1e-6);
      if (lstm) expect(maxDiff(c!.data as Float32Array, whole['rec.cn']!.data as Float32Array)).toBeLessThan(1e-6);
    });
  });
}
