// The abstract syntax tree: exactly what the user wrote, with a source span on every node.

import type { Span } from '../diagnostics/diagnostic.js';

export interface Name {
  readonly kind: 'name';
  readonly text: string;
  readonly span: Span;
}

export interface ModelAst {
  readonly kind: 'model';
  readonly name: Name;
  readonly members: readonly Member[];
  readonly span: Span;
}

export type Member = InputDecl | Chain | EncoderBlock | DecoderBlock;

export interface InputDecl {
  readonly kind: 'input';
  readonly name: Name;
  readonly type: TypeExpr;
  readonly span: Span;
}

/** `int64[batch, time]` or `lengths(tokens)`; the checker decides what the leading name means. */
export type TypeExpr = TensorTypeExpr | CallTypeExpr;

export interface TensorTypeExpr {
  readonly kind: 'tensorType';
  readonly dtype: Name;
  readonly dims: readonly DimExpr[];
  readonly span: Span;
}

export interface CallTypeExpr {
  readonly kind: 'callType';
  readonly callee: Name;
  readonly argument: Name;
  readonly span: Span;
}

export type DimExpr =
  | { readonly kind: 'symbolicDim'; readonly name: string; readonly span: Span }
  | { readonly kind: 'fixedDim'; readonly size: number; readonly text: string; readonly span: Span };

/** `source -> step -> step`, where the source is a name (`encoder.rnn` when dotted) or a merge. */
export interface Chain {
  readonly kind: 'chain';
  readonly source: Name | MergeSource;
  readonly steps: readonly Step[];
  readonly span: Span;
}

/**
 * `concat(a, b, …)` or `add(a, b)` at the head of a chain. The parser takes any `name(args)` followed
 * by `->` for one; the checker reads the callee and requires the arguments to be names.
 */
export interface MergeSource {
  readonly kind: 'merge';
  readonly callee: Name;
  readonly args: readonly Argument[];
  readonly span: Span;
}

export interface EncoderBlock {
  readonly kind: 'encoderBlock';
  readonly keyword: Name;
  readonly chains: readonly Chain[];
  readonly span: Span;
}

export interface DecoderBlock {
  readonly kind: 'decoderBlock';
  readonly keyword: Name;
  readonly args: readonly Argument[];
  readonly steps: readonly Step[];
  readonly span: Span;
}

export type Step = OutputStep | CallStep;

export interface OutputStep {
  readonly kind: 'outputStep';
  readonly name: Name;
  readonly span: Span;
}

/** `label: Callee(args)`, `Callee(args)`, `label: callee` or a bare `callee`. */
export interface CallStep {
  readonly kind: 'callStep';
  readonly label?: Name;
  readonly callee: Name;
  /** Absent when the step has no parentheses at all, as in `-> last`. */
  readonly args?: readonly Argument[];
  readonly span: Span;
}

export interface Argument {
  readonly kind: 'argument';
  /** Absent for a positional argument. */
  readonly name?: Name;
  readonly value: Value;
  readonly span: Span;
}

export type Value =
  | { readonly kind: 'number'; readonly value: number; readonly text: string; readonly span: Span }
  | { readonly kind: 'boolean'; readonly value: boolean; readonly span: Span }
  | { readonly kind: 'nameValue'; readonly text: string; readonly span: Span }
  | { readonly kind: 'string'; readonly value: string; readonly span: Span };
