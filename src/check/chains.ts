// Walks chains in order: scope of inputs and labels, steps typed one by one, ops and outputs collected.

import { error, hasErrors, warning, type Diagnostic, type Span } from '../diagnostics/diagnostic.js';
import {
  formatType,
  type ActivationFunction,
  type Dim,
  type IrInput,
  type IrOutput,
  type IrParameter,
  type ModelIR,
  type Op,
  type PoolMode,
  type RecurrentCell,
  type RecurrentOp,
  type Value,
  type ValueType,
} from '../ir/ir.js';
import type { CallStep, Chain, DecoderBlock, EncoderBlock, InputDecl, ModelAst, Step } from '../syntax/ast.js';
import { bindArguments, stepText } from './arguments.js';
import { checkInputs } from './inputs.js';
import {
  builtinNames,
  isBuiltin,
  isLayerKind,
  layerKinds,
  layerSignatures,
  type BuiltinName,
  type LayerArguments,
  type LayerKind,
  type RecurrentKind,
} from './signatures.js';
import { firstParameterName } from './parameters.js';
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
  LogSoftmax: { is: 'the builtin `log_softmax`' },
  ReLU: { is: 'the builtin `relu`' },
  Tanh: { is: 'the builtin `tanh`' },
  Sigmoid: { is: 'the builtin `sigmoid`' },
};

const activationBuiltins: readonly BuiltinName[] = ['relu', 'tanh', 'sigmoid', 'softmax', 'log_softmax'];

/** Walks the chains in order, keeping the names in scope and the ops and outputs made so far. */
export class ChainChecker {
  /** The ops of the model's chains (the encoder's, in a model with a decoder), in order. */
  readonly ops: Op[] = [];
  readonly outputs: IrOutput[] = [];
  private readonly stateInputs: IrInput[] = [];
  private readonly scope = new Map<string, Binding>();
  readonly labels = new Map<CallStep, string>();
  /** Every label the spec can refer to, with the chain position that defines it. */
  private readonly declaredLabels = new Map<string, Span>();
  private readonly usedNames = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();
  private readonly inputNames = new Set<string>();
  private readonly referenced = new Set<string>();

  constructor(
    private readonly inputs: readonly IrInput[],
    private readonly diagnostics: Diagnostic[],
    /** Every declared input name, including those whose declaration was rejected. */
    private readonly declaredInputs: ReadonlySet<string> = new Set(),
  ) {
    for (const input of inputs) {
      this.scope.set(input.name, { value: { id: input.name, type: input.type }, span: input.span });
      this.usedNames.add(input.name);
      this.inputNames.add(input.name);
    }
  }

  allInputs(): IrInput[] {
    return [...this.inputs, ...this.stateInputs];
  }

  /** Explicit labels, then derived ones (`kind` in lowercase) for unlabeled layers with parameters. */
  assignLabels(steps: readonly CallStep[]): void {
    for (const step of steps) {
      if (step.label === undefined) continue;
      const text = step.label.text;
      const earlier = this.declaredLabels.get(text);
      if (earlier !== undefined) {
        this.diagnostics.push({
          ...error('SEQ012', step.label.span, `the label \`${text}\` is used twice`, 'each layer needs its own label; it names its parameters', { names: [text] }),
          related: [{ span: earlier, message: 'first used here' }],
        });
        continue;
      }
      if (this.scope.has(text) || this.declaredInputs.has(text)) {
        this.diagnostics.push(
          error('SEQ019', step.label.span, `the label \`${text}\` is also the name of an input`, 'rename the label or the input', { names: [text], found: 'input' }),
        );
        continue;
      }
      if (isBuiltin(text) || isLayerKind(text)) {
        this.diagnostics.push(
          error('SEQ019', step.label.span, `the label \`${text}\` is also the name of a ${isBuiltin(text) ? 'builtin' : 'layer'}`, `a step \`-> ${text}\` would be read as the ${isBuiltin(text) ? 'builtin' : 'layer'}; choose another label, e.g. \`${text}_${isBuiltin(text) ? 'head' : '1'}\``, { names: [text], found: isBuiltin(text) ? 'builtin' : 'layer' }),
        );
        continue;
      }
      this.declaredLabels.set(text, step.label.span);
      this.labels.set(step, text);
      this.usedNames.add(text);
    }
    const unlabeled = steps.filter((s) => s.label === undefined && isLayerKind(s.callee.text) && layerSignatures[s.callee.text as LayerKind].hasParameters);
    const byKind = new Map<string, CallStep[]>();
    for (const step of unlabeled) byKind.set(step.callee.text, [...(byKind.get(step.callee.text) ?? []), step]);
    for (const [kind, group] of byKind) {
      const derived = kind.toLowerCase();
      if (group.length > 1) {
        for (const step of group) {
          this.diagnostics.push(
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
      const earlier = this.declaredLabels.get(derived);
      if (earlier !== undefined || this.scope.has(derived)) {
        this.diagnostics.push({
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
      this.declaredLabels.set(derived, step.callee.span);
      this.labels.set(step, derived);
      this.usedNames.add(derived);
    }
    // Steps without parameters (builtins, Dropout) get unique names for the graph only.
    for (const step of steps) {
      if (this.labels.has(step) || step.label !== undefined) continue;
      if (isLayerKind(step.callee.text) && layerSignatures[step.callee.text as LayerKind].hasParameters) continue;
      const base = step.callee.text.toLowerCase();
      // Counting on from the last suffix given to this base keeps naming n steps O(n), not O(n²).
      let n = this.nextSuffix.get(base) ?? 2;
      let name = base;
      while (this.usedNames.has(name)) name = `${base}_${n++}`;
      this.nextSuffix.set(base, n);
      this.usedNames.add(name);
      this.labels.set(step, name);
    }
  }

  chain(chain: Chain): void {
    const previous = this.previousChain;
    this.previousChain = chain;
    const source = this.scope.get(chain.source.text);
    if (source === undefined) {
      // An input whose declaration was rejected has its diagnostic already.
      if (!this.declaredInputs.has(chain.source.text)) this.diagnostics.push(this.unknownSource(chain, previous));
      for (const step of chain.steps) this.stepWithoutTypes(step);
      return;
    }
    this.referenced.add(chain.source.text);
    let current: Binding | undefined = source;
    for (const step of chain.steps) {
      if (current === undefined) {
        // The value is unknown after an error; still report problems that need no types.
        this.stepWithoutTypes(step);
        continue;
      }
      current = this.step(step, current, this.ops);
    }
    if (current === undefined) return;
    this.chainResults.set(chain, current);
    if (chain.steps[chain.steps.length - 1]?.kind !== 'outputStep') this.danglingChains.push({ chain, last: current });
  }

  private readonly danglingChains: { chain: Chain; last: Binding }[] = [];
  /** The chain before the current one, to tell a missing `->` from a new chain. */
  private previousChain: Chain | undefined;
  /** Chains cut short by a missing `->`: their unused result is that error's doing, not a warning of its own. */
  private readonly cutChains = new Set<Chain>();
  readonly chainResults = new Map<Chain, Binding>();

  /** Ends a model whose results are its graph outputs: warns of what is unused, and requires an output. */
  finishModel(ast: ModelAst, chains: readonly Chain[]): void {
    this.warnUnused(chains, undefined);
    if (this.outputs.length === 0 && !this.diagnostics.some((d) => d.severity === 'error')) {
      this.diagnostics.push(
        error('SEQ017', ast.name.span, `the model \`${ast.name.text}\` has no output`, 'end a chain with `-> output name`', { names: [ast.name.text], expected: 1, found: 0 }),
      );
    }
  }

  /** Ends the encoder of a model with a decoder: its last chain is the decoder's memory, and the decoder makes the outputs. */
  finishEncoder(chains: readonly Chain[]): void {
    this.warnUnused(chains, chains[chains.length - 1]);
  }

  /** Warns of chain results and inputs nothing reads; `memory`, the chain the decoder attends over, is read. */
  private warnUnused(chains: readonly Chain[], memory: Chain | undefined): void {
    for (const { chain, last } of this.danglingChains) {
      if (chain === memory) continue;
      if (this.cutChains.has(chain)) continue;
      const label = last.op?.label;
      if (label !== undefined && chains.some((c) => c !== chain && c.source.text === label && this.referenced.has(label))) continue;
      const lastStep = chain.steps[chain.steps.length - 1]!;
      this.diagnostics.push(
        warning(
          'SEQ018',
          lastStep.span,
          `the result of this chain, ${formatType(last.value.type)}, is never used`,
          'end the chain with `-> output name`, or continue from its label in another chain',
          { names: label === undefined ? [] : [label], found: formatType(last.value.type) },
        ),
      );
    }
    for (const input of this.inputs) {
      if (input.role.kind === 'lengths') {
        const unread = this.unreadLengths(input.name, input.role.of, memory);
        if (unread !== undefined) this.diagnostics.push(unread);
        continue;
      }
      if (input.role.kind !== 'data' || this.referenced.has(input.name)) continue;
      this.diagnostics.push(warning('SEQ016', input.span, `the input \`${input.name}\` is never used`, this.unusedInputHint(input), { names: [input.name] }));
    }
  }

  /** An int64[batch] input next to a sequence without lengths was most likely meant as its lengths. */
  private unusedInputHint(input: IrInput): string {
    const unmasked = this.inputs.find((i) => i.role.kind === 'data' && i.type.hasTime && i.type.lengths === undefined);
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
  private unreadLengths(name: string, of: string, memoryChain: Chain | undefined): Diagnostic | undefined {
    // An unused sequence has its own warning; its lengths are unused with it.
    if (!this.referenced.has(of)) return undefined;
    const readByOp = this.ops.some((op) => (op.kind === 'recurrent' && op.lengths === name) || (op.kind === 'pool' && op.mode !== 'first' && op.lengths === name));
    const readByOutput = this.outputs.some((o) => o.type.hasTime && o.type.lengths === name);
    const memory = memoryChain === undefined ? undefined : this.chainResults.get(memoryChain);
    if (readByOp || readByOutput || memory?.value.type.lengths === name) return undefined;
    const input = this.inputs.find((i) => i.name === name)!;
    return warning(
      'SEQ016',
      input.span,
      `the input \`${name}\` is never read: nothing that respects padding consumes \`${of}\``,
      `lengths(${of}) masks the padded steps of \`${of}\` where a recurrent layer, \`last\`, \`mean\` or \`max\` reads a value computed from it, or where such a value is a per-token output; nothing here does, so remove it or add such a step`,
      { names: [name, of] },
    );
  }

  private unknownSource(chain: Chain, previous: Chain | undefined): Diagnostic {
    const name = chain.source.text;
    if (previous !== undefined && previous.span.end.line === chain.source.span.start.line) {
      this.cutChains.add(previous);
      // `-> LSTM(8) last -> output y`: a name on the line where a chain ended was read as a new chain.
      return error(
        'SEQ011',
        chain.source.span,
        `\`${name}\` starts a new chain, but it is neither an input nor a label`,
        `did you forget \`->\` before \`${name}\`? Without it, \`${name}\` ends the chain before it and starts another`,
        { names: [name] },
      );
    }
    const later = this.declaredLabels.get(name);
    if (later !== undefined) {
      return {
        ...error('SEQ011', chain.source.span, `\`${name}\` is used before the chain that defines it`, 'chains run in order: move this chain after the one that defines it', { names: [name] }),
        related: [{ span: later, message: `\`${name}\` is defined here` }],
      };
    }
    const candidates = [...this.scope.keys()];
    const suggestion = closest(name, candidates);
    const hint =
      suggestion !== undefined
        ? `did you mean \`${suggestion}\`?`
        : candidates.length > 0
          ? `a chain starts from an input or a label: ${candidates.map((c) => `\`${c}\``).join(', ')}`
          : 'declare it first: `input tokens: int64[batch, time]`';
    return error('SEQ011', chain.source.span, `\`${name}\` is neither an input nor a label`, hint, { names: [name], expected: candidates });
  }

  /** Types one step after `current`; the ops it makes go into `ops`, the list of the chains or the decoder's own. */
  step(step: Step, current: Binding, ops: Op[]): Binding | undefined {
    if (step.kind === 'outputStep') {
      this.output(step.name.text, step.name.span, current);
      return current;
    }
    const callee = step.callee.text;
    const label = this.labels.get(step);
    if (isBuiltin(callee)) return this.builtin(step, callee, label, current, ops);
    if (isLayerKind(callee)) {
      const signature = layerSignatures[callee];
      const args = bindArguments(signature, step, this.diagnostics);
      if (args === undefined || label === undefined) return undefined;
      return this.layer(step, args, label, current, ops);
    }
    this.diagnostics.push(this.unknownStep(step));
    return undefined;
  }

  stepWithoutTypes(step: Step): void {
    if (step.kind === 'outputStep') return;
    const callee = step.callee.text;
    if (isBuiltin(callee)) {
      if (step.args !== undefined && step.args.length > 0) {
        this.diagnostics.push(error('SEQ025', step.args[0]!.span, `\`${callee}\` takes no arguments`, `write \`-> ${callee}\``, { names: [callee], expected: 0, found: step.args.length }));
      }
    } else if (isLayerKind(callee)) {
      bindArguments(layerSignatures[callee], step, this.diagnostics);
    } else {
      this.diagnostics.push(this.unknownStep(step));
    }
  }

  private unknownStep(step: CallStep): Diagnostic {
    const callee = step.callee.text;
    const exact = [...layerKinds, ...builtinNames].find((k) => k.toLowerCase() === callee.toLowerCase());
    const suggestion = exact ?? closest(callee, [...layerKinds, ...builtinNames]);
    const foreign = foreignLayers[callee];
    let hint =
      foreign !== undefined
        ? `\`${callee}\` is ${foreign.is} here${foreign.write === undefined ? '' : `: write ${foreign.write}`}`
        : suggestion !== undefined
          ? `did you mean \`${suggestion}\`?`
          : `layers: ${layerKinds.join(', ')}; builtins: ${builtinNames.join(', ')}`;
    if (this.scope.has(callee) && step.args === undefined && step.label === undefined) {
      const what = this.inputs.some((i) => i.name === callee) ? 'an input' : 'a label';
      hint = `\`${callee}\` is ${what}; a chain starts from it on a line of its own: \`${callee} -> …\``;
    }
    return error('SEQ010', step.callee.span, `unknown layer or builtin \`${callee}\``, hint, { names: [callee], found: callee, ...(suggestion === undefined ? {} : { expected: suggestion }) });
  }

  private output(name: string, span: Span, current: Binding): void {
    const clash = this.outputsByName().get(name);
    if (clash !== undefined || this.inputNames.has(name) || this.stateInputs.some((i) => i.name === name)) {
      this.diagnostics.push({
        ...error(
          'SEQ015',
          span,
          clash !== undefined ? `the output \`${name}\` is defined twice` : `the output \`${name}\` has the name of an input`,
          'graph inputs and outputs need distinct names',
          { names: [name], found: clash !== undefined ? 'output' : 'input' },
        ),
        ...(clash === undefined ? {} : { related: [{ span: clash.span, message: 'first defined here' }] }),
      });
      return;
    }
    this.outputs.push({ name, value: current.value.id, type: current.value.type, span });
  }

  /** The outputs so far by name; `outputs` is public and pushed to directly, so the map follows it. */
  private outputsByName(): Map<string, IrOutput> {
    for (; this.indexedOutputs < this.outputs.length; this.indexedOutputs++) {
      const o = this.outputs[this.indexedOutputs]!;
      if (!this.outputIndex.has(o.name)) this.outputIndex.set(o.name, o);
    }
    return this.outputIndex;
  }

  private readonly outputIndex = new Map<string, IrOutput>();
  private indexedOutputs = 0;

  private builtin(step: CallStep, name: BuiltinName, label: string | undefined, current: Binding, ops: Op[]): Binding | undefined {
    if (step.args !== undefined && step.args.length > 0) {
      this.diagnostics.push(error('SEQ025', step.args[0]!.span, `\`${name}\` takes no arguments`, `write \`-> ${name}\``, { names: [name], expected: 0, found: step.args.length }));
      return undefined;
    }
    const type = current.value.type;
    const display = name;
    const id = label ?? name;
    if ((activationBuiltins as readonly string[]).includes(name)) {
      if (!this.expectFloat(step, name, type)) return undefined;
      return this.add({ kind: 'activation', fn: name as ActivationFunction, label: id, input: current.value.id, output: { id, type }, span: step.span, display }, step, ops);
    }
    if (!type.hasTime) {
      this.diagnostics.push(
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
    if (!this.expectFloat(step, name, type)) return undefined;
    const dims = [type.dims[0]!, ...type.dims.slice(2)];
    const outType: ValueType = { dtype: type.dtype, dims, hasTime: false };
    const mode = name as PoolMode;
    const finalStateOf = mode === 'last' ? this.recurrentSource(current, ops) : undefined;
    return this.add(
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
      },
      step,
      ops,
    );
  }

  /** The recurrent layer whose output this is, directly or through dropout only. */
  private recurrentSource(binding: Binding, ops: readonly Op[]): string | undefined {
    let op = binding.op;
    while (op !== undefined && op.kind === 'dropout') op = this.scope.get(op.input)?.op ?? ops.find((o) => o.output.id === op!.input);
    return op?.kind === 'recurrent' ? op.label : undefined;
  }

  private add(op: Op, step: CallStep, ops: Op[]): Binding {
    ops.push(op);
    const binding: Binding = { value: op.output, span: step.span, op };
    if (this.declaredLabels.has(op.label)) this.scope.set(op.label, binding);
    return binding;
  }

  private expectFloat(step: CallStep, what: string, type: ValueType): boolean {
    if (type.dtype === 'float32') return true;
    this.diagnostics.push(
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

  private fixedLast(step: CallStep, what: string, type: ValueType): number | undefined {
    const last = type.dims[type.dims.length - 1];
    if (last?.kind === 'fixed') return last.size;
    this.diagnostics.push(
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

  private layer(step: CallStep, args: LayerArguments, label: string, current: Binding, ops: Op[]): Binding | undefined {
    const type = current.value.type;
    const display = stepText(args.kind, step.args);
    const base = { label, input: current.value.id, span: step.span, display };
    switch (args.kind) {
      case 'Embedding': {
        if (type.dtype !== 'int64') {
          this.diagnostics.push(
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
            this.diagnostics.push(error('SEQ023', arg.value.span, `padding_idx must be within [-${vocab}, ${vocab - 1}], found ${paddingIdx}`, `the padding id is one of the ${vocab} token ids, usually 0`, { names: [base.label, 'padding_idx'], range: [-vocab, vocab - 1], found: paddingIdx }));
            return undefined;
          }
          if (paddingIdx < 0) paddingIdx += vocab;
        }
        const outType: ValueType = { ...type, dtype: 'float32', dims: [...type.dims, fixed(dim)] };
        return this.add({ kind: 'embedding', ...base, vocab, dim, ...(paddingIdx === undefined ? {} : { paddingIdx }), output: { id: label, type: outType } }, step, ops);
      }
      case 'RNN':
      case 'LSTM':
      case 'GRU':
      case 'BiRNN':
      case 'BiLSTM':
      case 'BiGRU':
        return this.recurrent(step, args, base, current, ops);
      case 'Linear': {
        if (!this.expectFloat(step, 'Linear', type)) return undefined;
        const inFeatures = this.fixedLast(step, 'Linear', type);
        if (inFeatures === undefined) return undefined;
        const outFeatures = args.out;
        const outType: ValueType = { ...type, dims: [...type.dims.slice(0, -1), fixed(outFeatures)] };
        return this.add({ kind: 'linear', ...base, inFeatures, outFeatures, bias: args.bias, output: { id: label, type: outType } }, step, ops);
      }
      case 'LayerNorm': {
        if (!this.expectFloat(step, 'LayerNorm', type)) return undefined;
        const features = this.fixedLast(step, 'LayerNorm', type);
        if (features === undefined) return undefined;
        return this.add({ kind: 'layerNorm', ...base, features, eps: args.eps, output: { id: label, type } }, step, ops);
      }
      case 'Dropout': {
        if (!this.expectFloat(step, 'Dropout', type)) return undefined;
        return this.add({ kind: 'dropout', ...base, p: args.p, output: { id: label, type } }, step, ops);
      }
      case 'Attention':
        this.diagnostics.push(
          error('SEQ038', step.callee.span, 'Attention attends over encoder outputs, so it belongs inside a `decoder { … }` block', 'for pooling over time use `mean`, `max` or `last`', { names: [base.label], expected: 'decoder' }),
        );
        return undefined;
    }
  }

  private recurrent(step: CallStep, args: LayerArguments<RecurrentKind>, base: { label: string; input: string; span: Span; display: string }, current: Binding, ops: Op[]): Binding | undefined {
    const type = current.value.type;
    const kind = args.kind;
    const cell = kind.replace(/^Bi/, '').toLowerCase() as RecurrentCell;
    const isBi = kind.startsWith('Bi');
    if (isBi && step.args?.some((a) => a.name?.text === 'bidirectional') && args.bidirectional === false) {
      const arg = step.args.find((a) => a.name?.text === 'bidirectional')!;
      this.diagnostics.push(error('SEQ037', arg.span, `${kind} is bidirectional by definition`, `write \`${kind.slice(2)}(…)\` for one direction`, { names: [kind, 'bidirectional'], expected: 'true', found: 'false' }));
      return undefined;
    }
    if (type.dtype !== 'float32') {
      this.diagnostics.push(
        error('SEQ033', step.callee.span, `${kind} expects a float32 sequence, found token ids ${formatType(type)}`, 'turn the ids into vectors first: `-> embedding: Embedding(vocab=…, dim=…)`', { names: [kind, base.label], expected: 'float32', found: formatType(type) }),
      );
      return undefined;
    }
    if (!type.hasTime || type.dims.length !== 3) {
      this.diagnostics.push(
        error(
          'SEQ034',
          step.callee.span,
          `${kind} expects a sequence [batch, time, features], found ${formatType(type)}`,
          type.hasTime || this.inputs.some((i) => i.name === current.value.id)
            ? 'a feature sequence is float32[batch, time, features]: declare the input with a feature axis, e.g. float32[batch, time, 1]'
            : 'the time axis was pooled away before this layer; move `last`/`mean`/`max` after it',
          { names: [kind, base.label], expected: 3, found: type.dims.length },
        ),
      );
      return undefined;
    }
    const inputSize = this.fixedLast(step, kind, type);
    if (inputSize === undefined) return undefined;
    const { hidden, layers, dropout } = args;
    const bidirectional = isBi || args.bidirectional;
    if (dropout > 0 && layers === 1) {
      const arg = step.args!.find((a) => a.name?.text === 'dropout')!;
      this.diagnostics.push(
        warning('SEQ037', arg.span, `dropout=${dropout} applies between stacked layers, and this ${kind} has one layer`, 'add `layers=2` or more, or add a `Dropout` step after it', { names: [kind, base.label, 'dropout'], expected: 'layers=2 or more', found: layers }),
      );
    }
    const label = base.label;
    let state;
    if (args.stateful) {
      const directions = bidirectional ? 2 : 1;
      const stateType: ValueType = { dtype: 'float32', dims: [fixed(layers * directions), type.dims[0]!, fixed(hidden)], hasTime: false };
      state = cell === 'lstm' ? { h0: `${label}.h0`, hn: `${label}.hn`, c0: `${label}.c0`, cn: `${label}.cn` } : { h0: `${label}.h0`, hn: `${label}.hn` };
      for (const name of cell === 'lstm' ? [state.h0, state.c0!] : [state.h0]) {
        this.stateInputs.push({ name, type: stateType, role: { kind: 'state', layer: label }, span: step.span });
      }
      for (const name of cell === 'lstm' ? [state.hn, state.cn!] : [state.hn]) {
        this.outputs.push({ name, value: name, type: stateType, span: step.span });
      }
    }
    const outType: ValueType = { ...type, dims: [type.dims[0]!, type.dims[1]!, fixed(hidden * (bidirectional ? 2 : 1))] };
    return this.add(
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
        ...(state === undefined ? {} : { state }),
        output: { id: label, type: outType },
      },
      step,
      ops,
    );
  }
}

/** The options of a recurrent op, with the defaults of the cells whose signature lacks them (an LSTM has no `nonlinearity`). */
export function recurrentOptions(args: LayerArguments<RecurrentKind>): Pick<RecurrentOp, 'bias' | 'nonlinearity' | 'resetAfter' | 'recurrentActivation'> {
  return {
    bias: args.bias,
    nonlinearity: 'nonlinearity' in args ? args.nonlinearity : 'tanh',
    resetAfter: 'reset_after' in args ? args.reset_after : true,
    recurrentActivation: 'recurrent_activation' in args ? args.recurrent_activation : 'sigmoid',
  };
}

function fixed(size: number): Dim {
  return { kind: 'fixed', size };
}

