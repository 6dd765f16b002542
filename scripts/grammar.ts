// Generates the checked-in renderings of the grammar (EBNF, railroad diagrams, a TextMate grammar, typed CST) from the parser itself.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCstDts } from '@chevrotain/cst-dts-gen';
import {
  Alternation,
  Alternative,
  createSyntaxDiagramsCode,
  Lexer,
  NonTerminal,
  Option,
  Repetition,
  RepetitionMandatory,
  RepetitionMandatoryWithSeparator,
  RepetitionWithSeparator,
  Terminal,
} from 'chevrotain';
import type { IProduction, Rule, TokenType } from 'chevrotain';
import { elementTypes } from '../src/check/inputs.js';
import { builtinNames, layerKinds } from '../src/check/signatures.js';
import { seqParser } from '../grammar/parser.js';
import {
  allTokens,
  Arrow,
  Colon,
  Comma,
  Dot,
  Comment,
  Equals,
  False,
  Identifier,
  Input,
  LBrace,
  LBracket,
  LParen,
  Model,
  Number as NumberToken,
  RBrace,
  RBracket,
  RParen,
  StringLiteral,
  True,
} from '../grammar/tokens.js';

/** One generated file: its path relative to the repository root, and a function that renders its text. */
export interface GeneratedFile {
  readonly path: string;
  readonly render: () => string;
}

/** Every generated file, in the order the CLI writes them. */
export const generatedFiles: readonly GeneratedFile[] = [
  { path: 'grammar/seq.ebnf', render: ebnf },
  { path: 'grammar/railroad.html', render: railroadHtml },
  { path: 'grammar/seq.tmLanguage.json', render: textMateGrammar },
  { path: 'grammar/cst.d.ts', render: cstDts },
];

/** The syntax rules, walked from the parser's GAST, followed by the lexical rules, read from the token patterns. */
export function ebnf(): string {
  const rules = Object.values(seqParser.getGAstProductions());
  const lexical = lexicalRules();
  const width = Math.max(...rules.map((r) => r.name.length), ...lexical.map((l) => l.name.length));
  const lines = [
    '/* The .seq grammar, generated from grammar/parser.ts and grammar/tokens.ts by scripts/grammar.ts; do not edit. */',
    "/* Notation (W3C EBNF): 'x' is literal text, X? is optional, X* repeats zero or more times, X+ one or more, */",
    '/* ( ) groups, | separates alternatives, A - B is any A that is not a B, and /…/ is a JavaScript regular expression. */',
    '',
    '/* Syntax */',
    '',
    ...rules.flatMap((rule) => ruleLines(rule, width)),
    '',
    '/* Tokens. The lexer tries the patterns in the order of grammar/tokens.ts and takes the first that matches; */',
    '/* a keyword followed by more name characters is a NAME, so `modelName` is one NAME. */',
    '',
    ...lexical.map(
      (l) => `${l.name.padEnd(width)} ::= ${l.definition}${l.skipped ? '  /* skipped between tokens */' : ''}`,
    ),
  ];
  return lines.join('\n') + '\n';
}

/** Chevrotain's railroad-diagram page, with its scripts and stylesheet inlined so that it works offline. */
export function railroadHtml(): string {
  const base = 'chevrotain-diagrams/';
  const page = createSyntaxDiagramsCode(seqParser.getSerializedGastProductions(), {
    resourceBase: base,
    css: `${base}diagrams.css`,
  });
  const header =
    '<!-- The .seq grammar as railroad diagrams, generated from grammar/parser.ts by scripts/grammar.ts; do not edit. -->';
  const inlined = page
    .replace('<!-- This is a generated file -->', header)
    .replace(
      /<link rel='stylesheet' href='chevrotain-diagrams\/([^']+)'>/g,
      (_, path: string) => `<style>\n${diagramsAsset(path)}</style>`,
    )
    .replace(
      /<script src='chevrotain-diagrams\/([^']+)'><\/script>/g,
      (_, path: string) => `<script>\n${diagramsAsset(path)}</script>`,
    );
  if (inlined.includes(base)) {
    throw new Error(`createSyntaxDiagramsCode referred to ${base} in a way scripts/grammar.ts does not inline`);
  }
  const trimmed = inlined
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
  return trimmed + '\n';
}

/** A TextMate grammar for editors, built from the token patterns and the checker's layer and builtin names. */
export function textMateGrammar(): string {
  const name = patternSource(Identifier);
  const word = (words: readonly string[]): string => `\\b(?:${words.join('|')})\\b`;
  const keywordTokens = allTokens.filter((t) => tokenKind(t) === 'keyword' && t !== True && t !== False);
  const grammar = {
    comment: 'Generated from grammar/tokens.ts and src/check/signatures.ts by scripts/grammar.ts; do not edit.',
    name: 'Seq',
    scopeName: 'source.seq',
    fileTypes: ['seq'],
    patterns: [
      'comment',
      'string',
      'model-declaration',
      'input-declaration',
      'label',
      'argument-name',
      'keyword',
      'contextual-keyword',
      'boolean',
      'element-type',
      'layer-kind',
      'builtin',
      'arrow',
      'number',
      'punctuation',
    ].map((rule) => ({ include: `#${rule}` })),
    repository: {
      comment: { name: 'comment.line.number-sign.seq', match: patternSource(Comment) },
      string: { name: 'string.quoted.double.seq', match: patternSource(StringLiteral) },
      'model-declaration': {
        match: `\\b(${patternSource(Model)})\\s+(${name})`,
        captures: { '1': { name: 'keyword.other.seq' }, '2': { name: 'entity.name.type.model.seq' } },
      },
      'input-declaration': {
        match: `\\b(${patternSource(Input)})\\s+(${name})`,
        captures: { '1': { name: 'keyword.other.seq' }, '2': { name: 'variable.other.input.seq' } },
      },
      label: {
        match: `\\b(${name}(?:${patternSource(Dot)}${name})*)\\s*(${patternSource(Colon)})`,
        captures: { '1': { name: 'entity.name.tag.label.seq' }, '2': { name: 'punctuation.separator.label.seq' } },
      },
      'argument-name': {
        match: `\\b(${name})\\s*(${patternSource(Equals)})`,
        captures: { '1': { name: 'variable.parameter.seq' }, '2': { name: 'keyword.operator.assignment.seq' } },
      },
      keyword: { name: 'keyword.other.seq', match: word(keywordTokens.map(patternSource)) },
      'contextual-keyword': {
        name: 'keyword.other.contextual.seq',
        match: contextualKeywords.map((k) => `\\b${k.word}\\b(?=\\s*${patternSource(k.before)})`).join('|'),
      },
      boolean: { name: 'constant.language.boolean.seq', match: word([True, False].map(patternSource)) },
      'element-type': { name: 'storage.type.seq', match: word(elementTypes) },
      'layer-kind': { name: 'support.class.layer.seq', match: word(layerKinds) },
      builtin: { name: 'support.function.builtin.seq', match: word(builtinNames) },
      arrow: { name: 'keyword.operator.arrow.seq', match: patternSource(Arrow) },
      number: { name: 'constant.numeric.seq', match: `(?<![A-Za-z0-9_.])${patternSource(NumberToken)}` },
      punctuation: {
        patterns: punctuationScopes.map(([token, scope]) => ({ name: scope, match: patternSource(token) })),
      },
    },
  };
  return JSON.stringify(grammar, null, 2) + '\n';
}

/** The typed CST: one interface per rule with its children, and a visitor interface. */
export function cstDts(): string {
  const header =
    '// The typed CST of the .seq grammar, generated from grammar/parser.ts by scripts/grammar.ts; do not edit.\n\n';
  return header + generateCstDts(seqParser.getGAstProductions()).trimEnd() + '\n';
}

/**
 * Names the grammar reads as plain NAMEs but the language gives a meaning, each with the token that follows it there.
 * They are not tokens (specs use `encoder`, `decoder` and `lengths` as labels and input names), so they live here.
 */
const contextualKeywords: readonly { readonly word: string; readonly before: TokenType }[] = [
  { word: 'encoder', before: LBrace },
  { word: 'decoder', before: LParen },
  { word: 'lengths', before: LParen },
];

const punctuationScopes: readonly (readonly [TokenType, string])[] = [
  [LBrace, 'punctuation.section.block.begin.seq'],
  [RBrace, 'punctuation.section.block.end.seq'],
  [LParen, 'punctuation.section.parens.begin.seq'],
  [RParen, 'punctuation.section.parens.end.seq'],
  [LBracket, 'punctuation.section.brackets.begin.seq'],
  [RBracket, 'punctuation.section.brackets.end.seq'],
  [Comma, 'punctuation.separator.comma.seq'],
  [Dot, 'punctuation.accessor.dot.seq'],
];

type TokenKind = 'keyword' | 'punctuation' | 'named' | 'skipped';

interface LexicalRule {
  readonly name: string;
  readonly definition: string;
  readonly skipped: boolean;
}

/** A rule's lines: one line for a sequence, one line per alternative when the rule is a single choice. */
function ruleLines(rule: Rule, width: number): string[] {
  const head = `${rule.name.padEnd(width)} ::= `;
  const only = rule.definition.length === 1 ? rule.definition[0] : undefined;
  if (only instanceof Alternation) {
    return choices(only).map((text, i) => (i === 0 ? head : `${' '.repeat(width + 3)}| `) + text);
  }
  return [head + sequence(rule.definition)];
}

/** The alternatives of a choice, each rendered as a sequence. */
function choices(alternation: Alternation): string[] {
  return alternation.definition.map((alt) => (alt instanceof Alternative ? sequence(alt.definition) : production(alt)));
}

function sequence(productions: readonly IProduction[]): string {
  return productions.length === 0 ? '/* nothing */' : productions.map(production).join(' ');
}

function production(p: IProduction): string {
  if (p instanceof NonTerminal) return p.nonTerminalName;
  if (p instanceof Terminal) return terminalName(p.terminalType);
  if (p instanceof Alternation) return `( ${choices(p).join(' | ')} )`;
  if (p instanceof Alternative) return sequence(p.definition);
  if (p instanceof Option) return `${group(p.definition)}?`;
  if (p instanceof Repetition) return `${group(p.definition)}*`;
  if (p instanceof RepetitionMandatory) return `${group(p.definition)}+`;
  if (p instanceof RepetitionMandatoryWithSeparator) return separated(p.definition, p.separator);
  if (p instanceof RepetitionWithSeparator) return `( ${separated(p.definition, p.separator)} )?`;
  throw new Error(`scripts/grammar.ts does not know the GAST production ${p.constructor.name}`);
}

/** A repeated part as one operand: bare when it is a single name or group, parenthesized otherwise. */
function group(productions: readonly IProduction[]): string {
  const only = productions.length === 1 ? productions[0] : undefined;
  if (only instanceof NonTerminal || only instanceof Terminal || only instanceof Alternation) return production(only);
  return `( ${sequence(productions)} )`;
}

function separated(productions: readonly IProduction[], separator: TokenType): string {
  const item = sequence(productions);
  return `${item} ( ${terminalName(separator)} ${item} )*`;
}

/** How a token reads in the syntax rules: its literal text, or the name of its lexical rule. */
function terminalName(token: TokenType): string {
  const literal = literalText(token);
  if (literal !== undefined) return quote(literal);
  const label = token.LABEL;
  if (label === undefined) return token.name.toUpperCase();
  return label
    .replace(/^(?:a|an) /, '')
    .replace(/\s+/g, '_')
    .toUpperCase();
}

/** The lexical rules: keywords, punctuation, the named tokens and the skipped ones, each group in lexer order. */
function lexicalRules(): LexicalRule[] {
  const ofKind = (kind: TokenKind): TokenType[] => allTokens.filter((t) => tokenKind(t) === kind);
  const keywords = ofKind('keyword');
  const rules: LexicalRule[] = [
    { name: 'keyword', definition: keywords.map(terminalName).join(' | '), skipped: false },
    { name: 'punctuation', definition: ofKind('punctuation').map(terminalName).join(' | '), skipped: false },
  ];
  for (const token of ofKind('named')) {
    const tokenPattern = `/${patternSource(token)}/`;
    const excludesKeywords = keywords.some((k) => k.LONGER_ALT === token);
    rules.push({
      name: terminalName(token),
      definition: excludesKeywords ? `${tokenPattern} - keyword` : tokenPattern,
      skipped: false,
    });
  }
  for (const token of ofKind('skipped')) {
    rules.push({ name: terminalName(token), definition: `/${patternSource(token)}/`, skipped: true });
  }
  return rules;
}

function tokenKind(token: TokenType): TokenKind {
  if (token.GROUP === Lexer.SKIPPED) return 'skipped';
  if (literalText(token) === undefined) return 'named';
  return token.LONGER_ALT === undefined ? 'punctuation' : 'keyword';
}

function patternSource(token: TokenType): string {
  const pattern = token.PATTERN;
  if (pattern instanceof RegExp) return pattern.source;
  if (typeof pattern === 'string') return pattern.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  throw new Error(`the token ${token.name} has a custom pattern, which scripts/grammar.ts cannot render`);
}

/** The text a token always matches, when its pattern is plain characters (escaped punctuation included). */
function literalText(token: TokenType): string | undefined {
  const pattern = token.PATTERN;
  if (typeof pattern === 'string') return pattern;
  if (!(pattern instanceof RegExp) || pattern.flags !== '') return undefined;
  if (!/^(?:[^\\^$.*+?()[\]{}|]|\\[^A-Za-z0-9])+$/.test(pattern.source)) return undefined;
  return pattern.source.replace(/\\(.)/g, '$1');
}

function quote(text: string): string {
  return text.includes("'") ? `"${text}"` : `'${text}'`;
}

/** A file of Chevrotain's diagrams folder, ending in a newline; it must not close the tag it is inlined into. */
function diagramsAsset(path: string): string {
  const requireHere = createRequire(import.meta.url);
  const chevrotainRoot = resolve(dirname(requireHere.resolve('chevrotain')), '..', '..');
  const text = readFileSync(join(chevrotainRoot, 'diagrams', path), 'utf8');
  if (/<\/(?:script|style)/i.test(text))
    throw new Error(`diagrams/${path} contains a closing tag and cannot be inlined`);
  return text.endsWith('\n') ? text : text + '\n';
}

/** Writes every generated file, or with `--check` only reports the ones that differ and exits with 1. */
function main(args: readonly string[]): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const check = args.includes('--check');
  const drifted: string[] = [];
  for (const file of generatedFiles) {
    const path = join(root, file.path);
    const text = file.render();
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    drifted.push(file.path);
    if (!check) writeFileSync(path, text);
  }
  if (check && drifted.length > 0) {
    console.error(`out of date: ${drifted.join(', ')}; run \`npm run grammar\``);
    process.exitCode = 1;
  } else if (!check) {
    console.log(drifted.length === 0 ? 'grammar files are up to date' : `wrote ${drifted.join(', ')}`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
