// A functional Keras model that follows the classic Luong-attention recipe as a seqc encoder–decoder spec and its tensors.
//
// The recipe, as Keras tutorials and the TF.js date translator build it:
//   encoder: Input → Embedding → LSTM(return_sequences=True, return_state=True) → memory, h, c
//   decoder: Input → Embedding → LSTM(return_sequences=True, initial_state=[h, c] or [h, h]) → o
//   Dot(axes=[2, 2])([o, memory]) → Activation('softmax') → Dot(axes=[2, 1])([·, memory]) → context
//   Concatenate()([context, o]) → Dense(tanh) → Dense(softmax), each Dense perhaps in TimeDistributed
// which is seqc's `Attention(score=dot, bias=true)` after the decoder's recurrent layer (docs/seq2seq.md:
// a = tanh(linear_out([context ; o]))) and a `Linear(vocab)` of logits. The final softmax is left out:
// the bundle's logits go to the decoder's search, which normalizes them itself.

import { builtinNames, layerKinds } from '../check/signatures.js';
import { generationLimits } from '../contracts/limits.js';
import { error, spanOfWhole, warning, type Diagnostic } from '../diagnostics/diagnostic.js';
import { attentionParameterName } from '../ir/parameters.js';
import type { RecurrentCell } from '../ir/ir.js';
import { kerasDense, kerasEmbedding, kerasRecurrent, type KerasTensor } from './keras-weights.js';
import { baseName, cellArguments, isRecord, layerWeights, positiveInt, unsupportedOption } from './keras-layer.js';
import { claimName, sanitizeName } from './names.js';

/** What `seqc import` gives a generating model from its flags: `--bos`, `--eos`, `--max-length`. */
export interface GenerationFlags {
  readonly bos?: number;
  readonly eos?: number;
  readonly maxLength?: number;
}

/** A functional Keras model as an importer reads it (the same fields as keras.ts's `KerasModel`). */
export interface FunctionalModel {
  readonly topology: unknown;
  readonly kerasVersion?: string;
  readonly weights: ReadonlyMap<string, KerasTensor>;
}

export interface Seq2seqOptions {
  /** The model file, for diagnostics and the spec's header. */
  readonly source: string;
  readonly modelName: string;
  /** `keras3` when Keras 3 wrote the file: its `hard_sigmoid` is relu6(x + 3)/6. */
  readonly semantics: 'keras2' | 'keras3';
  /** Whether TF.js Layers wrote the file: its GRU has reset_after=false. */
  readonly tfjs: boolean;
  readonly generation?: GenerationFlags;
}

export interface Seq2seqResult {
  readonly spec?: string;
  readonly tensors?: ReadonlyMap<string, KerasTensor>;
  readonly diagnostics: readonly Diagnostic[];
}

/** Whether a Keras config is a functional model (`Functional`, or `Model` as TF.js and Keras 2.3 call it). */
export function isFunctionalModel(topology: unknown): boolean {
  const model = modelConfig(topology);
  return model !== undefined && (model['class_name'] === 'Functional' || model['class_name'] === 'Model');
}

/** Converts a functional model of the Luong recipe; anything else is a diagnostic naming the layer. */
export function importKerasSeq2seq(model: FunctionalModel, options: Seq2seqOptions): Seq2seqResult {
  const ctx: Context = {
    options,
    weights: model.weights,
    diagnostics: [],
    tensors: new Map(),
    taken: new Set(),
    avoid: new Set<string>([...layerKinds, ...builtinNames, 'repeat', 'masking', 'concat', 'add', 'tokens', 'memory']),
  };
  const graph = functionalGraph(ctx, model.topology);
  if (graph === undefined) return { diagnostics: ctx.diagnostics };
  const recipe = matchRecipe(ctx, graph);
  if (recipe === undefined) return { diagnostics: ctx.diagnostics };
  const spec = writeRecipe(ctx, model, recipe);
  if (spec === undefined || ctx.diagnostics.some((d) => d.severity === 'error'))
    return { diagnostics: ctx.diagnostics };
  return { spec, tensors: ctx.tensors, diagnostics: ctx.diagnostics };
}

interface Context {
  readonly options: Seq2seqOptions;
  readonly weights: ReadonlyMap<string, KerasTensor>;
  readonly diagnostics: Diagnostic[];
  readonly tensors: Map<string, KerasTensor>;
  readonly taken: Set<string>;
  readonly avoid: ReadonlySet<string>;
}

/** One layer of a functional config, with the tensors each call of it read. */
interface Layer {
  readonly className: string;
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** Per call (node): the tensors it read, in order; a recurrent layer's initial states follow its input. */
  readonly nodes: readonly (readonly TensorRef[])[];
}

/** A tensor of the graph: output `tensor` of call `node` of the layer `layer`. */
interface TensorRef {
  readonly layer: string;
  readonly node: number;
  readonly tensor: number;
}

interface Graph {
  readonly layers: ReadonlyMap<string, Layer>;
  readonly inputs: readonly TensorRef[];
  readonly outputs: readonly TensorRef[];
}

/** The layers of the recipe, found by walking back from the output. */
interface Recipe {
  readonly srcInput: Layer;
  readonly srcEmbedding: Layer;
  readonly encoder: Layer;
  readonly tgtInput: Layer;
  readonly tgtEmbedding: Layer;
  readonly decoder: Layer;
  /** `[h, h]` (true) or the encoder's own states `[h, c]` / `[h]` (false). */
  readonly cellFromHidden: boolean;
  /** The attentional Dense (tanh) on the concatenation, its config (inside a TimeDistributed or not). */
  readonly combine: { readonly layer: Layer; readonly config: Readonly<Record<string, unknown>> };
  /** Whether the Concatenate puts the decoder first ([o, context]), so its kernel's rows are swapped. */
  readonly decoderFirst: boolean;
  readonly generator: { readonly layer: Layer; readonly config: Readonly<Record<string, unknown>> };
  /** The layers the recipe passes through without weights (Dot, Activation, Concatenate, Dropout), for comments. */
  readonly attentionLayers: readonly Layer[];
}

const span = (ctx: Context) => spanOfWhole(ctx.options.source);

function modelConfig(topology: unknown): Readonly<Record<string, unknown>> | undefined {
  const model = isRecord(topology) && isRecord(topology['model_config']) ? topology['model_config'] : topology;
  return isRecord(model) ? model : undefined;
}

/** `[name, node, tensor]` (TF.js, Keras 2) or a Keras 3 `__keras_tensor__` with its `keras_history`. */
function tensorRef(entry: unknown): TensorRef | undefined {
  const history =
    isRecord(entry) && isRecord(entry['config']) && Array.isArray(entry['config']['keras_history'])
      ? entry['config']['keras_history']
      : entry;
  if (!Array.isArray(history) || history.length < 3) return undefined;
  const [layer, node, tensor] = history;
  if (typeof layer !== 'string' || !Number.isInteger(node) || !Number.isInteger(tensor)) return undefined;
  return { layer, node: node as number, tensor: tensor as number };
}

/** The tensors one inbound node read: TF.js's and Keras 2's list of refs, or Keras 3's `{ args, kwargs }`. */
function nodeInputs(node: unknown): TensorRef[] | undefined {
  if (Array.isArray(node)) {
    const refs = node.map(tensorRef);
    return refs.every((r) => r !== undefined) ? (refs as TensorRef[]) : undefined;
  }
  if (!isRecord(node)) return undefined;
  const args = Array.isArray(node['args']) ? node['args'] : [];
  const flat = args.flatMap((a) => (Array.isArray(a) && tensorRef(a) === undefined ? a : [a]));
  const kwargs = isRecord(node['kwargs']) ? node['kwargs'] : {};
  const states = Array.isArray(kwargs['initial_state']) ? kwargs['initial_state'] : [];
  const refs = [...flat, ...states].map(tensorRef);
  return refs.every((r) => r !== undefined) ? (refs as TensorRef[]) : undefined;
}

function refList(value: unknown): TensorRef[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const single = tensorRef(value);
  if (single !== undefined && !Array.isArray(value[0])) return [single];
  const refs = value.map(tensorRef);
  return refs.every((r) => r !== undefined) ? (refs as TensorRef[]) : undefined;
}

/** The layers, inputs and outputs of a functional config, or SEQ600 for a malformed one. */
function functionalGraph(ctx: Context, topology: unknown): Graph | undefined {
  const model = modelConfig(topology)!;
  const config = model['config'];
  const malformed = (message: string, hint: string): undefined => {
    ctx.diagnostics.push(error('SEQ600', span(ctx), message, hint, { names: [ctx.options.source] }));
    return undefined;
  };
  if (!isRecord(config) || !Array.isArray(config['layers']))
    return malformed('the functional model lists no layers', 'the config needs `config.layers`');
  const layers = new Map<string, Layer>();
  for (const [index, entry] of config['layers'].entries()) {
    if (!isRecord(entry) || typeof entry['class_name'] !== 'string' || !isRecord(entry['config']))
      return malformed(
        `layer ${index} of the functional model is not a Keras layer config`,
        'each layer is `{ class_name, config, inbound_nodes }`',
      );
    const layerConfig = entry['config'];
    const name =
      typeof entry['name'] === 'string'
        ? entry['name']
        : typeof layerConfig['name'] === 'string'
          ? layerConfig['name']
          : undefined;
    const inbound = entry['inbound_nodes'] ?? [];
    const nodes = Array.isArray(inbound) ? inbound.map(nodeInputs) : [undefined];
    if (name === undefined || nodes.some((n) => n === undefined))
      return malformed(
        `layer ${index} (${entry['class_name']}) of the functional model has no name or unreadable \`inbound_nodes\``,
        'each inbound node lists `[layer, node, tensor]` references',
      );
    layers.set(name, { className: entry['class_name'], name, config: layerConfig, nodes: nodes as TensorRef[][] });
  }
  const inputs = refList(config['input_layers']);
  const outputs = refList(config['output_layers']);
  if (inputs === undefined || outputs === undefined)
    return malformed(
      'the functional model does not list its `input_layers` and `output_layers`',
      'they are `[layer, node, tensor]` references',
    );
  for (const ref of [...inputs, ...outputs, ...[...layers.values()].flatMap((l) => l.nodes.flat())]) {
    if (!layers.has(ref.layer))
      return malformed(`the functional model refers to a layer \`${ref.layer}\` it does not list`, 'the config is cut');
  }
  return { layers, inputs, outputs };
}

/** A structure outside the recipe: SEQ613, naming the layer where the walk left it. */
function notRecipe(ctx: Context, layer: Layer | undefined, found: string, expected: string): undefined {
  const where = layer === undefined ? 'the model' : `the ${layer.className} layer ${layer.name}`;
  ctx.diagnostics.push(
    error(
      'SEQ613',
      span(ctx),
      `cannot import ${where}: seqc imports functional models of the Luong-attention recipe, and here it expects ${expected}, found ${found}`,
      'the recipe: Embedding → LSTM(return_sequences, return_state) for the source; Embedding → LSTM(initial_state=[h, c] or [h, h]) for the target; Dot(axes=[2, 2]) → softmax → Dot(axes=[2, 1]) → Concatenate([context, decoder]) → Dense(tanh) → Dense(softmax)',
      { names: layer === undefined ? [] : [layer.name, layer.className], found, expected },
    ),
  );
  return undefined;
}

/** Layers that are the identity at inference, walked through. */
const inferenceIdentity = new Set(['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/** The layer that makes `ref`, past identity layers; `passed` collects those for comments. */
function producer(graph: Graph, ref: TensorRef, passed: Layer[]): { layer: Layer; ref: TensorRef } {
  let at = ref;
  for (let hops = 0; hops < graph.layers.size; hops++) {
    const layer = graph.layers.get(at.layer)!;
    const from = layer.nodes[at.node]?.[0];
    if (!inferenceIdentity.has(layer.className) || from === undefined) return { layer, ref: at };
    passed.push(layer);
    at = from;
  }
  return { layer: graph.layers.get(at.layer)!, ref: at };
}

/** A Dense, or a TimeDistributed(Dense): the layer (weights, name) and the Dense's config. */
function denseOf(layer: Layer): Readonly<Record<string, unknown>> | undefined {
  if (layer.className === 'Dense') return layer.config;
  if (layer.className !== 'TimeDistributed') return undefined;
  const inner = layer.config['layer'];
  return isRecord(inner) && inner['class_name'] === 'Dense' && isRecord(inner['config']) ? inner['config'] : undefined;
}

function sameRef(a: TensorRef, b: TensorRef): boolean {
  return a.layer === b.layer && a.node === b.node && a.tensor === b.tensor;
}

/** A Dot's axes as `[2, 1]` (an int n is [n, n]). */
function dotAxes(layer: Layer): string {
  const axes = layer.config['axes'];
  const pair = typeof axes === 'number' ? [axes, axes] : axes;
  return Array.isArray(pair) ? `[${pair.map(String).join(', ')}]` : String(JSON.stringify(pair));
}

/** Walks back from the one output through the recipe; SEQ613 where the model leaves it. */
function matchRecipe(ctx: Context, graph: Graph): Recipe | undefined {
  if (graph.outputs.length !== 1 || graph.inputs.length !== 2)
    return notRecipe(
      ctx,
      undefined,
      `${graph.inputs.length} inputs and ${graph.outputs.length} outputs`,
      'two inputs (source and target tokens) and one output',
    );
  const passed: Layer[] = [];
  const single = (layer: Layer): readonly TensorRef[] | undefined =>
    layer.nodes.length === 1 ? layer.nodes[0] : undefined;
  const generatorLayer = producer(graph, graph.outputs[0]!, passed).layer;
  const generatorConfig = denseOf(generatorLayer);
  if (generatorConfig === undefined)
    return notRecipe(
      ctx,
      generatorLayer,
      generatorLayer.className,
      'a Dense (or TimeDistributed(Dense)) of the vocabulary',
    );
  const combineLayer = producer(graph, single(generatorLayer)?.[0] ?? graph.outputs[0]!, passed).layer;
  const combineConfig = denseOf(combineLayer);
  if (combineConfig === undefined || combineLayer === generatorLayer)
    return notRecipe(ctx, combineLayer, combineLayer.className, 'a Dense(tanh) on the concatenation');
  const concatLayer = producer(graph, single(combineLayer)?.[0] ?? graph.outputs[0]!, passed).layer;
  const joined = single(concatLayer);
  const axis = concatLayer.config['axis'] ?? -1;
  if (concatLayer.className !== 'Concatenate' || joined?.length !== 2 || (axis !== -1 && axis !== 2))
    return notRecipe(
      ctx,
      concatLayer,
      `${concatLayer.className}${joined === undefined ? '' : ` of ${joined.length}`}`,
      'Concatenate([context, decoder]) on the last axis',
    );
  passed.push(concatLayer);
  const parts = joined.map((r) => producer(graph, r, passed));
  const contextIndex = parts.findIndex((p) => p.layer.className === 'Dot');
  if (contextIndex < 0)
    return notRecipe(
      ctx,
      concatLayer,
      parts.map((p) => p.layer.className).join(' and '),
      'a Dot (the context) and the decoder',
    );
  const decoderFirst = contextIndex === 1;
  const contextDot = parts[contextIndex]!.layer;
  const decoderPart = parts[1 - contextIndex]!;
  const contextInputs = single(contextDot);
  if (dotAxes(contextDot) !== '[2, 1]' || contextInputs?.length !== 2 || contextDot.config['normalize'] === true)
    return notRecipe(ctx, contextDot, `Dot(axes=${dotAxes(contextDot)})`, 'Dot(axes=[2, 1])([attention, encoder])');
  passed.push(contextDot);
  const softmax = producer(graph, contextInputs[0]!, passed).layer;
  const softmaxOk =
    (softmax.className === 'Activation' && softmax.config['activation'] === 'softmax') ||
    (softmax.className === 'Softmax' && [undefined, -1, 2].includes(softmax.config['axis'] as number | undefined));
  if (!softmaxOk)
    return notRecipe(
      ctx,
      softmax,
      `${softmax.className}(${JSON.stringify(softmax.config['activation'] ?? '')})`,
      "Activation('softmax') over the scores",
    );
  passed.push(softmax);
  const scoreDot = producer(graph, single(softmax)?.[0] ?? contextInputs[0]!, passed).layer;
  const scoreInputs = single(scoreDot);
  if (
    scoreDot.className !== 'Dot' ||
    dotAxes(scoreDot) !== '[2, 2]' ||
    scoreInputs?.length !== 2 ||
    scoreDot.config['normalize'] === true
  )
    return notRecipe(ctx, scoreDot, `${scoreDot.className}`, 'Dot(axes=[2, 2])([decoder, encoder]) scores');
  passed.push(scoreDot);
  const query = producer(graph, scoreInputs[0]!, passed);
  const keys = producer(graph, scoreInputs[1]!, passed);
  const values = producer(graph, contextInputs[1]!, passed);
  if (!sameRef(query.ref, decoderPart.ref))
    return notRecipe(
      ctx,
      scoreDot,
      `its first input ${query.layer.name}`,
      `the decoder ${decoderPart.layer.name}, as the Concatenate joins it`,
    );
  if (!sameRef(keys.ref, values.ref))
    return notRecipe(
      ctx,
      contextDot,
      `the values ${values.layer.name}`,
      `the encoder outputs the scores read, ${keys.layer.name}`,
    );
  const encoder = keys.layer;
  const decoder = query.layer;
  if (!isRecurrentClass(encoder.className) || keys.ref.tensor !== 0)
    return notRecipe(ctx, encoder, encoder.className, "the encoder's recurrent layer (its output sequence)");
  if (!isRecurrentClass(decoder.className) || query.ref.tensor !== 0 || decoder === encoder)
    return notRecipe(ctx, decoder, decoder.className, "the decoder's recurrent layer (its output sequence)");
  for (const [layer, role] of [
    [encoder, 'encoder'],
    [decoder, 'decoder'],
  ] as const) {
    if (layer.config['return_sequences'] !== true)
      return notRecipe(ctx, layer, 'return_sequences=false', `the ${role} with return_sequences=true`);
    if (layer.nodes.length !== 1)
      return notRecipe(ctx, layer, `${layer.nodes.length} calls`, `the ${role} called once`);
  }
  const decoderInputs = decoder.nodes[0]!;
  const states = decoderInputs.slice(1);
  const statesFromEncoder = states.every((s) => s.layer === encoder.name && s.node === 0 && s.tensor >= 1);
  const wiring = `[${states.map((s) => (s.layer === encoder.name ? (s.tensor === 1 ? 'h' : s.tensor === 2 ? 'c' : `#${s.tensor}`) : s.layer)).join(', ')}]`;
  let cellFromHidden = false;
  if (!statesFromEncoder || states.length === 0)
    return notRecipe(
      ctx,
      decoder,
      `initial_state=${wiring}`,
      "the decoder's initial_state from the encoder's returned states",
    );
  if (decoder.className === 'LSTM') {
    const hh = states.length === 2 && states[0]!.tensor === 1 && states[1]!.tensor === 1;
    const hc =
      encoder.className === 'LSTM' && states.length === 2 && states[0]!.tensor === 1 && states[1]!.tensor === 2;
    if (!hh && !hc) return notRecipe(ctx, decoder, `initial_state=${wiring}`, 'initial_state=[h, c] or [h, h]');
    cellFromHidden = hh;
  } else if (states.length !== 1 || states[0]!.tensor !== 1)
    return notRecipe(ctx, decoder, `initial_state=${wiring}`, 'initial_state=[h]');
  if (encoder.config['return_state'] !== true)
    return notRecipe(ctx, encoder, 'return_state=false', 'the encoder with return_state=true');
  const srcEmbedding = producer(graph, encoder.nodes[0]![0]!, passed).layer;
  const tgtEmbedding = producer(graph, decoderInputs[0]!, passed).layer;
  for (const embedding of [srcEmbedding, tgtEmbedding]) {
    if (embedding.className !== 'Embedding')
      return notRecipe(ctx, embedding, embedding.className, 'an Embedding of token ids before the recurrent layer');
  }
  const srcInput = producer(graph, single(srcEmbedding)?.[0] ?? graph.inputs[0]!, passed).layer;
  const tgtInput = producer(graph, single(tgtEmbedding)?.[0] ?? graph.inputs[0]!, passed).layer;
  for (const input of [srcInput, tgtInput]) {
    if (input.className !== 'InputLayer' || !graph.inputs.some((r) => r.layer === input.name))
      return notRecipe(ctx, input, input.className, 'a model input of token ids');
  }
  if (srcInput === tgtInput) return notRecipe(ctx, srcInput, 'one input for both', 'a source input and a target input');
  return {
    srcInput,
    srcEmbedding,
    encoder,
    tgtInput,
    tgtEmbedding,
    decoder,
    cellFromHidden,
    combine: { layer: combineLayer, config: combineConfig },
    decoderFirst,
    generator: { layer: generatorLayer, config: generatorConfig },
    attentionLayers: passed,
  };
}

function isRecurrentClass(name: string): name is 'LSTM' | 'GRU' | 'SimpleRNN' {
  return name === 'LSTM' || name === 'GRU' || name === 'SimpleRNN';
}

/** `--bos`, `--eos` and `--max-length`, which a generating model needs and Keras does not record: SEQ614. */
function generationOf(ctx: Context, vocab: number): Required<GenerationFlags> | undefined {
  const flags = ctx.options.generation ?? {};
  const missing = (['bos', 'eos', 'maxLength'] as const).filter((k) => flags[k] === undefined);
  if (missing.length > 0) {
    const names = missing.map((k) => (k === 'maxLength' ? '--max-length' : `--${k}`));
    ctx.diagnostics.push(
      error(
        'SEQ614',
        span(ctx),
        `the model is an encoder–decoder, whose start and end tokens and longest output Keras does not record: give ${names.join(', ')}`,
        `for example \`--bos 1 --eos 2 --max-length 50\`: the target vocabulary's start and end ids (0 to ${vocab - 1}) and the most tokens to generate`,
        { names, expected: ['--bos', '--eos', '--max-length'] },
      ),
    );
    return undefined;
  }
  for (const key of ['bos', 'eos'] as const) {
    const id = flags[key]!;
    if (Number.isInteger(id) && id >= 0 && id < vocab) continue;
    ctx.diagnostics.push(
      error(
        'SEQ614',
        spanOfWhole(`--${key}`),
        `\`--${key} ${id}\` is not a token id of the target vocabulary, ids 0 to ${vocab - 1}`,
        `give the id the model was trained to read as its ${key === 'bos' ? 'start' : 'end'} token`,
        { flag: `--${key}`, value: String(id), range: [0, vocab - 1] },
      ),
    );
    return undefined;
  }
  const maxLength = flags.maxLength!;
  if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > generationLimits.maxLength) {
    ctx.diagnostics.push(
      error(
        'SEQ614',
        spanOfWhole('--max-length'),
        `\`--max-length ${maxLength}\` is not from 1 to ${generationLimits.maxLength}`,
        'give the most tokens a generated sequence may have',
        { flag: '--max-length', value: String(maxLength), range: [1, generationLimits.maxLength] },
      ),
    );
    return undefined;
  }
  return flags as Required<GenerationFlags>;
}

/** Writes the spec and the tensors of a matched recipe; undefined after a diagnostic. */
function writeRecipe(ctx: Context, model: FunctionalModel, recipe: Recipe): string | undefined {
  // The bundle's runtime feeds the source as `src` (docs/seq2seq.md), whatever Keras named it.
  const srcName = claimName(ctx.taken, ctx.avoid, 'src');
  const src = embedding(ctx, recipe.srcEmbedding, 'encoder');
  if (src === undefined) return undefined;
  const enc = recurrent(ctx, recipe.encoder, src.dim, 'encoder');
  if (enc === undefined) return undefined;
  const tgt = embedding(ctx, recipe.tgtEmbedding, 'decoder');
  if (tgt === undefined) return undefined;
  const dec = recurrent(ctx, recipe.decoder, tgt.dim, 'decoder');
  if (dec === undefined) return undefined;
  if (dec.units !== enc.units) {
    return notRecipe(
      ctx,
      recipe.decoder,
      `${dec.units} units where the encoder has ${enc.units}`,
      "the decoder's units equal to the encoder's (the Dot compares them, and the encoder's states start it)",
    );
  }
  const attention = combine(ctx, recipe, dec.units);
  if (attention === undefined) return undefined;
  const generator = generatorStep(ctx, recipe, dec.units);
  if (generator === undefined) return undefined;
  const generation = generationOf(ctx, Math.min(tgt.vocab, generator.vocab));
  if (generation === undefined) return undefined;
  const through = [...recipe.attentionLayers]
    .reverse()
    .filter((l) => !inferenceIdentity.has(l.className))
    .map((l) => `${l.name} (${l.className})`);
  const dropped = recipe.attentionLayers.filter((l) => inferenceIdentity.has(l.className));
  const states = recipe.decoder.className === 'LSTM' ? (recipe.cellFromHidden ? '[h, h]' : '[h, c]') : '[h]';
  const version = model.kerasVersion ?? 'an unstated Keras version';
  const decoderArgs = [
    `bos=${generation.bos}`,
    `eos=${generation.eos}`,
    `max_length=${generation.maxLength}`,
    ...(recipe.cellFromHidden ? ['c0=h'] : []),
  ];
  return [
    `# Imported by \`seqc import\` from ${baseName(ctx.options.source)} (${version}, ${ctx.options.semantics === 'keras3' ? 'Keras 3' : 'Keras 2'} semantics):`,
    "# a Keras encoder–decoder with Luong attention. The Keras target input is the bundle's `tgt_in`.",
    `model ${sanitizeName(ctx.options.modelName)} {`,
    `  # from Keras ${recipe.srcInput.name} (InputLayer)`,
    `  input ${srcName}: int64[batch, src_time]`,
    '',
    '  encoder {',
    `    ${srcName}`,
    `      # from Keras ${recipe.srcEmbedding.name} (Embedding)`,
    `      -> ${src.step}`,
    `      # from Keras ${recipe.encoder.name} (${recipe.encoder.className}, return_state): its final states start the decoder`,
    `      -> ${enc.step}`,
    '  }',
    '',
    `  # from Keras ${recipe.tgtInput.name} (InputLayer): bos, eos and max_length from \`seqc import\`'s flags`,
    `  decoder(${decoderArgs.join(', ')}) {`,
    `    # from Keras ${recipe.tgtEmbedding.name} (Embedding)`,
    `    -> ${tgt.step}`,
    `    # from Keras ${recipe.decoder.name} (${recipe.decoder.className}), initial_state=${states} of ${recipe.encoder.name}`,
    `    -> ${dec.step}`,
    `    # from Keras ${through.join(', ')} and ${recipe.combine.layer.name} (Dense, tanh)${dropped.length === 0 ? '' : `; ${dropped.map((l) => l.name).join(', ')} (identity at inference) left out`}`,
    `    -> ${attention}`,
    `    # from Keras ${recipe.generator.layer.name} (Dense, ${generator.activation}): the logits; the search normalizes them`,
    `    -> ${generator.step}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** An Embedding of the encoder or the decoder: its step and tensor. The decoder's mask is dropped with SEQ615. */
function embedding(
  ctx: Context,
  layer: Layer,
  role: 'encoder' | 'decoder',
): { step: string; dim: number; vocab: number } | undefined {
  const vocab = positiveInt(ctx, layer, 'input_dim');
  const dim = positiveInt(ctx, layer, 'output_dim');
  if (vocab === undefined || dim === undefined) return undefined;
  const weights = layerWeights(ctx, layer, { embeddings: [vocab, dim] });
  if (weights === undefined) return undefined;
  const label = claimName(ctx.taken, ctx.avoid, layer.name);
  for (const [name, tensor] of kerasEmbedding(label, weights['embeddings']!)) ctx.tensors.set(name, tensor);
  const masked = layer.config['mask_zero'] === true;
  if (masked && role === 'decoder') {
    // The decoder reads one token per step, where a mask cannot skip; Keras skips a fed id 0.
    ctx.diagnostics.push(
      warning(
        'SEQ615',
        span(ctx),
        `the decoder's Embedding ${layer.name} has mask_zero=true, which seqc's decoder leaves out: it reads every fed token, where Keras would skip a step that feeds id 0`,
        'the two agree on every prefix without id 0 (teacher forcing with padding after the target, and decoding until eos); pad with 0 only after eos',
        { names: [layer.name, 'mask_zero'], found: 'true', expected: 'false' },
      ),
    );
  }
  const mask = masked && role === 'encoder' ? ', mask_zero=true' : '';
  return { step: `${label}: Embedding(${vocab}, ${dim}${mask})`, dim, vocab };
}

const cellOf: Readonly<Record<'LSTM' | 'GRU' | 'SimpleRNN', RecurrentCell>> = {
  LSTM: 'lstm',
  GRU: 'gru',
  SimpleRNN: 'rnn',
};

/** The encoder's or decoder's recurrent layer: its step and tensors; options with no seqc equivalent are SEQ603. */
function recurrent(
  ctx: Context,
  layer: Layer,
  inputSize: number,
  role: 'encoder' | 'decoder',
): { step: string; units: number } | undefined {
  const className = layer.className as 'LSTM' | 'GRU' | 'SimpleRNN';
  const c = layer.config;
  const units = positiveInt(ctx, layer, 'units', c);
  if (units === undefined) return undefined;
  for (const option of ['go_backwards', 'stateful', 'time_major'] as const) {
    if (c[option] === true) return unsupportedOption(ctx, layer, option, true, [false]);
  }
  if (role === 'decoder' && c['zero_output_for_mask'] === true)
    return unsupportedOption(ctx, layer, 'zero_output_for_mask', true, [false]);
  const cell = cellArguments(ctx, layer, className, c, ctx.options, units);
  if (cell === undefined) return undefined;
  const { args, activation, useBias, resetAfter } = cell;
  if (className === 'SimpleRNN' && activation !== 'tanh' && activation !== 'relu')
    return unsupportedOption(ctx, layer, 'activation', activation, ['tanh', 'relu']);
  if (role === 'encoder' && c['zero_output_for_mask'] === true) args.push('masked_output=zero');
  const gates = className === 'LSTM' ? 4 : className === 'GRU' ? 3 : 1;
  const weights = layerWeights(ctx, layer, {
    kernel: [inputSize, gates * units],
    recurrent_kernel: [units, gates * units],
    ...(useBias ? { bias: className === 'GRU' && resetAfter ? [2, gates * units] : [gates * units] } : {}),
  });
  if (weights === undefined) return undefined;
  const label = claimName(ctx.taken, ctx.avoid, layer.name);
  const converted = kerasRecurrent(
    { label, cell: cellOf[className], layer: 0, direction: 0 },
    {
      kernel: weights['kernel']!,
      recurrentKernel: weights['recurrent_kernel']!,
      ...(useBias ? { bias: weights['bias']! } : {}),
    },
  );
  for (const [name, tensor] of converted) ctx.tensors.set(name, tensor);
  const kind = className === 'SimpleRNN' ? 'RNN' : className;
  return { step: `${label}: ${kind}(${args.join(', ')})`, units };
}

/**
 * The attentional Dense: Keras's kernel [2H, H] on [context ; o] (or [o ; context]) is linear_out's
 * weight [H, 2H] with the context's columns first, its bias linear_out's bias.
 */
function combine(ctx: Context, recipe: Recipe, hidden: number): string | undefined {
  const { layer, config } = recipe.combine;
  const units = positiveInt(ctx, layer, 'units', config);
  if (units === undefined) return undefined;
  if (config['activation'] !== 'tanh')
    return unsupportedOption(ctx, layer, 'activation', config['activation'], ['tanh']);
  if (units !== hidden)
    return notRecipe(
      ctx,
      layer,
      `${units} units`,
      `the attentional Dense with the decoder's ${hidden} units (seqc's linear_out maps [context ; decoder] back to the decoder's size)`,
    );
  const useBias = config['use_bias'] !== false;
  const weights = layerWeights(ctx, layer, { kernel: [2 * hidden, hidden], ...(useBias ? { bias: [hidden] } : {}) });
  if (weights === undefined) return undefined;
  const kernel = weights['kernel']!;
  const ordered = recipe.decoderFirst ? swapRowHalves(kernel) : kernel;
  const label = claimName(ctx.taken, ctx.avoid, layer.name);
  const [weight, bias] = kerasDense(label, ordered, useBias ? weights['bias'] : undefined);
  ctx.tensors.set(attentionParameterName(label, 'linear_out.weight'), weight![1]);
  if (bias !== undefined) ctx.tensors.set(attentionParameterName(label, 'linear_out.bias'), bias[1]);
  return `${label}: Attention(score=dot${useBias ? ', bias=true' : ''})`;
}

/** A kernel [2H, out] with its two row halves swapped: [o ; context] → [context ; o]. */
function swapRowHalves(t: KerasTensor): KerasTensor {
  const half = t.data.length / 2;
  const data = new Float32Array(t.data.length);
  data.set(t.data.subarray(half), 0);
  data.set(t.data.subarray(0, half), half);
  return { shape: t.shape, data };
}

/** The last Dense: its logits as a `Linear(vocab)`; a softmax there is left to the search. */
function generatorStep(
  ctx: Context,
  recipe: Recipe,
  hidden: number,
): { step: string; activation: string; vocab: number } | undefined {
  const { layer, config } = recipe.generator;
  const units = positiveInt(ctx, layer, 'units', config);
  if (units === undefined) return undefined;
  const activation = config['activation'] ?? 'linear';
  if (activation !== 'softmax' && activation !== 'linear')
    return unsupportedOption(ctx, layer, 'activation', activation, ['softmax', 'linear']);
  const useBias = config['use_bias'] !== false;
  const weights = layerWeights(ctx, layer, { kernel: [hidden, units], ...(useBias ? { bias: [units] } : {}) });
  if (weights === undefined) return undefined;
  const label = claimName(ctx.taken, ctx.avoid, layer.name);
  for (const [name, tensor] of kerasDense(label, weights['kernel']!, useBias ? weights['bias'] : undefined))
    ctx.tensors.set(name, tensor);
  return {
    step: `${label}: Linear(${units}${useBias ? '' : ', bias=false'})`,
    activation: activation as string,
    vocab: units,
  };
}
