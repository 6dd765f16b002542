// The loop closed: train the emitted module in PyTorch for a few Adam steps, save its state_dict (safetensors written by a few lines of Python, and torch.save), load it into seqc with --weights, and get PyTorch's outputs.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { main } from '../src/cli/main.js';
import { runPython, torchAvailable } from './torch/python.js';
import { maxAbsDiff, randomFeeds, runOnnx, type Feeds, type Tensor } from './torch/emitted.js';
import { checkSource } from '../src/index.js';

/**
 * Flip to true when seqc reads `.pt` checkpoints (`--weights FILE.pt`, issue 10): the test below
 * then loads the `torch.save` file the training script wrote, exactly as it loads the safetensors.
 */
const ptWeightsSupported = true;

const TOLERANCE = 1e-5;

const source = `# Trained in PyTorch, run by seqc: a BiLSTM, a hand-written Keras GRU, LayerNorm, Dropout and masked pooling.
model Trained {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens
    -> embedding: Embedding(vocab=13, dim=6, padding_idx=0)
    -> lstm: BiLSTM(hidden=4)
    -> keras: GRU(hidden=5, reset_after=false, recurrent_activation=hard_sigmoid)
    -> norm: LayerNorm
    -> Dropout(0.2)
    -> mean
    -> fc: Linear(3)
    -> log_softmax
    -> output scores
  keras -> output per_token
}
`;

/** Trains the emitted module on random data, then saves it both ways and runs it in eval mode. */
const training = `
import importlib.util, json, struct, sys, torch
request = json.load(sys.stdin)
folder = request["folder"]
spec = importlib.util.spec_from_file_location("emitted", folder + "/model.py")
emitted = importlib.util.module_from_spec(spec)
spec.loader.exec_module(emitted)

def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().reshape(-1)
        raw = struct.pack("<%df" % t.numel(), *t.tolist())
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))

torch.manual_seed(0)
model = emitted.Trained()
before = {k: v.clone() for k, v in model.state_dict().items()}
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
losses = []
model.train()
for step in range(6):
    tokens = torch.randint(1, 13, (8, 7))
    lengths = torch.randint(1, 8, (8,))
    labels = torch.randint(0, 3, (8,))
    out = model(tokens=tokens, lengths=lengths)
    loss = torch.nn.functional.nll_loss(out["scores"], labels) + out["per_token"].pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
state = model.state_dict()
changed = sorted(k for k in state if not torch.equal(state[k], before[k]))
write_safetensors(folder + "/trained.safetensors", state)
torch.save(state, folder + "/model.pt")
model.eval()
t = request["inputs"]
with torch.no_grad():
    out = model(tokens=torch.tensor(t["tokens"]["data"]).reshape(t["tokens"]["shape"]),
                lengths=torch.tensor(t["lengths"]["data"]))
plain = {k: {"dtype": "float32", "shape": list(v.shape), "data": v.reshape(-1).tolist()} for k, v in out.items()}
print(json.dumps({"losses": losses, "changed": changed, "outputs": plain}))
`;

describe.skipIf(!torchAvailable())('trained in PyTorch, loaded into seqc', () => {
  const folder = mkdtempSync(join(tmpdir(), 'seqc-loop-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  const ir = checkSource(source).ir!;
  const feeds: Feeds = randomFeeds(ir, 41, { batch: 4, time: 6 });
  let trained: { losses: number[]; changed: string[]; outputs: Record<string, Tensor> } | undefined;

  async function seqcOutputs(weightsFile: string): Promise<Record<string, Tensor>> {
    const weights = { bytes: new Uint8Array(readFileSync(weightsFile)), name: weightsFile };
    const compiled = compile(source, { weights });
    expect(compiled.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return runOnnx(compiled.model!, feeds);
  }

  it('emits the module with the CLI and trains it: every parameter moves', async () => {
    writeFileSync(join(folder, 'trained.seq'), source);
    const code = await main(['emit', 'pytorch', join(folder, 'trained.seq'), '-o', join(folder, 'model.py')], {
      out: () => {},
      err: () => {},
      color: false,
    });
    expect(code).toBe(0);
    const result = runPython<NonNullable<typeof trained>>(training, { folder, inputs: feeds });
    trained = result;
    expect(result.losses).toHaveLength(6);
    expect(result.changed.sort()).toEqual(ir.parameters.map((p) => p.name).sort());
  }, 300_000);

  it("seqc with the safetensors file gives PyTorch's outputs at 1e-5", async () => {
    expect(trained).toBeDefined();
    const onnx = await seqcOutputs(join(folder, 'trained.safetensors'));
    const diffs = Object.keys(onnx).map((k) => [k, maxAbsDiff(trained!.outputs[k]!, onnx[k]!)] as const);
    console.log(`after training: ${diffs.map(([k, d]) => `${k} max |Δ| ${d.toExponential(2)}`).join(', ')}`);
    expect(diffs.map(([k]) => k).sort()).toEqual(['per_token', 'scores']);
    for (const [k, d] of diffs) expect(d, k).toBeLessThanOrEqual(TOLERANCE);
  });

  it.skipIf(!ptWeightsSupported)("seqc with torch.save's model.pt gives PyTorch's outputs at 1e-5", async () => {
    expect(trained).toBeDefined();
    const onnx = await seqcOutputs(join(folder, 'model.pt'));
    for (const k of Object.keys(onnx))
      expect(maxAbsDiff(trained!.outputs[k]!, onnx[k]!), k).toBeLessThanOrEqual(TOLERANCE);
  });
});
