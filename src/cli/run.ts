// `seqc run`: a compiled model or a spec on onnxruntime-node, inputs from the command line, outputs as JSON.

import { basename } from 'node:path';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { tensorFromNested, type TensorData } from '../runtime/inputs.js';
import { loadModel, runModel, toNested, type LoadedModel } from '../runtime/node.js';
import { runText } from '../runtime/text.js';
import { readTokenizer, type TextTokenizer } from '../runtime/tokenizer.js';
import { type ParsedArgs } from './args.js';
import {
  compactJson,
  compileFromArgs,
  emit,
  ExitCode,
  onePositional,
  readBytes,
  readText,
  report,
  type Io,
} from './io.js';

/** The providers `--ep` accepts, in a comma list tried in order. */
const providers = ['cpu', 'cuda'] as const;

export async function runCommand(args: ParsedArgs, io: Io): Promise<number> {
  const path = onePositional(args, io, 'run', 'model (.onnx) or spec (.seq)');
  if (path === undefined) return ExitCode.usage;
  const ep = executionProviders(args.flags.get('ep')?.[0] ?? 'cpu');
  const assignments = inputAssignments(args.flags.get('input') ?? []);
  const usageProblems = [...ep.diagnostics, ...assignments.diagnostics];
  if (ep.providers === undefined || assignments.values === undefined) {
    report(usageProblems, new Map(), io);
    return ExitCode.usage;
  }
  let bytes: Uint8Array | undefined;
  let sources = new Map<string, string>();
  if (path.endsWith('.onnx')) {
    const read = readBytes(path);
    report(read.diagnostics, sources, io);
    bytes = read.bytes;
  } else {
    const compiled = compileFromArgs(path, args);
    sources = compiled.sources;
    report(compiled.diagnostics, sources, io);
    if (compiled.usageProblem) return ExitCode.usage;
    bytes = compiled.result?.model;
  }
  if (bytes === undefined) return ExitCode.diagnostics;
  // Level 4 (fatal) keeps ONNX Runtime's own coloured log lines off standard error; its errors come back as diagnostics.
  const loaded = await loadModel(bytes, { name: path, executionProviders: ep.providers, logSeverityLevel: 4 });
  report(loaded.diagnostics, sources, io);
  if (loaded.model === undefined) return ExitCode.diagnostics;
  const inputs = new Map<string, TensorData>();
  const problems: Diagnostic[] = [];
  for (const [name, raw] of assignments.values) {
    const value = inputValue(name, raw);
    if (value.problem !== undefined) {
      problems.push(value.problem);
      continue;
    }
    const declared = loaded.model.signature.inputs.find((i) => i.name === name);
    const converted = tensorFromNested(name, value.value, declared?.dtype === 'int64' ? 'int64' : 'float32');
    problems.push(...converted.diagnostics);
    if (converted.tensor !== undefined) inputs.set(name, converted.tensor);
  }
  if (problems.length > 0) {
    report(problems, sources, io);
    return ExitCode.diagnostics;
  }
  if (args.flags.has('text')) {
    const ran = await runOnText(args, loaded.model, inputs, sources, io);
    await loaded.model.release();
    return ran;
  }
  const result = await runModel(loaded.model, inputs);
  await loaded.model.release();
  if (result.outputs === undefined) {
    // Models record only their spec's file name: a failure placed there is placed in the spec compiled here.
    const recorded = basename(path);
    const inSpec = (d: Diagnostic): Diagnostic =>
      d.span.source === recorded && sources.has(path) ? { ...d, span: { ...d.span, source: path } } : d;
    report(
      result.diagnostics.map((d) => widenToToken(inSpec(d), sources)),
      sources,
      io,
    );
    return ExitCode.diagnostics;
  }
  // A prototype-free object, so that an output named like an Object method prints as itself.
  const printable = Object.create(null) as Record<string, unknown>;
  for (const [name, t] of result.outputs)
    Object.defineProperty(printable, name, { value: { dims: t.dims, data: toNested(t) }, enumerable: true });
  emit(io, printable, `${compactJson(printable)}\n`);
  return ExitCode.ok;
}

// Internals.

/**
 * `--text [NAME=]TEXT` (one row each) through `--tokenizer [NAME=]FILE`: the text is encoded,
 * padded into the input (its lengths input filled), and the result prints the text, its tokens and
 * ids beside the outputs. NAME may be left out when the model has one token-id input.
 */
async function runOnText(
  args: ParsedArgs,
  model: LoadedModel,
  given: ReadonlyMap<string, TensorData>,
  sources: Map<string, string>,
  io: Io,
): Promise<number> {
  const idInputs = model.signature.inputs
    .filter((i) => i.dtype === 'int64' && i.role === 'data' && i.dims.length === 2)
    .map((i) => i.name);
  const named = (value: string): { name?: string; rest: string } => {
    const eq = value.indexOf('=');
    const name = eq > 0 ? value.slice(0, eq) : undefined;
    return name !== undefined && model.signature.inputs.some((i) => i.name === name)
      ? { name, rest: value.slice(eq + 1) }
      : { rest: value };
  };
  const problems: Diagnostic[] = [];
  const only = idInputs.length === 1 ? idInputs[0] : undefined;
  const texts: Record<string, string[]> = {};
  for (const value of args.flags.get('text') ?? []) {
    const { name, rest } = named(value);
    const input = name ?? only;
    if (input === undefined) {
      problems.push(
        error(
          'SEQ248',
          spanOfWhole('--text'),
          `\`--text\` must name the input it is for, since ${model.source} has ${idInputs.length === 0 ? 'no token-id input' : `${idInputs.length} token-id inputs`}`,
          idInputs.length === 0 ? 'text goes to an int64 [batch, time] input' : `write --text ${idInputs[0]}="…"`,
          { flag: '--text', expected: idInputs },
        ),
      );
      continue;
    }
    (texts[input] ??= []).push(rest);
  }
  const tokenizers: Record<string, TextTokenizer> = {};
  for (const value of args.flags.get('tokenizer') ?? []) {
    const { name, rest } = named(value);
    const text = readText(rest, 'json');
    if (text.text === undefined) {
      problems.push(...text.diagnostics);
      continue;
    }
    const read = readTokenizer(text.text, rest);
    problems.push(...read.diagnostics);
    if (read.tokenizer === undefined) continue;
    for (const input of name === undefined ? idInputs : [name]) tokenizers[input] = read.tokenizer;
  }
  if (problems.length > 0) {
    report(problems, sources, io);
    return problems.some((d) => d.code === 'SEQ248') ? ExitCode.usage : ExitCode.diagnostics;
  }
  const result = await runText(model, texts, tokenizers, given);
  report(result.diagnostics, sources, io);
  if (result.outputs === undefined) return ExitCode.diagnostics;
  const outputs = Object.create(null) as Record<string, unknown>;
  for (const [name, t] of result.outputs)
    Object.defineProperty(outputs, name, { value: { dims: t.dims, data: toNested(t) }, enumerable: true });
  const printable = { inputs: result.inputs, outputs };
  emit(io, printable, `${compactJson(printable)}\n`);
  return ExitCode.ok;
}

/** `--ep cpu`, `--ep cuda` or a comma list such as `cuda,cpu`, tried in order. */
function executionProviders(flag: string): { providers?: string[]; diagnostics: Diagnostic[] } {
  const list = flag.split(',').map((p) => p.trim());
  const unknown = list.filter((p) => !(providers as readonly string[]).includes(p));
  const repeated = list.filter((p, i) => list.indexOf(p) !== i);
  if (unknown.length > 0 || repeated.length > 0 || list.length === 0) {
    const found = unknown.length > 0 ? `found \`${unknown[0]!.slice(0, 40)}\`` : `\`${repeated[0]}\` is listed twice`;
    return {
      diagnostics: [
        error(
          'SEQ201',
          spanOfWhole('--ep'),
          `\`--ep\` must be cpu, cuda, or a comma list of them such as cuda,cpu; ${found}`,
          'cuda needs onnxruntime-node installed with its CUDA binaries; `--ep cuda,cpu` falls back to cpu',
          { flag: '--ep', value: flag, expected: [...providers] },
        ),
      ],
    };
  }
  return { providers: list, diagnostics: [] };
}

/** Splits `--input NAME=VALUE` flags; a name given twice is refused rather than the last one winning. */
function inputAssignments(flags: readonly string[]): { values?: Map<string, string>; diagnostics: Diagnostic[] } {
  const values = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  for (const assignment of flags) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) {
      diagnostics.push(
        error(
          'SEQ201',
          spanOfWhole('--input'),
          `\`--input ${assignment.slice(0, 60)}\` is not NAME=VALUE`,
          "for example --input 'tokens=[[1, 2, 3]]'",
          { flag: '--input', value: assignment.slice(0, 60), expected: 'NAME=VALUE' },
        ),
      );
      continue;
    }
    const name = assignment.slice(0, eq);
    if (values.has(name)) {
      diagnostics.push(
        error(
          'SEQ306',
          spanOfWhole(`input \`${name}\``),
          `\`--input ${name}=…\` is given more than once`,
          'give each input once; put several rows in one value, e.g. [[1, 2], [3, 4]]',
          { flag: '--input', input: name, limit: 1 },
        ),
      );
      continue;
    }
    values.set(name, assignment.slice(eq + 1));
  }
  return diagnostics.length > 0 ? { diagnostics } : { values, diagnostics };
}

/** An input's JSON, inline or from `@FILE`; errors name the file and the place, never its contents. */
function inputValue(name: string, raw: string): { value?: unknown; problem?: Diagnostic } {
  const fromFile = raw.startsWith('@') ? raw.slice(1) : undefined;
  let text = raw;
  if (fromFile !== undefined) {
    const file = readText(fromFile, 'input');
    if (file.text === undefined) return { problem: file.diagnostics[0]! };
    text = file.text;
  }
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    const what = fromFile === undefined ? `the value of \`${name}\`` : `${fromFile} (the value of \`${name}\`)`;
    const hint =
      fromFile === undefined
        ? "quote it for the shell: --input 'tokens=[[1, 2, 3]]'"
        : 'the file must hold one JSON value: nested lists of numbers';
    return {
      problem: error(
        'SEQ300',
        spanOfWhole(fromFile ?? `input \`${name}\``),
        `${what} is not JSON: ${jsonProblem(e, text)}`,
        hint,
        { input: name, expected: 'JSON' },
      ),
    };
  }
}

/**
 * JSON.parse's complaint without the excerpt of the text it quotes (the text may be a private
 * file), with the place as line and column where it gives one.
 */
function jsonProblem(e: unknown, text: string): string {
  const message = e instanceof Error ? e.message : String(e);
  const position = /at position (\d+)/.exec(message);
  const token = /^Unexpected token '(.{1,2})'/u.exec(message);
  if (position !== null) {
    const offset = Number(position[1]);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    return `${message
      .slice(0, position.index)
      .replace(/ in JSON $/, '')
      .trim()} at line ${line}, column ${column}`;
  }
  if (token !== null) return `unexpected character ${JSON.stringify(token[1])}`;
  if (/end of JSON input/.test(message)) return 'it ends before the value is complete';
  return 'it is not a JSON value';
}

/** An ONNX Runtime failure points at one column of the spec; widen its caret to the word there. */
function widenToToken(d: Diagnostic, sources: ReadonlyMap<string, string>): Diagnostic {
  const text = sources.get(d.span.source);
  if (text === undefined || d.span.start.line === 0) return d;
  const line = text.split(/\r\n|\r|\n/)[d.span.start.line - 1];
  if (line === undefined) return d;
  const word = /^[\w.]+/.exec(line.slice(d.span.start.column - 1));
  if (word === null) return d;
  return {
    ...d,
    span: { ...d.span, end: { ...d.span.end, line: d.span.start.line, column: d.span.start.column + word[0].length } },
  };
}
