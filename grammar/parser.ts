// The .seq grammar as one reusable Chevrotain CST parser; its rules are the language's definition.

import { CstParser, type IParserErrorMessageProvider } from 'chevrotain';
import {
  allTokens,
  Arrow,
  Colon,
  Comma,
  Dot,
  Equals,
  False,
  Identifier,
  Input,
  LBrace,
  LBracket,
  LParen,
  Model,
  Number,
  Output,
  RBrace,
  RBracket,
  RParen,
  StringLiteral,
  True,
} from './tokens.js';

/** The grammar's rules; grammar/seq.ebnf is their generated, readable form (`npm run grammar`). */
export class SeqParser extends CstParser {
  /**
   * With `recoveryEnabled`, a parse goes on after an error to report more; without, it stops at the
   * first. `errorMessageProvider` words the errors (Chevrotain's own English when left out).
   */
  constructor(
    config: { readonly recoveryEnabled: boolean; readonly errorMessageProvider?: IParserErrorMessageProvider } = {
      recoveryEnabled: true,
    },
  ) {
    super(allTokens, {
      recoveryEnabled: config.recoveryEnabled,
      nodeLocationTracking: 'full',
      maxLookahead: 3,
      ...(config.errorMessageProvider === undefined ? {} : { errorMessageProvider: config.errorMessageProvider }),
    });
    this.performSelfAnalysis();
  }

  public file = this.RULE('file', () => {
    this.MANY(() => this.SUBRULE(this.model));
  });

  public model = this.RULE('model', () => {
    this.CONSUME(Model);
    this.CONSUME(Identifier);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.member));
    this.CONSUME(RBrace);
  });

  public member = this.RULE('member', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.inputDecl) },
      { ALT: () => this.SUBRULE(this.chain) },
      { ALT: () => this.SUBRULE(this.encoderBlock) },
      { ALT: () => this.SUBRULE(this.callMember) },
    ]);
  });

  public inputDecl = this.RULE('inputDecl', () => {
    this.CONSUME(Input);
    this.CONSUME(Identifier);
    this.CONSUME(Colon);
    this.SUBRULE(this.typeExpr);
  });

  public typeExpr = this.RULE('typeExpr', () => {
    this.CONSUME(Identifier);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(LBracket);
          this.SUBRULE(this.dim);
          this.MANY(() => {
            this.CONSUME(Comma);
            this.SUBRULE2(this.dim);
          });
          this.CONSUME(RBracket);
        },
      },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.CONSUME2(Identifier);
          this.CONSUME(RParen);
        },
      },
    ]);
  });

  public dim = this.RULE('dim', () => {
    this.OR([{ ALT: () => this.CONSUME(Identifier) }, { ALT: () => this.CONSUME(Number) }]);
  });

  /** A label or a chain's source: names joined by dots, as PyTorch names nested modules (`encoder.rnn`). */
  public qualifiedName = this.RULE('qualifiedName', () => {
    this.CONSUME(Identifier);
    this.MANY(() => {
      this.CONSUME(Dot);
      this.CONSUME2(Identifier);
    });
  });

  public chain = this.RULE('chain', () => {
    this.SUBRULE(this.qualifiedName);
    this.AT_LEAST_ONE(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.step);
    });
  });

  public encoderBlock = this.RULE('encoderBlock', () => {
    this.CONSUME(Identifier);
    this.CONSUME(LBrace);
    this.MANY(() => this.OR([{ ALT: () => this.SUBRULE(this.chain) }, { ALT: () => this.SUBRULE(this.mergeChain) }]));
    this.CONSUME(RBrace);
  });

  /** A chain that starts from a merge, inside an encoder block (outside, `callMember` reads it). */
  public mergeChain = this.RULE('mergeChain', () => {
    this.CONSUME(Identifier);
    this.CONSUME(LParen);
    this.OPTION(() => this.SUBRULE(this.args));
    this.CONSUME(RParen);
    this.AT_LEAST_ONE(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.step);
    });
  });

  /**
   * `name(args) { -> step … }` is a decoder block, and `name(args) -> step …` a chain that starts
   * from a merge (`concat(a, b) -> …`). One rule holds both, since they differ only after the `)`;
   * the AST builder tells them apart and the checker reads the arguments.
   */
  public callMember = this.RULE('callMember', () => {
    this.CONSUME(Identifier);
    this.CONSUME(LParen);
    this.OPTION(() => this.SUBRULE(this.args));
    this.CONSUME(RParen);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(LBrace);
          this.MANY(() => {
            this.CONSUME(Arrow);
            this.SUBRULE(this.step);
          });
          this.CONSUME(RBrace);
        },
      },
      {
        ALT: () => {
          this.AT_LEAST_ONE(() => {
            this.CONSUME2(Arrow);
            this.SUBRULE2(this.step);
          });
        },
      },
    ]);
  });

  public step = this.RULE('step', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Output);
          this.CONSUME(Identifier);
        },
      },
      {
        ALT: () => {
          this.SUBRULE(this.qualifiedName);
          this.OPTION(() => {
            this.CONSUME(Colon);
            this.CONSUME3(Identifier);
          });
          this.OPTION2(() => {
            this.CONSUME(LParen);
            this.OPTION3(() => this.SUBRULE(this.args));
            this.CONSUME(RParen);
          });
        },
      },
    ]);
  });

  public args = this.RULE('args', () => {
    this.SUBRULE(this.arg);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.arg);
    });
  });

  public arg = this.RULE('arg', () => {
    this.OPTION(() => {
      this.CONSUME(Identifier);
      this.CONSUME(Equals);
    });
    this.SUBRULE(this.value);
  });

  public value = this.RULE('value', () => {
    this.OR([
      { ALT: () => this.CONSUME(Number) },
      { ALT: () => this.CONSUME(True) },
      { ALT: () => this.CONSUME(False) },
      { ALT: () => this.SUBRULE(this.qualifiedName) },
      { ALT: () => this.CONSUME(StringLiteral) },
    ]);
  });
}

/** The one parser instance; Chevrotain parsers are reused by resetting `input`. */
export const seqParser = new SeqParser();
