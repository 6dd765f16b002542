// Checkpoints written by real PyTorch, read by seqc: the compiled model matches torch's own modules and the same weights given as safetensors.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { readPtCheckpoint, writeSafetensors } from '../src/index.js';
import { runPython, torchAvailable } from './torch/python.js';

const spec = `model Tied {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=10, dim=4) -> lstm: LSTM(hidden=4) -> last -> fc: Linear(10) -> output scores
}
`;

/** A padded batch: the second row is two tokens long. */
const tokens = [
  [1, 2, 3, 4],
  [5, 6, 0, 0],
];
const lengths = [4, 2];

/**
 * Builds the spec's model in torch with the head tied to the embedding (one storage, two names),
 * stores it with a transposed-and-back (non-contiguous) recurrent matrix and an offset bias, and
 * saves it as a state_dict, in F16, BF16 and F64, inside a training checkpoint next to an Adam
 * state, and as a wrapper module's nested state_dict. Prints torch's outputs for each dtype.
 */
const script = `
import json, sys, torch
args = json.load(sys.stdin)
out = args['dir']
torch.manual_seed(3)

class Tied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(10, 4)
        self.lstm = torch.nn.LSTM(4, 4, batch_first=True)
        self.fc = torch.nn.Linear(4, 10)
        self.fc.weight = self.embedding.weight

    def forward(self, tokens, lengths):
        x = self.embedding(tokens)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.fc(h[-1])

model = Tied()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
tokens = torch.tensor(args['tokens'])
lengths = torch.tensor(args['lengths'])
model(tokens, lengths).sum().backward()
optimizer.step()

sd = model.state_dict()
assert sd['fc.weight'].data_ptr() == sd['embedding.weight'].data_ptr()
sd['lstm.weight_hh_l0'] = sd['lstm.weight_hh_l0'].t().contiguous().t()
assert not sd['lstm.weight_hh_l0'].is_contiguous()
sd['lstm.bias_ih_l0'] = torch.cat([torch.zeros(5), sd['lstm.bias_ih_l0']])[5:]
torch.save(sd, out + '/f32.pt')
torch.save({'model': sd, 'epoch': 3, 'optimizer': optimizer.state_dict(), 'name': 'tied'}, out + '/checkpoint.pt')

class Wrapper(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.encoder = torch.nn.Module()
        self.encoder.rnn = inner.lstm
torch.save(Wrapper(model).state_dict(), out + '/nested.pt')

results = {'names': sorted(Wrapper(model).state_dict().keys())}
for name, dtype in [('f32', torch.float32), ('f16', torch.float16), ('bf16', torch.bfloat16), ('f64', torch.float64)]:
    cast = {k: v.to(dtype) for k, v in sd.items()}
    if name != 'f32':
        torch.save(cast, out + '/' + name + '.pt')
    model.load_state_dict({k: v.float() for k, v in cast.items()})
    with torch.no_grad():
        results[name] = {
            'scores': model(tokens, lengths).tolist(),
            'weights': {k: v.float().flatten().tolist() for k, v in cast.items()},
            'shapes': {k: list(v.shape) for k, v in cast.items()},
        }
print(json.dumps(results))
`;

interface Variant {
  scores: number[][];
  weights: Record<string, number[]>;
  shapes: Record<string, number[]>;
}

async function run(weights: string): Promise<number[][]> {
  let out = '';
  let err = '';
  const argv = ['run', join(dir, 'tied.seq'), '--weights', weights, '--input', `tokens=${JSON.stringify(tokens)}`];
  argv.push('--input', `lengths=${JSON.stringify(lengths)}`);
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  expect(status, err).toBe(0);
  return (JSON.parse(out) as { scores: { data: number[][] } }).scores.data;
}

function maxDifference(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));
}

let dir = '';
let torchResults: Record<'f32' | 'f16' | 'bf16' | 'f64', Variant> & { names: string[] };

describe.skipIf(!torchAvailable())('checkpoints saved by PyTorch', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'seqc-pt-torch-'));
    writeFileSync(join(dir, 'tied.seq'), spec);
    torchResults = runPython(script, { dir, tokens, lengths });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['f32', 'f16', 'bf16', 'f64'] as const)(
    '%s: seqc with --weights x.pt matches torch on a padded batch and equals the same weights as safetensors',
    async (dtype) => {
      const variant = torchResults[dtype];
      const safetensors = writeSafetensors(
        Object.entries(variant.weights).map(([name, data]) => [
          name,
          { shape: variant.shapes[name]!, data: Float32Array.from(data) },
        ]),
      );
      writeFileSync(join(dir, `${dtype}.safetensors`), safetensors);
      const fromPt = await run(join(dir, `${dtype}.pt`));
      const fromSafetensors = await run(join(dir, `${dtype}.safetensors`));
      expect(fromPt).toEqual(fromSafetensors);
      const difference = maxDifference(fromPt, variant.scores);
      console.log(`pt-torch ${dtype}: max |seqc - torch| = ${difference.toExponential(2)}`);
      expect(difference).toBeLessThan(1e-5);
    },
  );

  it('reads the state_dict under :model of a training checkpoint holding an Adam state', async () => {
    expect(await run(`${join(dir, 'checkpoint.pt')}:model`)).toEqual(await run(join(dir, 'f32.pt')));
  });

  it('keeps tied and viewed tensors apart as values: the head equals the embedding, the view its transpose-back', () => {
    const read = readPtCheckpoint(new Uint8Array(readFileSync(join(dir, 'f32.pt'))), 'f32.pt');
    expect(read.diagnostics).toEqual([]);
    expect(read.tensors!.get('fc.weight')).toEqual(read.tensors!.get('embedding.weight'));
    for (const [name, data] of Object.entries(torchResults.f32.weights)) {
      expect(Array.from(read.tensors!.get(name)!.data), name).toEqual(data);
    }
  });

  it("reads a nested module's names such as encoder.rnn.weight_ih_l0", () => {
    const read = readPtCheckpoint(new Uint8Array(readFileSync(join(dir, 'nested.pt'))), 'nested.pt');
    expect(read.diagnostics).toEqual([]);
    expect([...read.tensors!.keys()].sort()).toEqual(torchResults.names);
    expect(torchResults.names).toContain('encoder.rnn.weight_ih_l0');
    expect(Array.from(read.tensors!.get('encoder.rnn.weight_hh_l0')!.data)).toEqual(
      torchResults.f32.weights['lstm.weight_hh_l0'],
    );
  });
});
