// Syntax highlighting from the generated TextMate grammar (grammar/seq.tmLanguage.json), so the page colours exactly what editors do.

/** A coloured stretch of the source: [start, end) with its TextMate scope, such as `keyword.other.seq`. */
export interface Token {
  readonly start: number;
  readonly end: number;
  readonly scope: string;
}

/** The part of a TextMate grammar this highlighter reads: single-line `match` rules, their `captures`, `include`s and nested `patterns`. */
export interface TextMateGrammar {
  readonly patterns: readonly TextMateRule[];
  readonly repository?: Readonly<Record<string, TextMateRule>>;
}

interface TextMateRule {
  readonly name?: string;
  readonly match?: string;
  readonly include?: string;
  readonly patterns?: readonly TextMateRule[];
  readonly captures?: Readonly<Record<string, { readonly name: string }>>;
}

interface CompiledRule {
  readonly regex: RegExp;
  readonly name?: string;
  readonly captures?: Readonly<Record<string, { readonly name: string }>>;
}

/** Builds a tokenizer from the grammar: at each position the rule whose match starts first wins, ties going to the earlier rule, as in TextMate. */
export function tokenizer(grammar: TextMateGrammar): (text: string) => Token[] {
  const rules = flatten(grammar.patterns, grammar.repository ?? {}, new Set());
  return (text) => {
    const tokens: Token[] = [];
    // Each rule's next match at or after the position; null once a rule has no match left.
    const upcoming: (RegExpExecArray | null | undefined)[] = rules.map(() => undefined);
    let position = 0;
    while (position < text.length) {
      let best: { rule: CompiledRule; match: RegExpExecArray } | undefined;
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i]!;
        let match = upcoming[i];
        if (match === undefined || (match !== null && match.index < position)) {
          match = nextMatch(rule.regex, text, position);
          upcoming[i] = match;
        }
        if (match !== null && (best === undefined || match.index < best.match.index)) best = { rule, match };
      }
      if (best === undefined) break;
      tokens.push(...tokensOf(best.rule, best.match));
      position = best.match.index + best.match[0].length;
    }
    return tokens;
  };
}

/** A CSS class for a scope: its first two parts, `keyword.operator.arrow.seq` → `tm-keyword-operator`. */
export function scopeClass(scope: string): string {
  return `tm-${scope.split('.').slice(0, 2).join('-')}`;
}

// Internals.

function flatten(
  rules: readonly TextMateRule[],
  repository: Readonly<Record<string, TextMateRule>>,
  including: Set<string>,
): CompiledRule[] {
  return rules.flatMap((rule): CompiledRule[] => {
    if (rule.include !== undefined) {
      const key = rule.include.replace(/^#/, '');
      const target = repository[key];
      if (target === undefined || including.has(key)) return [];
      return flatten([target], repository, new Set([...including, key]));
    }
    if (rule.match !== undefined)
      return [
        {
          regex: new RegExp(rule.match, 'gd'),
          ...(rule.name === undefined ? {} : { name: rule.name }),
          ...(rule.captures === undefined ? {} : { captures: rule.captures }),
        },
      ];
    return flatten(rule.patterns ?? [], repository, including);
  });
}

/** The next non-empty match at or after `from`. */
function nextMatch(regex: RegExp, text: string, from: number): RegExpExecArray | null {
  for (let at = from; at <= text.length; at++) {
    regex.lastIndex = at;
    const match = regex.exec(text);
    if (match === null) return null;
    if (match[0].length > 0) return match;
    at = match.index;
  }
  return null;
}

function tokensOf(rule: CompiledRule, match: RegExpExecArray): Token[] {
  const start = match.index;
  const end = start + match[0].length;
  if (rule.captures === undefined) return rule.name === undefined ? [] : [{ start, end, scope: rule.name }];
  const tokens: Token[] = [];
  for (const [group, capture] of Object.entries(rule.captures)) {
    const range = match.indices?.[Number(group)];
    if (range !== undefined) tokens.push({ start: range[0], end: range[1], scope: capture.name });
  }
  return tokens.sort((a, b) => a.start - b.start);
}
