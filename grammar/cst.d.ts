// The typed CST of the .seq grammar, generated from grammar/parser.ts by scripts/grammar.ts; do not edit.

import type { CstNode, ICstVisitor, IToken } from "chevrotain";

export interface FileCstNode extends CstNode {
  name: "file";
  children: FileCstChildren;
}

export type FileCstChildren = {
  model?: ModelCstNode[];
};

export interface ModelCstNode extends CstNode {
  name: "model";
  children: ModelCstChildren;
}

export type ModelCstChildren = {
  Model: IToken[];
  Identifier: IToken[];
  LBrace: IToken[];
  member?: MemberCstNode[];
  RBrace: IToken[];
};

export interface MemberCstNode extends CstNode {
  name: "member";
  children: MemberCstChildren;
}

export type MemberCstChildren = {
  inputDecl?: InputDeclCstNode[];
  chain?: ChainCstNode[];
  encoderBlock?: EncoderBlockCstNode[];
  callMember?: CallMemberCstNode[];
};

export interface InputDeclCstNode extends CstNode {
  name: "inputDecl";
  children: InputDeclCstChildren;
}

export type InputDeclCstChildren = {
  Input: IToken[];
  Identifier: IToken[];
  Colon: IToken[];
  typeExpr: TypeExprCstNode[];
};

export interface TypeExprCstNode extends CstNode {
  name: "typeExpr";
  children: TypeExprCstChildren;
}

export type TypeExprCstChildren = {
  Identifier: (IToken)[];
  LBracket?: IToken[];
  dim?: (DimCstNode)[];
  Comma?: IToken[];
  RBracket?: IToken[];
  LParen?: IToken[];
  RParen?: IToken[];
};

export interface DimCstNode extends CstNode {
  name: "dim";
  children: DimCstChildren;
}

export type DimCstChildren = {
  Identifier?: IToken[];
  Number?: IToken[];
};

export interface QualifiedNameCstNode extends CstNode {
  name: "qualifiedName";
  children: QualifiedNameCstChildren;
}

export type QualifiedNameCstChildren = {
  Identifier: (IToken)[];
  Dot?: IToken[];
};

export interface ChainCstNode extends CstNode {
  name: "chain";
  children: ChainCstChildren;
}

export type ChainCstChildren = {
  qualifiedName: QualifiedNameCstNode[];
  Arrow: IToken[];
  step: StepCstNode[];
};

export interface EncoderBlockCstNode extends CstNode {
  name: "encoderBlock";
  children: EncoderBlockCstChildren;
}

export type EncoderBlockCstChildren = {
  Identifier: IToken[];
  LBrace: IToken[];
  chain?: ChainCstNode[];
  mergeChain?: MergeChainCstNode[];
  RBrace: IToken[];
};

export interface MergeChainCstNode extends CstNode {
  name: "mergeChain";
  children: MergeChainCstChildren;
}

export type MergeChainCstChildren = {
  Identifier: IToken[];
  LParen: IToken[];
  args?: ArgsCstNode[];
  RParen: IToken[];
  Arrow: IToken[];
  step: StepCstNode[];
};

export interface CallMemberCstNode extends CstNode {
  name: "callMember";
  children: CallMemberCstChildren;
}

export type CallMemberCstChildren = {
  Identifier: IToken[];
  LParen: IToken[];
  args?: ArgsCstNode[];
  RParen: IToken[];
  LBrace?: IToken[];
  Arrow?: (IToken)[];
  step?: (StepCstNode)[];
  RBrace?: IToken[];
};

export interface StepCstNode extends CstNode {
  name: "step";
  children: StepCstChildren;
}

export type StepCstChildren = {
  Output?: IToken[];
  Identifier?: (IToken)[];
  qualifiedName?: QualifiedNameCstNode[];
  Colon?: IToken[];
  LParen?: IToken[];
  args?: ArgsCstNode[];
  RParen?: IToken[];
};

export interface ArgsCstNode extends CstNode {
  name: "args";
  children: ArgsCstChildren;
}

export type ArgsCstChildren = {
  arg: (ArgCstNode)[];
  Comma?: IToken[];
};

export interface ArgCstNode extends CstNode {
  name: "arg";
  children: ArgCstChildren;
}

export type ArgCstChildren = {
  Identifier?: IToken[];
  Equals?: IToken[];
  value: ValueCstNode[];
};

export interface ValueCstNode extends CstNode {
  name: "value";
  children: ValueCstChildren;
}

export type ValueCstChildren = {
  Number?: IToken[];
  True?: IToken[];
  False?: IToken[];
  qualifiedName?: QualifiedNameCstNode[];
  StringLiteral?: IToken[];
};

export interface ICstNodeVisitor<IN, OUT> extends ICstVisitor<IN, OUT> {
  file(children: FileCstChildren, param?: IN): OUT;
  model(children: ModelCstChildren, param?: IN): OUT;
  member(children: MemberCstChildren, param?: IN): OUT;
  inputDecl(children: InputDeclCstChildren, param?: IN): OUT;
  typeExpr(children: TypeExprCstChildren, param?: IN): OUT;
  dim(children: DimCstChildren, param?: IN): OUT;
  qualifiedName(children: QualifiedNameCstChildren, param?: IN): OUT;
  chain(children: ChainCstChildren, param?: IN): OUT;
  encoderBlock(children: EncoderBlockCstChildren, param?: IN): OUT;
  mergeChain(children: MergeChainCstChildren, param?: IN): OUT;
  callMember(children: CallMemberCstChildren, param?: IN): OUT;
  step(children: StepCstChildren, param?: IN): OUT;
  args(children: ArgsCstChildren, param?: IN): OUT;
  arg(children: ArgCstChildren, param?: IN): OUT;
  value(children: ValueCstChildren, param?: IN): OUT;
}
