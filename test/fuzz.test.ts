// Fuzzes the parser, the checker and the weights reader: whatever the input, `compile` returns diagnostics that point inside it, in bounded time and memory, and never throws.
//
// Three generators feed `compile`: soups of the language's tokens and of characters it has no
// token for, mutations of the specs in specs/ (and of the diagnostic fixtures), and random specs
// that follow the grammar with random layers and arguments. Every case has its own seed, derived
// from the run's seed, so a failure names the one case to replay:
//
//   SEQC_FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts     another run's cases
//   SEQC_FUZZ_SCALE=10 npx vitest run test/fuzz.test.ts        ten times as many cases
//
// What must hold for every text: `compile` does not throw; each diagnostic has a code from the
// catalogue, a severity, a message and a span in the compiled source whose offsets lie in
// [0, text.length], whose lines lie in the text and agree with the offsets (line 0 marks a span
// for the whole file); the diagnostics render; and a spec without errors compiles to a model.
// Every case must also finish within `caseSeconds` and leave the heap within `heapGrowthBytes` of
// where the run started. A fourth generator mutates safetensors files (header sizes, offsets,
// dtypes, shapes, huge and negative numbers, deep JSON, truncation) and feeds them to
// `readSafetensors` and to `compile(…, { weights })`; adversarial specs (huge repetition, deep
// nesting, long lines, binary junk) must each finish in bounded time.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalogue, compile, readSafetensors, writeSafetensors, type Diagnostic, type Position } from '../src/index.js';
import { renderDiagnostics } from '../src/diagnostics/render.js';
import { seededRandom as mulberry32 } from './reference/float64.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const runSeed = Number(process.env.SEQC_FUZZ_SEED ?? 20_251_101);
const scale = Number(process.env.SEQC_FUZZ_SCALE ?? 1);
const sourceName = 'fuzz.seq';

/** The time one case may take, in seconds: well above the slowest case seen, far below a hang. */
const caseSeconds = 2;
/** How far the heap may grow over a run of cases: leaks and runaway allocations cross it. */
const heapGrowthBytes = 512 * 2 ** 20;

// Random numbers: mulberry32, small and seedable, and a hash to give each case its own seed.

type Random = () => number;

function caseSeed(generator: string, index: number): number {
  let h = runSeed >>> 0;
  for (const c of `${generator}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

const int = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (random: Random, p: number): boolean => random() < p;

// The invariants.

/** 1-based line and column of an offset, counting lines as the renderer does: split on '\n'. */
function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/** A lone '\r' ends a line, as it does for seqc; replacing it keeps every offset. */
const normalizeLineEnds = (text: string): string => text.replace(/\r(?!\n)/g, '\n');

function positionProblem(text: string, p: Position, which: string): string | undefined {
  text = normalizeLineEnds(text);
  const lineCount = text.split('\n').length;
  if (!Number.isInteger(p.offset) || p.offset < 0 || p.offset > text.length)
    return `${which} offset ${p.offset} is outside [0, ${text.length}]`;
  if (!Number.isInteger(p.line) || p.line < 1 || p.line > lineCount)
    return `${which} line ${p.line} is outside [1, ${lineCount}]`;
  const expected = positionOf(text, p.offset);
  if (expected.line !== p.line || expected.column !== p.column) {
    return `${which} is ${p.line}:${p.column}, but offset ${p.offset} is at ${expected.line}:${expected.column}`;
  }
  return undefined;
}

function diagnosticProblem(text: string, d: Diagnostic): string | undefined {
  if (!Object.hasOwn(catalogue, d.code)) return `unknown code ${String(d.code)}`;
  if (d.severity !== 'error' && d.severity !== 'warning') return `${d.code} has severity ${String(d.severity)}`;
  if (typeof d.message !== 'string' || d.message.trim() === '') return `${d.code} has no message`;
  if (d.span.source !== sourceName) return `${d.code} points into ${d.span.source}, not ${sourceName}`;
  if (d.span.start.line === 0)
    return d.span.end.line === 0 ? undefined : `${d.code} has a whole-file start but an end on line ${d.span.end.line}`;
  const where = positionProblem(text, d.span.start, 'start') ?? positionProblem(text, d.span.end, 'end');
  if (where !== undefined) return `${d.code} (${d.message.split('\n')[0]}): ${where}`;
  if (d.span.end.offset < d.span.start.offset)
    return `${d.code} ends at ${d.span.end.offset}, before it starts at ${d.span.start.offset}`;
  return undefined;
}

/** Everything wrong with how seqc handled `text` (empty when all is well), and whether it compiled. */
function check(text: string): { problems: string[]; compiled: boolean } {
  let result;
  try {
    result = compile(text, { sourceName });
  } catch (e) {
    return { problems: [`compile threw: ${(e as Error).stack ?? String(e)}`], compiled: false };
  }
  const problems = result.diagnostics
    .map((d) => diagnosticProblem(text, d))
    .filter((p): p is string => p !== undefined);
  try {
    renderDiagnostics(result.diagnostics, new Map([[sourceName, text]]), { color: false });
  } catch (e) {
    problems.push(`rendering threw: ${(e as Error).message}`);
  }
  const hasErrors = result.diagnostics.some((d) => d.severity === 'error');
  if (!hasErrors && result.model === undefined) problems.push('no errors, but no model');
  if (hasErrors && result.model !== undefined) problems.push('errors, but a model');
  return { problems, compiled: result.model !== undefined };
}

/** Time and memory past their bounds since `started` (a performance.now()) and `heapAtStart`. */
function boundsProblems(started: number, heapAtStart: number): string[] {
  const problems: string[] = [];
  const seconds = (performance.now() - started) / 1000;
  if (seconds > caseSeconds) problems.push(`took ${seconds.toFixed(1)} s, more than ${caseSeconds} s`);
  const growth = process.memoryUsage().heapUsed - heapAtStart;
  if (growth > heapGrowthBytes)
    problems.push(`the heap grew by ${(growth / 2 ** 20).toFixed(0)} MB, more than ${heapGrowthBytes / 2 ** 20} MB`);
  return problems;
}

interface Failure {
  readonly generator: string;
  readonly index: number;
  readonly text: string;
  readonly problems: string[];
}

/**
 * Runs `count` cases of one generator. Returns the first failures, each described so that it can
 * be replayed, the number of failures, and how many cases compiled to a model.
 */
function fuzz(
  generator: string,
  count: number,
  make: (random: Random) => string,
  checkCase: (text: string) => { problems: string[]; compiled: boolean } = check,
): { failures: string[]; failed: number; compiled: number } {
  const failures: Failure[] = [];
  let compiled = 0;
  const heapAtStart = process.memoryUsage().heapUsed;
  for (let index = 0; index < count; index++) {
    const text = make(mulberry32(caseSeed(generator, index)));
    const started = performance.now();
    const outcome = checkCase(text);
    const problems = [...outcome.problems, ...boundsProblems(started, heapAtStart)];
    if (outcome.compiled) compiled++;
    if (problems.length > 0)
      failures.push({ generator, index, text: text.length > 2000 ? `${text.slice(0, 2000)}…` : text, problems });
  }
  const described = failures
    .slice(0, 5)
    .map(
      (f) =>
        `SEQC_FUZZ_SEED=${runSeed} ${f.generator} case ${f.index}: ${f.problems.join('; ')}\n  text: ${JSON.stringify(f.text)}`,
    );
  return { failures: described, failed: failures.length, compiled };
}

// The language's pieces.

const layerKinds = [
  'Embedding',
  'RNN',
  'LSTM',
  'GRU',
  'BiRNN',
  'BiLSTM',
  'BiGRU',
  'Linear',
  'Dropout',
  'LayerNorm',
  'Attention',
  'CRF',
];
const builtins = ['last', 'first', 'mean', 'max', 'relu', 'tanh', 'sigmoid', 'softmax', 'log_softmax'];
const argumentNames = [
  'vocab',
  'dim',
  'padding_idx',
  'hidden',
  'layers',
  'dropout',
  'bias',
  'bidirectional',
  'nonlinearity',
  'reset_after',
  'recurrent_activation',
  'stateful',
  'out',
  'p',
  'eps',
  'score',
  'input_feed',
  'tags',
];
const names = [
  'tokens',
  'x',
  'lengths',
  'src',
  'encoder',
  'decoder',
  'fc',
  'lstm',
  'embedding',
  'batch',
  'time',
  'int64',
  'float32',
  'M',
  '_',
  'a1',
  'Model',
  'models',
  'outputs',
  'inputs',
];
const keywords = ['model', 'input', 'output', 'true', 'false'];
const punctuation = ['->', '(', ')', '{', '}', '[', ']', ':', ',', '=', '-', '>'];
const numbers = ['0', '1', '2', '17', '99', '-1', '0.5', '.5', '1.', '1e3', '2.5e-1', '-0', '1e40', '007'];
const strings = ['"relu"', '"x"', '""', '"unterminated', '"a\nb"', "'single'"];
const garbage = [
  '$',
  '@',
  ';',
  '%',
  '!',
  '?',
  '\\',
  '`',
  '~',
  '^',
  '&',
  '|',
  '*',
  '/',
  '+',
  '<',
  '.',
  'é',
  'ö',
  '—',
  '–',
  '→',
  '😀',
  '\u0000',
  '\u00a0',
  '\ufeff',
  '\u200b',
];
const whitespace = [' ', ' ', ' ', '\n', '\n', '\t', '\r\n', '\r', '  ', ''];
const comments = ['# comment', '#', '# -> model { }', '#\u00e9'];

function randomToken(random: Random): string {
  const group = pick(random, [
    names,
    names,
    layerKinds,
    builtins,
    argumentNames,
    keywords,
    punctuation,
    punctuation,
    numbers,
    strings,
    garbage,
    comments,
  ]);
  return pick(random, group);
}

// Generator (a): token soups, half of them inside a model's braces so the parser gets deeper.

function tokenSoup(random: Random): string {
  const parts: string[] = [];
  const length = int(random, 0, 40);
  for (let i = 0; i < length; i++) {
    parts.push(randomToken(random));
    // Comments run to the end of the line, so one must be followed by a newline to end.
    parts.push(parts[parts.length - 1]!.startsWith('#') ? '\n' : pick(random, whitespace));
  }
  const body = parts.join('');
  return chance(random, 0.5) ? `model M {\n${body}\n}\n` : body;
}

// Generator (b): mutations of real specs. Sizes are scaled down so that the mutants that still
// compile do so in milliseconds; the structure is what the parser and checker see.

function seedCorpus(): string[] {
  const folder = (dir: string): string[] =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.seq'))
      .sort()
      .map((f) => readFileSync(join(root, dir, f), 'utf8'));
  return [...folder('specs'), ...folder('test/fixtures/diagnostics')].map((text) =>
    text.replace(/\b\d{2,}\b/g, (n) => String((Number(n) % 13) + 2)),
  );
}

const tokenPattern =
  /\s+|#[^\n]*|"[^"\n]*"?|->|[A-Za-z_][A-Za-z0-9_]*|-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?|[\s\S]/gu;

function mutate(random: Random, corpus: readonly string[]): string {
  let text = pick(random, corpus);
  const rounds = int(random, 1, 4);
  for (let round = 0; round < rounds; round++) {
    const tokens = text.match(tokenPattern) ?? [];
    const i = int(random, 0, Math.max(0, tokens.length - 1));
    const j = int(random, 0, Math.max(0, tokens.length - 1));
    const offset = int(random, 0, text.length);
    switch (int(random, 0, 7)) {
      case 0: // Delete a token.
        tokens.splice(i, 1);
        text = tokens.join('');
        break;
      case 1: // Duplicate a token.
        tokens.splice(i, 0, tokens[i] ?? '');
        text = tokens.join('');
        break;
      case 2: // Swap two tokens.
        [tokens[i], tokens[j]] = [tokens[j] ?? '', tokens[i] ?? ''];
        text = tokens.join('');
        break;
      case 3: // Replace a token with another from the language, or with garbage.
        tokens[i] = randomToken(random);
        text = tokens.join('');
        break;
      case 4: // Insert a random character.
        text =
          text.slice(0, offset) +
          pick(random, [...garbage, ...punctuation, ...whitespace, '"', '#', '-']) +
          text.slice(offset);
        break;
      case 5: // Delete a few characters.
        text = text.slice(0, offset) + text.slice(offset + int(random, 1, 5));
        break;
      case 6: // Truncate.
        text = text.slice(0, offset);
        break;
      default:
        {
          // Move a line elsewhere.
          const lines = text.split('\n');
          const [line] = lines.splice(int(random, 0, lines.length - 1), 1);
          lines.splice(int(random, 0, lines.length), 0, line ?? '');
          text = lines.join('\n');
        }
        break;
    }
  }
  return text;
}

// Generator (c): specs that follow the grammar, with random layers, arguments and labels; most
// check, some are refused, and all must be handled.

function argumentValue(random: Random, name: string): string {
  const sensible: Record<string, () => string> = {
    vocab: () => String(int(random, 1, 30)),
    dim: () => String(int(random, 1, 8)),
    padding_idx: () => String(int(random, -3, 5)),
    hidden: () => String(int(random, 1, 8)),
    layers: () => String(int(random, 1, 3)),
    dropout: () => pick(random, ['0', '0.1', '0.5']),
    p: () => pick(random, ['0', '0.2', '0.9']),
    eps: () => pick(random, ['1e-5', '0.001']),
    out: () => String(int(random, 1, 6)),
    tags: () => String(int(random, 1, 6)),
    nonlinearity: () => pick(random, ['tanh', 'relu']),
    recurrent_activation: () => pick(random, ['sigmoid', 'hard_sigmoid', '"sigmoid"']),
    score: () => pick(random, ['dot', 'general', 'additive']),
  };
  if (chance(random, 0.1) || sensible[name] === undefined) {
    return pick(random, [
      'true',
      'false',
      '0',
      '-1',
      '2.5',
      '1e9',
      'tanh',
      '"text"',
      'x',
      ...(sensible[name] === undefined ? [] : [sensible[name]()]),
    ]);
  }
  return sensible[name]();
}

const layerArguments: Record<string, readonly string[]> = {
  Embedding: ['vocab', 'dim', 'padding_idx'],
  RNN: ['hidden', 'layers', 'dropout', 'bias', 'bidirectional', 'nonlinearity', 'stateful'],
  LSTM: ['hidden', 'layers', 'dropout', 'bias', 'bidirectional', 'recurrent_activation', 'stateful'],
  GRU: ['hidden', 'layers', 'dropout', 'bias', 'bidirectional', 'reset_after', 'recurrent_activation', 'stateful'],
  Linear: ['out', 'bias'],
  Dropout: ['p'],
  LayerNorm: ['eps'],
  Attention: ['score', 'input_feed'],
  CRF: ['tags', 'score'],
};

/** What a value is, as far as choosing a sensible next step goes. */
type Shape = 'ids' | 'id' | 'sequence' | 'vector';

/** A step that fits a value of the given shape, and the shape of its result. */
function fittingStep(random: Random, shape: Shape): { kind: string; next: Shape } {
  switch (shape) {
    case 'ids':
      return { kind: 'Embedding', next: 'sequence' };
    case 'id':
      return { kind: 'Embedding', next: 'vector' };
    case 'sequence': {
      const kind = pick(random, [
        ...layerKinds.filter((k) => k !== 'Embedding' && k !== 'Attention'),
        'last',
        'first',
        'mean',
        'max',
        'relu',
        'tanh',
        'softmax',
      ]);
      return { kind, next: ['last', 'first', 'mean', 'max'].includes(kind) ? 'vector' : 'sequence' };
    }
    case 'vector':
      return {
        kind: pick(random, ['Linear', 'LayerNorm', 'Dropout', 'relu', 'tanh', 'sigmoid', 'softmax', 'log_softmax']),
        next: 'vector',
      };
  }
}

/** `label: Kind(args)` or a builtin; labels are unique unless the dice say to reuse one. */
function stepText(random: Random, kind: string, labels: string[]): string {
  if (builtins.includes(kind)) return kind + (chance(random, 0.02) ? '(1)' : '');
  const known = layerArguments[kind.replace(/^Bi/, '')] ?? argumentNames;
  const required =
    kind === 'Embedding'
      ? ['vocab', 'dim']
      : kind === 'Linear'
        ? ['out']
        : kind === 'CRF'
          ? ['tags']
          : /RNN|LSTM|GRU/.test(kind)
            ? ['hidden']
            : [];
  const chosen = [...required, ...known.filter((n) => !required.includes(n) && chance(random, 0.15))];
  if (chance(random, 0.03)) chosen.push(pick(random, argumentNames));
  if (chance(random, 0.03)) chosen.pop();
  const args = chosen.map((n, i) =>
    i === 0 && chance(random, 0.3) ? argumentValue(random, n) : `${n}=${argumentValue(random, n)}`,
  );
  let label = '';
  if (chance(random, 0.9)) {
    label = chance(random, 0.02) && labels.length > 0 ? pick(random, labels) : `${kind.toLowerCase()}${labels.length}`;
    labels.push(label);
    label += ': ';
  }
  return `${label}${kind}${args.length === 0 && chance(random, 0.5) ? '' : `(${args.join(', ')})`}`;
}

function randomSpec(random: Random): string {
  const lines = [`model M${int(random, 0, 99)} {`];
  const sources: { name: string; shape: Shape }[] = [];
  const types: Record<string, Shape> = {
    'int64[batch, time]': 'ids',
    'int64[batch]': 'id',
    'float32[batch, time, 4]': 'sequence',
    'float32[batch, time, 1]': 'sequence',
    'float32[batch, 3]': 'vector',
  };
  const odd = [
    'int64[batch, time, 2]',
    'float32[batch, time, f]',
    'float32[batch, time]',
    'int32[batch, time]',
    'float32[time, batch, 2]',
  ];
  const inputCount = int(random, 1, 2);
  for (let i = 0; i < inputCount; i++) {
    const name = i === 0 ? 'tokens' : `feats${i}`;
    const type = chance(random, 0.05)
      ? pick(random, odd)
      : pick(random, ['int64[batch, time]', 'int64[batch, time]', ...Object.keys(types)]);
    lines.push(`  input ${name}: ${type}`);
    sources.push({ name, shape: types[type] ?? 'sequence' });
    if ((types[type] === 'ids' || types[type] === 'sequence') && chance(random, 0.3))
      lines.push(`  input ${name}_lengths: lengths(${name})`);
  }
  const labels: string[] = [];
  const chainCount = int(random, 1, 3);
  for (let c = 0; c < chainCount; c++) {
    let { name: source, shape } = c === 0 ? sources[0]! : pick(random, sources);
    const steps: string[] = [];
    const length = int(random, 1, 5);
    for (let i = 0; i < length; i++) {
      const step = chance(random, 0.1)
        ? { kind: pick(random, [...layerKinds, ...builtins, 'Conv1d', 'lstm']), next: shape }
        : fittingStep(random, shape);
      const labelCount = labels.length;
      steps.push(stepText(random, step.kind, labels));
      shape = step.next;
      // A later chain may continue from this step's label, with the shape it produced.
      if (labels.length > labelCount) sources.push({ name: labels[labels.length - 1]!, shape });
    }
    if (chance(random, 0.9)) steps.push(`output out${chance(random, 0.05) ? 0 : c}`);
    lines.push(`  ${source}${steps.map((step) => `\n    -> ${step}`).join('')}`);
  }
  lines.push('}', '');
  return lines.join('\n');
}

/** An encoder–decoder model or a language model, with sizes that fit more often than not. */
function randomSeq2Seq(random: Random): string {
  const lines = [`model T${int(random, 0, 99)} {`];
  const recurrent = ['LSTM', 'GRU', 'RNN', 'BiLSTM', 'BiGRU', 'BiRNN'];
  const cell = pick(random, ['LSTM', 'GRU', 'RNN']);
  const vocab = int(random, 3, 12);
  let stateSize = 0;
  let layers = 1;
  const withEncoder = chance(random, 0.7);
  if (withEncoder) {
    lines.push('  input src: int64[batch, src_time]');
    if (chance(random, 0.4)) lines.push('  input src_lengths: lengths(src)');
    const kind = chance(random, 0.8) ? pick(random, [cell, `Bi${cell}`]) : pick(random, recurrent);
    const hidden = int(random, 1, 6);
    layers = int(random, 1, 2);
    stateSize = hidden * (kind.startsWith('Bi') ? 2 : 1);
    const extra = chance(random, 0.1) ? ` -> ${stepText(random, pick(random, [...builtins, ...layerKinds]), [])}` : '';
    lines.push(
      '  encoder {',
      `    src -> src_embedding: Embedding(vocab=${int(random, 2, 12)}, dim=${int(random, 1, 5)}) -> encoder: ${kind}(hidden=${hidden}, layers=${layers})${extra}`,
      '  }',
    );
  }
  const bridge = chance(random, 0.2) ? `, bridge=${pick(random, ['linear', 'none', 'tanh'])}` : '';
  const bos = chance(random, 0.95) ? 1 : vocab;
  lines.push(`  decoder(bos=${bos}, eos=2, max_length=${int(random, 1, 8)}${bridge}) {`);
  const decoderHidden = stateSize > 0 && chance(random, 0.7) ? stateSize : int(random, 1, 6);
  const decoderLayers = chance(random, 0.8) ? layers : int(random, 1, 3);
  const attention = (): string =>
    `    -> attention: Attention(${pick(random, ['', 'score=dot', 'score=general', 'score=additive', 'score=general, input_feed=true'])})`;
  const steps = [`    -> tgt_embedding: Embedding(vocab=${vocab}, dim=${int(random, 1, 5)})`];
  const placement = withEncoder ? pick(random, ['none', 'before', 'after']) : chance(random, 0.1) ? 'after' : 'none';
  if (placement === 'before') steps.push(attention());
  steps.push(
    `    -> decoder: ${chance(random, 0.9) ? cell : pick(random, recurrent)}(hidden=${decoderHidden}, layers=${decoderLayers})`,
  );
  if (placement === 'after') steps.push(attention());
  if (chance(random, 0.2)) steps.push(`    -> ${pick(random, ['relu', 'tanh', 'Dropout(0.1)', 'norm: LayerNorm'])}`);
  steps.push(`    -> generator: Linear(${chance(random, 0.95) ? vocab : int(random, 1, 12)})`);
  if (chance(random, 0.1))
    steps.splice(
      int(random, 0, steps.length),
      0,
      `    -> ${stepText(random, pick(random, [...builtins, ...layerKinds, 'output']), [])}`,
    );
  lines.push(...steps, '  }', '}', '');
  return lines.join('\n');
}

// Generator (d): mutations of safetensors files. The base files hold the weights of a small
// tagger; the mutants change the header size field, the header's JSON (offsets, dtypes, shapes,
// huge, negative and fractional numbers, deep nesting, odd names), the bytes, or cut the file short.

const weightsName = 'fuzz.safetensors';
const weightsSpec = `model Tagger {
  input tokens: int64[batch, time]
  tokens -> embedding: Embedding(vocab=5, dim=3) -> fc: Linear(2) -> output y
}
`;

function baseWeights(random: Random): { header: Record<string, unknown>; buffer: Uint8Array } {
  const tensor = (shape: number[]): { shape: number[]; data: Float32Array } => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () =>
      chance(random, 0.02) ? pick(random, [Number.NaN, Infinity, -Infinity]) : random() - 0.5,
    ),
  });
  const bytes = writeSafetensors(
    [
      ['embedding.weight', tensor([5, 3])],
      ['fc.weight', tensor([2, 3])],
      ['fc.bias', tensor([2])],
    ],
    chance(random, 0.3) ? { format: 'pt' } : undefined,
  );
  const size = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size))) as Record<string, unknown>;
  return { header, buffer: bytes.subarray(8 + size) };
}

const hostileNumbers = [
  -1,
  0,
  1,
  3,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  1e300,
  -1e300,
  0.5,
  Number.MAX_SAFE_INTEGER,
  1e21,
];
const hostileValues = (random: Random): unknown =>
  pick(random, [
    null,
    true,
    'F32',
    '',
    [],
    {},
    [1],
    [1, 2, 3],
    '12',
    pick(random, hostileNumbers),
    [pick(random, hostileNumbers), pick(random, hostileNumbers)],
  ]);

function deepJson(depth: number, open: string, close: string): string {
  return `${open.repeat(depth)}${close.repeat(depth)}`;
}

function mutateWeights(random: Random): Uint8Array {
  const { header, buffer } = baseWeights(random);
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  let headerText: string | undefined;
  // A quarter of the headers stay whole, so that the checks after the header's are reached too.
  const rounds = chance(random, 0.25) ? 0 : int(random, 1, 3);
  for (let round = 0; round < rounds; round++) {
    const entry = header[pick(random, names)] as Record<string, unknown> | undefined;
    switch (int(random, 0, 9)) {
      case 0: // Offsets: shifted, swapped, huge, negative or fractional.
        if (entry !== undefined)
          entry.data_offsets = chance(random, 0.5)
            ? [pick(random, hostileNumbers), pick(random, hostileNumbers)]
            : (entry.data_offsets as number[]).map((o) => o + int(random, -8, 8));
        break;
      case 1: // Another dtype, known or not.
        if (entry !== undefined)
          entry.dtype = pick(random, ['F16', 'BF16', 'F64', 'I32', 'I64', 'U8', 'BOOL', 'F8_E5M2', 'Q4', 'f32', '', 7]);
        break;
      case 2: // Shapes: huge, negative, empty, deep.
        if (entry !== undefined)
          entry.shape = pick(random, [
            [],
            [0],
            [-1],
            [2 ** 53, 2 ** 53],
            [1e300],
            [0.5],
            [2 ** 31, 2 ** 31, 0],
            Array.from({ length: 1000 }, () => 1),
            [[3]],
          ]);
        break;
      case 3: // A field replaced by something of the wrong kind, or removed.
        if (entry !== undefined) {
          const field = pick(random, ['dtype', 'shape', 'data_offsets']);
          if (chance(random, 0.3)) delete entry[field];
          else entry[field] = hostileValues(random);
        }
        break;
      case 4: // Odd tensor names and metadata.
        header[pick(random, ['__proto__', 'constructor', '', 'fc.weight\u0000', 'x'.repeat(10_000), '__metadata__'])] =
          chance(random, 0.5) ? header[pick(random, names)] : hostileValues(random);
        break;
      case 5: // Many tensors.
        for (let i = 0; i < int(random, 100, 5000); i++)
          header[`t${i}`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
        break;
      default: // The header replaced by deep, cut or foreign JSON.
        headerText = pick(random, [
          deepJson(int(random, 1000, 100_000), '[', ']'),
          `{"a":${deepJson(int(random, 1000, 100_000), '{"a":', '}')}1}`,
          JSON.stringify(header).slice(0, int(random, 0, 200)),
          '[]',
          'null',
          '{"a":1,"a":2}',
          `{"x":{"dtype":"F32","shape":[${'1,'.repeat(50_000)}1],"data_offsets":[0,4]}}`,
        ]);
        break;
    }
  }
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  let bytes = new Uint8Array(8 + json.length + buffer.length);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  bytes.set(buffer, 8 + json.length);
  switch (rounds === 0 ? int(random, 0, 7) : int(random, 0, 5)) {
    case 0: // The header size field says something else.
      view.setBigUint64(
        0,
        pick(random, [
          0n,
          1n,
          BigInt(json.length) - 1n,
          BigInt(json.length) + 1n,
          2n ** 63n,
          2n ** 64n - 1n,
          100_000_001n,
        ]),
        true,
      );
      break;
    case 1: // Cut short.
      bytes = bytes.subarray(0, int(random, 0, bytes.length));
      break;
    case 2: // A few bytes flipped anywhere.
      for (let i = 0; i < int(random, 1, 4); i++) bytes[int(random, 0, bytes.length - 1)] = int(random, 0, 255);
      break;
    default:
      break;
  }
  return bytes;
}

/** What must hold for a weights file: no exception, no "bug" diagnostic, diagnostics or tensors, and the same through `compile`. */
function checkWeights(bytes: Uint8Array): { problems: string[]; compiled: boolean } {
  const problems: string[] = [];
  try {
    const read = readSafetensors(bytes, weightsName);
    if ((read.tensors === undefined) === (read.diagnostics.length === 0))
      problems.push('tensors and diagnostics both present or both absent');
    for (const d of read.diagnostics) {
      if (!Object.hasOwn(catalogue, d.code)) problems.push(`unknown code ${String(d.code)}`);
      if (d.span.source !== weightsName) problems.push(`${d.code} points into ${d.span.source}`);
      if (/unexpectedly|bug in seqc/.test(`${d.message} ${d.hint ?? ''}`))
        problems.push(`a bug diagnostic: ${d.message}`);
    }
    if (read.diagnostics.length > 101) problems.push(`${read.diagnostics.length} diagnostics, more than the cap`);
  } catch (e) {
    problems.push(`readSafetensors threw: ${(e as Error).stack ?? String(e)}`);
  }
  let compiled = false;
  try {
    const result = compile(weightsSpec, { sourceName, weights: { bytes, name: weightsName } });
    compiled = result.model !== undefined;
    if (compiled === result.diagnostics.some((d) => d.severity === 'error'))
      problems.push('errors and a model, or neither');
    renderDiagnostics(result.diagnostics, new Map([[sourceName, weightsSpec]]), { color: false });
  } catch (e) {
    problems.push(`compile threw: ${(e as Error).stack ?? String(e)}`);
  }
  return { problems, compiled };
}

// Adversarial specs: each is large or odd in one way, and must be handled in bounded time.

const adversarialSpecs: readonly (readonly [string, () => string])[] = [
  [
    '50,000 relu steps',
    () => `model M {\n  input x: float32[b, t, 4]\n  x${' -> relu'.repeat(50_000)} -> output y\n}\n`,
  ],
  [
    '20,000 chains',
    () =>
      `model M {\n  input x: float32[b, t, 4]\n${Array.from({ length: 20_000 }, (_, i) => `  x -> relu -> output y${i}`).join('\n')}\n}\n`,
  ],
  [
    '10,000 inputs',
    () =>
      `model M {\n${Array.from({ length: 10_000 }, (_, i) => `  input x${i}: float32[b, t, 4]`).join('\n')}\n  x0 -> relu -> output y\n}\n`,
  ],
  [
    '10,000 labelled layers',
    () =>
      `model M {\n  input x: float32[b, t, 4]\n  x${Array.from({ length: 10_000 }, (_, i) => ` -> l${i}: Linear(4)`).join('')} -> output y\n}\n`,
  ],
  [
    '100,000 opening parentheses',
    () => `model M {\n  input x: float32[b, t, 4]\n  x -> Linear${'('.repeat(100_000)}\n}\n`,
  ],
  ['100,000 opening braces', () => `model M ${'{'.repeat(100_000)}`],
  ['100,000 brackets in a type', () => `model M {\n  input x: float32${'['.repeat(100_000)}\n}\n`],
  [
    'a line of a million characters',
    () => `model M {\n  input x: float32[b, t, 4]\n  x -> relu -> output y # ${'x'.repeat(1_000_000)}\n}\n`,
  ],
  [
    'a million characters of binary junk',
    () => Array.from({ length: 1_000_000 }, (_, i) => String.fromCharCode((i * 7919 + (i >> 7)) % 256)).join(''),
  ],
  ['40,000 lines of syntax errors', () => `model M {\n${'  x -> -> (\n'.repeat(40_000)}}\n`],
  [
    '20,000 unknown layers',
    () => `model M {\n  input x: float32[b, t, 4]\n  x${' -> Lsstm'.repeat(20_000)} -> output y\n}\n`,
  ],
  [
    '20,000 duplicate labels',
    () => `model M {\n  input x: float32[b, t, 4]\n  x${' -> a: Linear(4)'.repeat(20_000)} -> output y\n}\n`,
  ],
  [
    '5,000 misspelled arguments on one line',
    () =>
      `model M {\n  input x: float32[b, t, 4]\n  x -> LSTM(${Array.from({ length: 5_000 }, (_, i) => `hiden${i}=4`).join(', ')}) -> output y\n}\n`,
  ],
  ['a spec just over the size limit', () => `model M {}\n${'#'.repeat(1_048_576)}`],
];

// The tests.

describe('fuzzing compile', () => {
  it('survives token soups', () => {
    const run = fuzz('soup', 1500 * scale, tokenSoup);
    expect(run.failures, `${run.failed} failing cases`).toEqual([]);
  });

  it('survives mutations of real specs', () => {
    const corpus = seedCorpus();
    const run = fuzz('mutation', 1500 * scale, (random) => mutate(random, corpus));
    expect(run.failures, `${run.failed} failing cases`).toEqual([]);
  });

  it('survives random specs that follow the grammar, and compiles the ones without errors', () => {
    const run = fuzz('spec', 600 * scale, randomSpec);
    expect(run.failures, `${run.failed} failing cases`).toEqual([]);
    // The generator is only useful if a fair share of its specs get through the checker.
    expect(run.compiled).toBeGreaterThan(60 * scale);
  });

  it('survives random encoder–decoder specs and language models', () => {
    const run = fuzz('seq2seq', 300 * scale, randomSeq2Seq);
    expect(run.failures, `${run.failed} failing cases`).toEqual([]);
    expect(run.compiled).toBeGreaterThan(30 * scale);
  });

  it('survives mutated safetensors files, through readSafetensors and compile', () => {
    // A case is carried as a string of one character per byte, so that a failure prints it.
    const asText = (bytes: Uint8Array): string => Array.from(bytes, (b) => String.fromCharCode(b)).join('');
    const run = fuzz(
      'safetensors',
      250 * scale,
      (random) => asText(mutateWeights(random)),
      (text) => checkWeights(Uint8Array.from(text, (c) => c.charCodeAt(0))),
    );
    expect(run.failures, `${run.failed} failing cases`).toEqual([]);
    // Some mutants must still be valid files, or the generator tests only the first checks.
    expect(run.compiled).toBeGreaterThan(15 * scale);
  });

  it.each(adversarialSpecs)('handles %s in bounded time and memory', (_, make) => {
    const text = make();
    const heapAtStart = process.memoryUsage().heapUsed;
    const started = performance.now();
    const outcome = check(text);
    const seconds = (performance.now() - started) / 1000;
    expect(outcome.problems).toEqual([]);
    // These cases are a thousand times larger than the generated ones; they get more time, but
    // a quadratic stage would take minutes.
    expect(seconds).toBeLessThan(30);
    expect(process.memoryUsage().heapUsed - heapAtStart).toBeLessThan(heapGrowthBytes);
  });

  it('handles the edges: empty text, whitespace, a lone carriage return, a byte-order mark', () => {
    for (const text of ['', ' ', '\n', '\r', '\r\n', '\ufeffmodel M {}', 'model', 'model M', 'model M {', '#', '"']) {
      expect(check(text).problems, JSON.stringify(text)).toEqual([]);
    }
  });

  it('gives the same lines to syntax and check spans in a file with Windows line ends', () => {
    const text = 'model M {\r\n  input x: float32[batch, time, 8]\r\n  x -> Lsstm(4) -> output y\r\n}\r\n';
    const [d] = compile(text).diagnostics;
    expect(d?.code).toBe('SEQ010');
    expect(d?.span.start).toEqual({ offset: text.indexOf('Lsstm'), line: 3, column: 8 });
  });

  // A regression test: a layer too large to allocate used to throw from the weights stage.
  it('refuses a layer too large to allocate with a diagnostic, not an exception', () => {
    const text = 'model M {\n  input x: float32[batch, 3]\n  x -> fc: Linear(99999999999999999999) -> output y\n}\n';
    expect(check(text).problems).toEqual([]);
    expect(compile(text).diagnostics.map((d) => d.code)).toContain('SEQ023');
  });

  // A regression test: a lone '\r' ends a line for the parser, the checker and the renderer alike.
  it('gives spans that agree with their offsets in a file with old Mac line ends', () => {
    const text = 'model M {\r  input x: float32[batch, time, 8]\r  x -> Lsstm(4) -> output y\r}\r';
    const [d] = compile(text).diagnostics;
    expect(d?.code).toBe('SEQ010');
    expect(d?.span.start).toEqual({ offset: text.indexOf('Lsstm'), line: 3, column: 8 });
  });
});
