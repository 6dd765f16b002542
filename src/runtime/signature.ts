// The signature a model file carries, distrusted: its seqc.signature JSON checked against a schema and against the graph itself, and each token input's vocabulary taken from the graph's embedding tables.

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { ModelSignature } from '../contracts/signature.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto } from '../onnx/types.js';

type SignatureInput = ModelSignature['inputs'][number];

/** The most inputs or outputs a signature may list, and the most axes an input may have. */
const limits = { entries: 1024, axes: 8, nameLength: 256, dimSize: 2 ** 31 - 1 } as const;

/**
 * Checks the text of a `seqc.signature` entry against the shape seqc writes: a name, inputs with
 * dtype, dims, role (and `of` for lengths), outputs with dtype and dims. The checks are flat loops,
 * so a hostile document cannot make them recurse.
 */
export function parseSignature(
  text: string,
  source: string,
): { signature?: ModelSignature; diagnostics: Diagnostic[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { diagnostics: [badSignature(source, 'it is not JSON')] };
  }
  const problem = signatureProblem(value);
  if (problem !== undefined) return { diagnostics: [badSignature(source, problem)] };
  return { signature: value as ModelSignature, diagnostics: [] };
}

/**
 * Compares the signature with the graph it describes: the same input names with the same dtypes,
 * ranks and fixed sizes, and outputs the graph has. Returns the signature with each int64 input's
 * vocabulary bounded by the embedding tables its ids index in the graph, whatever the signature says.
 */
export function checkAgainstGraph(
  signature: ModelSignature,
  model: ModelProto,
  source: string,
): { signature?: ModelSignature; diagnostics: Diagnostic[] } {
  const graph = model.graph;
  const initializers = new Set(graph.initializers.map((t) => t.name));
  const graphInputs = new Map(graph.inputs.filter((i) => !initializers.has(i.name)).map((i) => [i.name, i]));
  const problems: string[] = [];
  for (const input of signature.inputs) {
    const actual = graphInputs.get(input.name);
    if (actual === undefined) {
      problems.push(`it lists an input \`${input.name}\` that the graph does not have`);
      continue;
    }
    const dtype =
      actual.type.elemType === DataType.INT64
        ? 'int64'
        : actual.type.elemType === DataType.FLOAT
          ? 'float32'
          : `ONNX type ${actual.type.elemType}`;
    if (dtype !== input.dtype)
      problems.push(`it says \`${input.name}\` is ${input.dtype}, but the graph takes ${dtype}`);
    const shape = actual.type.shape;
    if (shape !== undefined && shape.length !== input.dims.length)
      problems.push(`it says \`${input.name}\` has ${input.dims.length} axes, but the graph's has ${shape.length}`);
    else if (shape !== undefined) {
      shape.forEach((d, axis) => {
        const claimed = input.dims[axis];
        if (d.kind === 'value' && claimed !== d.value)
          problems.push(
            `it says axis ${axis} of \`${input.name}\` is ${String(claimed)}, but the graph fixes it at ${d.value}`,
          );
      });
    }
  }
  const listed = new Set(signature.inputs.map((i) => i.name));
  for (const name of graphInputs.keys())
    if (!listed.has(name)) problems.push(`the graph takes an input \`${name}\` that it does not list`);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  for (const output of signature.outputs)
    if (!graphOutputs.has(output.name))
      problems.push(`it lists an output \`${output.name}\` that the graph does not have`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 4).join('; ') + (problems.length > 4 ? `; and ${problems.length - 4} more` : '');
    return {
      diagnostics: [
        error(
          'SEQ303',
          spanOfWhole(source),
          `${source}'s seqc.signature does not match its graph: ${shown}`,
          'the file was changed after seqc compiled it; compile the spec again',
          { names: [source], found: shown },
        ),
      ],
    };
  }
  const tables = embeddingRows(graph);
  const diagnostics: Diagnostic[] = [];
  const inputs = signature.inputs.map((input): SignatureInput => {
    if (input.dtype !== 'int64') return input;
    const rows = tables.get(input.name);
    const vocab = rows === undefined ? input.vocab : input.vocab === undefined ? rows : Math.min(rows, input.vocab);
    if (vocab === undefined && input.role === 'data') {
      diagnostics.push(
        error(
          'SEQ303',
          spanOfWhole(source),
          `seqc cannot find the embedding table that \`${input.name}\` indexes in ${source}, so it cannot check its ids`,
          'run only models compiled by seqc, unchanged; compile the spec again',
          { names: [source], input: input.name, expected: 'an embedding table' },
        ),
      );
    }
    return vocab === undefined ? input : { ...input, vocab };
  });
  return diagnostics.length > 0 ? { diagnostics } : { signature: { ...signature, inputs }, diagnostics: [] };
}

// Internals.

function badSignature(source: string, problem: string): Diagnostic {
  return error(
    'SEQ303',
    spanOfWhole(source),
    `${source} has a seqc.signature seqc cannot use: ${problem}`,
    'the file was changed after seqc compiled it, or it was not written by seqc; compile the spec again',
    { names: [source], found: problem },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= limits.nameLength;
}

function dimsProblem(dims: unknown, what: string): string | undefined {
  if (!Array.isArray(dims)) return `the dims of ${what} are not a list`;
  if (dims.length === 0 || dims.length > limits.axes)
    return `${what} has ${dims.length} axes; seqc inputs and outputs have 1 to ${limits.axes}`;
  for (let axis = 0; axis < dims.length; axis++) {
    const d: unknown = dims[axis];
    if (isName(d)) continue;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > limits.dimSize)
      return `axis ${axis} of ${what} is neither a name nor a size from 1 to ${limits.dimSize}`;
  }
  return undefined;
}

function signatureProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'it is not a JSON object';
  if (!isName(value.name)) return 'its `name` is not a string';
  const { inputs, outputs } = value;
  if (!Array.isArray(inputs) || inputs.length > limits.entries)
    return `its \`inputs\` are not a list of at most ${limits.entries}`;
  if (!Array.isArray(outputs) || outputs.length === 0 || outputs.length > limits.entries)
    return `its \`outputs\` are not a list of 1 to ${limits.entries}`;
  const names = new Set<string>();
  for (let i = 0; i < inputs.length; i++) {
    const input: unknown = inputs[i];
    if (!isRecord(input) || !isName(input.name)) return `input ${i} has no name`;
    const what = `input \`${input.name}\``;
    if (names.has(input.name)) return `${what} is listed twice`;
    names.add(input.name);
    if (input.dtype !== 'int64' && input.dtype !== 'float32') return `${what} has a dtype other than int64 or float32`;
    const dims = dimsProblem(input.dims, what);
    if (dims !== undefined) return dims;
    const rank = (input.dims as unknown[]).length;
    if (
      input.vocab !== undefined &&
      (typeof input.vocab !== 'number' ||
        !Number.isInteger(input.vocab) ||
        input.vocab < 1 ||
        input.vocab > limits.dimSize)
    )
      return `the vocab of ${what} is not a size from 1 to ${limits.dimSize}`;
    if (input.role === 'data') continue;
    if (input.role === 'lengths') {
      if (input.dtype !== 'int64' || rank !== 1) return `${what} is a lengths input, but not int64 with one axis`;
      if (!isName(input.of)) return `${what} is a lengths input without \`of\``;
      continue;
    }
    if (input.role === 'state') {
      if (input.dtype !== 'float32') return `${what} is a state input, but not float32`;
      const fixed = (input.dims as unknown[]).reduce(
        (product: number, d) => (typeof d === 'number' ? product * d : product),
        1,
      );
      if (fixed > 2 ** 24) return `${what} is a state of ${fixed} values per row, more than seqc ever makes`;
      continue;
    }
    return `${what} has a role other than data, lengths or state`;
  }
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i] as { name: string; role: string; of?: string };
    if (input.role !== 'lengths') continue;
    const target = (inputs as { name: string; role: string; dims: unknown[] }[]).find((t) => t.name === input.of);
    if (target === undefined || target.role === 'lengths' || target.dims.length < 2)
      return `\`${input.name}\` is the lengths of \`${String(input.of)}\`, which is not a sequence input`;
  }
  for (let i = 0; i < outputs.length; i++) {
    const output: unknown = outputs[i];
    if (!isRecord(output) || !isName(output.name)) return `output ${i} has no name`;
    if (typeof output.dtype !== 'string') return `output \`${output.name}\` has no dtype`;
    const dims = dimsProblem(output.dims, `output \`${output.name}\``);
    if (dims !== undefined) return dims;
  }
  return undefined;
}

/** Operators that pass token ids through unchanged (reordered, reshaped, sliced or joined). */
const passesIdsThrough = new Set([
  'Identity',
  'Transpose',
  'Reshape',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Slice',
  'Gather',
  'Concat',
  'Cast',
  'Expand',
  'Tile',
]);

/**
 * For each graph input whose values reach the indices of a `Gather` on a table initializer (an
 * embedding), the fewest rows among those tables. Looks inside subgraphs (Loop and If bodies) too.
 */
function embeddingRows(graph: GraphProto): Map<string, number> {
  const graphs: GraphProto[] = [graph];
  for (let g = 0; g < graphs.length; g++) {
    for (const node of graphs[g]!.nodes) for (const a of node.attributes) if (a.kind === 'graph') graphs.push(a.value);
  }
  const producers = new Map<string, NodeProto>();
  const tables = new Map<string, number>();
  for (const g of graphs) {
    for (const node of g.nodes) for (const out of node.outputs) if (out !== '') producers.set(out, node);
    for (const t of g.initializers) if (t.dims.length >= 1) tables.set(t.name, t.dims[0]!);
  }
  const inputNames = new Set(graph.inputs.map((i) => i.name));
  const bounds = new Map<string, number>();
  for (const g of graphs) {
    for (const node of g.nodes) {
      if (node.opType !== 'Gather' || node.inputs.length < 2) continue;
      const rows = tables.get(node.inputs[0]!);
      const axis = node.attributes.find((a) => a.name === 'axis');
      if (rows === undefined || (axis !== undefined && axis.value !== 0)) continue;
      for (const name of sourcesOf(node.inputs[1]!, producers, inputNames))
        bounds.set(name, Math.min(rows, bounds.get(name) ?? Infinity));
    }
  }
  return bounds;
}

/** The graph inputs a value is copied from through operators that pass ids through; a worklist, not recursion. */
function sourcesOf(
  value: string,
  producers: ReadonlyMap<string, NodeProto>,
  inputNames: ReadonlySet<string>,
): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const work = [value];
  while (work.length > 0) {
    const name = work.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    if (inputNames.has(name)) {
      found.push(name);
      continue;
    }
    const node = producers.get(name);
    if (node === undefined || !passesIdsThrough.has(node.opType)) continue;
    // The ids are the first input (the data); Concat joins all of its inputs.
    if (node.opType === 'Concat') work.push(...node.inputs.filter((i) => i !== ''));
    else if (node.inputs[0] !== undefined && node.inputs[0] !== '') work.push(node.inputs[0]);
  }
  return found;
}
