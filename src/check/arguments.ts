// Binds a step's arguments to a layer signature: names, positions, types, ranges and defaults.

import { error, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Argument, CallStep, Value } from '../syntax/ast.js';
import { didYouMean } from './suggest.js';
import {
  describeArgType,
  layerKinds,
  layerSignatures,
  type ArgType,
  type ArgValue,
  type LayerSignature,
} from './signatures.js';

export type BoundArguments = ReadonlyMap<string, ArgValue>;

/** The largest integer any argument may have: sizes beyond it could not be allocated anyway. */
const maxInteger = 2 ** 31 - 1;

/** Returns the bound arguments with defaults filled in, or undefined when any is wrong. */
/** What binding needs of a signature; layers and the `decoder(…)` block both have one. */
export type ArgumentSignature = Pick<LayerSignature, 'positional' | 'params'> & { readonly kind: string };

export function bindArguments(signature: ArgumentSignature, step: Pick<CallStep, 'callee' | 'args'>, diagnostics: Diagnostic[]): BoundArguments | undefined {
  const bound = new Map<string, ArgValue>();
  const seen = new Map<string, Argument>();
  let ok = true;
  // After an unknown argument (often a misspelling) a "missing argument" error would only repeat it.
  let misspelled = false;
  const args = step.args ?? [];
  args.forEach((arg, index) => {
    const name = arg.name?.text ?? (index === 0 ? signature.positional : undefined);
    if (name === undefined) {
      diagnostics.push(
        error(
          'SEQ024',
          arg.span,
          `only the first argument of ${signature.kind} may be positional, but argument ${index + 1} has no name`,
          `write it as \`name=value\`; ${signature.kind} takes ${listParams(signature)}`,
        ),
      );
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
        ...error('SEQ024', arg.span, `\`${name}\` is given twice`, 'remove one of them'),
        related: [{ span: previous.span, message: 'first given here' }],
      });
      ok = false;
      return;
    }
    seen.set(name, arg);
    const value = convert(param.type, arg.value, `${signature.kind}'s \`${name}\``, diagnostics);
    if (value === undefined) ok = false;
    else bound.set(name, value);
  });
  for (const param of signature.params) {
    if (bound.has(param.name) || seen.has(param.name)) continue;
    if (param.default !== undefined) {
      bound.set(param.name, param.default);
    } else if (param.name !== 'padding_idx' && !misspelled) {
      diagnostics.push(
        error(
          'SEQ021',
          step.callee.span,
          `${signature.kind} needs \`${param.name}\` (${param.doc})`,
          `for example \`${example(signature)}\``,
        ),
      );
      ok = false;
    }
  }
  return ok ? bound : undefined;
}

function listParams(signature: ArgumentSignature): string {
  return signature.params.map((p) => `\`${p.name}\``).join(', ');
}

function example(signature: ArgumentSignature): string {
  const required = signature.params.filter((p) => p.default === undefined && p.name !== 'padding_idx');
  const samples: Record<string, string> = { vocab: '10000', dim: '128', hidden: '256', out: '2', bos: '1', eos: '2', max_length: '64' };
  return `${signature.kind}(${required.map((p) => `${p.name}=${samples[p.name] ?? '1'}`).join(', ')})`;
}

function unknownArgument(signature: ArgumentSignature, arg: Argument, name: string): Diagnostic {
  const span = arg.name?.span ?? arg.span;
  const suggestion = didYouMean(name, signature.params.map((p) => p.name));
  const owners = layerKinds.filter((k) => layerSignatures[k].params.some((p) => p.name === name));
  const hint =
    suggestion ??
    (owners.length > 0
      ? `\`${name}\` is an argument of ${owners.join(', ')}; ${signature.kind} takes ${listParams(signature)}`
      : `${signature.kind} takes ${listParams(signature)}`);
  return error('SEQ020', span, `${signature.kind} has no argument \`${name}\``, hint);
}

/** An argument as the spec wrote it: `hidden=256`, `0.3`, `relu`. */
export function argumentText(arg: Argument): string {
  const v = arg.value;
  const value = v.kind === 'number' ? v.text : v.kind === 'boolean' ? String(v.value) : v.kind === 'nameValue' ? v.text : JSON.stringify(v.value);
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

function convert(type: ArgType, v: Value, what: string, diagnostics: Diagnostic[]): ArgValue | undefined {
  const wrongType = (): undefined => {
    diagnostics.push(
      error('SEQ022', v.span, `${what} must be ${describeArgType(type)}, found ${describeValue(v)}`, typeHint(type, v)),
    );
    return undefined;
  };
  const outOfRange = (bound: string): undefined => {
    diagnostics.push(error('SEQ023', v.span, `${what} must be ${bound}, found ${describeValue(v)}`, `change it to a value ${bound}`));
    return undefined;
  };
  switch (type.kind) {
    case 'int': {
      if (v.kind !== 'number' || !Number.isInteger(v.value) || /[.eE]/.test(v.text)) return wrongType();
      if (type.min !== undefined && v.value < type.min) return outOfRange(`at least ${type.min}`);
      const max = type.max ?? maxInteger;
      if (v.value > max) return outOfRange(`at most ${max.toLocaleString('en-US')}`);
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
  if ((type.kind === 'int' || type.kind === 'float') && v.kind === 'string') return `write the number without quotes: ${v.value}`;
  if (type.kind === 'enum' && v.kind !== 'string') return `choose one of ${describeArgType(type)}`;
  return undefined;
}
