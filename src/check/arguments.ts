// Binds a step's arguments to a layer signature: names, positions, types, ranges and defaults.

import { error, type Diagnostic, type Facts } from '../diagnostics/diagnostic.js';
import type { Argument, CallStep, Value } from '../syntax/ast.js';
import { didYouMean } from './suggest.js';
import {
  describeArgType,
  foreignArgument,
  layerKinds,
  layerSignatures,
  type ArgType,
  type ArgValue,
  type ArgumentSignature,
  type BoundArguments,
} from './signatures.js';

/** The largest integer any argument may have: sizes beyond it could not be allocated anyway. */
const maxInteger = 2 ** 31 - 1;

/**
 * Returns the bound arguments with defaults filled in, typed by the signature's table entry
 * (`{ kind: 'Linear', out: number, bias: boolean }`), or undefined when any is wrong.
 */
export function bindArguments<S extends ArgumentSignature>(
  signature: S,
  step: Pick<CallStep, 'callee' | 'args'>,
  diagnostics: Diagnostic[],
): BoundArguments<S> | undefined {
  const bound = new Map<string, ArgValue>();
  const seen = new Map<string, Argument>();
  let ok = true;
  // After an unknown argument (often a misspelling) a "missing argument" error would only repeat it.
  let misspelled = false;
  const args = step.args ?? [];
  // Values without names bind in order, as in Python, until the first named argument.
  const firstNamed = args.findIndex((a) => a.name !== undefined);
  args.forEach((arg, index) => {
    const positionalIndex = firstNamed < 0 || index < firstNamed ? index : undefined;
    const name = arg.name?.text ?? (positionalIndex === undefined ? undefined : signature.positional[positionalIndex]);
    if (name === undefined) {
      diagnostics.push(misplacedPositional(signature, args, index));
      ok = false;
      misspelled = true;
      return;
    }
    const param = signature.params.find((p) => p.name === name);
    if (param === undefined) {
      diagnostics.push(unknownArgument(signature, arg, name));
      ok = false;
      misspelled = true;
      return;
    }
    const previous = seen.get(name);
    if (previous !== undefined) {
      diagnostics.push({
        ...error('SEQ024', arg.span, `\`${name}\` is given twice`, 'remove one of them', {
          names: [signature.kind, name],
          limit: 1,
        }),
        related: [{ span: previous.span, message: 'first given here' }],
      });
      ok = false;
      return;
    }
    seen.set(name, arg);
    if (name === 'bidirectional' && arg.value.kind === 'nameValue' && arg.value.text === 'True') {
      // Python's spelling, as in nn.LSTM(…, bidirectional=True).
      diagnostics.push(
        error(
          'SEQ022',
          arg.value.span,
          `${signature.kind}'s \`bidirectional\` must be \`true\` or \`false\`, found \`True\``,
          `write \`Bi${signature.kind}(…)\` without \`bidirectional\`, or \`bidirectional=true\` in lowercase`,
          { names: [signature.kind, name], expected: 'a boolean', found: 'True' },
        ),
      );
      ok = false;
      return;
    }
    const value = convert(param.type, arg.value, { kind: signature.kind, name }, diagnostics);
    if (value === undefined) ok = false;
    else bound.set(name, value);
  });
  for (const param of signature.params) {
    if (bound.has(param.name) || seen.has(param.name)) continue;
    if (param.default !== undefined) {
      bound.set(param.name, param.default);
    } else if (param.optional !== true && !misspelled) {
      diagnostics.push(
        error(
          'SEQ021',
          step.callee.span,
          `${signature.kind} needs \`${param.name}\` (${param.doc})`,
          `for example \`${example(signature)}\``,
          { names: [signature.kind, param.name], expected: describeArgType(param.type) },
        ),
      );
      ok = false;
    }
  }
  if (!ok) return undefined;
  // The values were converted by the table's own types above, so they have the types it declares.
  return { ...Object.fromEntries(bound), kind: signature.kind } as BoundArguments<S>;
}

function listParams(signature: ArgumentSignature): string {
  return signature.params.map((p) => `\`${p.name}\``).join(', ');
}

function example(signature: ArgumentSignature): string {
  const required = signature.params.filter((p) => p.default === undefined && p.optional !== true);
  const samples: Record<string, string> = {
    vocab: '10000',
    dim: '128',
    hidden: '256',
    out: '2',
    bos: '1',
    eos: '2',
    max_length: '64',
  };
  return `${signature.kind}(${required.map((p) => `${p.name}=${samples[p.name] ?? '1'}`).join(', ')})`;
}

/** PyTorch's constructors whose first argument is the input size, which seqc infers: nn.Linear(in, out), nn.LSTM(input_size, hidden_size). */
const inputSizeFirst: readonly string[] = ['Linear', 'RNN', 'LSTM', 'GRU', 'BiRNN', 'BiLSTM', 'BiGRU'];

/** A value without a name where none may stand: past the positional arguments, or after a named one. */
function misplacedPositional(signature: ArgumentSignature, args: readonly Argument[], index: number): Diagnostic {
  const arg = args[index]!;
  const names = signature.positional.map((p) => `\`${p}\``).join(', ');
  const afterNamed = args.slice(0, index).some((a) => a.name !== undefined);
  const allPositional = args.every((a) => a.name === undefined);
  let message: string;
  if (afterNamed) message = `argument ${index + 1} of ${signature.kind} has no name, but it follows a named argument`;
  else if (signature.positional.length === 0)
    message = `the arguments of \`${signature.kind}\` need names, but argument ${index + 1} has none`;
  else if (signature.positional.length === 1)
    message = `only the first argument of ${signature.kind}, ${names}, may go without a name, but argument ${index + 1} has none`;
  else
    message = `only the first ${signature.positional.length} arguments of ${signature.kind}, ${names}, may go without names, but argument ${index + 1} has none`;
  let hint = `write it as \`name=value\`; ${signature.kind} takes ${listParams(signature)}`;
  if (
    allPositional &&
    args.length === 2 &&
    signature.positional.length === 1 &&
    inputSizeFirst.includes(signature.kind)
  ) {
    // `Linear(256, 3)` as nn.Linear(in_features, out_features) is written.
    const first = signature.positional[0]!;
    hint = `PyTorch's nn.${signature.kind.replace(/^Bi/, '')} takes the input size first, but seqc infers it from the input: write \`${signature.kind}(${argumentText(args[1]!)})\` for ${first}=${argumentText(args[1]!)}`;
  }
  if (allPositional && args.length === 3 && signature.kind === 'Conv1d') {
    // `Conv1d(40, 128, 3)` as nn.Conv1d(in_channels, out_channels, kernel_size) is written.
    hint = `PyTorch's nn.Conv1d takes the input channels first, but seqc infers them from the input: write \`Conv1d(${argumentText(args[1]!)}, ${argumentText(args[2]!)})\` for out=${argumentText(args[1]!)}, kernel=${argumentText(args[2]!)}`;
  }
  if (signature.kind === 'LayerNorm' && index === 0) {
    // `LayerNorm(256)` as nn.LayerNorm(normalized_shape) is written.
    hint = `PyTorch's nn.LayerNorm takes the normalized shape first, but seqc infers it from the input: write \`LayerNorm\`, or \`LayerNorm(eps=…)\` for another epsilon`;
  }
  return error('SEQ024', arg.span, message, hint, {
    names: [signature.kind],
    limit: signature.positional.length,
    found: index + 1,
  });
}

function unknownArgument(signature: ArgumentSignature, arg: Argument, name: string): Diagnostic {
  const span = arg.name?.span ?? arg.span;
  const facts = { names: [signature.kind, name], expected: signature.params.map((p) => p.name), found: name };
  const message = `${signature.kind} has no argument \`${name}\``;
  const foreign = foreignArgument(signature.kind, name);
  if (foreign?.name !== undefined) {
    const fix = `${foreign.name}=${argumentText({ ...arg, name: undefined })}`;
    return error(
      'SEQ020',
      span,
      message,
      `\`${name}\` is \`${foreign.name}\` here: write \`${fix}\`${foreign.note === undefined ? '' : `; ${foreign.note}`}`,
      facts,
    );
  }
  if (foreign?.note !== undefined)
    return error('SEQ020', span, message, `\`${name}\` is not needed here: ${foreign.note}; remove it`, facts);
  const suggestion = didYouMean(
    name,
    signature.params.map((p) => p.name),
  );
  const owners = layerKinds.filter((k) => layerSignatures[k].params.some((p) => p.name === name));
  const hint =
    suggestion ??
    (owners.length > 0
      ? `\`${name}\` is an argument of ${owners.join(', ')}; ${signature.kind} takes ${listParams(signature)}`
      : `${signature.kind} takes ${listParams(signature)}`);
  return error('SEQ020', span, message, hint, facts);
}

/** An argument as the spec wrote it: `hidden=256`, `0.3`, `relu`. */
export function argumentText(arg: Argument): string {
  const v = arg.value;
  const value =
    v.kind === 'number'
      ? v.text
      : v.kind === 'boolean'
        ? String(v.value)
        : v.kind === 'nameValue'
          ? v.text
          : JSON.stringify(v.value);
  return arg.name === undefined ? value : `${arg.name.text}=${value}`;
}

/** A step as the spec wrote it, for summaries: `LSTM(hidden=256, layers=2)`. */
export function stepText(callee: string, args: readonly Argument[] | undefined): string {
  return `${callee}(${(args ?? []).map(argumentText).join(', ')})`;
}

function describeValue(v: Value): string {
  switch (v.kind) {
    case 'number':
      return v.text;
    case 'boolean':
      return String(v.value);
    case 'nameValue':
      return `\`${v.text}\``;
    case 'string':
      return JSON.stringify(v.value);
  }
}

/** `owner` is the layer (or block) and the argument's name, for the message and the facts. */
function convert(
  type: ArgType,
  v: Value,
  owner: { readonly kind: string; readonly name: string },
  diagnostics: Diagnostic[],
): ArgValue | undefined {
  const what = `${owner.kind}'s \`${owner.name}\``;
  const names = [owner.kind, owner.name];
  const found = v.kind === 'number' ? v.value : describeValue(v).replace(/^`|`$/g, '');
  const wrongType = (): undefined => {
    diagnostics.push(
      error(
        'SEQ022',
        v.span,
        `${what} must be ${describeArgType(type)}, found ${describeValue(v)}`,
        typeHint(type, v),
        { names, expected: describeArgType(type), found },
      ),
    );
    return undefined;
  };
  const outOfRange = (bound: string, limits: Pick<Facts, 'limit' | 'range'> = {}): undefined => {
    diagnostics.push(
      error('SEQ023', v.span, `${what} must be ${bound}, found ${describeValue(v)}`, `change it to a value ${bound}`, {
        names,
        expected: bound,
        found,
        ...limits,
      }),
    );
    return undefined;
  };
  switch (type.kind) {
    case 'int': {
      if (v.kind !== 'number' || !Number.isInteger(v.value) || /[.eE]/.test(v.text)) return wrongType();
      const max = type.max ?? maxInteger;
      if (type.min !== undefined && v.value < type.min)
        return outOfRange(`at least ${type.min}`, { range: [type.min, max] });
      if (v.value > max)
        return outOfRange(`at most ${max.toLocaleString('en-US')}`, {
          limit: max,
          ...(type.min === undefined ? {} : { range: [type.min, max] }),
        });
      return v.value;
    }
    case 'float': {
      if (v.kind !== 'number') return wrongType();
      if (type.min !== undefined && v.value < type.min) return outOfRange(`at least ${type.min}`);
      if (type.above !== undefined && v.value <= type.above) return outOfRange(`greater than ${type.above}`);
      if (type.below !== undefined && v.value >= type.below) return outOfRange(`less than ${type.below}`);
      return v.value;
    }
    case 'bool':
      return v.kind === 'boolean' ? v.value : wrongType();
    case 'enum': {
      const text = v.kind === 'nameValue' ? v.text : v.kind === 'string' ? v.value : undefined;
      if (text === undefined) return wrongType();
      if (!type.values.includes(text)) {
        diagnostics.push(
          error(
            'SEQ023',
            v.span,
            `${what} must be ${describeArgType(type)}, found \`${text}\``,
            didYouMean(text, type.values) ?? `choose one of ${describeArgType(type)}`,
            { names, expected: [...type.values], found: text },
          ),
        );
        return undefined;
      }
      return text;
    }
  }
}

function typeHint(type: ArgType, v: Value): string | undefined {
  if (type.kind === 'int' && v.kind === 'number') return `write a whole number, such as ${Math.round(v.value)}`;
  if (type.kind === 'bool' && v.kind === 'nameValue') return 'write `true` or `false` in lowercase';
  if ((type.kind === 'int' || type.kind === 'float') && v.kind === 'string')
    return `write the number without quotes: ${v.value}`;
  if (type.kind === 'enum' && v.kind !== 'string') return `choose one of ${describeArgType(type)}`;
  return undefined;
}
