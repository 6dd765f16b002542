// The emit stage: a checked spec's IR as a self-contained PyTorch module (Python source), computing what the compiled graph computes.

import { assertNever } from '../contracts/assert.js';
import type {
  ActivationOp,
  AttentionIR,
  Conv1dOp,
  CrfOp,
  DecoderIR,
  EmbeddingOp,
  IrInput,
  LayerNormOp,
  LinearOp,
  MergeOp,
  ModelIR,
  Op,
  PoolOp,
  RecurrentOp,
  ValueType,
} from '../ir/ir.js';

export interface EmitPytorchOptions {
  /** The spec's text, quoted in the comment above each layer's construction. */
  readonly sourceText?: string;
  /** The spec's file name, named in the module docstring. */
  readonly sourceName?: string;
  /** The seqc version named in the module docstring. */
  readonly version?: string;
}

/**
 * The Python source of `class <ModelName>(torch.nn.Module)` for `ir`: its `state_dict()` keys and
 * shapes are `ir.parameters`, and `forward(**inputs)` returns `{output name: tensor}` as the compiled
 * graph does (for a model with a decoder: teacher-forced `logits`, plus `encode` and `step`).
 */
export function emitPytorch(ir: ModelIR, options: EmitPytorchOptions = {}): string {
  const emitter = new ModuleEmitter(ir, options);
  return emitter.file();
}

/** Python's reserved words, which cannot be attribute or variable names. */
const pythonKeywords = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from ' +
    'global if import in is lambda nonlocal not or pass raise return try while with yield'
  ).split(' '),
);

/** A Python identifier for a spec name: `lstm.h0` → `lstm_h0`, a keyword gets a trailing underscore. */
export function pythonIdentifier(name: string): string {
  let id = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (/^[0-9]/.test(id)) id = `_${id}`;
  if (pythonKeywords.has(id)) id = `${id}_`;
  return id;
}

/** The module-level names the emitted file defines besides the model's class. */
const fileNames = new Set([
  'torch',
  'nn',
  'F',
  'pack_padded_sequence',
  'pad_packed_sequence',
  'valid_steps',
  'zero_past_lengths',
  'run_recurrent',
  'run_recurrent_with_empty_rows',
  'hard_sigmoid',
  'cell_activation',
  'HandWrittenRecurrent',
  'Attention',
  'CRF',
]);

/** The emitted class's name: the model's, or with `Model` appended where that would shadow a name the file uses. */
export function pytorchClassName(ir: ModelIR): string {
  const name = pythonIdentifier(ir.name);
  return fileNames.has(name) ? `${name}Model` : name;
}

/** A Python string literal. */
function str(text: string): string {
  return JSON.stringify(text);
}

/** A Python float literal that round-trips. */
function float(value: number): string {
  const text = String(value);
  return /[.eE]/.test(text) || !Number.isFinite(value) ? text : `${text}.0`;
}

/** `self.a.b` for the module path `a.b`; segments that are not identifiers go through getattr. */
function modulePath(label: string): string {
  return label
    .split('.')
    .reduce(
      (acc, part) =>
        /^[A-Za-z_][A-Za-z0-9_]*$/.test(part) && !pythonKeywords.has(part)
          ? `${acc}.${part}`
          : `getattr(${acc}, ${str(part)})`,
      'self',
    );
}

/** Whether PyTorch's own nn.RNN/LSTM/GRU computes the layer; otherwise the emitted file writes the cell out. */
function needsHandWrittenCell(op: RecurrentOp): boolean {
  return (
    op.recurrentActivation !== 'sigmoid' ||
    op.activation !== 'tanh' ||
    (op.cell === 'rnn' && op.nonlinearity !== 'tanh' && op.nonlinearity !== 'relu') ||
    (op.cell === 'gru' && !op.resetAfter)
  );
}

const helpers = {
  header: `import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence`,
  validSteps: `def valid_steps(lengths, time):
    """[batch, time] booleans: True at the steps inside each row's length."""
    steps = torch.arange(time, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)


def zero_past_lengths(x, lengths):
    """x [batch, time, ...] with the steps past each row's length set to zero (x if no lengths)."""
    if lengths is None:
        return x
    valid = valid_steps(lengths, x.shape[1]).reshape(x.shape[:2] + (1,) * (x.dim() - 2))
    return x.masked_fill(~valid, 0)`,
  runRecurrent: `def run_recurrent(module, x, lengths, state):
    """Runs a batch-first recurrent layer over x [batch, time, features].

    With lengths, each row sees only its valid steps (a packed sequence), the outputs past a row's
    length are zero, and the final states are those at each row's last valid step (forward) or after
    running back to step 0 (backward). Returns (outputs, h_n) or (outputs, (h_n, c_n)).
    """
    if not isinstance(module, nn.RNNBase):
        return module(x, state, lengths)  # a HandWrittenRecurrent
    if lengths is None:
        return module(x, state)
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    outputs, final = module(packed, state)
    outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])
    return outputs, final`,
  runRecurrentWithEmptyRows: `def run_recurrent_with_empty_rows(module, x, lengths, state):
    """run_recurrent for lengths that may be 0 (a Conv1d can leave a row without steps).

    A packed sequence cannot hold a row of 0 steps, so such a row runs over one step, and then its
    outputs and final states are set to zero, as the compiled graph defines them.
    """
    outputs, final = run_recurrent(module, x, lengths.clamp(min=1), state)
    outputs = zero_past_lengths(outputs, lengths)
    empty = (lengths == 0).reshape(1, -1, 1)
    if isinstance(final, tuple):
        return outputs, tuple(states.masked_fill(empty, 0) for states in final)
    return outputs, final.masked_fill(empty, 0)`,
  handWritten: `def hard_sigmoid(x):
    """Keras 2's hard sigmoid, clip(0.2 x + 0.5, 0, 1) (ONNX HardSigmoid with its defaults)."""
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


def cell_activation(name, x):
    """A recurrent cell's activation by its seqc name (hardsigmoid is PyTorch's and Keras 3's)."""
    if name == "hard_sigmoid":
        return hard_sigmoid(x)
    if name == "hardsigmoid":
        return F.hardsigmoid(x)
    if name == "linear":
        return x
    return {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[name](x)


class HandWrittenRecurrent(nn.Module):
    """A stacked, batch-first RNN/LSTM/GRU, written step by step, for options PyTorch lacks.

    recurrent_activation="hard_sigmoid" applies hard_sigmoid to the gates (LSTM i, f, o; GRU r, z).
    reset_after=False is the Keras GRU: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn). Parameters
    are named and shaped as in nn.LSTM/nn.GRU/nn.RNN, gates in PyTorch's order (LSTM i, f, g, o; GRU
    r, z, n), so state_dict() matches theirs. forward(x, state, lengths) returns what
    run_recurrent returns for PyTorch's modules: steps past a row's length are skipped.
    """

    def __init__(
        self,
        cell,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        bidirectional=False,
        dropout=0.0,
        nonlinearity="tanh",
        recurrent_activation="sigmoid",
        reset_after=True,
        activation="tanh",
    ):
        super().__init__()
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.directions = 2 if bidirectional else 1
        self.dropout = dropout
        self.nonlinearity = nonlinearity
        self.recurrent_activation = recurrent_activation
        self.reset_after = reset_after
        self.activation = activation
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell] * hidden_size
        bound = 1.0 / hidden_size ** 0.5
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.directions
            for direction in range(self.directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gates, layer_input)), ("weight_hh", (gates, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                for name, shape in shapes:
                    parameter = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
                    self.register_parameter(name + suffix, parameter)

    def gate(self, x):
        return cell_activation(self.recurrent_activation, x)

    def act(self, x):
        return cell_activation(self.activation, x)

    def linear(self, x, name, suffix):
        bias = getattr(self, name.replace("weight", "bias") + suffix) if self.bias else None
        return F.linear(x, getattr(self, name + suffix), bias)

    def step(self, x, h, c, suffix):
        """One step of one layer and direction: the new (h, c); c is None except for an LSTM."""
        if self.cell == "lstm":
            gates = self.linear(x, "weight_ih", suffix) + self.linear(h, "weight_hh", suffix)
            i, f, g, o = gates.chunk(4, dim=1)
            c = self.gate(f) * c + self.gate(i) * self.act(g)
            return self.gate(o) * self.act(c), c
        if self.cell == "gru":
            x_r, x_z, x_n = self.linear(x, "weight_ih", suffix).chunk(3, dim=1)
            if self.reset_after:
                h_r, h_z, h_n = self.linear(h, "weight_hh", suffix).chunk(3, dim=1)
                r = self.gate(x_r + h_r)
                n = self.act(x_n + r * h_n)
            else:
                w_r, w_z, w_n = getattr(self, "weight_hh" + suffix).chunk(3, dim=0)
                b_r, b_z, b_n = (None, None, None)
                if self.bias:
                    b_r, b_z, b_n = getattr(self, "bias_hh" + suffix).chunk(3)
                h_r = F.linear(h, w_r, b_r)
                h_z = F.linear(h, w_z, b_z)
                r = self.gate(x_r + h_r)
                n = self.act(x_n + F.linear(r * h, w_n, b_n))
            z = self.gate(x_z + h_z)
            return (1 - z) * n + z * h, None
        pre = self.linear(x, "weight_ih", suffix) + self.linear(h, "weight_hh", suffix)
        return cell_activation(self.nonlinearity, pre), None

    def forward(self, x, state=None, lengths=None):
        batch, time = x.shape[0], x.shape[1]
        rows = self.num_layers * self.directions
        zeros = x.new_zeros(rows, batch, self.hidden_size)
        if state is None:
            h0, c0 = zeros, zeros
        elif self.cell == "lstm":
            h0, c0 = state
        else:
            h0, c0 = state, zeros
        if lengths is None:
            lengths = torch.full((batch,), time, dtype=torch.long, device=x.device)
        valid = valid_steps(lengths, time).unsqueeze(2)
        finals_h, finals_c = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.directions):
                row = layer * self.directions + direction
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                h, c = h0[row], c0[row]
                ys = [None] * time
                steps = range(time - 1, -1, -1) if direction == 1 else range(time)
                for t in steps:
                    new_h, new_c = self.step(layer_input[:, t], h, c, suffix)
                    keep = valid[:, t]
                    ys[t] = torch.where(keep, new_h, torch.zeros_like(new_h))
                    h = torch.where(keep, new_h, h)
                    c = torch.where(keep, new_c, c) if new_c is not None else c
                outputs.append(torch.stack(ys, dim=1))
                finals_h.append(h)
                finals_c.append(c)
            layer_input = torch.cat(outputs, dim=2)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout)
        h_n = torch.stack(finals_h)
        if self.cell == "lstm":
            return layer_input, (h_n, torch.stack(finals_c))
        return layer_input, h_n`,
  attention: `class Attention(nn.Module):
    """Attention over the encoder's memory, as docs/seq2seq.md defines it (OpenNMT-py's names).

    score: "dot" (q . m), "general" ((W_in q) . m) or "additive" (v . tanh(W_q q + b_q + W_c m)).
    Steps past each source row's length get the lowest float as their score before the softmax.
    With luong=True the layer also has linear_out, for the attentional vector.
    """

    def __init__(self, score, query_dim, memory_dim, luong):
        super().__init__()
        self.score = score
        if score == "general":
            self.linear_in = nn.Linear(query_dim, memory_dim, bias=False)
        if score == "additive":
            self.linear_context = nn.Linear(memory_dim, memory_dim, bias=False)
            self.linear_query = nn.Linear(query_dim, memory_dim)
            self.v = nn.Linear(memory_dim, 1, bias=False)
        if luong:
            self.linear_out = nn.Linear(memory_dim + query_dim, query_dim, bias=score == "additive")

    def forward(self, query, memory, lengths):
        """query [batch, Q], memory [batch, S, D] -> (context [batch, D], weights [batch, S])."""
        if self.score == "additive":
            summed = self.linear_context(memory) + self.linear_query(query).unsqueeze(1)
            scores = self.v(torch.tanh(summed)).squeeze(2)
        else:
            projected = self.linear_in(query) if self.score == "general" else query
            scores = torch.bmm(memory, projected.unsqueeze(2)).squeeze(2)
        if lengths is not None:
            lowest = torch.finfo(scores.dtype).min
            scores = scores.masked_fill(~valid_steps(lengths, memory.shape[1]), lowest)
        weights = torch.softmax(scores, dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights

    def attentional(self, context, query):
        """Luong's attentional vector: linear_out([context ; query]), tanh for dot and general."""
        projected = self.linear_out(torch.cat([context, query], dim=1))
        return projected if self.score == "additive" else torch.tanh(projected)`,
  crf: `class CRF(nn.Module):
    """A linear-chain CRF with pytorch-crf's parameters, decoding with Viterbi as the compiled graph does.

    transitions[i, j] scores tag i followed by tag j. decode(emissions, lengths) takes emissions
    [batch, time, tags] and returns (path, score): the best path, int64 [batch, time] with 0 past
    each row's length, and its score [batch], start + emissions + transitions + end over the row's
    valid steps. Ties go to the first index, as torch.max breaks them.

    log_likelihood(emissions, tags, lengths) is the training objective: log p(tags | emissions)
    summed over the batch, as pytorch-crf's CRF.forward(emissions, tags, mask, reduction="sum")
    with mask = the steps inside lengths. Every row needs a length of at least 1.
    """

    def __init__(self, num_tags):
        super().__init__()
        self.num_tags = num_tags
        self.start_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))

    def decode(self, emissions, lengths=None):
        batch, time = emissions.shape[0], emissions.shape[1]
        if lengths is None:
            lengths = torch.full((batch,), time, dtype=torch.long, device=emissions.device)
        valid = valid_steps(lengths, time)
        score = self.start_transitions + emissions[:, 0]
        pointers = [None]
        for t in range(1, time):
            # candidates[b, i, j]: the best score ending in tag i, then the transition i -> j.
            candidates = score.unsqueeze(2) + self.transitions
            best, pointer = candidates.max(dim=1)
            score = torch.where(valid[:, t].unsqueeze(1), best + emissions[:, t], score)
            pointers.append(pointer)
        best_score, tag = (score + self.end_transitions).max(dim=1)
        path = [None] * time
        for t in range(time - 1, -1, -1):
            inside = valid[:, t]
            path[t] = torch.where(inside, tag, torch.zeros_like(tag))
            if t > 0:
                previous = pointers[t].gather(1, tag.unsqueeze(1)).squeeze(1)
                tag = torch.where(inside, previous, tag)
        return torch.stack(path, dim=1), best_score

    def log_likelihood(self, emissions, tags, lengths=None):
        batch, time = emissions.shape[0], emissions.shape[1]
        if lengths is None:
            lengths = torch.full((batch,), time, dtype=torch.long, device=emissions.device)
        valid = valid_steps(lengths, time)
        tags = tags.masked_fill(~valid, 0)
        return (self.path_score(emissions, tags, lengths) - self.log_partition(emissions, valid)).sum()

    def path_score(self, emissions, tags, lengths):
        """[batch]: start + emissions + transitions + end along tags, over each row's valid steps."""
        rows = torch.arange(emissions.shape[0], device=emissions.device)
        score = self.start_transitions[tags[:, 0]] + emissions[rows, 0, tags[:, 0]]
        for t in range(1, emissions.shape[1]):
            step = self.transitions[tags[:, t - 1], tags[:, t]] + emissions[rows, t, tags[:, t]]
            score = torch.where(t < lengths, score + step, score)
        last = tags[rows, lengths - 1]
        return score + self.end_transitions[last]

    def log_partition(self, emissions, valid):
        """[batch]: the log of the sum of exp(score) over every tag path (the forward algorithm)."""
        alpha = self.start_transitions + emissions[:, 0]
        for t in range(1, emissions.shape[1]):
            # candidates[b, i, j]: the paths ending in tag i, then the transition i -> j and emission j.
            candidates = alpha.unsqueeze(2) + self.transitions + emissions[:, t].unsqueeze(1)
            alpha = torch.where(valid[:, t].unsqueeze(1), torch.logsumexp(candidates, dim=1), alpha)
        return torch.logsumexp(alpha + self.end_transitions, dim=1)`,
} as const;

/** The longest line the emitted file aims for (black's style, PEP 8's spirit). */
const lineLimit = 99;

/** One Python statement block being written: lines at an indentation, long statements wrapped. */
class Lines {
  readonly lines: string[] = [];
  add(indent: number, ...texts: string[]): void {
    for (const text of texts) {
      if (text === '') this.lines.push('');
      else this.lines.push(...wrapStatement(`${'    '.repeat(indent)}${text}`));
    }
  }
}

/** For each bracket of `line` outside string literals, the index of its partner. */
function bracketPartners(line: string): Map<number, number> {
  const partners = new Map<number, number>();
  const open: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote !== undefined) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#') break;
    else if ('([{'.includes(ch)) open.push(i);
    else if (')]}'.includes(ch) && open.length > 0) {
      const start = open.pop()!;
      partners.set(start, i);
      partners.set(i, start);
    }
  }
  return partners;
}

/** The top-level comma-separated parts of `text` (brackets and strings kept whole). */
function topLevelParts(text: string): string[] {
  const partners = bracketPartners(text);
  const parts: string[] = [];
  let start = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== undefined) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if ('([{'.includes(ch) && partners.has(i)) i = partners.get(i)!;
    else if (ch === ',') {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p !== '');
}

/**
 * A statement longer than the limit, split as black does: the last bracket pair's contents on their
 * own indented line, or one argument per line with a trailing comma when that is still too long.
 */
function wrapStatement(line: string): string[] {
  const trimmed = line.trimStart();
  if (line.length <= lineLimit || trimmed.startsWith('#') || line.includes('"""')) return [line];
  const partners = bracketPartners(line);
  const end = line.length - 1;
  const open = partners.get(end);
  if (open === undefined || open === end - 1) return [line];
  const indent = line.slice(0, line.length - trimmed.length);
  const inner = `${indent}    `;
  const contents = line.slice(open + 1, end);
  const head = line.slice(0, open + 1);
  if (inner.length + contents.length <= lineLimit) return [head, `${inner}${contents}`, `${indent}${line[end]}`];
  const parts = topLevelParts(contents);
  return [head, ...parts.flatMap((p) => wrapStatement(`${inner}${p},`)), `${indent}${line[end]}`];
}

class ModuleEmitter {
  /** Value id → the Python variable holding it. */
  private readonly vars = new Map<string, string>();
  /** Names the methods use for their own locals, and the file's module-level names: never a value's. */
  private readonly taken = new Set<string>([
    ...fileNames,
    ...['self', 'inputs', 'unknown', 'valid', 'given', 'float', 'tgt_in', 'tokens', 'h', 'c', 'memory', 'feed'],
    ...['start', 'steps', 't', 'result', 'top', 'output', 'context', 'attention', 'h_out', 'c_out'],
    ...[
      'h_enc',
      'c_enc',
      'h_flat',
      'c_flat',
      'h0',
      'c0',
      'sorted',
      'set',
      'range',
      'getattr',
      'isinstance',
      'TypeError',
    ],
  ]);
  /** Recurrent label → the Python variables of its final states. */
  private readonly finals = new Map<string, { h: string; c?: string }>();
  private readonly allOps: readonly Op[];
  private readonly recurrentOps: readonly RecurrentOp[];
  /** The CRF layers of the model's chains, which give the module its training objective. */
  private readonly crfOps: readonly CrfOp[];
  /** The lengths (Conv1d-derived) that may leave a row with 0 steps; only layers reading them handle such rows. */
  private readonly mayBeEmpty: ReadonlySet<string>;

  constructor(
    private readonly ir: ModelIR,
    private readonly options: EmitPytorchOptions,
  ) {
    const decoderOps: Op[] =
      ir.decoder === undefined ? [] : [ir.decoder.embedding, ir.decoder.recurrent, ...ir.decoder.head];
    this.allOps = [...ir.ops, ...decoderOps];
    this.recurrentOps = this.allOps.filter((o): o is RecurrentOp => o.kind === 'recurrent');
    this.crfOps = ir.decoder === undefined ? ir.ops.filter((o): o is CrfOp => o.kind === 'crf') : [];
    if (this.crfOps.length > 0) this.taken.add('tags').add('log_likelihood');
    this.mayBeEmpty = lengthsThatMayBeEmpty(ir);
  }

  file(): string {
    const ir = this.ir;
    const out = new Lines();
    const from = this.options.sourceName === undefined ? '' : ` from ${this.options.sourceName}`;
    const by = this.options.version === undefined ? 'seqc' : `seqc ${this.options.version}`;
    out.add(
      0,
      `"""${ir.name}: a PyTorch module emitted by ${by}${from}.`,
      '',
      `Its state_dict() keys and shapes are the spec's parameters, so weights trained here load into`,
      'seqc (`seqc compile SPEC --weights FILE`) without renaming, and forward() computes what the',
      'compiled ONNX graph computes. Generated code: change the spec and emit it again.',
      ...(this.crfOps.length === 0
        ? []
        : [
            '',
            "Train it through its CRF with loss = -model.crf_log_likelihood(tags, **inputs) (pytorch-crf's",
            'log-likelihood summed over the batch; see the class docstring).',
          ]),
      '"""',
      '',
      helpers.header,
      '',
      '',
      helpers.validSteps,
      '',
      '',
      helpers.runRecurrent,
    );
    if (this.recurrentOps.some((o) => o.lengths !== undefined && this.mayBeEmpty.has(o.lengths)))
      out.add(0, '', '', helpers.runRecurrentWithEmptyRows);
    const handWritten = this.recurrentOps.some(needsHandWrittenCell);
    if (this.recurrentOps.some(needsHandWrittenCell)) out.add(0, '', '', helpers.handWritten);
    if (ir.decoder?.attention !== undefined) out.add(0, '', '', helpers.attention);
    if (this.allOps.some((o) => o.kind === 'crf')) out.add(0, '', '', helpers.crf);
    out.add(0, '', '');
    this.classBody(out);
    return `${out.lines.join('\n').replace(/[ \t]+$/gm, '')}\n`;
  }

  private classBody(out: Lines): void {
    const ir = this.ir;
    out.add(0, `class ${pytorchClassName(ir)}(nn.Module):`);
    out.add(1, `"""The ${ir.name} spec as a module: call it with the inputs by name, get the outputs by name.`, '');
    out.add(1, 'Inputs:');
    for (const input of this.forwardInputs()) out.add(2, `${input.name}: ${this.describeInput(input)}`);
    if (ir.decoder !== undefined) out.add(2, 'tgt_in: int64 [batch, tgt_time], starting with bos (teacher forcing)');
    out.add(1, '', 'Outputs:');
    if (ir.decoder !== undefined) out.add(2, `logits: float32 [batch, tgt_time, ${ir.decoder.vocab}]`);
    for (const output of ir.outputs) out.add(2, `${output.name}: ${this.describeType(output.type)}`);
    if (this.crfOps.length > 0) out.add(1, '', 'Training:', ...this.trainingLines().map((l) => `    ${l}`));
    out.add(1, '"""', '');
    out.add(1, 'def __init__(self):');
    out.add(2, 'super().__init__()');
    this.constructModules(out);
    if (ir.decoder === undefined) {
      out.add(0, '');
      this.withOwnLocals(() => this.classifierForward(out));
      if (this.crfOps.length > 0) {
        out.add(0, '');
        this.withOwnLocals(() => this.crfLogLikelihood(out));
      }
    } else {
      out.add(0, '');
      this.decoderMethods(out, ir.decoder);
    }
  }

  /** How the class docstring tells a user to train the model through its CRF layers. */
  private trainingLines(): string[] {
    const labels = this.crfOps.map((o) => o.label);
    const tags =
      labels.length === 1
        ? "tags: int64 [batch, time], the gold tags (steps past each row's length are ignored)"
        : `tags: {${labels.map(str).join(', ')}}: each CRF's gold tags, int64 [batch, time]`;
    return [
      'loss = -model.crf_log_likelihood(tags, **inputs)  # then loss.backward()',
      tags,
      "crf_log_likelihood returns log p(tags | inputs) summed over the batch (pytorch-crf's",
      'CRF.forward with reduction="sum"); divide by the batch size for a mean.',
    ];
  }

  /** Runs `write` with the method-local names of the methods before it forgotten, so each method reads alike. */
  private withOwnLocals(write: () => void): void {
    const taken = [...this.taken];
    write();
    this.taken.clear();
    for (const name of taken) this.taken.add(name);
    this.vars.clear();
    this.finals.clear();
  }

  /**
   * crf_log_likelihood(tags, **inputs): the forward pass up to the last CRF, each CRF scoring the gold
   * tags it is given (which later layers see in place of its Viterbi path), summed.
   */
  private crfLogLikelihood(out: Lines): void {
    const single = this.crfOps.length === 1;
    out.add(1, 'def crf_log_likelihood(self, tags, **inputs):');
    out.add(2, '"""log p(tags | inputs), summed over the batch: the loss is its negative (class docstring)."""');
    this.readInputs(
      out,
      2,
      this.ir.inputs.map((i) => i.name),
    );
    const last = this.ir.ops.indexOf(this.crfOps[this.crfOps.length - 1]!);
    out.add(2, 'log_likelihood = 0.0');
    for (const op of this.ir.ops.slice(0, last + 1)) {
      if (op.kind !== 'crf') {
        this.op(out, 2, op);
        continue;
      }
      const x = this.varOf(op.input);
      const lengths = op.lengths === undefined ? 'None' : this.varOf(op.lengths);
      const gold = this.bindVar(op.output.id);
      out.add(2, `# ${op.label}: the gold tags stand in for the Viterbi path.`);
      out.add(2, `${gold} = tags${single ? '' : `[${str(op.label)}]`}`);
      out.add(2, `log_likelihood = log_likelihood + ${modulePath(op.label)}.log_likelihood(${x}, ${gold}, ${lengths})`);
    }
    out.add(2, 'return log_likelihood');
  }

  /** The graph inputs a caller gives `forward` (for a decoder model, besides `tgt_in`). */
  private forwardInputs(): readonly IrInput[] {
    return this.ir.inputs;
  }

  private describeInput(input: IrInput): string {
    const role = input.role;
    switch (role.kind) {
      case 'data':
        return this.describeType({ ...input.type, lengths: undefined });
      case 'lengths':
        return `int64 [batch], valid steps of each row of ${role.of} (optional: every row full)`;
      case 'state':
        return `${this.describeType(input.type)}, the initial state of ${role.layer} (optional: zeros)`;
      default:
        return assertNever(role);
    }
  }

  private describeType(t: ValueType): string {
    const dims = t.dims.map((d) => (d.kind === 'symbol' ? d.name : String(d.size))).join(', ');
    const past = t.lengths !== undefined && t.hasTime ? `, zero past ${t.lengths}` : '';
    return `${t.dtype} [${dims}]${past}`;
  }

  /** The comment above a layer's construction: its line of the spec. */
  private specLine(span: Op['span'], fallback: string): string {
    const text = this.options.sourceText;
    let quoted = fallback;
    if (text !== undefined && span.start.offset < span.end.offset && span.end.offset <= text.length)
      quoted = text.slice(span.start.offset, span.end.offset).replace(/\s+/g, ' ').trim();
    return span.start.line > 0 ? `# line ${span.start.line}: ${quoted}` : `# ${quoted}`;
  }

  /** Builds every module, in the order of the spec's parameters, and the parameterless ones after. */
  private constructModules(out: Lines): void {
    const containers = new Set<string>();
    const ensureParents = (label: string): void => {
      const parts = label.split('.');
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join('.');
        if (containers.has(parent)) continue;
        containers.add(parent);
        out.add(2, `${modulePath(parent)} = nn.Module()`);
      }
    };
    const owners: string[] = [];
    for (const p of this.ir.parameters) if (!owners.includes(p.owner)) owners.push(p.owner);
    const byLabel = new Map(this.allOps.map((o) => [o.label, o]));
    const built = new Set<string>();
    const build = (label: string): void => {
      if (built.has(label)) return;
      built.add(label);
      const op = byLabel.get(label);
      const att = this.ir.decoder?.attention;
      if (op !== undefined) {
        const construction = this.construction(op);
        if (construction === undefined) return;
        out.add(2, this.specLine(op.span, `${op.label}: ${op.display}`));
        ensureParents(label);
        out.add(2, `${modulePath(label)} = ${construction}`);
      } else if (att !== undefined && att.label === label) {
        out.add(2, this.specLine(att.span, `${att.label}: ${att.display}`));
        ensureParents(label);
        out.add(2, `${modulePath(label)} = ${this.attentionConstruction(att)}`);
        // `bias=` other than the score's default: linear_out as the spec has it.
        if (att.placement === 'luong' && att.outBias !== (att.score === 'additive'))
          out.add(
            2,
            `${modulePath(label)}.linear_out = nn.Linear(${att.memoryDim + att.queryDim}, ${att.queryDim}, bias=${att.outBias ? 'True' : 'False'})`,
          );
      } else if (label === 'bridge') {
        this.constructBridge(out);
      }
    };
    for (const owner of owners) build(owner);
    for (const op of this.allOps) build(op.label);
  }

  private constructBridge(out: Lines): void {
    const names = this.ir.parameters.filter((p) => p.owner === 'bridge' && p.name.endsWith('.weight'));
    out.add(2, "# bridge=linear: the decoder's initial state is tanh(W [h_enc[0] ; ...] + b) (docs/seq2seq.md)");
    out.add(2, 'self.bridge = nn.Module()');
    for (const p of names) {
      const which = p.name.split('.')[1]!;
      out.add(2, `self.bridge.${which} = nn.Linear(${p.shape[1]}, ${p.shape[0]})`);
    }
  }

  private attentionConstruction(att: AttentionIR): string {
    const luong = att.placement === 'luong' ? 'True' : 'False';
    return `Attention(${str(att.score)}, query_dim=${att.queryDim}, memory_dim=${att.memoryDim}, luong=${luong})`;
  }

  /** The module expression for an op, or undefined for ops computed inline. */
  private construction(op: Op): string | undefined {
    switch (op.kind) {
      case 'embedding':
        return embeddingModule(op);
      case 'recurrent':
        return recurrentModule(op);
      case 'linear':
        return linearModule(op);
      case 'layerNorm':
        return layerNormModule(op);
      case 'dropout':
        return `nn.Dropout(${float(op.p)})`;
      case 'pool':
      case 'activation':
      case 'merge':
      case 'masking':
      case 'repeat':
        return undefined;
      case 'conv1d':
        return conv1dModule(op);
      case 'crf':
        return `CRF(${op.tags})`;
      default:
        return assertNever(op);
    }
  }

  /** A fresh Python variable for the value `id`. */
  private bindVar(id: string): string {
    const base = pythonIdentifier(id);
    let name = base;
    for (let i = 2; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    this.vars.set(id, name);
    return name;
  }

  private varOf(id: string): string {
    const v = this.vars.get(id);
    if (v === undefined) throw new Error(`value ${id} has no Python variable`);
    return v;
  }

  /** Reads each input from `inputs` by its spec name; optional ones (lengths, state) default to None. */
  private readInputs(out: Lines, indent: number, names: readonly string[]): void {
    for (const input of this.ir.inputs) {
      const v = this.bindVar(input.name);
      const read = input.role.kind === 'data' ? `inputs[${str(input.name)}]` : `inputs.get(${str(input.name)})`;
      out.add(indent, `${v} = ${read}`);
    }
    for (const input of this.ir.inputs) {
      if (input.role.kind !== 'lengths') continue;
      // A missing lengths input means every row is full length, as with `seqc run`.
      const v = this.varOf(input.name);
      const of = this.varOf(input.role.of);
      out.add(indent, `if ${v} is None:`);
      out.add(
        indent + 1,
        `${v} = torch.full((${of}.shape[0],), ${of}.shape[1], dtype=torch.long, device=${of}.device)`,
      );
    }
    out.add(indent, `unknown = sorted(set(inputs) - {${names.map(str).join(', ')}})`);
    out.add(indent, 'if unknown:');
    out.add(indent + 1, `raise TypeError(f"unexpected inputs {unknown}; expected ${names.join(', ')}")`);
  }

  private classifierForward(out: Lines): void {
    out.add(1, 'def forward(self, **inputs):');
    out.add(2, `"""Runs the model; returns {output name: tensor}, as the compiled graph's outputs."""`);
    this.readInputs(
      out,
      2,
      this.ir.inputs.map((i) => i.name),
    );
    for (const op of this.ir.ops) this.op(out, 2, op);
    out.add(2, 'return {');
    for (const o of this.ir.outputs) out.add(3, `${str(o.name)}: ${this.outputExpression(o.name, o.value, o.type)},`);
    out.add(2, '}');
  }

  /** An output: the value, or a stateful layer's final state; per-token outputs are zero past lengths. */
  private outputExpression(name: string, value: string, type: ValueType): string {
    for (const op of this.recurrentOps) {
      if (op.state?.hn === name) return this.finals.get(op.label)!.h;
      if (op.state?.cn === name) return this.finals.get(op.label)!.c!;
    }
    const v = this.varOf(value);
    if (type.lengths !== undefined && type.hasTime) return `zero_past_lengths(${v}, ${this.varOf(type.lengths)})`;
    return v;
  }

  /** Emits the statements computing `op` from its input variable. */
  private op(out: Lines, indent: number, op: Op): void {
    switch (op.kind) {
      case 'embedding':
      case 'linear':
      case 'layerNorm':
      case 'dropout': {
        const x = this.varOf(op.input);
        out.add(indent, `${this.bindVar(op.output.id)} = ${modulePath(op.label)}(${x})`);
        return;
      }
      case 'recurrent':
        return this.recurrent(out, indent, op);
      case 'pool':
        return this.pool(out, indent, op);
      case 'activation':
        return this.activation(out, indent, op);
      case 'repeat': {
        const x = this.varOf(op.input);
        out.add(indent, `${this.bindVar(op.output.id)} = ${x}.unsqueeze(1).expand(-1, ${op.times}, -1)`);
        return;
      }
      case 'merge':
        return this.merge(out, indent, op);
      case 'conv1d':
        return this.conv1d(out, indent, op);
      case 'crf':
        return this.crf(out, indent, op);
      case 'masking': {
        // Keras's Masking: x times any(x != value) over the features (the CLI refuses masked models: src/check/keras-mask.ts).
        const x = this.varOf(op.input);
        out.add(indent, `${this.bindVar(op.output.id)} = ${x} * (${x} != ${float(op.value)}).any(-1, keepdim=True)`);
        return;
      }
      default:
        return assertNever(op);
    }
  }

  private recurrent(out: Lines, indent: number, op: RecurrentOp): void {
    const x = this.varOf(op.input);
    const lengths = op.lengths === undefined ? 'None' : this.varOf(op.lengths);
    let state = 'None';
    if (op.state !== undefined) {
      const h0 = this.varOf(op.state.h0);
      state = op.state.c0 === undefined ? h0 : `None if ${h0} is None else (${h0}, ${this.varOf(op.state.c0)})`;
      if (op.state.c0 !== undefined) {
        // An LSTM with only one of h0 and c0 given starts the other at zero, as seqc run does.
        const c0 = this.varOf(op.state.c0);
        out.add(indent, `if (${h0} is None) != (${c0} is None):`);
        out.add(indent + 1, `given = ${h0} if ${h0} is not None else ${c0}`);
        out.add(indent + 1, `${h0} = given if ${h0} is not None else torch.zeros_like(given)`);
        out.add(indent + 1, `${c0} = given if ${c0} is not None else torch.zeros_like(given)`);
      }
    }
    const y = this.bindVar(op.output.id);
    const h = this.freshName(`${op.label}_h_n`);
    const c = op.cell === 'lstm' ? this.freshName(`${op.label}_c_n`) : undefined;
    const finals = c === undefined ? h : `(${h}, ${c})`;
    const run =
      op.lengths !== undefined && this.mayBeEmpty.has(op.lengths) ? 'run_recurrent_with_empty_rows' : 'run_recurrent';
    out.add(indent, `${y}, ${finals} = ${run}(${modulePath(op.label)}, ${x}, ${lengths}, ${state})`);
    this.finals.set(op.label, c === undefined ? { h } : { h, c });
  }

  private freshName(wanted: string): string {
    const base = pythonIdentifier(wanted);
    let name = base;
    for (let i = 2; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    return name;
  }

  private pool(out: Lines, indent: number, op: PoolOp): void {
    const x = this.varOf(op.input);
    const y = this.bindVar(op.output.id);
    if (op.finalStateOf !== undefined) {
      const source = this.recurrentOps.find((o) => o.label === op.finalStateOf)!;
      const h = this.finals.get(source.label)!.h;
      out.add(
        indent,
        source.bidirectional
          ? `${y} = torch.cat([${h}[-2], ${h}[-1]], dim=1)  # last: the top layer's final states`
          : `${y} = ${h}[-1]  # last: the top layer's final state`,
      );
      return;
    }
    const lengths = op.lengths === undefined ? undefined : this.varOf(op.lengths);
    // A row that a Conv1d left without steps pools to zeros, as in the compiled graph.
    const mayBeEmpty = op.lengths !== undefined && this.mayBeEmpty.has(op.lengths);
    const zeroEmptyRows = (): void =>
      out.add(indent, `${y} = ${y}.masked_fill(${emptyRows(lengths!, op.output.type.dims.length)}, 0)  # no steps: 0`);
    switch (op.mode) {
      case 'first':
        out.add(indent, `${y} = ${x}[:, 0]`);
        if (mayBeEmpty) zeroEmptyRows();
        return;
      case 'last':
        if (lengths === undefined) out.add(indent, `${y} = ${x}[:, -1]`);
        else {
          const step = mayBeEmpty ? `(${lengths} - 1).clamp(min=0)` : `${lengths} - 1`;
          out.add(indent, `${y} = ${x}[torch.arange(${x}.shape[0], device=${x}.device), ${step}]`);
          if (mayBeEmpty) zeroEmptyRows();
        }
        return;
      case 'mean':
        if (lengths === undefined) out.add(indent, `${y} = ${x}.mean(dim=1)`);
        else {
          const divisor = mayBeEmpty ? `${lengths}.clamp(min=1)` : lengths;
          out.add(
            indent,
            `${y} = zero_past_lengths(${x}, ${lengths}).sum(dim=1) / ${divisor}.to(${x}.dtype).reshape((-1,) + (1,) * (${x}.dim() - 2))`,
          );
        }
        return;
      case 'max':
        if (lengths === undefined) out.add(indent, `${y} = ${x}.max(dim=1).values`);
        else {
          out.add(
            indent,
            `valid = valid_steps(${lengths}, ${x}.shape[1]).reshape(${x}.shape[:2] + (1,) * (${x}.dim() - 2))`,
          );
          out.add(indent, `${y} = ${x}.masked_fill(~valid, float("-inf")).max(dim=1).values`);
          if (mayBeEmpty) zeroEmptyRows();
        }
        return;
      default:
        return assertNever(op.mode);
    }
  }

  /** concat on the last axis, or the elementwise sum of the operands, earlier values of the chain. */
  private merge(out: Lines, indent: number, op: MergeOp): void {
    const operands = op.operands.map((id) => this.varOf(id));
    const y = this.bindVar(op.output.id);
    switch (op.mode) {
      case 'concat':
        out.add(indent, `${y} = torch.cat([${operands.join(', ')}], dim=-1)`);
        return;
      case 'add':
        out.add(indent, `${y} = ${operands.join(' + ')}`);
        return;
      default:
        return assertNever(op.mode);
    }
  }

  /** nn.Conv1d on [batch, features, time]; with lengths, the padded steps are zero first. */
  private conv1d(out: Lines, indent: number, op: Conv1dOp): void {
    const x = this.varOf(op.input);
    const input = op.lengths === undefined ? x : `zero_past_lengths(${x}, ${this.varOf(op.lengths)})`;
    const y = this.bindVar(op.output.id);
    out.add(indent, `${y} = ${modulePath(op.label)}(${input}.transpose(1, 2)).transpose(1, 2)`);
    if (op.outputLengths !== undefined) {
      // nn.Conv1d's output length per row: ⌊(L + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1, at least 0.
      const shift = 2 * op.padding - op.dilation * (op.kernel - 1) - 1;
      const sum = `${this.varOf(op.lengths!)} ${shift < 0 ? '-' : '+'} ${Math.abs(shift)}`;
      const lengths = this.bindVar(op.outputLengths);
      out.add(indent, `${lengths} = (torch.div(${sum}, ${op.stride}, rounding_mode="floor") + 1).clamp(min=0)`);
    }
  }

  /** Viterbi decoding: the path, and the score where the spec asks for it (output `L.score`). */
  private crf(out: Lines, indent: number, op: CrfOp): void {
    const x = this.varOf(op.input);
    const lengths = op.lengths === undefined ? 'None' : this.varOf(op.lengths);
    const y = this.bindVar(op.output.id);
    const score = op.scoreOutput === undefined ? '_' : this.bindVar(op.scoreOutput);
    out.add(indent, `${y}, ${score} = ${modulePath(op.label)}.decode(${x}, ${lengths})`);
    if (op.scoreOutput !== undefined && op.lengths !== undefined && this.mayBeEmpty.has(op.lengths))
      out.add(indent, `${score} = ${score}.masked_fill(${lengths} == 0, 0)  # a row without steps scores 0`);
  }

  private activation(out: Lines, indent: number, op: ActivationOp): void {
    const x = this.varOf(op.input);
    const y = this.bindVar(op.output.id);
    out.add(indent, `${y} = ${activationExpression(op, x)}`);
  }

  // --- Encoder–decoder models and language models -------------------------------------------------

  private decoderMethods(out: Lines, d: DecoderIR): void {
    const ir = this.ir;
    const lstm = d.recurrent.cell === 'lstm';
    const att = d.attention;
    const feed = att?.inputFeed === true;
    const names = [...ir.inputs.map((i) => i.name), 'tgt_in'];
    const lengths = ir.inputs.find((i) => i.role.kind === 'lengths')?.name;
    const { layers, hidden } = d.recurrent;

    if (ir.encoder !== undefined) this.encodeMethod(out, d);

    // step()
    const stepParams = ['tokens', 'h', ...(lstm ? ['c'] : [])];
    if (ir.encoder !== undefined)
      stepParams.push('memory', lengths === undefined ? 'src_lengths=None' : `${pythonIdentifier(lengths)}=None`);
    if (feed) stepParams.push('feed=None');
    out.add(1, `def step(self, ${stepParams.join(', ')}):`);
    out.add(2, '"""One decoder step, as the compiled step graph: tokens [batch] in, logits [batch, V] out.', '');
    out.add(
      2,
      `h${lstm ? ' and c are' : ' is'} [${layers}, batch, ${hidden}]. Returns {"logits", "h_out"${lstm ? ', "c_out"' : ''}${att === undefined ? '' : ', "attention"'}${feed ? ', "feed_out"' : ''}}.`,
    );
    out.add(2, '"""');
    const memLengths = lengths === undefined ? 'None' : pythonIdentifier(lengths);
    const emb = d.embedding;
    const embedded = this.freshName(emb.label);
    out.add(2, `${embedded} = ${modulePath(emb.label)}(tokens)`);
    const parts = [embedded];
    if (att?.placement === 'bahdanau') {
      out.add(2, `context, attention = ${modulePath(att.label)}(h[-1], memory, ${memLengths})`);
      parts.push('context');
    }
    if (feed) {
      out.add(2, 'if feed is None:');
      out.add(3, `feed = torch.zeros(tokens.shape[0], ${hidden}, device=tokens.device)`);
      parts.push('feed');
    }
    const x = parts.length === 1 ? parts[0]! : `torch.cat([${parts.join(', ')}], dim=1)`;
    const rec = d.recurrent;
    out.add(
      2,
      `top, ${lstm ? '(h_out, c_out)' : 'h_out'} = run_recurrent(${modulePath(rec.label)}, ${x}.unsqueeze(1), None, ${lstm ? '(h, c)' : 'h'})`,
    );
    out.add(2, 'output = top[:, 0]');
    if (att?.placement === 'luong') {
      out.add(2, `context, attention = ${modulePath(att.label)}(output, memory, ${memLengths})`);
      out.add(2, `output = ${modulePath(att.label)}.attentional(context, output)`);
    }
    // The head: the same per-kind statements as a forward pass, on [batch, features] values.
    this.vars.clear();
    this.vars.set(rec.label, 'output');
    this.taken.add('output');
    for (const op of d.head) this.op(out, 2, op);
    const logits = this.varOf(d.head.length === 0 ? rec.label : d.head[d.head.length - 1]!.output.id);
    const results = [`"logits": ${logits}`, '"h_out": h_out'];
    if (lstm) results.push('"c_out": c_out');
    if (att !== undefined) results.push('"attention": attention');
    if (feed) results.push('"feed_out": output');
    out.add(2, `return {${results.join(', ')}}`, '');

    // forward(): teacher forcing
    out.add(1, 'def forward(self, **inputs):');
    out.add(2, '"""Teacher-forced scoring, as the compiled scoring graph: logits for every target step.', '');
    out.add(2, 'tgt_in [batch, tgt_time] starts with bos; returns {"logits": [batch, tgt_time, V]}.');
    out.add(2, '"""');
    out.add(2, 'tgt_in = inputs["tgt_in"]');
    if (ir.encoder !== undefined) {
      out.add(2, `start = self.encode(**{k: v for k, v in inputs.items() if k != "tgt_in"})`);
      out.add(2, 'h = start["h0"]');
      if (lstm) out.add(2, 'c = start["c0"]');
      out.add(2, 'memory = start["memory"]');
      if (lengths !== undefined) out.add(2, `${pythonIdentifier(lengths)} = inputs.get(${str(lengths)})`);
    } else {
      out.add(2, `unknown = sorted(set(inputs) - {${names.map(str).join(', ')}})`);
      out.add(2, 'if unknown:');
      out.add(3, `raise TypeError(f"unexpected inputs {unknown}; expected tgt_in")`);
      out.add(2, `h = torch.zeros(${layers}, tgt_in.shape[0], ${hidden}, device=tgt_in.device)`);
      if (lstm) out.add(2, 'c = torch.zeros_like(h)');
    }
    if (feed) out.add(2, `feed = torch.zeros(tgt_in.shape[0], ${hidden}, device=tgt_in.device)`);
    out.add(2, 'steps = []');
    out.add(2, 'for t in range(tgt_in.shape[1]):');
    const args = ['tgt_in[:, t]', 'h', ...(lstm ? ['c'] : [])];
    if (ir.encoder !== undefined) args.push('memory', lengths === undefined ? 'None' : pythonIdentifier(lengths));
    if (feed) args.push('feed');
    out.add(3, `result = self.step(${args.join(', ')})`);
    out.add(3, 'h = result["h_out"]');
    if (lstm) out.add(3, 'c = result["c_out"]');
    if (feed) out.add(3, 'feed = result["feed_out"]');
    out.add(3, 'steps.append(result["logits"])');
    out.add(2, 'return {"logits": torch.stack(steps, dim=1)}');
  }

  /** encode(): the encoder chains, the memory (zero past the source lengths) and the decoder's initial state. */
  private encodeMethod(out: Lines, d: DecoderIR): void {
    const ir = this.ir;
    const encoder = ir.encoder!;
    const final = this.recurrentOps.find((o) => o.label === encoder.finalState)!;
    const lstm = d.recurrent.cell === 'lstm';
    out.add(1, 'def encode(self, **inputs):');
    out.add(
      2,
      '"""The encoder, as the compiled encoder graph.',
      '',
      `memory: ${this.describeType(encoder.memoryType)}`,
      `h0${lstm ? ', c0' : ''}: float32 [${d.recurrent.layers}, batch, ${d.recurrent.hidden}], the decoder's initial state`,
      '"""',
    );
    this.readInputs(
      out,
      2,
      ir.inputs.map((i) => i.name),
    );
    for (const op of ir.ops) this.op(out, 2, op);
    const memory = this.outputExpression('memory', encoder.memory, encoder.memoryType);
    const finals = this.finals.get(final.label)!;
    const dirs = final.bidirectional ? 2 : 1;
    const join = (states: string): string =>
      dirs === 1
        ? states
        : `${states}.reshape(${final.layers}, ${dirs}, -1, ${final.hidden}).permute(0, 2, 1, 3).reshape(${final.layers}, -1, ${dirs * final.hidden})`;
    out.add(2, "# The encoder's final states, directions side by side: [layers, batch, directions * hidden].");
    out.add(2, `h_enc = ${join(finals.h)}`);
    const cFromEncoder = lstm && final.cell === 'lstm';
    if (cFromEncoder) out.add(2, `c_enc = ${join(finals.c!)}`);
    // The bridge flattens the layers of each row, [batch, layers * directions * hidden], then projects.
    const bridged = (s: string, which: string): string => {
      out.add(2, `${which}_flat = ${s}.transpose(0, 1).reshape(${s}.shape[1], -1)`);
      const shape = `${d.recurrent.layers}, ${d.recurrent.hidden}`;
      return `torch.tanh(self.bridge.${which}(${which}_flat)).reshape(-1, ${shape}).transpose(0, 1)`;
    };
    out.add(2, `h0 = ${d.bridge ? bridged('h_enc', 'h') : 'h_enc'}`);
    const results = [`"memory": ${memory}`, '"h0": h0'];
    if (lstm) {
      out.add(
        2,
        `c0 = ${d.cellFromHidden ? 'h0' : cFromEncoder ? (d.bridge ? bridged('c_enc', 'c') : 'c_enc') : 'torch.zeros_like(h0)'}`,
      );
      results.push('"c0": c0');
    }
    out.add(2, `return {${results.join(', ')}}`, '');
    this.vars.clear();
  }
}

/**
 * The Conv1d-derived lengths that may be 0 for some row: nn.Conv1d's output length grows with its
 * input's, so the shortest input (1 step for a lengths input, which the runtime keeps at least 1)
 * gives the shortest output.
 */
function lengthsThatMayBeEmpty(ir: ModelIR): Set<string> {
  const shortest = new Map<string, number>();
  const mayBeEmpty = new Set<string>();
  for (const op of ir.ops) {
    if (op.kind !== 'conv1d' || op.outputLengths === undefined || op.lengths === undefined) continue;
    const input = shortest.get(op.lengths) ?? 1;
    const reach = input + 2 * op.padding - op.dilation * (op.kernel - 1) - 1;
    const output = Math.max(0, Math.floor(reach / op.stride) + 1);
    shortest.set(op.outputLengths, output);
    if (output === 0) mayBeEmpty.add(op.outputLengths);
  }
  return mayBeEmpty;
}

/** A bool mask, true for the rows of 0 steps, shaped to broadcast over a pooled value of rank `rank`. */
function emptyRows(lengths: string, rank: number): string {
  if (rank === 1) return `${lengths} == 0`;
  if (rank === 2) return `(${lengths} == 0).unsqueeze(1)`;
  return `(${lengths} == 0).reshape(-1${', 1'.repeat(rank - 1)})`;
}

function activationExpression(op: ActivationOp, x: string): string {
  switch (op.fn) {
    case 'relu':
      return `torch.relu(${x})`;
    case 'tanh':
      return `torch.tanh(${x})`;
    case 'sigmoid':
      return `torch.sigmoid(${x})`;
    case 'softmax':
      return `torch.softmax(${x}, dim=-1)`;
    case 'log_softmax':
      return `torch.log_softmax(${x}, dim=-1)`;
    default:
      return assertNever(op.fn);
  }
}

function embeddingModule(op: EmbeddingOp): string {
  const padding = op.paddingIdx === undefined ? '' : `, padding_idx=${op.paddingIdx}`;
  return `nn.Embedding(${op.vocab}, ${op.dim}${padding})`;
}

function linearModule(op: LinearOp): string {
  return `nn.Linear(${op.inFeatures}, ${op.outFeatures}${op.bias ? '' : ', bias=False'})`;
}

function layerNormModule(op: LayerNormOp): string {
  return `nn.LayerNorm(${op.features}, eps=${float(op.eps)})`;
}

function conv1dModule(op: Conv1dOp): string {
  const options = [String(op.inChannels), String(op.outChannels), String(op.kernel)];
  if (op.stride !== 1) options.push(`stride=${op.stride}`);
  if (op.padding !== 0) options.push(`padding=${op.padding}`);
  if (op.dilation !== 1) options.push(`dilation=${op.dilation}`);
  if (!op.bias) options.push('bias=False');
  return `nn.Conv1d(${options.join(', ')})`;
}

function recurrentModule(op: RecurrentOp): string {
  const options: string[] = [];
  if (op.layers !== 1) options.push(`num_layers=${op.layers}`);
  if (op.proj !== undefined) options.push(`proj_size=${op.proj}`);
  if (!op.bias) options.push('bias=False');
  if (op.bidirectional) options.push('bidirectional=True');
  if (op.dropout !== 0) options.push(`dropout=${float(op.dropout)}`);
  if (needsHandWrittenCell(op)) {
    if (op.cell === 'rnn' && op.nonlinearity !== 'tanh') options.push(`nonlinearity=${str(op.nonlinearity)}`);
    if (op.recurrentActivation !== 'sigmoid') options.push(`recurrent_activation=${str(op.recurrentActivation)}`);
    if (op.cell === 'gru' && !op.resetAfter) options.push('reset_after=False');
    if (op.activation !== 'tanh') options.push(`activation=${str(op.activation)}`);
    return `HandWrittenRecurrent(${[str(op.cell), String(op.inputSize), String(op.hidden), ...options].join(', ')})`;
  }
  if (op.cell === 'rnn' && op.nonlinearity !== 'tanh') options.push(`nonlinearity=${str(op.nonlinearity)}`);
  const module = op.cell === 'lstm' ? 'nn.LSTM' : op.cell === 'gru' ? 'nn.GRU' : 'nn.RNN';
  return `${module}(${[String(op.inputSize), String(op.hidden), ...options, 'batch_first=True'].join(', ')})`;
}
