// The wording of parse errors, made by Chevrotain's error message provider from the facts it hands over.

import type { IParserErrorMessageProvider, IRecognitionException, IToken, TokenType } from 'chevrotain';

/** What a parse error is about, as data: which tokens would have fitted, and the one found instead. */
export interface ParseErrorFacts {
  /** `mismatchedToken`: one token was required; `noAlternative`: none of a choice's starts fit; `noIteration`: a repetition needs one round; `extraInput`: text after the last model. */
  readonly kind: 'mismatchedToken' | 'noAlternative' | 'noIteration' | 'extraInput';
  /** The tokens that could have come next, each once, in grammar order; empty when the parser names none. */
  readonly expected: readonly TokenType[];
  readonly found: IToken;
  /** The message the provider gave Chevrotain for this error. */
  readonly message: string;
}

/**
 * The facts behind each message, by the token the parser found. A parse that stops at its first
 * error makes one message per parse, read right after it; the message check below guards against
 * a token (the end of the text is one shared token) that a later parse reused.
 */
const factsByFoundToken = new WeakMap<IToken, ParseErrorFacts>();

/** The facts the provider recorded for `e`, or undefined when its message did not come from the provider. */
export function parseErrorFacts(e: IRecognitionException): ParseErrorFacts | undefined {
  const facts = factsByFoundToken.get(e.token);
  return facts !== undefined && facts.message === e.message ? facts : undefined;
}

/** seqc's parse error messages: `expected ']', found the name `time``, from the labels of grammar/tokens.ts. */
export const seqErrorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return record('mismatchedToken', [expected], actual);
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual }) {
    return record('noAlternative', firstTokens(expectedPathsPerAlt.flat()), actual[0]!);
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual }) {
    return record('noIteration', firstTokens(expectedIterationPaths), actual[0]!);
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return record('extraInput', [], firstRedundant);
  },
};

/** How a token reads in a message: `the name `x``, `the number 3`, `` `}` `` or `the end of the file`. */
export function describeToken(t: IToken): string {
  if (isEndOfText(t)) return 'the end of the file';
  const kind = t.tokenType.name;
  if (kind === 'Identifier') return `the name \`${t.image}\``;
  if (kind === 'Number') return `the number ${t.image}`;
  return `\`${t.image}\``;
}

/** Whether the parser ran out of text: Chevrotain's end-of-input token has no place in it. */
export function isEndOfText(t: IToken): boolean {
  return t.tokenType.name === 'EOF' || Number.isNaN(t.startOffset);
}

function record(kind: ParseErrorFacts['kind'], expected: readonly TokenType[], found: IToken): string {
  const message = wording(expected, found);
  factsByFoundToken.set(found, { kind, expected, found, message });
  return message;
}

function wording(expected: readonly TokenType[], found: IToken): string {
  const foundText = describeToken(found);
  if (expected.length === 0) return `unexpected ${foundText}`;
  // A name can start a member, but only when what follows fits; say so rather than "expected a name, found a name".
  if (found.tokenType.name === 'Identifier' && expected.some((t) => t.name === 'Identifier'))
    return `${foundText} cannot start anything here`;
  const labels = expected.map(label);
  const list = labels.length === 1 ? labels[0] : `${labels.slice(0, -1).join(', ')} or ${labels[labels.length - 1]}`;
  return `expected ${list}, found ${foundText}`;
}

/** The first token of each path, each once, in order. */
function firstTokens(paths: readonly (readonly TokenType[])[]): TokenType[] {
  const starts: TokenType[] = [];
  for (const path of paths) {
    const start = path[0];
    if (start !== undefined && !starts.includes(start)) starts.push(start);
  }
  return starts;
}

function label(t: TokenType): string {
  return t.LABEL ?? t.name;
}
