// Keras masking in the checker: which steps make a mask, carry it, drop it or refuse it, and the Keras recurrent options.
//
// A Keras mask is made by `Embedding(mask_zero=true)` or the builtin `masking(value=…)` and travels on
// `ValueType.mask` (the label of the op that made it) through per-step layers, as Keras propagates it.
// These functions take the diagnostics list rather than the chain context, so that chains.ts can
// call them without an import cycle; each returns data and pushes the diagnostics it finds.

import { error, warning, type Diagnostic, type Span } from '../diagnostics/diagnostic.js';
import {
  formatType,
  type MaskingOp,
  type ModelIR,
  type Op,
  type PoolMode,
  type RecurrentOp,
  type ValueType,
} from '../ir/ir.js';
import type { CallStep } from '../syntax/ast.js';
import { bindArguments } from './arguments.js';
import { maskingSignature, type LayerArguments, type RecurrentKind } from './signatures.js';

/** The Keras fields of a recurrent op: its input's mask, what masked steps output, go_backwards and the merge mode. */
export type RecurrentKerasFields = Pick<RecurrentOp, 'mask' | 'maskedOutput' | 'goBackwards' | 'merge'>;

/** `Embedding(mask_zero=true)` over token ids: the mask its output carries, or null after a diagnostic. */
export function embeddingMask(
  diagnostics: Diagnostic[],
  step: CallStep,
  maskZero: boolean,
  label: string,
  type: ValueType,
): { readonly mask?: string } | null {
  if (!maskZero) return {};
  const span = argumentSpan(step, 'mask_zero');
  if (!type.hasTime) {
    diagnostics.push(noTimeAxis(span, 'Embedding(mask_zero=true)', label, type));
    return null;
  }
  if (type.lengths !== undefined) {
    diagnostics.push(maskWithLengths(span, `Embedding(mask_zero=true)`, label, type.lengths));
    return null;
  }
  return { mask: label };
}

/**
 * `masking(value=…)`, Keras's Masking: a float sequence [batch, time, F] without lengths in, the same
 * values times the mask out, carrying the mask. Undefined after a diagnostic.
 */
export function checkMasking(
  diagnostics: Diagnostic[],
  step: CallStep,
  label: string,
  input: string,
  type: ValueType,
): MaskingOp | undefined {
  const args = bindArguments(maskingSignature, step, diagnostics);
  if (args === undefined) return undefined;
  if (type.dtype !== 'float32' || !type.hasTime || type.dims.length !== 3) {
    diagnostics.push(
      error(
        'SEQ088',
        step.callee.span,
        `\`masking\` masks the steps of a float sequence [batch, time, features], found ${formatType(type)}`,
        type.dtype === 'float32'
          ? 'put `masking` before pooling, where the value still has a time axis'
          : 'token ids are masked by `Embedding(vocab=…, dim=…, mask_zero=true)` instead',
        { names: ['masking', label], expected: 'float32[batch, time, features]', found: formatType(type) },
      ),
    );
    return undefined;
  }
  if (type.lengths !== undefined) {
    diagnostics.push(maskWithLengths(step.callee.span, 'masking', label, type.lengths));
    return undefined;
  }
  return {
    kind: 'masking',
    label,
    input,
    value: args.value,
    output: { id: label, type: { ...type, mask: label } },
    span: step.span,
    display: step.args === undefined || step.args.length === 0 ? 'masking' : `masking(value=${args.value})`,
  };
}

/** The Keras options of a recurrent layer and the mask it reads, or null after a diagnostic. */
export function recurrentKerasFields(
  diagnostics: Diagnostic[],
  step: CallStep,
  args: LayerArguments<RecurrentKind>,
  label: string,
  type: ValueType,
  shape: { readonly bidirectional: boolean; readonly proj: number | undefined },
): RecurrentKerasFields | null {
  const kind = args.kind;
  if (args.merge !== 'concat') {
    const reason = !shape.bidirectional
      ? `${kind} runs one direction, so there is nothing to merge`
      : args.layers > 1
        ? `merge=${args.merge} joins the two directions of one layer, but this ${kind} stacks ${args.layers} (the directions of the layers below would have to be merged too)`
        : undefined;
    if (reason !== undefined) {
      diagnostics.push(
        error('SEQ084', argumentSpan(step, 'merge'), reason, mergeHint(kind, args.layers), {
          names: [kind, label, 'merge'],
          expected: shape.bidirectional ? 'layers=1' : 'a bidirectional layer',
          found: shape.bidirectional ? args.layers : 'one direction',
        }),
      );
      return null;
    }
  }
  if (args.go_backwards) {
    const reason = shape.bidirectional
      ? `${kind} already runs both directions; go_backwards is for a layer of one direction`
      : args.layers > 1
        ? `go_backwards reverses one layer's output, but this ${kind} stacks ${args.layers}`
        : type.lengths !== undefined
          ? `go_backwards reads the whole time axis from its end, as Keras does, but the input has lengths \`${type.lengths}\``
          : undefined;
    if (reason !== undefined) {
      diagnostics.push(
        error(
          'SEQ085',
          argumentSpan(step, 'go_backwards'),
          reason,
          shape.bidirectional
            ? `drop go_backwards; \`${kind}\` runs its backward half from the end of each row already`
            : args.layers > 1
              ? 'write one layer per step, each with its own go_backwards, as the Keras model does'
              : 'mask the padding the Keras way instead of with lengths: `Embedding(…, mask_zero=true)` or `masking(value=0)`',
          { names: [kind, label, 'go_backwards'], found: shape.bidirectional ? 'bidirectional' : args.layers },
        ),
      );
      return null;
    }
  }
  if (type.mask !== undefined && shape.proj !== undefined) {
    diagnostics.push(
      error(
        'SEQ088',
        argumentSpan(step, 'proj'),
        `an LSTM with a projection (proj=${shape.proj}) cannot skip the steps masked by \`${type.mask}\``,
        'drop `proj` (Keras has no projected LSTM), or mask with `lengths(…)` instead',
        { names: [kind, label, type.mask], found: 'proj' },
      ),
    );
    return null;
  }
  if (args.masked_output === 'zero' && type.mask === undefined) {
    diagnostics.push(
      warning(
        'SEQ086',
        argumentSpan(step, 'masked_output'),
        `masked_output=zero sets what masked steps output, but the input of ${label} carries no Keras mask, so no step is masked`,
        'mask the input with `Embedding(…, mask_zero=true)` or `masking(value=…)`, or drop masked_output',
        { names: [kind, label, 'masked_output'], expected: 'a masked input', found: formatType(type) },
      ),
    );
  }
  return {
    ...(type.mask === undefined ? {} : { mask: type.mask }),
    ...(type.mask !== undefined && args.masked_output === 'zero' ? { maskedOutput: 'zero' as const } : {}),
    ...(args.go_backwards ? { goBackwards: true as const } : {}),
    ...(args.merge === 'concat' ? {} : { merge: args.merge }),
  };
}

/** The width of a recurrent layer's output: directions concatenated, or one direction's width when merged. */
export function recurrentOutputWidth(width: number, bidirectional: boolean, fields: RecurrentKerasFields): number {
  return bidirectional && fields.merge === undefined ? 2 * width : width;
}

/**
 * What a pooling builtin does with a Keras mask: `mean` is the mean over valid steps (Keras's
 * GlobalAveragePooling1D), `last` after a recurrent layer reads its final states, `first` and `last`
 * elsewhere read a step as Keras's slicing would, and `max` pools over every step, masked ones too,
 * as Keras's GlobalMaxPooling1D and TF.js's do (with a warning). The result never carries the mask.
 */
export function poolMask(
  diagnostics: Diagnostic[],
  step: CallStep,
  mode: PoolMode,
  type: ValueType,
): { readonly mask?: string } {
  if (type.mask === undefined) return {};
  if (mode === 'max') {
    diagnostics.push(
      warning(
        'SEQ087',
        step.callee.span,
        `\`max\` pools over every step, the steps masked by \`${type.mask}\` too: Keras's GlobalMaxPooling1D ignores the mask, and so does seqc`,
        '`mean` pools over the valid steps only (GlobalAveragePooling1D), and `last` after a recurrent layer gives its final states',
        { names: ['max', type.mask], expected: 'mean or last', found: 'max' },
      ),
    );
    return {};
  }
  return mode === 'mean' ? { mask: type.mask } : {};
}

/** A step that cannot take a Keras mask (Conv1d, CRF): a diagnostic when its input carries one. */
export function refuseMask(
  diagnostics: Diagnostic[],
  step: CallStep,
  what: string,
  label: string,
  type: ValueType,
): boolean {
  if (type.mask === undefined) return false;
  diagnostics.push(
    error(
      'SEQ088',
      step.callee.span,
      `${what} cannot read a value with a Keras mask, and its input carries the mask of \`${type.mask}\``,
      `put the ${what} before the masking step, or mask with \`lengths(…)\` instead`,
      { names: [what, label, type.mask], expected: 'no Keras mask', found: type.mask },
    ),
  );
  return true;
}

/** Merged sequences share one Keras mask, or none for all: a diagnostic for the first operand that differs. */
export function mergeMaskDiagnostic(
  mode: string,
  first: { readonly name: string; readonly type: ValueType },
  other: { readonly name: string; readonly type: ValueType; readonly span: Span },
): Diagnostic | undefined {
  if (first.type.mask === other.type.mask) return undefined;
  const describe = (o: { readonly name: string; readonly type: ValueType }): string =>
    o.type.mask === undefined
      ? `\`${o.name}\` has no Keras mask`
      : `\`${o.name}\` carries the mask of \`${o.type.mask}\``;
  return error(
    'SEQ088',
    other.span,
    `\`${mode}\` merges sequences with the same Keras mask, but ${describe(first)} and ${describe(other)}`,
    'merge sequences computed from the same masked value, or pool them first',
    {
      names: [mode, first.name, other.name],
      expected: first.type.mask ?? 'no mask',
      found: other.type.mask ?? 'no mask',
    },
  );
}

/** A decoder's recurrent layer with a Keras option: true after pushing the diagnostic. */
export function refuseDecoderKerasOptions(
  diagnostics: Diagnostic[],
  step: CallStep,
  args: LayerArguments<RecurrentKind>,
  label: string,
): boolean {
  const option = args.go_backwards
    ? 'go_backwards'
    : args.merge !== 'concat'
      ? 'merge'
      : args.masked_output !== 'previous'
        ? 'masked_output'
        : undefined;
  if (option === undefined) return false;
  diagnostics.push(
    error(
      'SEQ089',
      argumentSpan(step, option),
      `a decoder's recurrent layer runs forward one token at a time, so it takes no \`${option}\``,
      `remove \`${option}\``,
      { names: [label, option], found: option },
    ),
  );
  return true;
}

/** Where a model uses Keras masking, go_backwards or a merge mode, which `seqc emit pytorch` does not write: one diagnostic per op. */
export function pytorchEmitDiagnostics(ir: ModelIR): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const op of ir.ops) {
    const option = kerasOption(op);
    if (option === undefined) continue;
    diagnostics.push(
      error(
        'SEQ090',
        op.span,
        `${op.label} uses ${option}, which \`seqc emit pytorch\` does not write: PyTorch's modules have no Keras masking, go_backwards or merge modes`,
        'compile the spec to ONNX instead, or emit a spec without these Keras options',
        { names: [op.label], found: option },
      ),
    );
  }
  return diagnostics;
}

/** The Keras option an op uses, as words for a message, or undefined. */
function kerasOption(op: Op): string | undefined {
  switch (op.kind) {
    case 'embedding':
      return op.maskZero === true ? 'mask_zero' : undefined;
    case 'masking':
      return 'masking';
    case 'recurrent':
      return op.mask !== undefined
        ? 'a Keras mask'
        : op.goBackwards === true
          ? 'go_backwards'
          : op.merge !== undefined
            ? `merge=${op.merge}`
            : undefined;
    default:
      return op.output.type.mask === undefined ? undefined : 'a Keras mask';
  }
}

function mergeHint(kind: string, layers: number): string {
  return layers > 1
    ? `write one ${kind}(…, merge=…) step per layer, as the Keras model stacks Bidirectional layers`
    : `write \`Bi${kind}(…)\` for two directions, or drop \`merge\``;
}

function noTimeAxis(span: Span, what: string, label: string, type: ValueType): Diagnostic {
  return error(
    'SEQ088',
    span,
    `${what} masks steps of a time axis, but its input ${formatType(type)} has none`,
    'mask_zero is for token sequences int64[batch, time]; drop it here',
    { names: [label], expected: 'a sequence', found: formatType(type) },
  );
}

function maskWithLengths(span: Span, what: string, label: string, lengths: string): Diagnostic {
  return error(
    'SEQ083',
    span,
    `${what} would give a Keras mask to a value already masked by the lengths input \`${lengths}\`; a value has one or the other`,
    `drop the \`lengths(…)\` input (the Keras mask marks the padding wherever it is), or drop ${what === 'masking' ? 'the masking step' : 'mask_zero'}`,
    { names: [label, lengths], expected: 'a Keras mask or lengths', found: 'both' },
  );
}

function argumentSpan(step: CallStep, name: string): Span {
  return step.args?.find((a) => a.name?.text === name)?.span ?? step.callee.span;
}
