// Text in and out around a model or a bundle: the bundle's tokenizers read and checked, text encoded before generate() or run() and ids decoded after.

import type { BundleManifest, BundleTokenizerEntry } from '../contracts/manifest.js';
import { error, spanOfWhole, warning, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { GenerateOptions, Rows, SeqBundle } from './generate.js';
import type { TensorData } from './inputs.js';
import type { Hypothesis } from './search.js';
import type { LoadedModel } from './session.js';
import { readTokenizer, type SpecialTokens, type TextTokenizer } from './tokenizer.js';

/** A bundle's tokenizers: `source` reads a seq2seq model's source, `target` the decoder's ids (a language model's prompt too). */
export interface BundleTokenizerSet {
  readonly source?: TextTokenizer;
  readonly target?: TextTokenizer;
}

/** What a tokenizer must fit: the Embedding its ids feed and, on the decoder's side, bos, eos and the logits. */
export interface TokenizerFit {
  /** `source`, `target`, or the name of a model's input. */
  readonly side: string;
  /** Rows of the Embedding that reads the ids. */
  readonly embeddingVocab?: number;
  readonly paddingIdx?: number;
  /** The decoder's bos and eos, and the size of its logits (the ids it can generate). */
  readonly bos?: number;
  readonly eos?: number;
  readonly logitsVocab?: number;
}

/**
 * How a tokenizer disagrees with the model it feeds: more ids than the Embedding has rows
 * (SEQ242), logits past its last id (SEQ244, a warning), a different bos or eos (SEQ245) or pad
 * (SEQ246, a warning). A role the tokenizer does not define is not compared.
 */
export function tokenizerFitProblems(tokenizer: TextTokenizer, fit: TokenizerFit): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const span = spanOfWhole(tokenizer.name);
  if (fit.embeddingVocab !== undefined && tokenizer.size > fit.embeddingVocab)
    problems.push(
      error(
        'SEQ242',
        span,
        `${tokenizer.name} has ${tokenizer.size} ids, but the ${fit.side} Embedding has ${fit.embeddingVocab} rows (vocab=${fit.embeddingVocab}): ids from ${fit.embeddingVocab} up cannot be embedded`,
        `set vocab=${tokenizer.size} on the Embedding, or use the tokenizer the model was trained with`,
        { names: [tokenizer.name, fit.side], expected: fit.embeddingVocab, found: tokenizer.size },
      ),
    );
  if (fit.logitsVocab !== undefined && fit.logitsVocab > tokenizer.size)
    problems.push(
      warning(
        'SEQ244',
        span,
        `the decoder predicts ${fit.logitsVocab} ids, but ${tokenizer.name} has only ${tokenizer.size}: a generated id from ${tokenizer.size} up has no text`,
        `make the decoder's last Linear ${tokenizer.size} wide, or use the tokenizer the model was trained with`,
        { names: [tokenizer.name, fit.side], expected: tokenizer.size, found: fit.logitsVocab },
      ),
    );
  for (const role of ['bos', 'eos'] as const) {
    const spec = fit[role];
    const own = tokenizer.special[role];
    if (spec === undefined || own === undefined || spec === own) continue;
    problems.push(
      error(
        'SEQ245',
        span,
        `the decoder's ${role}=${spec}, but ${tokenizer.name} gives its ${role} token the id ${own}`,
        `write ${role}=${own} in the decoder(…) line, or use the tokenizer the model was trained with`,
        { names: [tokenizer.name, role], expected: own, found: spec },
      ),
    );
  }
  const pad = tokenizer.special.pad;
  if (fit.paddingIdx !== undefined && pad !== undefined && fit.paddingIdx !== pad)
    problems.push(
      warning(
        'SEQ246',
        span,
        `the ${fit.side} Embedding's padding_idx=${fit.paddingIdx}, but ${tokenizer.name} gives its pad token the id ${pad}`,
        `write padding_idx=${pad} on the Embedding, so that the pad token's row is the zero row`,
        { names: [tokenizer.name, fit.side], expected: pad, found: fit.paddingIdx },
      ),
    );
  return problems;
}

/** A tokenizer's entry in a bundle's manifest, for the file `path`. */
export function tokenizerEntry(tokenizer: TextTokenizer, path: string): BundleTokenizerEntry {
  const special: SpecialTokens = tokenizer.special;
  return {
    path,
    format: tokenizer.format,
    model: tokenizer.model,
    size: tokenizer.size,
    ...(special.bos === undefined ? {} : { bos: special.bos }),
    ...(special.eos === undefined ? {} : { eos: special.eos }),
    ...(special.pad === undefined ? {} : { pad: special.pad }),
    ...(special.unk === undefined ? {} : { unk: special.unk }),
  };
}

/**
 * Reads the tokenizers a bundle's manifest lists from its files, and checks the target's against
 * the decoder (bos, eos, vocabularies). A listed file that is missing is SEQ311.
 */
export function readBundleTokenizers(
  manifest: BundleManifest,
  files: Readonly<Record<string, Uint8Array>>,
): { tokenizers: BundleTokenizerSet; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const tokenizers: { -readonly [K in keyof BundleTokenizerSet]: TextTokenizer } = {};
  for (const side of ['source', 'target'] as const) {
    const entry = manifest.tokenizers?.[side];
    if (entry === undefined) continue;
    const bytes = files[entry.path];
    if (bytes === undefined) {
      diagnostics.push(
        error(
          'SEQ311',
          spanOfWhole(entry.path),
          `the bundle has no file ${entry.path}, which its manifest names as the ${side} tokenizer`,
          'keep the tokenizer file beside the manifest',
          { names: [entry.path] },
        ),
      );
      continue;
    }
    const read = readTokenizer(new TextDecoder().decode(bytes), entry.path);
    diagnostics.push(...read.diagnostics);
    if (read.tokenizer === undefined) continue;
    if (side === 'target')
      diagnostics.push(
        ...tokenizerFitProblems(read.tokenizer, {
          side: 'target',
          embeddingVocab: manifest.targetVocab,
          logitsVocab: manifest.vocab,
          bos: manifest.bos,
          eos: manifest.eos,
        }),
      );
    tokenizers[side] = read.tokenizer;
  }
  return { tokenizers, diagnostics };
}

/** A loaded bundle that also reads and writes text, through the tokenizers its manifest lists. */
export interface TextBundle extends SeqBundle {
  /** The bundle's tokenizers; none when it was built without them. */
  readonly tokenizers: BundleTokenizerSet;
  /** `generateText(this, this.tokenizers, texts, options)`: text in, hypotheses with ids and text out. */
  generateText(texts: readonly string[], options?: GenerateTextOptions): Promise<GenerateTextResult>;
}

/**
 * Gives a loaded bundle its tokenizers (read from `files` as its manifest lists them) and
 * `generateText`. A tokenizer file that is missing or unusable, or does not fit the decoder, is a
 * diagnostic, and the bundle is released.
 */
export async function withTokenizers(
  bundle: SeqBundle,
  files: Readonly<Record<string, Uint8Array>>,
): Promise<{ bundle?: TextBundle; diagnostics: Diagnostic[] }> {
  const read = readBundleTokenizers(bundle.manifest, files);
  if (read.diagnostics.some((d) => d.severity === 'error')) {
    await bundle.release();
    return { diagnostics: read.diagnostics };
  }
  const tokenizers = read.tokenizers;
  const textBundle: TextBundle = Object.assign(bundle, {
    tokenizers,
    generateText: (texts: readonly string[], options?: GenerateTextOptions) =>
      generateText(bundle, tokenizers, texts, options),
  });
  return { bundle: textBundle, diagnostics: read.diagnostics };
}

/** One hypothesis with its text: the generated ids decoded by the target tokenizer, without bos, eos and pad. */
export interface TextHypothesis extends Hypothesis {
  readonly text: string;
}

export interface GenerateTextResult {
  readonly rows?: readonly { readonly hypotheses: readonly TextHypothesis[] }[];
  /** The ids each text became: sources (seq2seq) or prompts (language model), one row per text. */
  readonly inputs?: Rows;
  readonly diagnostics: readonly Diagnostic[];
}

/** The decoding options of `generateText`: those of `generate`, with the forced target prefixes as text. */
export type GenerateTextOptions = Omit<GenerateOptions, 'prompt'> & { readonly prompt?: readonly string[] };

/**
 * Generates from text: for a seq2seq bundle each text is a source, encoded by the source tokenizer
 * (with its special tokens, as Hugging Face's `encode` adds them); for a language model each is a
 * prompt, encoded by the target tokenizer without special tokens (the decoder feeds bos itself).
 * Every hypothesis comes back with its ids and its text.
 */
export async function generateText(
  bundle: SeqBundle,
  tokenizers: BundleTokenizerSet,
  texts: readonly string[],
  options: GenerateTextOptions = { strategy: 'greedy' },
): Promise<GenerateTextResult> {
  const lm = bundle.manifest.kind === 'lm';
  const reader = lm ? tokenizers.target : tokenizers.source;
  const writer = tokenizers.target;
  if (reader === undefined || writer === undefined)
    return { diagnostics: [missingTokenizer(bundle.manifest.name, reader === undefined && !lm ? 'source' : 'target')] };
  const encodedTexts = encodeAll(reader, texts, lm ? 'plain' : 'with-special-tokens');
  const prefixes = options.prompt === undefined ? undefined : encodeAll(writer, options.prompt, 'plain');
  const problems = [...encodedTexts.diagnostics, ...(prefixes?.diagnostics ?? [])];
  if (encodedTexts.rows === undefined || problems.length > 0) return { diagnostics: problems };
  const { prompt: _prompt, ...rest } = options;
  const generateOptions: GenerateOptions = lm
    ? { ...rest, prompt: encodedTexts.rows }
    : { ...rest, ...(prefixes?.rows === undefined ? {} : { prompt: prefixes.rows }) };
  const result = await bundle.generate(lm ? [] : encodedTexts.rows, generateOptions);
  if (result.rows === undefined) return { diagnostics: result.diagnostics };
  return {
    rows: result.rows.map((row) => ({
      hypotheses: row.hypotheses.map((h) => ({ ...h, text: decodeGenerated(writer, h.tokens, bundle.manifest.eos) })),
    })),
    inputs: encodedTexts.rows,
    diagnostics: result.diagnostics,
  };
}

/** Generated ids as text: cut at eos, then decoded without special tokens. */
export function decodeGenerated(tokenizer: TextTokenizer, ids: readonly number[], eos: number): string {
  const end = ids.indexOf(eos);
  return tokenizer.decode(end < 0 ? ids : ids.slice(0, end));
}

/** What each text input of `runText` became. */
export interface TextInput {
  readonly text: readonly string[];
  readonly ids: Rows;
  readonly tokens: readonly (readonly string[])[];
}

export interface RunTextResult {
  readonly outputs?: Map<string, TensorData>;
  readonly inputs?: Readonly<Record<string, TextInput>>;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Runs a model on text: each entry of `texts` names an int64 ids input and gives one text per row,
 * encoded by that input's tokenizer (with its special tokens). Rows are padded with the
 * tokenizer's pad id (else 0) and the input's `lengths(…)` input, when the model declares one and
 * `other` does not give it, is filled with each row's length. `other` holds the remaining inputs.
 */
export async function runText(
  model: LoadedModel,
  texts: Readonly<Record<string, string | readonly string[]>>,
  tokenizers: Readonly<Record<string, TextTokenizer>>,
  other: ReadonlyMap<string, TensorData> = new Map(),
): Promise<RunTextResult> {
  const inputs = new Map(other);
  const described: Record<string, TextInput> = {};
  const problems: Diagnostic[] = [];
  for (const [name, given] of Object.entries(texts)) {
    const rows = typeof given === 'string' ? [given] : given;
    const declared = model.signature.inputs.find((i) => i.name === name);
    const tokenizer = tokenizers[name];
    if (
      declared === undefined ||
      declared.dtype !== 'int64' ||
      declared.role !== 'data' ||
      declared.dims.length !== 2
    ) {
      problems.push(
        error(
          'SEQ248',
          spanOfWhole(`input \`${name}\``),
          declared === undefined
            ? `${model.source} has no input \`${name}\` to read text into`
            : `\`${name}\` is not token ids [batch, time], so it cannot take text`,
          `text goes to an int64 [batch, time] input: ${idInputs(model).join(', ') || 'this model has none'}`,
          { names: [name], expected: idInputs(model) },
        ),
      );
      continue;
    }
    if (tokenizer === undefined) {
      problems.push(missingTokenizer(name, name));
      continue;
    }
    if (rows.length === 0) continue;
    const fit = tokenizerFitProblems(tokenizer, {
      side: name,
      ...(declared.vocab === undefined ? {} : { embeddingVocab: declared.vocab }),
    });
    const encoded = encodeAll(tokenizer, rows, 'with-special-tokens');
    problems.push(...fit.filter((d) => d.severity === 'error'), ...encoded.diagnostics);
    if (encoded.rows === undefined) continue;
    const time = Math.max(1, ...encoded.rows.map((r) => r.length));
    const pad = BigInt(tokenizer.special.pad ?? 0);
    const data = new BigInt64Array(rows.length * time).fill(pad);
    encoded.rows.forEach((r, b) => r.forEach((id, t) => (data[b * time + t] = BigInt(id))));
    inputs.set(name, { dtype: 'int64', dims: [rows.length, time], data });
    const lengths = model.signature.inputs.find((i) => i.role === 'lengths' && i.of === name);
    if (lengths !== undefined && !inputs.has(lengths.name))
      inputs.set(lengths.name, {
        dtype: 'int64',
        dims: [rows.length],
        data: BigInt64Array.from(encoded.rows, (r) => BigInt(Math.max(1, r.length))),
      });
    described[name] = { text: rows, ids: encoded.rows, tokens: encoded.tokens };
  }
  if (problems.length > 0) return { diagnostics: problems };
  const result = await model.run(inputs);
  if (result.outputs === undefined) return { diagnostics: result.diagnostics };
  return { outputs: result.outputs, inputs: described, diagnostics: result.diagnostics };
}

// Internals.

function idInputs(model: LoadedModel): string[] {
  return model.signature.inputs
    .filter((i) => i.dtype === 'int64' && i.role === 'data' && i.dims.length === 2)
    .map((i) => i.name);
}

function missingTokenizer(name: string, side: string): Diagnostic {
  return error(
    'SEQ248',
    spanOfWhole(name),
    `${name} has no ${side} tokenizer, so text cannot be read or written for it`,
    side === 'source' || side === 'target'
      ? `compile the bundle with --tokenizer FILE (or --${side === 'source' ? 'src' : 'tgt'}-tokenizer FILE), or pass ids instead of text`
      : `pass --tokenizer ${side}=FILE (a tokenizer.json or a JSON list of tokens)`,
    { names: [name, side] },
  );
}

function encodeAll(
  tokenizer: TextTokenizer,
  texts: readonly string[],
  use: 'with-special-tokens' | 'plain',
): { rows?: number[][]; tokens: string[][]; diagnostics: Diagnostic[] } {
  const rows: number[][] = [];
  const tokens: string[][] = [];
  const diagnostics: Diagnostic[] = [];
  for (const text of texts) {
    const encoded = tokenizer.encode(text, use);
    diagnostics.push(...encoded.diagnostics);
    if (encoded.ids !== undefined) {
      rows.push(encoded.ids);
      tokens.push(encoded.tokens ?? []);
    }
  }
  return diagnostics.length > 0 ? { tokens, diagnostics } : { rows, tokens, diagnostics };
}
