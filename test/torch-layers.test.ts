// Each existing layer against PyTorch's own modules (nn.LSTM/GRU/RNN, packed sequences, nn.Embedding, nn.Linear, nn.LayerNorm, pooling written in torch), independently of the emitter: seqc's compiled graph in onnxruntime-node against a hand-written torch script, on padded batches.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../src/index.js';
import { runPython, torchAvailable } from './torch/python.js';
import { compileAndEmit, maxAbsDiff, randomFeeds, runOnnx, type Feeds, type Tensor } from './torch/emitted.js';

const TOLERANCE = 1e-5;

/**
 * The reference: one function per case, each built from PyTorch modules loaded with seqc's weights
 * by state_dict name (strict), never from the emitted module.
 */
const reference = `
import json, sys, torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
request = json.load(sys.stdin)

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    out = {}
    for name, entry in header.items():
        if name != "__metadata__":
            start, end = entry["data_offsets"]
            raw = bytearray(data[8 + size + start:8 + size + end])
            out[name] = torch.frombuffer(raw, dtype=torch.float32).reshape(entry["shape"]).clone()
    return out

W = read_safetensors(request["weights"])

def load(module, prefix):
    own = {k[len(prefix) + 1:]: v for k, v in W.items() if k.startswith(prefix + ".")}
    module.load_state_dict(own, strict=True)
    return module.eval()

def feed(name):
    t = request["inputs"][name]
    return torch.tensor(t["data"], dtype=torch.int64 if t["dtype"] == "int64" else torch.float32).reshape(t["shape"])

def packed(rnn, x, lengths, state=None):
    p = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    y, final = rnn(p, state)
    y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
    return y, final

def valid(lengths, time):
    return torch.arange(time).unsqueeze(0) < lengths.unsqueeze(1)

def case_embedding_bilstm():
    tokens, lengths = feed("tokens"), feed("lengths")
    emb = load(nn.Embedding(12, 5, padding_idx=0), "embedding")
    lstm = load(nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True), "lstm")
    y, (h, c) = packed(lstm, emb(tokens), lengths)
    return {"states": y, "final": torch.cat([h[-2], h[-1]], dim=1)}

def case_stacked_bigru():
    frames, lengths = feed("frames"), feed("lengths")
    gru = load(nn.GRU(3, 4, num_layers=3, bidirectional=True, batch_first=True), "gru")
    y, h = packed(gru, frames, lengths)
    return {"out": y, "final": torch.cat([h[-2], h[-1]], dim=1)}

def case_rnn_relu():
    frames = feed("frames")
    rnn = load(nn.RNN(3, 5, num_layers=2, nonlinearity="relu", bias=False, batch_first=True), "rnn")
    y, h = rnn(frames)
    return {"out": y, "final": h[-1]}

def case_stateful_lstm():
    frames, lengths = feed("frames"), feed("lengths")
    lstm = load(nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True), "lstm")
    y, (h, c) = packed(lstm, frames, lengths, (feed("lstm.h0"), feed("lstm.c0")))
    return {"out": y, "lstm.hn": h, "lstm.cn": c}

def case_head_and_pools():
    tokens, lengths = feed("tokens"), feed("lengths")
    emb = load(nn.Embedding(12, 6), "embedding")
    fc = load(nn.Linear(6, 4), "fc")
    norm = load(nn.LayerNorm(4, eps=1e-3), "norm")
    x = norm(fc(emb(tokens)))
    ok = valid(lengths, x.shape[1]).unsqueeze(2)
    return {
        "mean_out": (x * ok).sum(1) / lengths.unsqueeze(1).float(),
        "max_out": x.masked_fill(~ok, float("-inf")).max(1).values,
        "first_out": x[:, 0],
        "last_out": x[torch.arange(x.shape[0]), lengths - 1],
        "relu_out": torch.relu(x) * ok,
        "tanh_out": torch.tanh(x) * ok,
        "sigmoid_out": torch.sigmoid(x) * ok,
        "softmax_out": torch.softmax(x, dim=-1) * ok,
        "log_softmax_out": torch.log_softmax(x, dim=-1) * ok,
    }

with torch.no_grad():
    out = globals()["case_" + request["case"]]()
print(json.dumps({k: {"dtype": "float32", "shape": list(v.shape), "data": v.reshape(-1).tolist()} for k, v in out.items()}))
`;

const cases: Record<string, string> = {
  embedding_bilstm: `model M {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=12, dim=5, padding_idx=0) -> lstm: BiLSTM(hidden=4, layers=2) -> output states
  lstm -> last -> output final
}`,
  stacked_bigru: `model M {
  input frames: float32[batch, time, 3]
  input lengths: lengths(frames)
  frames -> gru: BiGRU(hidden=4, layers=3) -> output out
  gru -> last -> output final
}`,
  rnn_relu: `model M {
  input frames: float32[batch, time, 3]
  frames -> rnn: RNN(hidden=5, layers=2, nonlinearity=relu, bias=false) -> output out
  rnn -> last -> output final
}`,
  stateful_lstm: `model M {
  input frames: float32[batch, time, 3]
  input lengths: lengths(frames)
  frames -> lstm: BiLSTM(hidden=4, layers=2, stateful=true) -> output out
}`,
  head_and_pools: `model M {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=12, dim=6) -> fc: Linear(4) -> norm: LayerNorm(eps=0.001)
  norm -> mean -> output mean_out
  norm -> max -> output max_out
  norm -> first -> output first_out
  norm -> last -> output last_out
  norm -> relu -> output relu_out
  norm -> tanh -> output tanh_out
  norm -> sigmoid -> output sigmoid_out
  norm -> softmax -> output softmax_out
  norm -> log_softmax -> output log_softmax_out
}`,
};

describe.skipIf(!torchAvailable())("seqc's layers against PyTorch's own modules on padded batches", () => {
  const folder = mkdtempSync(join(tmpdir(), 'seqc-layers-'));
  for (const [name, source] of Object.entries(cases)) {
    it(`${name}: every output within 1e-5 of PyTorch`, async () => {
      const emitted = compileAndEmit(`${source}\n`, 17);
      const feeds: Feeds = randomFeeds(emitted.ir, 29, { time: 6, batch: 4 });
      const onnx = await runOnnx(emitted.compiled.model!, feeds);
      const weights = join(folder, `${name}.safetensors`);
      writeFileSync(weights, writeSafetensors(emitted.weights));
      const torch = runPython<Record<string, Tensor>>(reference, { case: name, weights, inputs: feeds });
      expect(Object.keys(torch).sort()).toEqual(Object.keys(onnx).sort());
      const diffs = Object.keys(onnx).map((k) => [k, maxAbsDiff(torch[k]!, onnx[k]!)] as const);
      console.log(`${name}: ${diffs.map(([k, d]) => `${k} max |Δ| ${d.toExponential(2)}`).join(', ')}`);
      for (const [k, d] of diffs) expect(d, `${name} ${k}`).toBeLessThanOrEqual(TOLERANCE);
    }, 120_000);
  }
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
});
