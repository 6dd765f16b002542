# The PyTorch side of test/torch-crf-train.test.ts: the emitted CRF's log-likelihood against brute-force
# enumeration of every tag path in float64, and a few Adam steps on the emitted NerTagger with that loss.
import importlib.util
import itertools
import json
import math
import sys

import torch


def load_emitted(path):
    spec = importlib.util.spec_from_file_location("emitted", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def path_score(emissions, tags, start, end, transitions):
    """The score of one tag path over one row's valid steps, with plain Python floats."""
    score = start[tags[0]] + emissions[0][tags[0]]
    for t in range(1, len(tags)):
        score += transitions[tags[t - 1]][tags[t]] + emissions[t][tags[t]]
    return score + end[tags[-1]]


def brute_force_log_likelihood(emissions, tags, length, start, end, transitions):
    """log p(tags | emissions) for one row, by enumerating all num_tags ** length paths."""
    num_tags = len(start)
    rows = emissions[:length]
    scores = [path_score(rows, p, start, end, transitions) for p in itertools.product(range(num_tags), repeat=length)]
    top = max(scores)
    log_z = top + math.log(sum(math.exp(s - top) for s in scores))
    return path_score(rows, tags[:length], start, end, transitions) - log_z


def check_against_enumeration(request):
    """Random CRFs and padded batches; the emitted log_likelihood per row and per batch vs enumeration."""
    emitted = load_emitted(request["model"])
    torch.manual_seed(request["seed"])
    worst_row, worst_batch, cases = 0.0, 0.0, 0
    for num_tags, batch, time in request["cases"]:
        crf = emitted.CRF(num_tags).double()
        with torch.no_grad():
            for p in crf.parameters():
                p.uniform_(-2.0, 2.0)
        emissions = torch.randn(batch, time, num_tags, dtype=torch.float64) * 2
        lengths = torch.randint(1, time + 1, (batch,))
        lengths[0] = time
        # Tags past each row's length are junk on purpose: the log-likelihood must ignore them.
        tags = torch.randint(0, num_tags, (batch, time))
        tags = torch.where(torch.arange(time) < lengths.unsqueeze(1), tags, torch.full_like(tags, -100))
        start = crf.start_transitions.tolist()
        end = crf.end_transitions.tolist()
        transitions = crf.transitions.tolist()
        expected = []
        for b in range(batch):
            n = int(lengths[b])
            expected.append(
                brute_force_log_likelihood(emissions[b].tolist(), tags[b].tolist(), n, start, end, transitions)
            )
            got = crf.log_likelihood(emissions[b : b + 1], tags[b : b + 1], lengths[b : b + 1]).item()
            worst_row = max(worst_row, abs(got - expected[-1]))
        total = crf.log_likelihood(emissions, tags, lengths).item()
        worst_batch = max(worst_batch, abs(total - sum(expected)))
        cases += 1
        if not all(e < 0 for e in expected):
            raise AssertionError("a log-likelihood of one path among several must be negative")
    return {"cases": cases, "worstRow": worst_row, "worstBatch": worst_batch}


def train(request):
    """A few Adam steps on the emitted model with -crf_log_likelihood, then torch.save and an eval forward."""
    emitted = load_emitted(request["model"])
    torch.manual_seed(request["seed"])
    model = getattr(emitted, request["className"])()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    batch, time, vocab, num_tags = request["batch"], request["time"], request["vocab"], request["tags"]
    tokens = torch.randint(1, vocab, (batch, time))
    lengths = torch.randint(1, time + 1, (batch,))
    lengths[0] = time
    tokens = tokens.masked_fill(torch.arange(time) >= lengths.unsqueeze(1), 0)
    gold = torch.randint(0, num_tags, (batch, time))
    model.train()
    losses = []
    for _ in range(request["steps"]):
        loss = -model.crf_log_likelihood(gold, tokens=tokens, lengths=lengths) / batch
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    state = model.state_dict()
    changed = sorted(k for k in state if not torch.equal(state[k], before[k]))
    torch.save(state, request["checkpoint"])
    model.eval()
    feeds = request["inputs"]
    with torch.no_grad():
        out = model(
            tokens=torch.tensor(feeds["tokens"]["data"]).reshape(feeds["tokens"]["shape"]),
            lengths=torch.tensor(feeds["lengths"]["data"]),
        )
    outputs = {
        k: {"dtype": "int64" if v.dtype == torch.int64 else "float32", "shape": list(v.shape), "data": v.reshape(-1).tolist()}
        for k, v in out.items()
    }
    return {"losses": losses, "changed": changed, "outputs": outputs}


request = json.load(sys.stdin)
task = {"enumerate": check_against_enumeration, "train": train}[request["task"]]
print(json.dumps(task(request)))
