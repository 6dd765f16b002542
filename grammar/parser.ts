// The .seq grammar as one reusable Chevrotain CST parser; its rules are the language's definition.

import { CstParser, type IParserErrorMessageProvider } from 'chevrotain';
import {
  allTokens,
  Arrow,
  Colon,
  Comma,
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
      { ALT: () => this.SUBRULE(this.decoderBlock) },
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

  public chain = this.RULE('chain', () => {
    this.CONSUME(Identifier);
    this.AT_LEAST_ONE(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.step);
    });
  });

  public encoderBlock = this.RULE('encoderBlock', () => {
    this.CONSUME(Identifier);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.chain));
    this.CONSUME(RBrace);
  });

  public decoderBlock = this.RULE('decoderBlock', () => {
    this.CONSUME(Identifier);
    this.CONSUME(LParen);
    this.OPTION(() => this.SUBRULE(this.args));
    this.CONSUME(RParen);
    this.CONSUME(LBrace);
    this.MANY(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.step);
    });
    this.CONSUME(RBrace);
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
          this.CONSUME2(Identifier);
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
      { ALT: () => this.CONSUME2(Identifier) },
      { ALT: () => this.CONSUME(StringLiteral) },
    ]);
  });
}

/** The one parser instance; Chevrotain parsers are reused by resetting `input`. */
export const seqParser = new SeqParser();
