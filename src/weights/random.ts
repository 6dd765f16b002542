// PyTorch-style default initialization from deterministic random streams (src/contracts/random.ts), one per parameter name.
//
// Each parameter gets its own generator from (seed, parameter name), so its values depend on
// nothing else: adding or removing a layer leaves every other parameter unchanged. The streams
// reproduce PyTorch's default distributions, not PyTorch's random numbers:
//
//   nn.Embedding.weight                      N(0, 1)                                 fillNormal(rng, data, 0, 1)
//   nn.LSTM / nn.GRU / nn.RNN, all weights   U(-1/√hidden_size, 1/√hidden_size)      fillUniform(rng, data, -k, k)
//     and biases
//   nn.Linear.weight                         kaiming_uniform_(a=√5), which works     fillUniform(rng, data, -k, k),
//                                            out to U(-1/√in_features, 1/√in_features)  k = 1/√in_features
//   nn.Linear.bias                           U(-1/√in_features, 1/√in_features)      the same
//   nn.LayerNorm weight / bias               ones / zeros                            no random numbers needed

import type { Rng } from '../contracts/random.js';

/** Fills `data` with numbers drawn uniformly from [low, high], after rounding to float32. */
export function fillUniform(rng: Rng, data: Float32Array, low: number, high: number): void {
  for (let i = 0; i < data.length; i++) {
    data[i] = rng.uniform(low, high);
  }
}

/** Fills `data` with numbers drawn from N(mean, std²). */
export function fillNormal(rng: Rng, data: Float32Array, mean: number, std: number): void {
  for (let i = 0; i < data.length; i++) {
    data[i] = rng.normal(mean, std);
  }
}
