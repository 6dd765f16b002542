// The syntax stage: .seq text → tokens → CST (Chevrotain) → AST, with every problem as a diagnostic.

import type { CstNode, IToken, IRecognitionException, ILexingError, CstElement } from 'chevrotain';
import type {
  ArgCstNode,
  ArgsCstNode,
  CallMemberCstNode,
  ChainCstNode,
  DimCstNode,
  EncoderBlockCstNode,
  FileCstNode,
  InputDeclCstNode,
  MemberCstNode,
  MergeChainCstNode,
  ModelCstNode,
  QualifiedNameCstNode,
  StepCstNode,
  TypeExprCstNode,
  ValueCstNode,
} from '../../grammar/cst.js';
import { assertNever } from '../contracts/assert.js';
import { SeqParser } from '../../grammar/parser.js';
import { seqLexer } from '../../grammar/tokens.js';
import { error, spanOfWhole, type Diagnostic, type Position, type Span } from '../diagnostics/diagnostic.js';
import { maxNameLength, maxReparses, maxSpecCharacters, maxSteps, reparseBudget } from './limits.js';
import { closest } from '../diagnostics/suggest.js';
import { describeToken, isEndOfText, parseErrorFacts, seqErrorMessages, type ParseErrorFacts } from './parse-errors.js';
import type {
  Argument,
  CallStep,
  Chain,
  DecoderBlock,
  DimExpr,
  EncoderBlock,
  InputDecl,
  Member,
  MergeSource,
  ModelAst,
  Name,
  Step,
  TypeExpr,
  Value,
} from './ast.js';

export interface ParseResult {
  readonly ast?: ModelAst;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * The parser seqc uses: it stops at the first error, and words errors through `seqErrorMessages`.
 * Recovery costs time per error (Chevrotain recomputes the lookahead to word each one), so a text of
 * thousands of errors would parse in quadratic time; seqc reports the first error of a parse, and
 * this parser finds it in time linear in the text.
 */
const seqParser = new SeqParser({ recoveryEnabled: false, errorMessageProvider: seqErrorMessages });

/** Parses one spec. `source` names the text in spans (a path, or `<input>`). */
export function parse(original: string, source: string): ParseResult {
  if (original.length > maxSpecCharacters) {
    return {
      diagnostics: [
        error(
          'SEQ004',
          spanOfWhole(source),
          `this spec has ${original.length.toLocaleString('en-US')} characters, more than seqc reads (${maxSpecCharacters.toLocaleString('en-US')}, 1 MiB)`,
          'the limit cannot be raised; a spec describes layers, not data: is this the right file?',
          { limit: maxSpecCharacters, found: original.length },
        ),
      ],
    };
  }
  // A lone carriage return ends a line too, and a byte-order mark is not part of the text; turning
  // them into \n and a space keeps every offset the same.
  const text = original.replace(/\r(?!\n)/g, '\n').replace(/^\ufeff/, ' ');
  const lines = lineTable(text);
  const lexed = seqLexer.tokenize(text);
  const diagnostics: Diagnostic[] = lexed.errors.map((e) => lexingDiagnostic(e, text, source, lines));
  const limit = tokenLimitDiagnostic(lexed.tokens, source);
  if (limit !== undefined) return { diagnostics: [...diagnostics, limit] };
  seqParser.input = lexed.tokens;
  // The generated types of grammar/cst.d.ts describe the tree this parser builds; this is where they meet.
  const cst = seqParser.file() as FileCstNode;
  // The parser stops at its first error. On a line the lexer already reported, that error is a
  // consequence of the bad character, so it is left out.
  const linesWithErrors = new Set(diagnostics.map((d) => d.span.start.line));
  const firstError = seqParser.errors.find((e) => !linesWithErrors.has(lines.positionAt(errorOffset(e, text)).line));
  const first = firstError === undefined ? undefined : parsingDiagnostic(firstError, text, source, lines);
  if (first !== undefined) {
    diagnostics.push(first);
    // With characters no token fits, blanking statements out and parsing again finds nothing new.
    if (lexed.errors.length === 0) diagnostics.push(...laterSyntaxErrors(text, source, first.span.start.line));
  }
  if (diagnostics.length > 0) return { diagnostics };

  const builder = new AstBuilder(source);
  const models = cst.children.model ?? [];
  if (models.length !== 1) {
    const span = models.length === 0 ? spanAtEnd(text, source, lines) : builder.nodeSpan(models[1]!);
    const message =
      models.length === 0
        ? 'this file holds no model'
        : `this file holds ${models.length} models; seqc compiles one per file`;
    return {
      diagnostics: [
        error(
          'SEQ003',
          span,
          message,
          models.length === 0 ? 'start with `model Name { … }`' : 'move each model into a file of its own',
          { expected: 1, found: models.length },
        ),
      ],
    };
  }
  const ast = builder.model(models[0]!);
  // The builder's errors are syntax errors found on the tree (a missing `->`): no AST to check then.
  return builder.diagnostics.length > 0 ? { diagnostics: builder.diagnostics } : { ast, diagnostics: [] };
}

/** A name longer than `maxNameLength`, or more steps than `maxSteps`: the first such token, as a diagnostic. */
function tokenLimitDiagnostic(tokens: readonly IToken[], source: string): Diagnostic | undefined {
  let steps = 0;
  for (const t of tokens) {
    if (t.tokenType.name === 'Identifier' && t.image.length > maxNameLength) {
      return error(
        'SEQ006',
        tokenSpan(t, source),
        `this name has ${t.image.length.toLocaleString('en-US')} characters, more than seqc allows (${maxNameLength})`,
        `names become ONNX tensor and parameter names; shorten it to ${maxNameLength} characters or fewer (the limit cannot be raised)`,
        { limit: maxNameLength, found: t.image.length },
      );
    }
    if (t.tokenType.name === 'Arrow' && ++steps > maxSteps) {
      return error(
        'SEQ007',
        tokenSpan(t, source),
        `this model has more than ${maxSteps.toLocaleString('en-US')} steps, the most seqc compiles`,
        'the limit cannot be raised; a model this deep is more likely a generated file gone wrong than a network',
        { limit: maxSteps },
      );
    }
  }
  return undefined;
}

/**
 * Finds syntax errors after the statement that holds `line`: blanks that statement out (keeping
 * every offset and line) and parses again, up to a few times. Chevrotain's own recovery cannot
 * resynchronise inside a chain, so this reports one error per broken statement instead.
 */
function laterSyntaxErrors(text: string, source: string, line: number): Diagnostic[] {
  const found: Diagnostic[] = [];
  let current = text;
  let errorLine = line;
  // Each round reads the whole text again, so long texts get fewer rounds: the time stays linear.
  const rounds = Math.min(maxReparses, Math.floor(reparseBudget / Math.max(1, text.length)));
  for (let round = 0; round < rounds; round++) {
    const lines = current.split('\n');
    const startsStatement = (l: string): boolean => {
      const trimmed = l.trim();
      return trimmed !== '' && !trimmed.startsWith('->') && !trimmed.startsWith('#');
    };
    let start = errorLine - 1;
    while (start > 0 && !startsStatement(lines[start]!)) start--;
    let end = errorLine;
    while (end < lines.length && !startsStatement(lines[end]!)) end++;
    // Keep braces that close blocks, so that blanking a chain leaves the structure whole.
    for (let i = start; i < end; i++) {
      const closing = /^(\s*)}\s*$/.test(lines[i]!) ? lines[i]! : lines[i]!.replace(/[^\s]/g, ' ');
      lines[i] = i === start && /\{\s*$/.test(lines[i]!) ? lines[i]!.replace(/[^\s{]/g, ' ') : closing;
    }
    current = lines.join('\n');
    const lexed = seqLexer.tokenize(current);
    if (lexed.errors.length > 0) break;
    seqParser.input = lexed.tokens;
    seqParser.file();
    const firstError = seqParser.errors[0];
    const next =
      firstError === undefined ? undefined : parsingDiagnostic(firstError, current, source, lineTable(current));
    if (next === undefined || next.span.start.line <= end || blankingArtefact(next)) break;
    found.push({ ...next, span: { ...next.span, source } });
    errorLine = next.span.start.line;
  }
  return found;
}

/**
 * Whether an error found after blanking statements out is one the blanking made: a `}` where
 * something was expected (the block lost its contents) or the end of the text.
 */
function blankingArtefact(d: Diagnostic): boolean {
  const expected = d.facts?.expected;
  const expectedSomething = Array.isArray(expected) && expected.length > 0;
  return (expectedSomething && d.facts?.found === '}') || d.facts?.found === endOfFile;
}

/**
 * Turns CST nodes into AST nodes into AST nodes; it only reads the tree, never the text. It reads the tree through
 * the generated types of grammar/cst.d.ts, so renaming a rule or a label in the grammar (and
 * regenerating with `npm run grammar`) fails the type check here rather than misreading the tree.
 */
class AstBuilder {
  readonly diagnostics: Diagnostic[] = [];
  constructor(private readonly source: string) {}

  model(node: ModelCstNode): ModelAst {
    const c = node.children;
    const members = (c.member ?? []).map((m) => this.member(m));
    members.forEach((m, i) => this.checkMissingArrow(members[i - 1], m));
    return { kind: 'model', name: this.name(first(c.Identifier)), members, span: this.nodeSpan(node) };
  }

  /**
   * `-> Embedding(…) LSTM(8) -> …`: without the arrow, `LSTM(8) -> …` reads as a chain starting from
   * a merge. Chains start on a line of their own, so one that starts where another member ended is
   * the missing `->`.
   */
  checkMissingArrow(previous: Member | undefined, member: Member): void {
    if (previous === undefined || member.kind !== 'chain' || member.source.kind !== 'merge') return;
    if (previous.span.end.line !== member.span.start.line) return;
    const callee = member.source.callee;
    const gap: Span = { source: this.source, start: previous.span.end, end: callee.span.start };
    this.diagnostics.push(
      error(
        'SEQ002',
        gap,
        `expected \`->\` before \`${callee.text}\``,
        `did you forget \`->\`? Steps in a chain are joined by arrows: \`-> ${callee.text}(…)\``,
        { expected: ["'->'"], found: callee.text },
      ),
    );
  }

  /** A member is exactly one of the rule's alternatives; a kind this switch does not know is a bug in seqc. */
  member(node: MemberCstNode): Member {
    const alternative = onlyChild(node);
    switch (alternative.label) {
      case 'inputDecl':
        return this.inputDecl(alternative.element);
      case 'chain':
        return this.chain(alternative.element);
      case 'encoderBlock':
        return this.encoderBlock(alternative.element);
      case 'callMember':
        return this.callMember(alternative.element);
      default:
        return assertNever(alternative);
    }
  }

  inputDecl(node: InputDeclCstNode): InputDecl {
    const c = node.children;
    return {
      kind: 'input',
      name: this.name(first(c.Identifier)),
      type: this.typeExpr(first(c.typeExpr)),
      span: this.nodeSpan(node),
    };
  }

  typeExpr(node: TypeExprCstNode): TypeExpr {
    const c = node.children;
    const names = inOrder(c.Identifier);
    if (c.dim !== undefined && c.dim.length > 0) {
      return {
        kind: 'tensorType',
        dtype: this.name(names[0]!),
        dims: c.dim.map((d) => this.dim(d)),
        span: this.nodeSpan(node),
      };
    }
    return {
      kind: 'callType',
      callee: this.name(names[0]!),
      argument: this.name(names[1]!),
      span: this.nodeSpan(node),
    };
  }

  dim(node: DimCstNode): DimExpr {
    const alternative = onlyChild(node);
    const t = alternative.element;
    switch (alternative.label) {
      case 'Identifier':
        return { kind: 'symbolicDim', name: t.image, span: this.tokenSpan(t) };
      case 'Number':
        return { kind: 'fixedDim', size: globalThis.Number(t.image), text: t.image, span: this.tokenSpan(t) };
      default:
        return assertNever(alternative);
    }
  }

  chain(node: ChainCstNode): Chain {
    const c = node.children;
    return {
      kind: 'chain',
      source: this.qualifiedName(first(c.qualifiedName)),
      steps: c.step.map((s) => this.step(s)),
      span: this.nodeSpan(node),
    };
  }

  encoderBlock(node: EncoderBlockCstNode): EncoderBlock {
    const c = node.children;
    return {
      kind: 'encoderBlock',
      keyword: this.name(first(c.Identifier)),
      chains: [
        ...(c.chain ?? []).map((chain) => this.chain(chain)),
        ...(c.mergeChain ?? []).map((m) => this.mergeChain(m)),
      ].sort((a, b) => a.span.start.offset - b.span.start.offset),
      span: this.nodeSpan(node),
    };
  }

  /** `name(args) { … }` is a decoder block; `name(args) -> …` a chain whose source is a merge. */
  callMember(node: CallMemberCstNode): DecoderBlock | Chain {
    const c = node.children;
    const argsNode = c.args?.[0];
    const args = argsNode === undefined ? [] : this.args(argsNode);
    const callee = this.name(first(c.Identifier));
    const steps = (c.step ?? []).map((s) => this.step(s));
    const span = this.nodeSpan(node);
    if (c.LBrace !== undefined && c.LBrace.length > 0) {
      return { kind: 'decoderBlock', keyword: callee, args, steps, span };
    }
    const sourceSpan: Span = { ...span, end: this.tokenSpan(first(c.RParen)).end };
    return { kind: 'chain', source: { kind: 'merge', callee, args, span: sourceSpan }, steps, span };
  }

  mergeChain(node: MergeChainCstNode): Chain {
    const c = node.children;
    const argsNode = c.args?.[0];
    const span = this.nodeSpan(node);
    const sourceSpan: Span = { ...span, end: this.tokenSpan(first(c.RParen)).end };
    const source: MergeSource = {
      kind: 'merge',
      callee: this.name(first(c.Identifier)),
      args: argsNode === undefined ? [] : this.args(argsNode),
      span: sourceSpan,
    };
    return { kind: 'chain', source, steps: c.step.map((s) => this.step(s)), span };
  }

  /** `encoder.rnn` as one name, spanning its dots. */
  qualifiedName(node: QualifiedNameCstNode): Name {
    const parts = inOrder(node.children.Identifier);
    const text = parts.map((t) => t.image).join('.');
    return {
      kind: 'name',
      text,
      span: { ...this.tokenSpan(parts[0]!), end: this.tokenSpan(parts[parts.length - 1]!).end },
    };
  }

  step(node: StepCstNode): Step {
    const c = node.children;
    const names = inOrder(c.Identifier ?? []);
    if (c.Output !== undefined && c.Output.length > 0) {
      return { kind: 'outputStep', name: this.name(names[0]!), span: this.nodeSpan(node) };
    }
    // The first name is the label when a `:` follows it, and the callee otherwise.
    const head = this.qualifiedName(first(c.qualifiedName ?? []));
    const labelled = c.Colon !== undefined && c.Colon.length > 0;
    const hasParens = c.LParen !== undefined && c.LParen.length > 0;
    const argsNode = c.args?.[0];
    const args = hasParens ? (argsNode === undefined ? [] : this.args(argsNode)) : undefined;
    const callee = labelled ? this.name(names[0]!) : head;
    const base = { kind: 'callStep' as const, callee, span: this.nodeSpan(node) };
    const withLabel: CallStep = labelled ? { ...base, label: head } : base;
    return args === undefined ? withLabel : { ...withLabel, args };
  }

  args(node: ArgsCstNode): Argument[] {
    return node.children.arg.map((a) => this.arg(a));
  }

  arg(node: ArgCstNode): Argument {
    const c = node.children;
    const value = this.value(first(c.value));
    const keyword = c.Identifier?.[0];
    const span = this.nodeSpan(node);
    return keyword === undefined
      ? { kind: 'argument', value, span }
      : { kind: 'argument', name: this.name(keyword), value, span };
  }

  value(node: ValueCstNode): Value {
    const alternative = onlyChild(node);
    switch (alternative.label) {
      case 'Number': {
        const t = alternative.element;
        return { kind: 'number', value: globalThis.Number(t.image), text: t.image, span: this.tokenSpan(t) };
      }
      case 'True':
        return { kind: 'boolean', value: true, span: this.tokenSpan(alternative.element) };
      case 'False':
        return { kind: 'boolean', value: false, span: this.tokenSpan(alternative.element) };
      case 'StringLiteral': {
        const t = alternative.element;
        return { kind: 'string', value: t.image.slice(1, -1), span: this.tokenSpan(t) };
      }
      case 'qualifiedName': {
        const name = this.qualifiedName(alternative.element);
        return { kind: 'nameValue', text: name.text, span: name.span };
      }
      default:
        return assertNever(alternative);
    }
  }

  name(t: IToken): Name {
    return { kind: 'name', text: t.image, span: this.tokenSpan(t) };
  }

  tokenSpan(t: IToken): Span {
    return tokenSpan(t, this.source);
  }

  nodeSpan(node: CstNode): Span {
    const l = node.location!;
    return {
      source: this.source,
      start: { offset: l.startOffset, line: l.startLine ?? 1, column: l.startColumn ?? 1 },
      end: { offset: (l.endOffset ?? l.startOffset) + 1, line: l.endLine ?? 1, column: (l.endColumn ?? 0) + 1 },
    };
  }
}

/** The children of a CST node, by the label the generated types give them. */
type Children = { readonly [label: string]: readonly CstElement[] | undefined };

/** One child of a node whose rule chooses between alternatives, tagged with its label, so a switch on the label narrows it. */
type Alternative<C> = {
  [L in keyof C]-?: { readonly label: L; readonly element: NonNullable<C[L]> extends readonly (infer E)[] ? E : never };
}[keyof C];

/**
 * The child a choice rule (`member`, `dim`, `value`) holds: a parse without errors puts exactly one
 * there. Finding none means the tree and the grammar disagree, which is a bug in seqc.
 */
function onlyChild<C extends Children>(node: CstNode & { readonly children: C }): Alternative<C> {
  for (const [label, elements] of Object.entries(node.children)) {
    const element = elements?.[0];
    if (element !== undefined) return { label, element } as Alternative<C>;
  }
  throw new Error(`CST node ${node.name} holds none of its alternatives`);
}

/** The first of a list the grammar guarantees is not empty. */
function first<T>(elements: readonly T[]): T {
  return elements[0]!;
}

/** Tokens stored under one label by several CONSUMEs, in the order they appear in the text. */
function inOrder(tokens: readonly IToken[]): IToken[] {
  return [...tokens].sort((a, b) => a.startOffset - b.startOffset);
}

function tokenSpan(t: IToken, source: string): Span {
  return {
    source,
    start: { offset: t.startOffset, line: t.startLine ?? 1, column: t.startColumn ?? 1 },
    end: { offset: (t.endOffset ?? t.startOffset) + 1, line: t.endLine ?? 1, column: (t.endColumn ?? 0) + 1 },
  };
}

/** Where each line of a text starts, so that an offset's line is a binary search away. */
interface LineTable {
  positionAt(offset: number): Position;
}

function lineTable(text: string): LineTable {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return {
    positionAt(offset: number): Position {
      const clamped = Math.max(0, Math.min(offset, text.length));
      let low = 0;
      let high = starts.length - 1;
      while (low < high) {
        const middle = (low + high + 1) >> 1;
        if (starts[middle]! <= clamped) low = middle;
        else high = middle - 1;
      }
      return { offset, line: low + 1, column: offset - starts[low]! + 1 };
    },
  };
}

function spanAtEnd(text: string, source: string, lines: LineTable): Span {
  const end = lines.positionAt(text.length);
  return { source, start: end, end };
}

function lexingDiagnostic(e: ILexingError, text: string, source: string, lines: LineTable): Diagnostic {
  const start = lines.positionAt(e.offset);
  const end = lines.positionAt(e.offset + Math.max(1, e.length));
  const found = text.slice(e.offset, e.offset + Math.max(1, e.length));
  return error(
    'SEQ001',
    { source, start, end },
    `unexpected character ${JSON.stringify(found)}`,
    found.startsWith('-')
      ? 'chains use `->` between steps'
      : found.startsWith('"')
        ? 'a string ends with a closing `"` on the same line'
        : 'names are letters, digits and `_`; comments start with `#`',
    { found },
  );
}

/** Where a parse error points: its token, or the end of the text when it found none. */
function errorOffset(e: IRecognitionException, text: string): number {
  return isEndOfText(e.token) ? text.length : e.token.startOffset;
}

function parsingDiagnostic(e: IRecognitionException, text: string, source: string, lines: LineTable): Diagnostic {
  const t = e.token;
  const atEnd = isEndOfText(t);
  const startOffset = errorOffset(e, text);
  const endOffset = atEnd ? text.length : (t.endOffset ?? t.startOffset) + 1;
  const span = { source, start: lines.positionAt(startOffset), end: lines.positionAt(endOffset) };
  const mistake = atEnd ? undefined : likelyMistake(e, t, text, source);
  if (mistake !== undefined) return mistake;
  const facts = parseErrorFacts(e);
  // Every error of seqParser comes worded by seqErrorMessages; the fallback is for a message it did not make.
  const message = facts?.message ?? `unexpected ${describeToken(t)}`;
  const found = atEnd ? endOfFile : t.image;
  const expected = (facts?.expected ?? []).map((type) => type.LABEL ?? type.name);
  return error('SEQ002', span, message, parseHint(e, facts), { expected, found });
}

/** What a parse error's facts say it found when the text ended first. */
const endOfFile = 'end of file';

function parseHint(e: IRecognitionException, facts: ParseErrorFacts | undefined): string | undefined {
  const t = e.token;
  const rules = e.context.ruleStack;
  const rule = rules[rules.length - 1];
  const listItem = t.tokenType.name === 'Identifier' || t.tokenType.name === 'Number';
  const required = facts?.kind === 'mismatchedToken' ? facts.expected[0]?.name : undefined;
  if (listItem && required === 'RBracket') return 'separate dimensions with commas: `int64[batch, time]`';
  if (listItem && required === 'RParen') return 'separate arguments with commas: `Embedding(vocab=10000, dim=128)`';
  if (rule === 'inputDecl' || (t.image === '=' && rule === 'typeExpr'))
    return 'an input is declared as `input name: int64[batch, time]`';
  if (rule === 'model' || rule === 'file') return 'a model is `model Name { inputs and chains }`';
  if (rule === 'step') return 'a step is `label: Layer(args)`, a builtin such as `last`, or `output name`';
  if (rule === 'arg' || rule === 'args' || rule === 'value')
    return 'arguments look like `hidden=256`, separated by commas';
  if (rule === 'typeExpr' || rule === 'dim')
    return 'types look like `int64[batch, time]`, `float32[batch, time, 40]` or `lengths(tokens)`';
  if (rule === 'qualifiedName')
    return 'a dotted label names a nested module, one name per part: `encoder.rnn: LSTM(…)`';
  if (rule === 'chain') return 'a chain is `source -> step -> step`';
  return undefined;
}

/**
 * The mistakes behind the commonest parse errors, recognised from the text around the error, so
 * that the message names the mistake rather than the token where the parser gave up: a misspelled
 * `output` (`-> outptu logits`), a missing `->` between two steps on one line, and a misspelled
 * `input` or `model` at the start of a statement. (Chevrotain's `previousToken` is not reliable
 * after recovery, so the text before the token is read instead.)
 */
function likelyMistake(e: IRecognitionException, t: IToken, text: string, source: string): Diagnostic | undefined {
  const rules = e.context.ruleStack;
  const rule = rules[rules.length - 1];
  const lineStart = text.lastIndexOf('\n', t.startOffset - 1) + 1;
  // The patterns below look at the end of the line before the token only, so that a long line
  // costs no more than a short one.
  const tailStart = Math.max(lineStart, t.startOffset - 200);
  const before = text.slice(tailStart, t.startOffset);
  /** A span on t's line, by offsets. */
  const spanOnLine = (start: number, end: number): Span => ({
    source,
    start: { offset: start, line: t.startLine ?? 1, column: (t.startColumn ?? 1) - (t.startOffset - start) },
    end: { offset: end, line: t.startLine ?? 1, column: (t.startColumn ?? 1) - (t.startOffset - end) },
  });
  const isName = t.tokenType.name === 'Identifier';
  // `encoder.0`: the lexer reads `.0` as a number, so the dotted label ends before it.
  if (t.tokenType.name === 'Number' && t.image.startsWith('.') && /[A-Za-z0-9_]$/.test(before)) {
    return error(
      'SEQ002',
      spanOnLine(t.startOffset, t.startOffset + t.image.length),
      `\`${t.image}\` cannot be part of a label: each part of a dotted label is a name`,
      'name the module with letters, digits and `_`, starting with a letter: `encoder.layer0` rather than `encoder.0`',
    );
  }
  // `both: concat(a, b) -> …`: a merge heads a chain and takes no label.
  const labeledMerge = isName
    ? /^([A-Za-z_][\w.]*)\s*:\s*(concat|add)\s*\(/.exec(text.slice(t.startOffset, t.startOffset + 200))
    : null;
  if (labeledMerge !== null && /^\s*$/.test(before)) {
    return error(
      'SEQ002',
      spanOnLine(t.startOffset, t.startOffset + labeledMerge[1]!.length),
      `a merge takes no label: \`${labeledMerge[1]}: ${labeledMerge[2]}(…)\``,
      `write \`${labeledMerge[2]}(…) -> …\` and label the step after it; to name the merged value alone, use \`-> ${labeledMerge[1]}: Dropout(0)\``,
    );
  }
  // `-> outptu logits`: the step `outptu` parsed, and the name after it did not.
  const misspelledOutput = /->\s*([A-Za-z_]\w*)\s+$/.exec(before);
  if (
    isName &&
    misspelledOutput !== null &&
    misspelledOutput[1] !== 'output' &&
    closest(misspelledOutput[1]!, ['output']) !== undefined
  ) {
    const word = misspelledOutput[1]!;
    const start = tailStart + misspelledOutput.index + misspelledOutput[0].indexOf(word, 2);
    return error(
      'SEQ002',
      spanOnLine(start, start + word.length),
      `\`${word} ${t.image}\` is not a step`,
      `did you mean \`output ${t.image}\`? \`output NAME\` makes the value a graph output`,
    );
  }
  // Two steps side by side in a chain: the arrow between them is missing. The second step starts at
  // the token, or, when the parser took its name for the source of a new chain, at the name before it.
  const inStep = rule === 'step' || rule === 'args' || rule === 'arg' || rule === 'value';
  const nameBeforeParen = rule === 'chain' && t.image === '(' ? /([A-Za-z_]\w*)\s*$/.exec(before) : null;
  const stepStart =
    nameBeforeParen !== null
      ? tailStart + nameBeforeParen.index
      : isName || t.tokenType.name === 'Output'
        ? t.startOffset
        : undefined;
  if (!inStep && stepStart !== undefined) {
    const previousStep = /[)\w](\s*)$/.exec(text.slice(tailStart, stepStart));
    if (previousStep !== null && text.slice(lineStart, stepStart).includes('->')) {
      const gapStart = stepStart - previousStep[1]!.length;
      const next = nameBeforeParen?.[1] ?? t.image;
      return error(
        'SEQ002',
        spanOnLine(gapStart, stepStart),
        `expected \`->\` before \`${next}\``,
        `did you forget \`->\`? Steps in a chain are joined by arrows: \`-> ${next}\``,
      );
    }
  }
  // `-> Embedding(…) LSTM(8) -> …`: the parser took `LSTM(8)` for the head of a `decoder(…) { … }` block.
  if (rule === 'callMember' || rule === 'mergeChain') {
    const window = Math.max(0, t.startOffset - 200);
    const call = /([A-Za-z_]\w*)\s*\([^(){}]*\)\s*$/.exec(text.slice(window, t.startOffset));
    if (call !== null) {
      const nameStart = window + call.index;
      const nameLineStart = text.lastIndexOf('\n', nameStart - 1) + 1;
      const lineBefore = text.slice(nameLineStart, nameStart);
      const previousStep = /[)\w](\s*)$/.exec(lineBefore.slice(-200));
      if (previousStep !== null && lineBefore.includes('->')) {
        const line = text.slice(0, nameStart).split('\n').length;
        const column = nameStart - nameLineStart + 1;
        const gapStart = nameStart - previousStep[1]!.length;
        const gap: Span = {
          source,
          start: { offset: gapStart, line, column: column - previousStep[1]!.length },
          end: { offset: nameStart, line, column },
        };
        return error(
          'SEQ002',
          gap,
          `expected \`->\` before \`${call[1]}\``,
          `did you forget \`->\`? Steps in a chain are joined by arrows: \`-> ${call[1]}(…)\``,
        );
      }
    }
  }
  // `imput tokens: …` or `modle M { … }` at the start of a statement.
  if (isName && (tailStart === lineStart ? /^\s*$|\{\s*$/ : /\{\s*$/).test(before)) {
    // Outside every rule (the parser stops before entering one) is the top of the file, where `model` goes.
    const keyword = rule === undefined || rule === 'file' ? 'model' : 'input';
    if (t.image !== keyword && closest(t.image, [keyword]) !== undefined) {
      const form =
        keyword === 'model'
          ? 'A spec is `model Name { inputs and chains }`'
          : 'An input is declared as `input tokens: int64[batch, time]`';
      return error(
        'SEQ002',
        spanOnLine(t.startOffset, t.startOffset + t.image.length),
        `${describeToken(t)} cannot start anything here`,
        `did you mean \`${keyword}\`? ${form}`,
      );
    }
  }
  return undefined;
}
