// Tests that the checked-in grammar renderings match the parser, and that the highlighter and diagrams work as shipped.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { runInContext, createContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from '../scripts/grammar.js';
import { seqParser } from '../grammar/parser.js';

const root = new URL('../', import.meta.url);
const specsDir = new URL('specs/', root);

function checkedIn(path: string): string | undefined {
  const url = new URL(path, root);
  return existsSync(url) ? readFileSync(url, 'utf8') : undefined;
}

function generated(path: string): string {
  return checkedIn(path) ?? '';
}

describe('generated grammar files', () => {
  for (const file of generatedFiles) {
    it(`${file.path} matches the parser`, () => {
      const message = `${file.path} drifted from the parser; run \`npm run grammar\``;
      const current = checkedIn(file.path);
      expect(current, message).toBeDefined();
      expect(current === file.render(), message).toBe(true);
    });
  }
});

describe('grammar/seq.ebnf', () => {
  it('defines every parser rule', () => {
    const text = generated('grammar/seq.ebnf');
    for (const rule of Object.keys(seqParser.getGAstProductions())) {
      expect(text, `no rule ${rule}`).toMatch(new RegExp(`^${rule} +::= `, 'm'));
    }
  });
});

describe('grammar/railroad.html', () => {
  const html = generated('grammar/railroad.html');

  it('loads nothing from the network', () => {
    expect(html).not.toMatch(/<script[^>]*\ssrc\s*=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
  });

  it('has no http URL outside comments other than XML namespace names', () => {
    // The inlined railroad-diagrams script names the SVG and XLink namespaces; browsers never fetch those.
    const urls = withoutComments(html).match(/https?:\/\/[^\s"'<>)]+/g) ?? [];
    expect(urls.filter((url) => !url.startsWith('http://www.w3.org/'))).toEqual([]);
  });

  it('draws every rule with its inlined scripts alone', () => {
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    const context = createContext({});
    runInContext('var window = this;', context);
    // The last script hands the drawing to the page's document; the builder can be called without one.
    for (const script of scripts.slice(0, -1)) runInContext(script, context);
    const drawn = runInContext('diagrams_builder.buildSyntaxDiagramsText(window.serializedGrammar)', context) as string;
    expect(drawn).toContain('<svg');
    for (const rule of Object.keys(seqParser.getGAstProductions())) {
      expect(drawn).toContain(`<h2 class="diagramHeader">${rule}</h2>`);
    }
  });
});

describe('grammar/seq.tmLanguage.json', () => {
  const grammar = JSON.parse(generated('grammar/seq.tmLanguage.json')) as TextMateGrammar;
  const rules = flatten(grammar.patterns, grammar.repository);

  it('names the language', () => {
    expect(grammar.scopeName).toBe('source.seq');
    expect(grammar.fileTypes).toEqual(['seq']);
  });

  it('has regular expressions that compile in JavaScript', () => {
    const sources = regexSources(grammar);
    expect(sources.length).toBeGreaterThan(10);
    for (const source of sources) expect(() => new RegExp(source), source).not.toThrow();
  });

  it('highlights the example specs', () => {
    const specs = readdirSync(specsDir).filter((f) => f.endsWith('.seq'));
    expect(specs.length).toBeGreaterThan(0);
    const tokens: Token[] = [];
    for (const spec of specs) {
      for (const line of readFileSync(new URL(spec, specsDir), 'utf8').split('\n')) {
        const lineTokens = tokenizeLine(line, rules);
        tokens.push(...lineTokens);
        const hash = line.indexOf('#');
        if (hash >= 0) {
          expect(lineTokens, `${spec}: ${line}`).toContainEqual({
            text: line.slice(hash),
            scope: 'comment.line.number-sign.seq',
          });
        }
      }
    }
    const scopesOf = (text: string): string[] => tokens.filter((t) => t.text === text).map((t) => t.scope);
    expect(scopesOf('Embedding')).toContain('support.class.layer.seq');
    expect(scopesOf('->')).toContain('keyword.operator.arrow.seq');
    expect(scopesOf('int64')).toContain('storage.type.seq');
    expect(scopesOf('model')).toContain('keyword.other.seq');
    expect(scopesOf('embedding')).toContain('entity.name.tag.label.seq');
    expect(scopesOf('vocab')).toContain('variable.parameter.seq');
    expect(scopesOf('last')).toContain('support.function.builtin.seq');
    expect(tokens.some((t) => t.scope === 'constant.numeric.seq')).toBe(true);
  });

  it('tells contextual keywords from the same words used as names', () => {
    expect(tokenizeLine('  input lengths: lengths(tokens)', rules)).toEqual([
      { text: 'input', scope: 'keyword.other.seq' },
      { text: 'lengths', scope: 'variable.other.input.seq' },
      { text: 'lengths', scope: 'keyword.other.contextual.seq' },
      { text: '(', scope: 'punctuation.section.parens.begin.seq' },
      { text: ')', scope: 'punctuation.section.parens.end.seq' },
    ]);
    expect(tokenizeLine('  encoder {', rules)[0]).toEqual({ text: 'encoder', scope: 'keyword.other.contextual.seq' });
    expect(tokenizeLine('  decoder(bos=1, eos=2) {', rules)[0]).toEqual({
      text: 'decoder',
      scope: 'keyword.other.contextual.seq',
    });
    expect(tokenizeLine('    -> encoder: BiLSTM(hidden=256)', rules)).toContainEqual({
      text: 'encoder',
      scope: 'entity.name.tag.label.seq',
    });
  });

  it('does not read digits inside names as numbers', () => {
    expect(tokenizeLine('-> l1: Linear(4)', rules).filter((t) => t.scope === 'constant.numeric.seq')).toEqual([
      { text: '4', scope: 'constant.numeric.seq' },
    ]);
  });
});

interface TextMateRule {
  readonly name?: string;
  readonly match?: string;
  readonly begin?: string;
  readonly end?: string;
  readonly include?: string;
  readonly captures?: Readonly<Record<string, { readonly name: string }>>;
  readonly patterns?: readonly TextMateRule[];
}

interface TextMateGrammar {
  readonly scopeName: string;
  readonly fileTypes: readonly string[];
  readonly patterns: readonly TextMateRule[];
  readonly repository: Readonly<Record<string, TextMateRule>>;
}

interface CompiledRule {
  readonly rule: TextMateRule;
  readonly regex: RegExp;
}

interface Token {
  readonly text: string;
  readonly scope: string;
}

/** The grammar's `match` rules in the order TextMate tries them, includes resolved. */
function flatten(patterns: readonly TextMateRule[], repository: TextMateGrammar['repository']): CompiledRule[] {
  return patterns.flatMap((rule): CompiledRule[] => {
    if (rule.include !== undefined) {
      const included = repository[rule.include.replace(/^#/, '')];
      if (included === undefined) throw new Error(`no repository rule ${rule.include}`);
      return flatten([included], repository);
    }
    if (rule.patterns !== undefined) return flatten(rule.patterns, repository);
    if (rule.match === undefined) throw new Error('this tokenizer only knows match rules');
    return [{ rule, regex: new RegExp(rule.match, 'gd') }];
  });
}

/** A tiny TextMate loop: at each position the earliest match wins, ties going to the rule listed first. */
function tokenizeLine(line: string, rules: readonly CompiledRule[]): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  while (position < line.length) {
    let best: { rule: TextMateRule; match: RegExpExecArray } | undefined;
    for (const { rule, regex } of rules) {
      regex.lastIndex = position;
      const match = regex.exec(line);
      if (match !== null && (best === undefined || match.index < best.match.index)) best = { rule, match };
    }
    if (best === undefined) break;
    const { rule, match } = best;
    if (rule.captures === undefined) {
      tokens.push({ text: match[0], scope: rule.name ?? '' });
    } else {
      for (const [group, capture] of Object.entries(rule.captures)) {
        const text = match[Number(group)];
        if (text !== undefined) tokens.push({ text, scope: capture.name });
      }
    }
    position = Math.max(match.index + match[0].length, match.index + 1);
  }
  return tokens;
}

function regexSources(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(regexSources);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    ['match', 'begin', 'end'].includes(key) && typeof inner === 'string' ? [inner] : regexSources(inner),
  );
}

/** The page with HTML comments, JavaScript block comments and whole-line `//` comments removed. */
function withoutComments(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|\s)\/\/.*$/gm, '$1');
}
