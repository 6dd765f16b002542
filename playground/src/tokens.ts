// The playground's input boxes as data: rows of token ids typed as numbers or as text through a vocabulary or a tokenizer.json, padded into a batch.

import { readTokenizer, type TextTokenizer } from '../../src/runtime/tokenizer.js';

/** A vocabulary: id → token and token → id; or a Hugging Face tokenizer.json, which encodes and decodes text itself. */
export interface Vocabulary {
  readonly tokens: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
  /** Present for a tokenizer.json (BPE, WordPiece, Unigram): text goes through it instead of `ids`. */
  readonly tokenizer?: TextTokenizer;
}

/** Rows of ids, or the problems that kept them from being read, each a sentence. */
export type Parsed<T> =
  | { readonly value: T; readonly problems?: undefined }
  | { readonly value?: undefined; readonly problems: readonly string[] };

/**
 * Reads a vocabulary: one token per line (the line's index is its id), a JSON list of tokens, or
 * a JSON object from token to id.
 */
export function parseVocabulary(text: string): Parsed<Vocabulary> {
  const trimmed = text.trim();
  if (trimmed === '')
    return { problems: ['the vocabulary is empty: give one token per line (the first line is id 0), or JSON'] };
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      return { problems: [`the vocabulary is not valid JSON: ${(e as Error).message}`] };
    }
    if (typeof json === 'object' && json !== null && 'model' in json) {
      const read = readTokenizer(trimmed, 'tokenizer.json');
      if (read.tokenizer === undefined)
        return { problems: read.diagnostics.map((d) => `${d.message}; ${d.hint ?? ''}`) };
      return { value: { tokens: [], ids: new Map(), tokenizer: read.tokenizer } };
    }
    if (Array.isArray(json)) {
      if (!json.every((t) => typeof t === 'string'))
        return { problems: ['a JSON vocabulary list must hold strings only'] };
      return { value: vocabulary(json as string[]) };
    }
    const entries = Object.entries(json as Record<string, unknown>);
    const bad = entries.find(([, id]) => !Number.isInteger(id) || (id as number) < 0);
    if (bad !== undefined)
      return {
        problems: [
          `the vocabulary gives ${JSON.stringify(bad[0])} the id ${JSON.stringify(bad[1])}, not a whole number ≥ 0`,
        ],
      };
    const tokens: string[] = [];
    for (const [token, id] of entries) tokens[id as number] = token;
    return { value: { tokens: Array.from(tokens, (t) => t ?? ''), ids: new Map(entries as [string, number][]) } };
  }
  return { value: vocabulary(text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n')) };
}

/** Rows of ids typed as numbers: one row per line, ids separated by spaces or commas, or a JSON list of lists. */
export function parseIdRows(text: string): Parsed<number[][]> {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      return { problems: [`the ids are not valid JSON: ${(e as Error).message}`] };
    }
    const rows = Array.isArray(json) && json.every((r) => !Array.isArray(r)) ? [json] : json;
    if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r) && r.every((v) => typeof v === 'number'))) {
      return { problems: ['JSON ids should be a list of rows, each a list of numbers, such as [[5, 17, 2], [8, 9]]'] };
    }
    return { value: rows as number[][] };
  }
  const problems: string[] = [];
  const rows = lines(text).map((line, r) =>
    line
      .split(/[\s,]+/)
      .filter((w) => w !== '')
      .map((word, t) => {
        const id = Number(word);
        if (!/^-?\d+$/.test(word))
          problems.push(`row ${r + 1}, token ${t + 1}: ${JSON.stringify(word)} is not a whole number`);
        return id;
      }),
  );
  return problems.length > 0 ? { problems } : { value: rows };
}

/**
 * Rows of text, one per line, split on spaces and looked up; unknown words become `<unk>` when the
 * vocabulary has it. A tokenizer.json encodes each line itself (without its special tokens).
 */
export function parseTextRows(text: string, vocab: Vocabulary): Parsed<number[][]> {
  const problems: string[] = [];
  const tokenizer = vocab.tokenizer;
  if (tokenizer !== undefined) {
    const rows = lines(text).map((line, r) => {
      const encoded = tokenizer.encode(line, 'plain');
      problems.push(...encoded.diagnostics.map((d) => `row ${r + 1}: ${d.message}`));
      return encoded.ids ?? [];
    });
    return problems.length > 0 ? { problems } : { value: rows };
  }
  const unknown = vocab.ids.get('<unk>');
  const rows = lines(text).map((line, r) =>
    line
      .split(/\s+/)
      .filter((w) => w !== '')
      .map((word) => {
        const id = vocab.ids.get(word) ?? unknown;
        if (id === undefined)
          problems.push(`row ${r + 1}: ${JSON.stringify(word)} is not in the vocabulary, which has no <unk> token`);
        return id ?? -1;
      }),
  );
  return problems.length > 0 ? { problems } : { value: rows };
}

/** Ids back to text; ids the vocabulary lacks show as `#id`; a tokenizer.json decodes them itself, without special tokens. */
export function detokenize(ids: readonly number[], vocab: Vocabulary | undefined): string {
  if (vocab?.tokenizer !== undefined) return vocab.tokenizer.decode(ids);
  return ids.map((id) => vocab?.tokens[id] || `#${id}`).join(' ');
}

/** Rows padded with `pad` to one length, with each row's length. */
export function padRows(rows: readonly (readonly number[])[], pad: number): { ids: number[][]; lengths: number[] } {
  const time = Math.max(0, ...rows.map((r) => r.length));
  return {
    ids: rows.map((r) => [...r, ...Array.from({ length: time - r.length }, () => pad)]),
    lengths: rows.map((r) => r.length),
  };
}

// Internals.

function vocabulary(tokens: readonly string[]): Vocabulary {
  const ids = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (!ids.has(t)) ids.set(t, id);
  });
  return { tokens, ids };
}

function lines(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .filter((l) => l.trim() !== '');
}
