// Walks chains in order: scope of inputs and labels, steps typed one by one, ops and outputs collected.

import { error, hasErrors, warning, type Diagnostic, type Span } from '../diagnostics/diagnostic.js';
import {
  derivedLengthsName,
  formatType,
  type ActivationFunction,
  type Dim,
  type IrInput,
  type IrOutput,
  type IrParameter,
  type MergeMode,
  type MergeOp,
  type ModelIR,
  type Op,
  type PoolMode,
  type RecurrentCell,
  type RecurrentOp,
  type Value,
  type ValueType,
} from '../ir/ir.js';
import type {
  Argument,
  CallStep,
  Chain,
  DecoderBlock,
  EncoderBlock,
  InputDecl,
  MergeSource,
  ModelAst,
  Name,
  Step,
} from '../syntax/ast.js';
import { bindArguments, stepText } from './arguments.js';
import { checkInputs } from './inputs.js';
import {
  builtinNames,
  isBuiltin,
  isLayerKind,
  layerKinds,
  layerSignatures,
  maskingSignature,
  repeatSignature,
  type BuiltinName,
  type LayerArguments,
  type LayerKind,
  type RecurrentKind,
} from './signatures.js';
import { firstParameterName } from './parameters.js';
import {
  checkMasking,
  embeddingMask,
  mergeMaskDiagnostic,
  poolMask,
  recurrentKerasFields,
  recurrentOutputWidth,
  refuseMask,
} from './keras-mask.js';
import { closest } from './suggest.js';

export interface Binding {
  readonly value: Value;
  readonly span: Span;
  /** The op that produced it, for values made by steps. */
  readonly op?: Op;
}

/** Keras's and PyTorch's names for layers seqc has under another name, and how to write them here. */
const foreignLayers: Readonly<Record<string, { readonly is: string; readonly write?: string }>> = {
  Dense: { is: '`Linear`', write: '`Linear(units)`' },
  SimpleRNN: { is: '`RNN`', write: '`RNN(hidden=units)`' },
  CuDNNLSTM: { is: '`LSTM`' },
  CuDNNGRU: { is: '`GRU`' },
  Bidirectional: { is: 'the Bi form of the layer', write: '`BiLSTM(…)`, `BiGRU(…)` or `BiRNN(…)`' },
  LayerNormalization: { is: '`LayerNorm`' },
  GlobalAveragePooling1D: { is: 'the builtin `mean`' },
  GlobalMaxPooling1D: { is: 'the builtin `max`' },
  Softmax: { is: 'the builtin `softmax`' },
  Concatenate: { is: 'the merge `concat`', write: '`concat(a, b) -> …` at the head of a chain' },
  Add: { is: 'the merge `add`', write: '`add(a, b) -> …` at the head of a chain' },
  LogSoftmax: { is: 'the builtin `log_softmax`' },
  ReLU: { is: 'the builtin `relu`' },
  Tanh: { is: 'the builtin `tanh`' },
  Sigmoid: { is: 'the builtin `sigmoid`' },
};

const activationBuiltins: readonly BuiltinName[] = ['relu', 'tanh', 'sigmoid', 'softmax', 'log_softmax'];

/**
 * The state of walking the chains in order: the names in scope, the labels, and the ops and outputs
 * made so far. Each function below reads and writes it explicitly; the decoder reads it and keeps
 * its own ops (src/check/decoder.ts).
 */
export interface ChainContext {
  readonly inputs: readonly IrInput[];
  readonly diagnostics: Diagnostic[];
  /** Every declared input name, including those whose declaration was rejected. */
  readonly declaredInputs: ReadonlySet<string>;
  /** The ops of the model's chains (the encoder's, in a model with a decoder), in order. */
  readonly ops: Op[];
  readonly outputs: IrOutput[];
  readonly stateInputs: IrInput[];
  readonly scope: Map<string, Binding>;
  readonly labels: Map<CallStep, string>;
  /** Every label the spec can refer to, with the chain position that defines it. */
  readonly declaredLabels: Map<string, Span>;
  readonly usedNames: Set<string>;
  readonly nextSuffix: Map<string, number>;
  readonly inputNames: Set<string>;
  readonly referenced: Set<string>;
  readonly danglingChains: { chain: Chain; last: Binding }[];
  /** The chain before the current one, to tell a missing `->` from a new chain. */
  previousChain: Chain | undefined;
  /** Chains cut short by a missing `->`: their unused result is that error's doing, not a warning of its own. */
  readonly cutChains: Set<Chain>;
  readonly chainResults: Map<Chain, Binding>;
  /** The outputs by name, indexed up to `indexedOutputs` of `outputs`. */
  readonly outputIndex: Map<string, IrOutput>;
  indexedOutputs: number;
}

/** The context before the first chain: the inputs in scope. */
export function createChainContext(
  inputs: readonly IrInput[],
  diagnostics: Diagnostic[],
  declaredInputs: ReadonlySet<string>,
): ChainContext {
  const ctx: ChainContext = {
    inputs,
    diagnostics,
    declaredInputs,
    ops: [],
    outputs: [],
    stateInputs: [],
    scope: new Map(),
    labels: new Map(),
    declaredLabels: new Map(),
    usedNames: new Set(),
    nextSuffix: new Map(),
    inputNames: new Set(),
    referenced: new Set(),
    danglingChains: [],
    previousChain: undefined,
    cutChains: new Set(),
    chainResults: new Map(),
    outputIndex: new Map(),
    indexedOutputs: 0,
  };
  for (const input of inputs) {
    ctx.scope.set(input.name, { value: { id: input.name, type: input.type }, span: input.span });
    ctx.usedNames.add(input.name);
    ctx.inputNames.add(input.name);
  }
  return ctx;
}

/** The declared inputs, then the state inputs of stateful layers. */
export function allInputs(ctx: ChainContext): IrInput[] {
  return [...ctx.inputs, ...ctx.stateInputs];
}

/** Explicit labels, then derived ones (`kind` in lowercase) for unlabeled layers with parameters. */
export function assignLabels(ctx: ChainContext, steps: readonly CallStep[]): void {
  for (const step of steps) {
    if (step.label === undefined) continue;
    const text = step.label.text;
    const earlier = ctx.declaredLabels.get(text);
    if (earlier !== undefined) {
      ctx.diagnostics.push({
        ...error(
          'SEQ012',
          step.label.span,
          `the label \`${text}\` is used twice`,
          'each layer needs its own label; it names its parameters',
          { names: [text] },
        ),
        related: [{ span: earlier, message: 'first used here' }],
      });
      continue;
    }
    if (ctx.scope.has(text) || ctx.declaredInputs.has(text)) {
      ctx.diagnostics.push(
        error(
          'SEQ019',
          step.label.span,
          `the label \`${text}\` is also the name of an input`,
          'rename the label or the input',
          { names: [text], found: 'input' },
        ),
      );
      continue;
    }
    if (isBuiltin(text) || isLayerKind(text)) {
      ctx.diagnostics.push(
        error(
          'SEQ019',
          step.label.span,
          `the label \`${text}\` is also the name of a ${isBuiltin(text) ? 'builtin' : 'layer'}`,
          `a step \`-> ${text}\` would be read as the ${isBuiltin(text) ? 'builtin' : 'layer'}; choose another label, e.g. \`${text}_${isBuiltin(text) ? 'head' : '1'}\``,
          { names: [text], found: isBuiltin(text) ? 'builtin' : 'layer' },
        ),
      );
      continue;
    }
    ctx.declaredLabels.set(text, step.label.span);
    ctx.labels.set(step, text);
    ctx.usedNames.add(text);
  }
  const unlabeled = steps.filter(
    (s) =>
      s.label === undefined && isLayerKind(s.callee.text) && layerSignatures[s.callee.text as LayerKind].hasParameters,
  );
  const byKind = new Map<string, CallStep[]>();
  for (const step of unlabeled) byKind.set(step.callee.text, [...(byKind.get(step.callee.text) ?? []), step]);
  for (const [kind, group] of byKind) {
    const derived = kind.toLowerCase();
    if (group.length > 1) {
      for (const step of group) {
        ctx.diagnostics.push(
          error(
            'SEQ013',
            step.callee.span,
            `this model has ${group.length} unlabeled ${kind} layers, so their parameter names would clash`,
            `give each a label, e.g. \`${derived}1: ${kind}(…)\`; the label prefixes its parameters (\`${derived}1.${firstParameterName(kind as LayerKind)}\`)`,
            { names: [kind, derived], found: group.length, limit: 1 },
          ),
        );
      }
      continue;
    }
    const step = group[0]!;
    const earlier = ctx.declaredLabels.get(derived);
    if (earlier !== undefined || ctx.scope.has(derived)) {
      ctx.diagnostics.push({
        ...error(
          'SEQ012',
          step.callee.span,
          `this unlabeled ${kind} would be labeled \`${derived}\`, which is already taken`,
          `give it a label of its own, e.g. \`${derived}2: ${kind}(…)\``,
          { names: [kind, derived] },
        ),
        ...(earlier === undefined ? {} : { related: [{ span: earlier, message: `\`${derived}\` is defined here` }] }),
      });
      continue;
    }
    ctx.declaredLabels.set(derived, step.callee.span);
    ctx.labels.set(step, derived);
    ctx.usedNames.add(derived);
  }
  checkNestedLabels(ctx);
  // Steps without parameters (builtins, Dropout) get unique names for the graph only.
  for (const step of steps) {
    if (ctx.labels.has(step) || step.label !== undefined) continue;
    if (isLayerKind(step.callee.text) && layerSignatures[step.callee.text as LayerKind].hasParameters) continue;
    ctx.labels.set(step, graphName(ctx, step.callee.text.toLowerCase()));
  }
}

/**
 * A dotted label names a module inside another (`encoder.rnn` is the `rnn` of `encoder`), as PyTorch
 * names nested modules. A PyTorch module cannot be a layer and hold a submodule of that name too, so
 * a label that is a prefix of another label is an error: `encoder: Linear` and `encoder.rnn: LSTM`.
 */
function checkNestedLabels(ctx: ChainContext): void {
  for (const [label, span] of ctx.declaredLabels) {
    const segments = label.split('.');
    for (let n = 1; n < segments.length; n++) {
      const parent = segments.slice(0, n).join('.');
      const parentSpan = ctx.declaredLabels.get(parent);
      if (parentSpan === undefined) continue;
      ctx.diagnostics.push({
        ...error(
          'SEQ060',
          span,
          `the label \`${label}\` names a module inside \`${parent}\`, but \`${parent}\` is a step of its own`,
          `a label is a PyTorch module path, and one module cannot be both a layer and the parent of other layers; rename \`${parent}\` (e.g. \`${parent}_out\`) or put \`${label.slice(parent.length + 1)}\` under another name`,
          { names: [label, parent] },
        ),
        related: [{ span: parentSpan, message: `\`${parent}\` is defined here` }],
      });
      break;
    }
  }
}

/** The names a chain reads at its head: its source, or a merge's operands. */
export function chainSourceNames(chain: Chain): string[] {
  if (chain.source.kind === 'name') return [chain.source.text];
  return chain.source.args.flatMap((a) => (a.value.kind === 'nameValue' ? [a.value.text] : []));
}

/** The name of a chain's head for messages: the source, or the merge's callee. */
export function chainHead(chain: Chain): Name {
  return chain.source.kind === 'name' ? chain.source : chain.source.callee;
}

/** Checks one chain from its source, step by step; after an error the rest is checked without types. */
export function checkChain(ctx: ChainContext, chain: Chain): void {
  const previous = ctx.previousChain;
  ctx.previousChain = chain;
  const source = chain.source.kind === 'merge' ? checkMerge(ctx, chain.source) : checkSourceName(ctx, chain, previous);
  if (source === undefined) {
    for (const step of chain.steps) checkStepWithoutTypes(ctx, step);
    return;
  }
  let current: Binding | undefined = source;
  for (const step of chain.steps) {
    if (current === undefined) {
      // The value is unknown after an error; still report problems that need no types.
      checkStepWithoutTypes(ctx, step);
      continue;
    }
    current = checkStep(ctx, step, current, ctx.ops);
  }
  if (current === undefined) return;
  ctx.chainResults.set(chain, current);
  if (chain.steps[chain.steps.length - 1]?.kind !== 'outputStep') ctx.danglingChains.push({ chain, last: current });
}

/** The value a chain starts from when its source is a name: an input or an earlier label. */
function checkSourceName(ctx: ChainContext, chain: Chain, previous: Chain | undefined): Binding | undefined {
  const name = chainHead(chain);
  const source = ctx.scope.get(name.text);
  if (source === undefined) {
    // An input whose declaration was rejected has its diagnostic already.
    if (!ctx.declaredInputs.has(name.text)) ctx.diagnostics.push(unknownSource(ctx, name, previous));
    return undefined;
  }
  ctx.referenced.add(name.text);
  return source;
}

const mergeModes: readonly MergeMode[] = ['concat', 'add'];

/** What PyTorch and Keras call the merges, so that `cat(a, b)` suggests `concat`, not the closer-spelled `add`. */
const foreignMerges: Readonly<Record<string, MergeMode>> = {
  cat: 'concat',
  Concatenate: 'concat',
  concatenate: 'concat',
  Add: 'add',
  sum: 'add',
};

function isMergeMode(name: string): name is MergeMode {
  return (mergeModes as readonly string[]).includes(name);
}

/**
 * `concat(a, b, …)` or `add(a, b, …)`: two or more inputs or earlier labels, all float32, all
 * sequences [batch, time, F] with the same time axis and lengths, or all vectors [batch, F]. `concat`
 * joins the last axes; `add` needs them equal. The result keeps the operands' lengths.
 */
function checkMerge(ctx: ChainContext, source: MergeSource): Binding | undefined {
  const callee = source.callee.text;
  markOperandsRead(ctx, source.args);
  if (!isMergeMode(callee)) {
    const suggestion = Object.hasOwn(foreignMerges, callee) ? foreignMerges[callee] : closest(callee, mergeModes);
    const hint =
      isLayerKind(callee) || isBuiltin(callee)
        ? `\`${callee}\` is a step: continue a chain with it, \`source -> ${callee}${isLayerKind(callee) ? '(…)' : ''}\``
        : suggestion !== undefined
          ? `did you mean \`${suggestion}(…)\`?`
          : 'a chain starts from an input, a label, `concat(a, b, …)` or `add(a, b)`';
    ctx.diagnostics.push(
      error(
        'SEQ061',
        source.callee.span,
        `\`${callee}(…)\` cannot start a chain: the merges are \`concat\` and \`add\``,
        hint,
        {
          names: [callee],
          expected: [...mergeModes],
          found: callee,
        },
      ),
    );
    return undefined;
  }
  const operands: Name[] = [];
  for (const arg of source.args) {
    if (arg.name !== undefined || arg.value.kind !== 'nameValue') {
      ctx.diagnostics.push(
        error(
          'SEQ061',
          arg.span,
          `the operands of \`${callee}\` are inputs or labels, found ${arg.name !== undefined ? `the named argument \`${arg.name.text}=\`` : `\`${valueText(arg.value)}\``}`,
          `write \`${callee}(a, b)\`, naming the values to ${callee === 'concat' ? 'join' : 'sum'}`,
          { names: [callee], expected: 'a label or an input' },
        ),
      );
      return undefined;
    }
    operands.push({ kind: 'name', text: arg.value.text, span: arg.value.span });
  }
  if (operands.length < 2) {
    ctx.diagnostics.push(
      error(
        'SEQ061',
        source.span,
        `\`${callee}\` merges two or more values, found ${operands.length}`,
        operands.length === 1
          ? `start the chain from the value itself: \`${operands[0]!.text} -> …\``
          : `write \`${callee}(a, b)\` with the labels of earlier steps`,
        { names: [callee], expected: 2, found: operands.length },
      ),
    );
    return undefined;
  }
  const bindings: { readonly name: Name; readonly binding: Binding }[] = [];
  for (const name of operands) {
    const binding = ctx.scope.get(name.text);
    if (binding === undefined) {
      if (!ctx.declaredInputs.has(name.text)) ctx.diagnostics.push(unknownSource(ctx, name, undefined));
      continue;
    }
    ctx.referenced.add(name.text);
    bindings.push({ name, binding });
  }
  if (bindings.length < operands.length) return undefined;
  const type = mergedType(ctx, callee, bindings);
  if (type === undefined) return undefined;
  const label = graphName(ctx, callee);
  const op: MergeOp = {
    kind: 'merge',
    mode: callee,
    label,
    input: bindings[0]!.binding.value.id,
    operands: bindings.map((b) => b.binding.value.id),
    output: { id: label, type },
    span: source.span,
    display: `${callee}(${operands.map((o) => o.text).join(', ')})`,
  };
  ctx.ops.push(op);
  return { value: op.output, span: source.span, op };
}

/** A merge reads its operands even when it is malformed, so that their chains do not also warn as unused. */
function markOperandsRead(ctx: ChainContext, args: readonly Argument[]): void {
  for (const arg of args)
    if (arg.value.kind === 'nameValue' && ctx.scope.has(arg.value.text)) ctx.referenced.add(arg.value.text);
}

/** The type of a merge's result, or undefined after diagnosing the first operand that does not fit the first. */
function mergedType(
  ctx: ChainContext,
  mode: MergeMode,
  operands: readonly { readonly name: Name; readonly binding: Binding }[],
): ValueType | undefined {
  const describe = (o: { readonly name: Name; readonly binding: Binding }): string =>
    `\`${o.name.text}\` ${formatType(o.binding.value.type)}`;
  for (const o of operands) {
    const type = o.binding.value.type;
    if (type.dtype !== 'float32') {
      ctx.diagnostics.push(
        error(
          'SEQ062',
          o.name.span,
          `\`${mode}\` merges float32 values, but ${describe(o)} holds token ids`,
          'turn the ids into vectors first: `-> Embedding(vocab=…, dim=…)`',
          { names: [mode, o.name.text], expected: 'float32', found: formatType(type) },
        ),
      );
      return undefined;
    }
    if (type.dims.length !== (type.hasTime ? 3 : 2)) {
      ctx.diagnostics.push(
        error(
          'SEQ063',
          o.name.span,
          `\`${mode}\` merges [batch, features] or [batch, time, features] values, found ${describe(o)}`,
          type.hasTime
            ? 'give the sequence a feature axis, e.g. float32[batch, time, 1]'
            : 'a merge joins the feature axis; this value has none',
          {
            names: [mode, o.name.text],
            expected: '[batch, features] or [batch, time, features]',
            found: formatType(type),
          },
        ),
      );
      return undefined;
    }
  }
  const first = operands[0]!;
  const a = first.binding.value.type;
  let features = 0;
  for (const o of operands) {
    const b = o.binding.value.type;
    const related =
      o === first
        ? {}
        : { related: [{ span: first.name.span, message: `\`${first.name.text}\` is ${formatType(a)}` }] };
    if (b.hasTime !== a.hasTime) {
      const [sequence, vector] = a.hasTime ? [first, o] : [o, first];
      ctx.diagnostics.push({
        ...error(
          'SEQ063',
          o.name.span,
          `\`${mode}\` cannot merge the sequence ${describe(sequence)} with ${describe(vector)}, which has no time axis`,
          `pool the sequence first (\`${sequence.name.text} -> pooled: mean\`, \`max\` or \`last\`), or merge two sequences`,
          { names: [mode, first.name.text, o.name.text], expected: formatType(a), found: formatType(b) },
        ),
        ...related,
      });
      return undefined;
    }
    const axes = a.hasTime ? ['batch', 'time'] : ['batch'];
    for (const [i, axis] of axes.entries()) {
      if (sameDim(a.dims[i]!, b.dims[i]!)) continue;
      ctx.diagnostics.push({
        ...error(
          'SEQ064',
          o.name.span,
          `\`${mode}\` needs the same ${axis} axis, but ${describe(first)} and ${describe(o)} differ there`,
          axis === 'time'
            ? 'merged sequences come from the same input, step for step'
            : 'merged values come from the same batch: name its axis the same in every input',
          { names: [mode, first.name.text, o.name.text], expected: formatType(a), found: formatType(b) },
        ),
        ...related,
      });
      return undefined;
    }
    if (a.hasTime && a.lengths !== b.lengths) {
      const masked = (o2: { readonly name: Name; readonly binding: Binding }): string =>
        o2.binding.value.type.lengths === undefined
          ? `\`${o2.name.text}\` has no lengths`
          : `\`${o2.name.text}\` is masked by \`${o2.binding.value.type.lengths}\``;
      ctx.diagnostics.push({
        ...error(
          'SEQ065',
          o.name.span,
          `\`${mode}\` merges sequences with the same lengths, but ${masked(first)} and ${masked(o)}`,
          'merged sequences come from the same input (or inputs with the same `lengths(…)`); pool them first to merge vectors instead',
          {
            names: [mode, first.name.text, o.name.text],
            expected: a.lengths ?? 'no lengths',
            found: b.lengths ?? 'no lengths',
          },
        ),
        ...related,
      });
      return undefined;
    }
    const maskMismatch = mergeMaskDiagnostic(
      mode,
      { name: first.name.text, type: a },
      { name: o.name.text, type: b, span: o.name.span },
    );
    if (maskMismatch !== undefined) {
      ctx.diagnostics.push(maskMismatch);
      return undefined;
    }
    const last = b.dims[b.dims.length - 1]!;
    const firstLast = a.dims[a.dims.length - 1]!;
    if (last.kind !== 'fixed' || (mode === 'add' && (firstLast.kind !== 'fixed' || firstLast.size !== last.size))) {
      ctx.diagnostics.push({
        ...error(
          'SEQ066',
          o.name.span,
          last.kind !== 'fixed'
            ? `\`${mode}\` needs fixed feature sizes, but ${describe(o)} ends in the symbolic \`${last.kind === 'symbol' ? last.name : '?'}\``
            : `\`add\` needs the same feature size, but ${describe(first)} and ${describe(o)} differ`,
          last.kind !== 'fixed'
            ? 'declare the feature axis with a number, e.g. float32[batch, time, 40]'
            : `\`concat(${first.name.text}, ${o.name.text})\` joins them side by side; to add them, project one first with \`Linear(${firstLast.kind === 'fixed' ? firstLast.size : '…'})\``,
          { names: [mode, first.name.text, o.name.text], expected: formatType(a), found: formatType(b) },
        ),
        ...related,
      });
      return undefined;
    }
    features = mode === 'concat' ? features + last.size : last.size;
  }
  const { lengths: _lengths, ...rest } = a;
  const type: ValueType = { ...rest, dims: [...a.dims.slice(0, -1), fixed(features)] };
  return a.lengths === undefined ? type : { ...type, lengths: a.lengths };
}

function valueText(value: CallStep['callee'] | NonNullable<CallStep['args']>[number]['value']): string {
  switch (value.kind) {
    case 'string':
      return `"${value.value}"`;
    case 'number':
      return value.text;
    case 'boolean':
      return String(value.value);
    case 'nameValue':
    case 'name':
      return value.text;
  }
}

function sameDim(a: Dim, b: Dim): boolean {
  return a.kind === 'fixed' ? b.kind === 'fixed' && a.size === b.size : b.kind === 'symbol' && a.name === b.name;
}

/** A unique graph name for a step no label names: `base`, then `base_2`, `base_3`, …. */
function graphName(ctx: ChainContext, base: string): string {
  // Counting on from the last suffix given to this base keeps naming n steps O(n), not O(n²).
  let n = ctx.nextSuffix.get(base) ?? 2;
  let name = base;
  while (ctx.usedNames.has(name)) name = `${base}_${n++}`;
  ctx.nextSuffix.set(base, n);
  ctx.usedNames.add(name);
  return name;
}

/** Ends a model whose results are its graph outputs: warns of what is unused, and requires an output. */
export function finishModel(ctx: ChainContext, ast: ModelAst, chains: readonly Chain[]): void {
  warnUnused(ctx, chains, undefined);
  if (ctx.outputs.length === 0 && !ctx.diagnostics.some((d) => d.severity === 'error')) {
    ctx.diagnostics.push(
      error(
        'SEQ017',
        ast.name.span,
        `the model \`${ast.name.text}\` has no output`,
        'end a chain with `-> output name`',
        { names: [ast.name.text], expected: 1, found: 0 },
      ),
    );
  }
}

/** Ends the encoder of a model with a decoder: its last chain is the decoder's memory, and the decoder makes the outputs. */
export function finishEncoder(ctx: ChainContext, chains: readonly Chain[]): void {
  warnUnused(ctx, chains, chains[chains.length - 1]);
}

/** Warns of chain results and inputs nothing reads; `memory`, the chain the decoder attends over, is read. */
function warnUnused(ctx: ChainContext, chains: readonly Chain[], memory: Chain | undefined): void {
  for (const { chain, last } of ctx.danglingChains) {
    if (chain === memory) continue;
    if (ctx.cutChains.has(chain)) continue;
    const label = last.op?.label;
    if (
      label !== undefined &&
      chains.some((c) => c !== chain && chainSourceNames(c).includes(label) && ctx.referenced.has(label))
    )
      continue;
    const lastStep = chain.steps[chain.steps.length - 1]!;
    ctx.diagnostics.push(
      warning(
        'SEQ018',
        lastStep.span,
        `the result of this chain, ${formatType(last.value.type)}, is never used`,
        'end the chain with `-> output name`, or continue from its label in another chain',
        { names: label === undefined ? [] : [label], found: formatType(last.value.type) },
      ),
    );
  }
  for (const input of ctx.inputs) {
    if (input.role.kind === 'lengths') {
      const unread = unreadLengths(ctx, input.name, input.role.of, memory);
      if (unread !== undefined) ctx.diagnostics.push(unread);
      continue;
    }
    if (input.role.kind !== 'data' || ctx.referenced.has(input.name)) continue;
    ctx.diagnostics.push(
      warning('SEQ016', input.span, `the input \`${input.name}\` is never used`, unusedInputHint(ctx, input), {
        names: [input.name],
      }),
    );
  }
}

/** An int64[batch] input next to a sequence without lengths was most likely meant as its lengths. */
function unusedInputHint(ctx: ChainContext, input: IrInput): string {
  const unmasked = ctx.inputs.find((i) => i.role.kind === 'data' && i.type.hasTime && i.type.lengths === undefined);
  if (input.type.dtype === 'int64' && input.type.dims.length === 1 && unmasked !== undefined) {
    return `if it holds the number of valid steps in each row of \`${unmasked.name}\`, declare it as \`input ${input.name}: lengths(${unmasked.name})\`, and seqc masks the padded steps with it; otherwise start a chain from it or remove it`;
  }
  return `start a chain from it (\`${input.name} -> …\`) or remove it`;
}

/**
 * A `lengths(x)` input is read by what respects padding: a recurrent layer or a `last`, `mean` or
 * `max` over a value computed from x, a per-token output of such a value, or a decoder attending
 * over the encoder's memory. When none of them is there, the input only takes up a graph input.
 */
function unreadLengths(
  ctx: ChainContext,
  name: string,
  of: string,
  memoryChain: Chain | undefined,
): Diagnostic | undefined {
  // An unused sequence has its own warning; its lengths are unused with it.
  if (!ctx.referenced.has(of)) return undefined;
  const readByOp = ctx.ops.some(
    (op) =>
      (op.kind === 'recurrent' && op.lengths === name) ||
      (op.kind === 'conv1d' && op.lengths === name) ||
      (op.kind === 'pool' && op.mode !== 'first' && op.lengths === name) ||
      (op.kind === 'crf' && op.lengths === name),
  );
  const readByOutput = ctx.outputs.some((o) => o.type.hasTime && o.type.lengths === name);
  const memory = memoryChain === undefined ? undefined : ctx.chainResults.get(memoryChain);
  if (readByOp || readByOutput || memory?.value.type.lengths === name) return undefined;
  const input = ctx.inputs.find((i) => i.name === name)!;
  return warning(
    'SEQ016',
    input.span,
    `the input \`${name}\` is never read: nothing that respects padding consumes \`${of}\``,
    `lengths(${of}) masks the padded steps of \`${of}\` where a recurrent layer, \`last\`, \`mean\` or \`max\` reads a value computed from it, or where such a value is a per-token output; nothing here does, so remove it or add such a step`,
    { names: [name, of] },
  );
}

function unknownSource(ctx: ChainContext, source: Name, previous: Chain | undefined): Diagnostic {
  const name = source.text;
  if (previous !== undefined && previous.span.end.line === source.span.start.line) {
    ctx.cutChains.add(previous);
    // `-> LSTM(8) last -> output y`: a name on the line where a chain ended was read as a new chain.
    return error(
      'SEQ011',
      source.span,
      `\`${name}\` starts a new chain, but it is neither an input nor a label`,
      `did you forget \`->\` before \`${name}\`? Without it, \`${name}\` ends the chain before it and starts another`,
      { names: [name] },
    );
  }
  const later = ctx.declaredLabels.get(name);
  if (later !== undefined) {
    return {
      ...error(
        'SEQ011',
        source.span,
        `\`${name}\` is used before the chain that defines it`,
        'chains run in order: move this chain after the one that defines it',
        { names: [name] },
      ),
      related: [{ span: later, message: `\`${name}\` is defined here` }],
    };
  }
  const candidates = [...ctx.scope.keys()];
  const suggestion = closest(name, candidates);
  const hint =
    suggestion !== undefined
      ? `did you mean \`${suggestion}\`?`
      : candidates.length > 0
        ? `a chain starts from an input or a label: ${candidates.map((c) => `\`${c}\``).join(', ')}`
        : 'declare it first: `input tokens: int64[batch, time]`';
  return error('SEQ011', source.span, `\`${name}\` is neither an input nor a label`, hint, {
    names: [name],
    expected: candidates,
  });
}

/** Types one step after `current`; the ops it makes go into `ops`, the list of the chains or the decoder's own. */
export function checkStep(ctx: ChainContext, step: Step, current: Binding, ops: Op[]): Binding | undefined {
  if (step.kind === 'outputStep') {
    checkOutput(ctx, step.name.text, step.name.span, current);
    return current;
  }
  const callee = step.callee.text;
  const label = ctx.labels.get(step);
  if (current.op?.kind === 'crf') return stepAfterCrf(ctx, step, current.op);
  if (isBuiltin(callee)) return checkBuiltin(ctx, step, callee, label, current, ops);
  if (isLayerKind(callee)) {
    const signature = layerSignatures[callee];
    const args = bindArguments(signature, step, ctx.diagnostics);
    if (args === undefined || label === undefined) return undefined;
    return checkLayer(ctx, step, args, label, current, ops);
  }
  ctx.diagnostics.push(unknownStep(ctx, step));
  return undefined;
}

function checkStepWithoutTypes(ctx: ChainContext, step: Step): void {
  if (step.kind === 'outputStep') return;
  const callee = step.callee.text;
  if (callee === 'masking') {
    bindArguments(maskingSignature, step, ctx.diagnostics);
  } else if (callee === 'repeat') {
    bindArguments(repeatSignature, step, ctx.diagnostics);
  } else if (isBuiltin(callee)) {
    if (step.args !== undefined && step.args.length > 0) {
      ctx.diagnostics.push(
        error('SEQ025', step.args[0]!.span, `\`${callee}\` takes no arguments`, `write \`-> ${callee}\``, {
          names: [callee],
          expected: 0,
          found: step.args.length,
        }),
      );
    }
  } else if (isLayerKind(callee)) {
    bindArguments(layerSignatures[callee], step, ctx.diagnostics);
  } else {
    ctx.diagnostics.push(unknownStep(ctx, step));
  }
}

function unknownStep(ctx: ChainContext, step: CallStep): Diagnostic {
  const callee = step.callee.text;
  if (isMergeMode(callee) && step.label === undefined) {
    markOperandsRead(ctx, step.args ?? []);
    return error(
      'SEQ061',
      step.callee.span,
      `\`${callee}(…)\` merges values at the head of a chain, not as a step`,
      `label the value before it and start a new chain with the merge on a line of its own: \`${callee}(a, b) -> …\``,
      { names: [callee], expected: 'a chain of its own', found: 'a step' },
    );
  }
  const exact = [...layerKinds, ...builtinNames].find((k) => k.toLowerCase() === callee.toLowerCase());
  const suggestion = exact ?? closest(callee, [...layerKinds, ...builtinNames]);
  const foreign = foreignLayers[callee];
  let hint =
    foreign !== undefined
      ? `\`${callee}\` is ${foreign.is} here${foreign.write === undefined ? '' : `: write ${foreign.write}`}`
      : suggestion !== undefined
        ? `did you mean \`${suggestion}\`?`
        : `layers: ${layerKinds.join(', ')}; builtins: ${builtinNames.join(', ')}`;
  if (ctx.scope.has(callee) && step.args === undefined && step.label === undefined) {
    const what = ctx.inputs.some((i) => i.name === callee) ? 'an input' : 'a label';
    hint = `\`${callee}\` is ${what}; a chain starts from it on a line of its own: \`${callee} -> …\``;
  }
  return error('SEQ010', step.callee.span, `unknown layer or builtin \`${callee}\``, hint, {
    names: [callee],
    found: callee,
    ...(suggestion === undefined ? {} : { expected: suggestion }),
  });
}

function checkOutput(ctx: ChainContext, name: string, span: Span, current: Binding): void {
  const clash = outputsByName(ctx).get(name);
  if (clash !== undefined || ctx.inputNames.has(name) || ctx.stateInputs.some((i) => i.name === name)) {
    ctx.diagnostics.push({
      ...error(
        'SEQ015',
        span,
        clash !== undefined
          ? `the output \`${name}\` is defined twice`
          : `the output \`${name}\` has the name of an input`,
        'graph inputs and outputs need distinct names',
        { names: [name], found: clash !== undefined ? 'output' : 'input' },
      ),
      ...(clash === undefined ? {} : { related: [{ span: clash.span, message: 'first defined here' }] }),
    });
    return;
  }
  ctx.outputs.push({ name, value: current.value.id, type: current.value.type, span });
}

/** The outputs so far by name; state outputs are pushed to `outputs` directly, so the map catches up with it. */
function outputsByName(ctx: ChainContext): Map<string, IrOutput> {
  for (; ctx.indexedOutputs < ctx.outputs.length; ctx.indexedOutputs++) {
    const o = ctx.outputs[ctx.indexedOutputs]!;
    if (!ctx.outputIndex.has(o.name)) ctx.outputIndex.set(o.name, o);
  }
  return ctx.outputIndex;
}

function checkBuiltin(
  ctx: ChainContext,
  step: CallStep,
  name: BuiltinName,
  label: string | undefined,
  current: Binding,
  ops: Op[],
): Binding | undefined {
  if (name === 'masking') {
    const op = checkMasking(ctx.diagnostics, step, label ?? name, current.value.id, current.value.type);
    return op === undefined ? undefined : addOp(ctx, op, step, ops);
  }
  if (name === 'repeat') return checkRepeat(ctx, step, label, current, ops);
  if (step.args !== undefined && step.args.length > 0) {
    ctx.diagnostics.push(
      error('SEQ025', step.args[0]!.span, `\`${name}\` takes no arguments`, `write \`-> ${name}\``, {
        names: [name],
        expected: 0,
        found: step.args.length,
      }),
    );
    return undefined;
  }
  const type = current.value.type;
  const display = name;
  const id = label ?? name;
  if ((activationBuiltins as readonly string[]).includes(name)) {
    if (!expectFloat(ctx, step, name, type)) return undefined;
    return addOp(
      ctx,
      {
        kind: 'activation',
        fn: name as ActivationFunction,
        label: id,
        input: current.value.id,
        output: { id, type },
        span: step.span,
        display,
      },
      step,
      ops,
    );
  }
  if (!type.hasTime) {
    ctx.diagnostics.push(
      error(
        'SEQ036',
        step.callee.span,
        `\`${name}\` pools over time, but its input ${formatType(type)} has no time axis`,
        'pooling needs a sequence [batch, time, features]; was the time axis already pooled?',
        { names: [name], expected: 'a sequence [batch, time, features]', found: formatType(type) },
      ),
    );
    return undefined;
  }
  if (!expectFloat(ctx, step, name, type)) return undefined;
  const dims = [type.dims[0]!, ...type.dims.slice(2)];
  const outType: ValueType = { dtype: type.dtype, dims, hasTime: false };
  const mode = name as PoolMode;
  const masked = poolMask(ctx.diagnostics, step, mode, type);
  const finalStateOf = mode === 'last' ? recurrentSource(ctx, current, ops) : undefined;
  return addOp(
    ctx,
    {
      kind: 'pool',
      mode,
      label: id,
      input: current.value.id,
      output: { id, type: outType },
      span: step.span,
      display,
      ...(type.lengths === undefined ? {} : { lengths: type.lengths }),
      ...(finalStateOf === undefined ? {} : { finalStateOf }),
      ...masked,
    },
    step,
    ops,
  );
}

/** `repeat(n)`: a float vector [batch, F] becomes the sequence [batch, n, F], each step a copy. */
function checkRepeat(
  ctx: ChainContext,
  step: CallStep,
  label: string | undefined,
  current: Binding,
  ops: Op[],
): Binding | undefined {
  const args = bindArguments(repeatSignature, step, ctx.diagnostics);
  if (args === undefined) return undefined;
  const type = current.value.type;
  if (type.hasTime) {
    ctx.diagnostics.push(
      error(
        'SEQ034',
        step.callee.span,
        `\`repeat\` makes a sequence of a vector [batch, features], but its input ${formatType(type)} has a time axis`,
        'take one vector per row first, e.g. `-> last`',
        { names: ['repeat'], expected: '[batch, features]', found: formatType(type) },
      ),
    );
    return undefined;
  }
  if (!expectFloat(ctx, step, 'repeat', type)) return undefined;
  const id = label ?? 'repeat';
  const dims = [type.dims[0]!, fixed(args.n), ...type.dims.slice(1)];
  return addOp(
    ctx,
    {
      kind: 'repeat',
      times: args.n,
      label: id,
      input: current.value.id,
      output: { id, type: { dtype: 'float32', dims, hasTime: true } },
      span: step.span,
      display: `repeat(${args.n})`,
    },
    step,
    ops,
  );
}

/** The recurrent layer whose output this is, directly or through dropout only. */
function recurrentSource(ctx: ChainContext, binding: Binding, ops: readonly Op[]): string | undefined {
  let op = binding.op;
  while (op !== undefined && op.kind === 'dropout')
    op = ctx.scope.get(op.input)?.op ?? ops.find((o) => o.output.id === op!.input);
  return op?.kind === 'recurrent' ? op.label : undefined;
}

function addOp(ctx: ChainContext, op: Op, step: CallStep, ops: Op[]): Binding {
  ops.push(op);
  const binding: Binding = { value: op.output, span: step.span, op };
  if (ctx.declaredLabels.has(op.label)) ctx.scope.set(op.label, binding);
  return binding;
}

function expectFloat(ctx: ChainContext, step: CallStep, what: string, type: ValueType): boolean {
  if (type.dtype === 'float32') return true;
  ctx.diagnostics.push(
    error(
      'SEQ033',
      step.callee.span,
      `${what} expects float32 values, found token ids ${formatType(type)}`,
      'token ids become vectors through an Embedding first: `-> Embedding(vocab=…, dim=…)`',
      { names: [what], expected: 'float32', found: formatType(type) },
    ),
  );
  return false;
}

function fixedLast(ctx: ChainContext, step: CallStep, what: string, type: ValueType): number | undefined {
  const last = type.dims[type.dims.length - 1];
  if (last?.kind === 'fixed') return last.size;
  ctx.diagnostics.push(
    error(
      'SEQ035',
      step.callee.span,
      `${what} needs a fixed feature size, but its input ${formatType(type)} ends in the symbolic \`${last?.kind === 'symbol' ? last.name : '?'}\``,
      'declare the feature axis with a number, e.g. float32[batch, time, 40]',
      { names: [what], expected: 'a fixed feature size', found: formatType(type) },
    ),
  );
  return undefined;
}

function checkLayer(
  ctx: ChainContext,
  step: CallStep,
  args: LayerArguments,
  label: string,
  current: Binding,
  ops: Op[],
): Binding | undefined {
  const type = current.value.type;
  const display = stepText(args.kind, step.args);
  const base = { label, input: current.value.id, span: step.span, display };
  switch (args.kind) {
    case 'Embedding': {
      if (type.dtype !== 'int64') {
        ctx.diagnostics.push(
          error(
            'SEQ033',
            step.callee.span,
            `Embedding expects int64 token ids, found ${formatType(type)}`,
            'float sequences (audio frames, sensor readings) feed recurrent layers directly; remove the Embedding',
            { names: ['Embedding', base.label], expected: 'int64', found: formatType(type) },
          ),
        );
        return undefined;
      }
      const { vocab, dim } = args;
      let paddingIdx = args.padding_idx;
      if (paddingIdx !== undefined) {
        if (paddingIdx < -vocab || paddingIdx >= vocab) {
          const arg = step.args!.find((a) => a.name?.text === 'padding_idx')!;
          ctx.diagnostics.push(
            error(
              'SEQ023',
              arg.value.span,
              `padding_idx must be within [-${vocab}, ${vocab - 1}], found ${paddingIdx}`,
              `the padding id is one of the ${vocab} token ids, usually 0`,
              { names: [base.label, 'padding_idx'], range: [-vocab, vocab - 1], found: paddingIdx },
            ),
          );
          return undefined;
        }
        if (paddingIdx < 0) paddingIdx += vocab;
      }
      const masked = embeddingMask(ctx.diagnostics, step, args.mask_zero, label, type);
      if (masked === null) return undefined;
      const outType: ValueType = { ...type, dtype: 'float32', dims: [...type.dims, fixed(dim)], ...masked };
      return addOp(
        ctx,
        {
          kind: 'embedding',
          ...base,
          vocab,
          dim,
          ...(paddingIdx === undefined ? {} : { paddingIdx }),
          ...(masked.mask === undefined ? {} : { maskZero: true as const }),
          output: { id: label, type: outType },
        },
        step,
        ops,
      );
    }
    case 'RNN':
    case 'LSTM':
    case 'GRU':
    case 'BiRNN':
    case 'BiLSTM':
    case 'BiGRU':
      return checkRecurrent(ctx, step, args, base, current, ops);
    case 'Linear': {
      if (!expectFloat(ctx, step, 'Linear', type)) return undefined;
      const inFeatures = fixedLast(ctx, step, 'Linear', type);
      if (inFeatures === undefined) return undefined;
      const outFeatures = args.out;
      const outType: ValueType = { ...type, dims: [...type.dims.slice(0, -1), fixed(outFeatures)] };
      return addOp(
        ctx,
        { kind: 'linear', ...base, inFeatures, outFeatures, bias: args.bias, output: { id: label, type: outType } },
        step,
        ops,
      );
    }
    case 'LayerNorm': {
      if (!expectFloat(ctx, step, 'LayerNorm', type)) return undefined;
      const features = fixedLast(ctx, step, 'LayerNorm', type);
      if (features === undefined) return undefined;
      return addOp(
        ctx,
        { kind: 'layerNorm', ...base, features, eps: args.eps, output: { id: label, type } },
        step,
        ops,
      );
    }
    case 'Dropout': {
      if (!expectFloat(ctx, step, 'Dropout', type)) return undefined;
      return addOp(ctx, { kind: 'dropout', ...base, p: args.p, output: { id: label, type } }, step, ops);
    }
    case 'Conv1d':
      return checkConv1d(ctx, step, args, base, current, ops);
    case 'Attention':
      ctx.diagnostics.push(
        error(
          'SEQ038',
          step.callee.span,
          'Attention attends over encoder outputs, so it belongs inside a `decoder { … }` block',
          'for pooling over time use `mean`, `max` or `last`',
          { names: [base.label], expected: 'decoder' },
        ),
      );
      return undefined;
    case 'CRF':
      return checkCrf(ctx, step, args, base, current, ops);
  }
}

/** A CRF decodes emissions [batch, time, tags] into the best tag path, int64 [batch, time]. */
function checkCrf(
  ctx: ChainContext,
  step: CallStep,
  args: LayerArguments<'CRF'>,
  base: { label: string; input: string; span: Span; display: string },
  current: Binding,
  ops: Op[],
): Binding | undefined {
  const type = current.value.type;
  if (!expectFloat(ctx, step, 'CRF', type)) return undefined;
  if (refuseMask(ctx.diagnostics, step, 'CRF', base.label, type)) return undefined;
  if (!type.hasTime || type.dims.length !== 3) {
    ctx.diagnostics.push(
      error(
        'SEQ082',
        step.callee.span,
        `CRF decodes a sequence of tag scores [batch, time, tags], found ${formatType(type)}`,
        type.hasTime
          ? `give it one score per tag and step: \`-> Linear(${args.tags}) -> CRF(tags=${args.tags})\``
          : 'a CRF tags every step, but the time axis was pooled away before it; move `last`/`mean`/`max` after it, or remove them',
        { names: ['CRF', base.label], expected: 'a sequence [batch, time, tags]', found: formatType(type) },
      ),
    );
    return undefined;
  }
  const features = fixedLast(ctx, step, 'CRF', type);
  if (features === undefined) return undefined;
  const { tags } = args;
  if (features !== tags) {
    const arg = step.args?.find((a) => a.name?.text === 'tags') ?? step.args?.find((a) => a.name === undefined);
    ctx.diagnostics.push(
      error(
        'SEQ080',
        arg?.span ?? step.callee.span,
        `CRF(tags=${tags}) reads one score per tag, but its input has ${features} features per step`,
        `project to the tags first, \`-> Linear(${tags}) -> CRF(tags=${tags})\`, or write \`CRF(tags=${features})\``,
        { names: ['CRF', base.label], expected: tags, found: features },
      ),
    );
    return undefined;
  }
  const label = base.label;
  let scoreOutput: string | undefined;
  if (args.score) {
    scoreOutput = `${label}.score`;
    const scoreType: ValueType = { dtype: 'float32', dims: [type.dims[0]!], hasTime: false };
    ctx.outputs.push({ name: scoreOutput, value: scoreOutput, type: scoreType, span: step.span });
  }
  const outType: ValueType = { ...type, dtype: 'int64', dims: [type.dims[0]!, type.dims[1]!] };
  return addOp(
    ctx,
    {
      kind: 'crf',
      ...base,
      tags,
      ...(type.lengths === undefined ? {} : { lengths: type.lengths }),
      ...(scoreOutput === undefined ? {} : { scoreOutput }),
      output: { id: label, type: outType },
    },
    step,
    ops,
  );
}

/** Nothing but outputs follows a CRF: its value is a path of tag ids, not scores a layer could read. */
function stepAfterCrf(ctx: ChainContext, step: CallStep, crf: Op): undefined {
  const callee = step.callee.text;
  const source = crf.input;
  const referable = ctx.scope.has(source);
  ctx.diagnostics.push(
    error(
      'SEQ081',
      step.callee.span,
      `\`${callee}\` cannot follow the CRF \`${crf.label}\`, whose value is its best tag path, ${formatType(crf.output.type)}`,
      `a CRF is the last step before outputs: end the chain with \`-> output NAME\`; for the per-tag scores, continue from the step before the CRF${referable ? ` (\`${source} -> …\`)` : ', after giving it a label'}`,
      { names: [callee, crf.label], found: callee, expected: 'output' },
    ),
  );
  return undefined;
}

/**
 * A Conv1d over the time axis: its input must be a float [batch, time, F] sequence. Its output keeps
 * `lengths` when it keeps the number of steps; otherwise its lengths are derived (`lengths(L)`).
 */
function checkConv1d(
  ctx: ChainContext,
  step: CallStep,
  args: LayerArguments<'Conv1d'>,
  base: { label: string; input: string; span: Span; display: string },
  current: Binding,
  ops: Op[],
): Binding | undefined {
  const type = current.value.type;
  if (!expectFloat(ctx, step, 'Conv1d', type)) return undefined;
  if (refuseMask(ctx.diagnostics, step, 'Conv1d', base.label, type)) return undefined;
  if (!type.hasTime || type.dims.length !== 3) {
    ctx.diagnostics.push(
      error(
        'SEQ070',
        step.callee.span,
        `Conv1d convolves over time and expects a sequence [batch, time, features], found ${formatType(type)}`,
        'put the Conv1d before pooling (`last`, `mean`, …), where the value still has a time axis',
        { names: ['Conv1d', base.label], expected: '[batch, time, features]', found: formatType(type) },
      ),
    );
    return undefined;
  }
  const inChannels = fixedLast(ctx, step, 'Conv1d', type);
  if (inChannels === undefined) return undefined;
  const { out, kernel, padding, stride, dilation } = args;
  const span = dilation * (kernel - 1) + 1;
  const time = type.dims[1]!;
  const keepsSteps = stride === 1 && 2 * padding === span - 1;
  let outTime: Dim = time;
  if (time.kind === 'fixed') {
    const steps = Math.floor((time.size + 2 * padding - span) / stride) + 1;
    if (steps <= 0) {
      ctx.diagnostics.push(
        error(
          'SEQ071',
          step.callee.span,
          `Conv1d's kernel spans ${span} steps, more than its ${time.size} steps plus ${2 * padding} of padding: no output step is left`,
          'use a smaller kernel or dilation, or more padding',
          { names: ['Conv1d', base.label], expected: `at most ${time.size + 2 * padding} steps`, found: span },
        ),
      );
      return undefined;
    }
    outTime = fixed(steps);
  } else if (!keepsSteps) {
    outTime = { kind: 'symbol', name: `${time.name}_${base.label}` };
  }
  // With lengths, a convolution that changes the number of steps changes each row's length too,
  // by nn.Conv1d's output-length formula; the lowering computes them under this name.
  const outputLengths = type.lengths === undefined || keepsSteps ? undefined : derivedLengthsName(base.label);
  const outType: ValueType = {
    ...type,
    dims: [type.dims[0]!, outTime, fixed(out)],
    ...(outputLengths === undefined ? {} : { lengths: outputLengths }),
  };
  return addOp(
    ctx,
    {
      kind: 'conv1d',
      ...base,
      inChannels,
      outChannels: out,
      kernel,
      padding,
      stride,
      dilation,
      bias: args.bias,
      ...(type.lengths === undefined ? {} : { lengths: type.lengths }),
      ...(outputLengths === undefined ? {} : { outputLengths }),
      output: { id: base.label, type: outType },
    },
    step,
    ops,
  );
}

/**
 * An LSTM's `proj` (PyTorch's proj_size): undefined for none (0), the size when 0 < proj < hidden,
 * null after a diagnostic.
 */
function checkProjection(
  ctx: ChainContext,
  step: CallStep,
  args: LayerArguments<RecurrentKind>,
  label: string,
): number | undefined | null {
  if (!('proj' in args) || args.proj === 0) return undefined;
  const arg = step.args!.find((a) => a.name?.text === 'proj')!;
  if ('recurrent_activation' in args && args.recurrent_activation !== 'sigmoid') {
    const found = args.recurrent_activation;
    ctx.diagnostics.push(
      error(
        'SEQ075',
        arg.value.span,
        `an LSTM with a projection has sigmoid gates, as PyTorch computes it; it cannot also take recurrent_activation=${found}`,
        `drop \`proj\`, or drop \`recurrent_activation=${found}\``,
        { names: [label, 'proj', 'recurrent_activation'], found, expected: 'sigmoid' },
      ),
    );
    return null;
  }
  if ('activation' in args && args.activation !== 'tanh') {
    const found = args.activation;
    ctx.diagnostics.push(
      error(
        'SEQ075',
        arg.value.span,
        `an LSTM with a projection has tanh candidates, as PyTorch computes it; it cannot also take activation=${found}`,
        `drop \`proj\`, or drop \`activation=${found}\``,
        { names: [label, 'proj', 'activation'], found, expected: 'tanh' },
      ),
    );
    return null;
  }
  if (args.proj < args.hidden) return args.proj;
  ctx.diagnostics.push(
    error(
      'SEQ073',
      arg.value.span,
      `proj must be smaller than hidden=${args.hidden}, found ${args.proj}`,
      `PyTorch requires 0 < proj_size < hidden_size; use proj=0 (the default) for no projection`,
      { names: [label, 'proj'], range: [0, args.hidden - 1], found: args.proj },
    ),
  );
  return null;
}

function checkRecurrent(
  ctx: ChainContext,
  step: CallStep,
  args: LayerArguments<RecurrentKind>,
  base: { label: string; input: string; span: Span; display: string },
  current: Binding,
  ops: Op[],
): Binding | undefined {
  const type = current.value.type;
  const kind = args.kind;
  const cell = kind.replace(/^Bi/, '').toLowerCase() as RecurrentCell;
  const isBi = kind.startsWith('Bi');
  if (isBi && step.args?.some((a) => a.name?.text === 'bidirectional') && args.bidirectional === false) {
    const arg = step.args.find((a) => a.name?.text === 'bidirectional')!;
    ctx.diagnostics.push(
      error(
        'SEQ037',
        arg.span,
        `${kind} is bidirectional by definition`,
        `write \`${kind.slice(2)}(…)\` for one direction`,
        { names: [kind, 'bidirectional'], expected: 'true', found: 'false' },
      ),
    );
    return undefined;
  }
  if (type.dtype !== 'float32') {
    ctx.diagnostics.push(
      error(
        'SEQ033',
        step.callee.span,
        `${kind} expects a float32 sequence, found token ids ${formatType(type)}`,
        'turn the ids into vectors first: `-> embedding: Embedding(vocab=…, dim=…)`',
        { names: [kind, base.label], expected: 'float32', found: formatType(type) },
      ),
    );
    return undefined;
  }
  if (!type.hasTime || type.dims.length !== 3) {
    ctx.diagnostics.push(
      error(
        'SEQ034',
        step.callee.span,
        `${kind} expects a sequence [batch, time, features], found ${formatType(type)}`,
        type.hasTime || ctx.inputs.some((i) => i.name === current.value.id)
          ? 'a feature sequence is float32[batch, time, features]: declare the input with a feature axis, e.g. float32[batch, time, 1]'
          : 'the time axis was pooled away before this layer; move `last`/`mean`/`max` after it',
        { names: [kind, base.label], expected: 3, found: type.dims.length },
      ),
    );
    return undefined;
  }
  const inputSize = fixedLast(ctx, step, kind, type);
  if (inputSize === undefined) return undefined;
  const { hidden, layers, dropout } = args;
  const bidirectional = isBi || args.bidirectional;
  if (dropout > 0 && layers === 1) {
    const arg = step.args!.find((a) => a.name?.text === 'dropout')!;
    ctx.diagnostics.push(
      warning(
        'SEQ037',
        arg.span,
        `dropout=${dropout} applies between stacked layers, and this ${kind} has one layer`,
        'add `layers=2` or more, or add a `Dropout` step after it',
        { names: [kind, base.label, 'dropout'], expected: 'layers=2 or more', found: layers },
      ),
    );
  }
  const label = base.label;
  const proj = checkProjection(ctx, step, args, label);
  if (proj === null) return undefined;
  const width = proj ?? hidden;
  const keras = recurrentKerasFields(ctx.diagnostics, step, args, label, type, { bidirectional, proj });
  if (keras === null) return undefined;
  let state;
  if (args.stateful) {
    const directions = bidirectional ? 2 : 1;
    const stateType: ValueType = {
      dtype: 'float32',
      dims: [fixed(layers * directions), type.dims[0]!, fixed(width)],
      hasTime: false,
    };
    // With a projection, h is proj wide and c stays hidden wide.
    const cellType: ValueType = { ...stateType, dims: [fixed(layers * directions), type.dims[0]!, fixed(hidden)] };
    state =
      cell === 'lstm'
        ? { h0: `${label}.h0`, hn: `${label}.hn`, c0: `${label}.c0`, cn: `${label}.cn` }
        : { h0: `${label}.h0`, hn: `${label}.hn` };
    for (const name of cell === 'lstm' ? [state.h0, state.c0!] : [state.h0]) {
      const t = name === state.c0 ? cellType : stateType;
      ctx.stateInputs.push({ name, type: t, role: { kind: 'state', layer: label }, span: step.span });
    }
    for (const name of cell === 'lstm' ? [state.hn, state.cn!] : [state.hn]) {
      const t = name === state.cn ? cellType : stateType;
      ctx.outputs.push({ name, value: name, type: t, span: step.span });
    }
  }
  const outType: ValueType = {
    ...type,
    dims: [type.dims[0]!, type.dims[1]!, fixed(recurrentOutputWidth(width, bidirectional, keras))],
  };
  return addOp(
    ctx,
    {
      kind: 'recurrent',
      ...base,
      cell,
      inputSize,
      hidden,
      layers,
      bidirectional,
      ...recurrentOptions(args),
      dropout,
      ...(type.lengths === undefined ? {} : { lengths: type.lengths }),
      ...(proj === undefined ? {} : { proj }),
      ...(state === undefined ? {} : { state }),
      ...keras,
      output: { id: label, type: outType },
    },
    step,
    ops,
  );
}

/** The options of a recurrent op, with the defaults of the cells whose signature lacks them (an LSTM has no `nonlinearity`). */
export function recurrentOptions(
  args: LayerArguments<RecurrentKind>,
): Pick<RecurrentOp, 'bias' | 'nonlinearity' | 'resetAfter' | 'recurrentActivation' | 'activation'> {
  return {
    bias: args.bias,
    nonlinearity: 'nonlinearity' in args ? args.nonlinearity : 'tanh',
    resetAfter: 'reset_after' in args ? args.reset_after : true,
    recurrentActivation: 'recurrent_activation' in args ? args.recurrent_activation : 'sigmoid',
    activation: 'activation' in args ? args.activation : 'tanh',
  };
}

function fixed(size: number): Dim {
  return { kind: 'fixed', size };
}
