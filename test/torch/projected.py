# The PyTorch side of test/torch-projected.test.ts: nn.LSTM(proj_size=P) (and a tagger chain around
# one) built from a seed and run on a padded batch; prints inputs, state_dict and outputs as JSON.
import json
import sys

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def tensor_json(t):
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def masked(t, lengths):
    steps = torch.arange(t.shape[1]).unsqueeze(0)
    return t * (steps < lengths.unsqueeze(1)).unsqueeze(2).to(t.dtype)


def run(case):
    torch.manual_seed(case["seed"])
    batch, time, features = case["batch"], case["time"], case["features"]
    hidden, proj, layers, bi = case["hidden"], case["proj"], case["layers"], case["bidirectional"]
    lengths = torch.tensor(case["lengths"]) if case.get("lengths") is not None else None
    inputs, outputs, modules = {}, {}, {}
    if case.get("tagger"):
        emb = nn.Embedding(case["vocab"], features, padding_idx=0)
        conv = nn.Conv1d(features, features, 3, padding=1)
        modules.update({"embedding": emb, "conv": conv})
        tokens = masked(torch.randint(1, case["vocab"], (batch, time)).unsqueeze(2), lengths).squeeze(2).long()
        inputs["tokens"] = tensor_json(tokens.float())
        x = torch.relu(conv(emb(tokens).transpose(1, 2)).transpose(1, 2))
    else:
        x = torch.randn(batch, time, features)
        inputs["x"] = tensor_json(x)
    rnn = nn.LSTM(features, hidden, num_layers=layers, bidirectional=bi, proj_size=proj, batch_first=True)
    modules["rnn"] = rnn
    dirs = 2 if bi else 1
    state = None
    if case.get("stateful"):
        h0 = torch.randn(layers * dirs, batch, proj)
        c0 = torch.randn(layers * dirs, batch, hidden)
        inputs["rnn.h0"], inputs["rnn.c0"] = tensor_json(h0), tensor_json(c0)
        state = (h0, c0)
    if lengths is not None:
        p = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        y, (hn, cn) = rnn(p, state)
        y, _ = pad_packed_sequence(y, batch_first=True, total_length=time)
    else:
        y, (hn, cn) = rnn(x, state)
    if case.get("tagger"):
        fc = nn.Linear(proj * dirs, case["tags"])
        modules["emissions"] = fc
        outputs["y"] = tensor_json(masked(fc(y), lengths))
    else:
        outputs["y"] = tensor_json(y)
        outputs["l"] = tensor_json(torch.cat([hn[-dirs + d] for d in range(dirs)], dim=1))
        if case.get("stateful"):
            outputs["rnn.hn"], outputs["rnn.cn"] = tensor_json(hn), tensor_json(cn)
    sd = {}
    for prefix, module in modules.items():
        for name, value in module.state_dict().items():
            sd[prefix + "." + name] = tensor_json(value)
    return {"inputs": inputs, "state": sd, "outputs": outputs}


with torch.no_grad():
    print(json.dumps([run(case) for case in json.load(sys.stdin)]))
