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


def new_lengths(lengths, conv):
    """nn.Conv1d's output-length formula per row, at least 0."""
    span = conv.dilation[0] * (conv.kernel_size[0] - 1) + 1
    steps = torch.div(lengths + 2 * conv.padding[0] - span, conv.stride[0], rounding_mode="floor") + 1
    return steps.clamp(min=0)


def packed_or_zeros(rnn, x, lengths):
    """A packed bidirectional LSTM over the rows with steps (pack_padded_sequence refuses a length of 0);
    a row without steps has zero outputs and zero final states. Returns (outputs, last forward ++ first backward)."""
    outputs = torch.zeros(x.shape[0], x.shape[1], 2 * rnn.hidden_size)
    final = torch.zeros(x.shape[0], 2 * rnn.hidden_size)
    rows = (lengths > 0).nonzero().flatten()
    if len(rows) > 0:
        p = pack_padded_sequence(x[rows], lengths[rows], batch_first=True, enforce_sorted=False)
        y, (h, _) = rnn(p)
        y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
        outputs[rows] = y
        final[rows] = torch.cat([h[-2], h[-1]], dim=1)
    return outputs, final


def masked_mean(y, lengths):
    return masked(y, lengths).sum(1) / lengths.clamp(min=1).unsqueeze(1).float()


def run_derived(case):
    """A Conv1d that changes each row's length, and what reads its new lengths."""
    torch.manual_seed(case["seed"])
    c, c2 = case["conv"], case["conv2"]
    batch, time, features = case["batch"], case["time"], case["features"]
    lengths = torch.tensor(case["lengths"])
    conv = nn.Conv1d(features, c["out"], c["kernel"], stride=c["stride"], padding=c["padding"],
                     dilation=c["dilation"], bias=c["bias"])
    conv2 = nn.Conv1d(c["out"], c2["out"], c2["kernel"], stride=c2["stride"], padding=c2["padding"],
                      dilation=c2["dilation"], bias=c2["bias"])
    rnn = nn.LSTM(c["out"], case["hidden"], batch_first=True, bidirectional=True)
    modules = {"conv": conv, "conv2": conv2, "rnn": rnn}
    x = torch.randn(batch, time, features)
    steps = torch.arange(time).unsqueeze(0).unsqueeze(2)
    x = torch.where(steps < lengths.view(-1, 1, 1), x, torch.full_like(x, PAD))
    y = conv(masked(x, lengths).transpose(1, 2)).transpose(1, 2)
    lengths1 = new_lengths(lengths, conv)
    y2 = conv2(masked(y, lengths1).transpose(1, 2)).transpose(1, 2)
    lengths2 = new_lengths(lengths1, conv2)
    last = torch.stack([y[row, n - 1] if n > 0 else torch.zeros(c["out"]) for row, n in enumerate(lengths1.tolist())])
    valid = torch.arange(y.shape[1]).unsqueeze(0) < lengths1.unsqueeze(1)
    top = y.masked_fill(~valid.unsqueeze(2), float("-inf")).max(1).values
    top = torch.where((lengths1 > 0).unsqueeze(1), top, torch.zeros_like(top))
    r, h = packed_or_zeros(rnn, y, lengths1)
    outputs = {
        "y": tensor_json(masked(y, lengths1)),
        "m": tensor_json(masked_mean(y, lengths1)),
        "l": tensor_json(last),
        "mx": tensor_json(top),
        "r": tensor_json(r),
        "h": tensor_json(h),
        "y2": tensor_json(masked(y2, lengths2)),
        "m2": tensor_json(masked_mean(y2, lengths2)),
    }
    state = {}
    for prefix, module in modules.items():
        for name, value in module.state_dict().items():
            state[prefix + "." + name] = tensor_json(value)
    return {"inputs": {"x": tensor_json(x)}, "state": state, "outputs": outputs,
            "lengths": lengths1.tolist()}


def run(case):
    if case["kind"] == "derived":
        return run_derived(case)
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
