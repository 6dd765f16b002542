# The PyTorch side of test/torch-conv1d.test.ts: builds each case's modules from a seed, runs them on a
# padded batch, and prints the inputs, the state_dict and the outputs as JSON.
import json
import sys

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD = 100.0


def tensor_json(t):
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def masked(t, lengths):
    steps = torch.arange(t.shape[1]).unsqueeze(0)
    return t * (steps < lengths.unsqueeze(1)).unsqueeze(2).to(t.dtype)


def packed(rnn, x, lengths):
    p = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    y, _ = rnn(p)
    y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
    return y


def run(case):
    torch.manual_seed(case["seed"])
    c = case["conv"]
    batch, time, features = case["batch"], case["time"], case["features"]
    lengths = torch.tensor(case["lengths"]) if case.get("lengths") is not None else None
    outputs, inputs = {}, {}
    if case["kind"] == "tagger":
        emb = nn.Embedding(case["vocab"], features, padding_idx=0)
        conv = nn.Conv1d(features, c["out"], c["kernel"], stride=c["stride"], padding=c["padding"],
                         dilation=c["dilation"], bias=c["bias"])
        rnn = nn.LSTM(c["out"], case["hidden"], num_layers=2, bidirectional=True, batch_first=True)
        fc = nn.Linear(2 * case["hidden"], case["tags"])
        modules = {"embedding": emb, "conv": conv, "rnn": rnn, "emissions": fc}
        tokens = torch.randint(1, case["vocab"], (batch, time))
        tokens = (masked(tokens.unsqueeze(2), lengths).squeeze(2)).long()
        inputs["tokens"] = tensor_json(tokens.float())
        e = emb(tokens)
        h = torch.relu(conv(e.transpose(1, 2)).transpose(1, 2))
        y = fc(packed(rnn, h, lengths))
        outputs["y"] = tensor_json(masked(y, lengths))
    else:
        conv = nn.Conv1d(features, c["out"], c["kernel"], stride=c["stride"], padding=c["padding"],
                         dilation=c["dilation"], bias=c["bias"])
        modules = {"conv": conv}
        x = torch.randn(batch, time, features)
        if lengths is not None:
            # Padded steps hold a large value, so that any leak into the convolution shows.
            steps = torch.arange(time).unsqueeze(0).unsqueeze(2)
            x = torch.where(steps < lengths.view(-1, 1, 1), x, torch.full_like(x, PAD))
        inputs["x"] = tensor_json(x)
        xin = masked(x, lengths) if lengths is not None else x
        y = conv(xin.transpose(1, 2)).transpose(1, 2)
        if lengths is None:
            outputs["y"] = tensor_json(y)
        else:
            rnn = nn.LSTM(c["out"], case["hidden"], batch_first=True)
            modules["rnn"] = rnn
            outputs["y"] = tensor_json(masked(y, lengths))
            outputs["m"] = tensor_json(masked(y, lengths).sum(1) / lengths.unsqueeze(1).float())
            outputs["r"] = tensor_json(packed(rnn, y, lengths))
    state = {}
    for prefix, module in modules.items():
        for name, value in module.state_dict().items():
            state[prefix + "." + name] = tensor_json(value)
    return {"inputs": inputs, "state": state, "outputs": outputs}


with torch.no_grad():
    print(json.dumps([run(case) for case in json.load(sys.stdin)]))
