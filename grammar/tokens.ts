// The tokens of the .seq language, each with a human LABEL so parse errors read well.

import { createToken, Lexer, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, group: Lexer.SKIPPED });

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'a name' });

/**
 * Keywords are identifiers with a reserved meaning; `longer_alt` keeps `modelName` an identifier.
 * `lengths`, `encoder` and `decoder` stay plain names because specs use them as input names and labels.
 */
function keyword(word: string): TokenType {
  return createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(word),
    longer_alt: Identifier,
    label: `'${word}'`,
  });
}

export const Model = keyword('model');
export const Input = keyword('input');
export const Output = keyword('output');
export const True = keyword('true');
export const False = keyword('false');

export const Arrow = createToken({ name: 'Arrow', pattern: /->/, label: "'->'" });
export const Number = createToken({
  name: 'Number',
  pattern: /-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?/,
  label: 'a number',
});
export const StringLiteral = createToken({ name: 'StringLiteral', pattern: /"[^"\n]*"/, label: 'a string' });
export const LBrace = createToken({ name: 'LBrace', pattern: /\{/, label: "'{'" });
export const RBrace = createToken({ name: 'RBrace', pattern: /\}/, label: "'}'" });
export const LParen = createToken({ name: 'LParen', pattern: /\(/, label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, label: "')'" });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/, label: "'['" });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/, label: "']'" });
export const Colon = createToken({ name: 'Colon', pattern: /:/, label: "':'" });
export const Dot = createToken({ name: 'Dot', pattern: /\./, label: "'.'" });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: "','" });
export const Equals = createToken({ name: 'Equals', pattern: /=/, label: "'='" });

/** Order matters: keywords before Identifier, Arrow before Number (so `->` is not `-`). */
export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  Arrow,
  Model,
  Input,
  Output,
  True,
  False,
  Identifier,
  Number,
  StringLiteral,
  LBrace,
  RBrace,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Colon,
  Dot,
  Comma,
  Equals,
];

export const seqLexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });
