// Checks `input` declarations: element types, dims, `lengths(x)`, duplicates, and symbolic dim use.

import { error, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Dim, IrInput, ValueType } from '../ir/ir.js';
import type { InputDecl, TensorTypeExpr } from '../syntax/ast.js';
import { didYouMean } from './suggest.js';

/** The element types an input may declare; the syntax highlighter reads this list too. */
export const elementTypes = ['int64', 'float32'] as const;

/** The largest fixed dimension an input may declare: 2^31 - 1. */
const maxDimension = 2 ** 31 - 1;

/** Returns the inputs that are well-formed; problems go to `diagnostics`. */
export function checkInputs(decls: readonly InputDecl[], diagnostics: Diagnostic[]): IrInput[] {
  const inputs: IrInput[] = [];
  const byName = new Map<string, InputDecl>();
  for (const decl of decls) {
    const previous = byName.get(decl.name.text);
    if (previous !== undefined) {
      diagnostics.push({
        ...error('SEQ014', decl.name.span, `the input \`${decl.name.text}\` is declared twice`, 'rename one of them', {
          names: [decl.name.text],
        }),
        related: [{ span: previous.name.span, message: 'first declared here' }],
      });
      continue;
    }
    byName.set(decl.name.text, decl);
  }
  // Data inputs first, so that `lengths(x)` can refer to an input declared after it.
  for (const decl of byName.values()) {
    if (decl.type.kind === 'tensorType') {
      const type = tensorType(decl, decl.type, diagnostics);
      if (type !== undefined) inputs.push({ name: decl.name.text, type, role: { kind: 'data' }, span: decl.span });
    }
  }
  const dataInputs = new Map(inputs.map((i) => [i.name, i]));
  const lengthsOf = new Map<string, string>();
  for (const decl of byName.values()) {
    if (decl.type.kind !== 'callType') continue;
    const t = decl.type;
    if (t.callee.text !== 'lengths') {
      diagnostics.push(
        error(
          'SEQ030',
          t.callee.span,
          `unknown input type \`${t.callee.text}(…)\``,
          'the one type function is `lengths(x)`: valid steps per row of x',
          { names: [decl.name.text], expected: 'lengths', found: t.callee.text },
        ),
      );
      continue;
    }
    const target = dataInputs.get(t.argument.text);
    if (target === undefined || target.role.kind !== 'data') {
      const others = inputs.map((i) => i.name);
      diagnostics.push(
        error(
          'SEQ032',
          t.argument.span,
          byName.has(t.argument.text)
            ? `\`lengths(${t.argument.text})\` must name a sequence input, but \`${t.argument.text}\` is not one`
            : `\`lengths(${t.argument.text})\` names no input`,
          didYouMean(t.argument.text, others) ??
            'write `lengths(tokens)` where `tokens` is an input such as int64[batch, time]',
          { names: [decl.name.text, t.argument.text], expected: others },
        ),
      );
      continue;
    }
    if (!target.type.hasTime) {
      diagnostics.push(
        error(
          'SEQ032',
          t.argument.span,
          `\`${target.name}\` is ${describeInput(target.type)} and has no time axis for \`lengths\` to mask`,
          'lengths mask int64[batch, time] token ids or float32[batch, time, features] sequences',
          {
            names: [decl.name.text, target.name],
            expected: 'a sequence with a time axis',
            found: describeInput(target.type),
          },
        ),
      );
      continue;
    }
    const already = lengthsOf.get(target.name);
    if (already !== undefined) {
      diagnostics.push(
        error(
          'SEQ032',
          t.span,
          `\`${target.name}\` already has lengths: \`${already}\``,
          'declare lengths once per input',
          { names: [decl.name.text, target.name, already], limit: 1 },
        ),
      );
      continue;
    }
    const lengthsType: ValueType = { dtype: 'int64', dims: [target.type.dims[0]!], hasTime: false };
    inputs.push({
      name: decl.name.text,
      type: lengthsType,
      role: { kind: 'lengths', of: target.name },
      span: decl.span,
    });
    lengthsOf.set(target.name, decl.name.text);
  }
  // Each sequence input learns the name of its lengths input.
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    const lengths = input.role.kind === 'data' ? lengthsOf.get(input.name) : undefined;
    if (lengths !== undefined) inputs[i] = { ...input, type: { ...input.type, lengths } };
  }
  checkSymbolicAxes(inputs, decls, diagnostics);
  // Keep the order in which the user declared them.
  const order = new Map<string, number>();
  decls.forEach((d, i) => {
    if (!order.has(d.name.text)) order.set(d.name.text, i);
  });
  return inputs.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
}

function describeInput(t: ValueType): string {
  return `${t.dtype}[${t.dims.map((d) => (d.kind === 'symbol' ? d.name : d.size)).join(', ')}]`;
}

function tensorType(decl: InputDecl, t: TensorTypeExpr, diagnostics: Diagnostic[]): ValueType | undefined {
  const dtypeName = t.dtype.text;
  if (!(elementTypes as readonly string[]).includes(dtypeName)) {
    const hints: Record<string, string> = {
      int32: 'token ids are `int64`, as PyTorch and ONNX Gather expect',
      int: 'write `int64` for token ids',
      long: 'write `int64` for token ids',
      float: 'write `float32`',
      float64: 'seqc models compute in `float32`',
      double: 'seqc models compute in `float32`',
      lengths: 'lengths are declared as `lengths(tokens)`, without brackets',
    };
    diagnostics.push(
      error(
        'SEQ030',
        t.dtype.span,
        `unknown element type \`${dtypeName}\` for input \`${decl.name.text}\`; expected int64 or float32`,
        hints[dtypeName] ?? didYouMean(dtypeName, elementTypes),
        { names: [decl.name.text], expected: [...elementTypes], found: dtypeName },
      ),
    );
    return undefined;
  }
  const dtype = dtypeName as 'int64' | 'float32';
  const dims: Dim[] = [];
  for (const d of t.dims) {
    if (d.kind === 'symbolicDim') {
      dims.push({ kind: 'symbol', name: d.name });
    } else if (!Number.isInteger(d.size) || d.size < 1 || /[.eE-]/.test(d.text)) {
      diagnostics.push(
        error('SEQ031', d.span, `a dimension must be a positive integer or a name, found ${d.text}`, undefined, {
          names: [decl.name.text],
          expected: 'a positive integer or a name',
          found: d.text,
        }),
      );
      return undefined;
    } else if (d.size > maxDimension) {
      diagnostics.push(
        error(
          'SEQ031',
          d.span,
          `a dimension must be at most ${maxDimension.toLocaleString('en-US')}, found ${d.text}`,
          'ONNX Runtime indexes tensors with 32-bit sizes on the web; no real feature axis is this large',
          { names: [decl.name.text], limit: maxDimension, found: d.size },
        ),
      );
      return undefined;
    } else {
      dims.push({ kind: 'fixed', size: d.size });
    }
  }
  const maxRank = dtype === 'int64' ? 2 : 3;
  if (dims.length > maxRank) {
    diagnostics.push(
      error(
        'SEQ031',
        t.span,
        `\`${decl.name.text}\` has ${dims.length} axes, but ${dtype} inputs have at most ${maxRank}`,
        dtype === 'int64' ? 'token ids are int64[batch, time]' : 'feature sequences are float32[batch, time, features]',
        { names: [decl.name.text], limit: maxRank, found: dims.length },
      ),
    );
    return undefined;
  }
  return { dtype, dims, hasTime: dims.length >= 2 && (dtype === 'int64' || dims.length === 3) };
}

/** A symbolic name stands for one axis role: `batch` must not be axis 0 in one input and axis 1 in another. */
function checkSymbolicAxes(inputs: readonly IrInput[], decls: readonly InputDecl[], diagnostics: Diagnostic[]): void {
  const firstUse = new Map<string, { input: string; axis: number }>();
  const declOf = new Map<string, InputDecl>();
  for (const decl of decls) if (!declOf.has(decl.name.text)) declOf.set(decl.name.text, decl);
  for (const input of inputs) {
    if (input.role.kind !== 'data') continue;
    input.type.dims.forEach((d, axis) => {
      if (d.kind !== 'symbol') return;
      const role = axis === 0 ? 0 : axis === 1 && input.type.hasTime ? 1 : 2;
      const seen = firstUse.get(d.name);
      if (seen === undefined) {
        firstUse.set(d.name, { input: input.name, axis: role });
      } else if (seen.axis !== role) {
        const decl = declOf.get(input.name)!;
        const roles = ['batch', 'time', 'feature'];
        diagnostics.push(
          error(
            'SEQ031',
            decl.type.span,
            `\`${d.name}\` is the ${roles[seen.axis]} axis of \`${seen.input}\` but the ${roles[role]} axis of \`${input.name}\``,
            'a symbolic dimension stands for one size everywhere; give the other axis its own name',
            { names: [d.name, seen.input, input.name], expected: roles[seen.axis]!, found: roles[role]! },
          ),
        );
      }
    });
  }
}
