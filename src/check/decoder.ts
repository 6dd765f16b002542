// Checks a `decoder(…) { … }` block and what it reads from the encoder, per docs/seq2seq.md.

import { error, type Diagnostic } from '../diagnostics/diagnostic.js';
import {
  formatType,
  type AttentionIR,
  type BridgeOp,
  type AttentionScore,
  type DecoderIR,
  type Dim,
  type EmbeddingOp,
  type EncoderIR,
  type Op,
  type RecurrentCell,
  type RecurrentOp,
} from '../ir/ir.js';
import { generationLimits } from '../contracts/limits.js';
import type { CallStep, Chain, DecoderBlock } from '../syntax/ast.js';
import { bindArguments, stepText } from './arguments.js';
import { checkStep, recurrentOptions, type Binding, type ChainContext } from './chains.js';
import { refuseDecoderKerasOptions } from './keras-mask.js';
import {
  decoderSignature,
  isLayerKind,
  isRecurrentKind,
  layerSignatures,
  type LayerArguments,
  type RecurrentKind,
} from './signatures.js';

interface PendingAttention {
  readonly step: CallStep;
  readonly label: string;
  readonly score: AttentionScore;
  readonly inputFeed: boolean;
  /** `bias=` as written: undefined leaves the score's default. */
  readonly bias: boolean | undefined;
  readonly placement: 'luong' | 'bahdanau';
}

/**
 * What checking the decoder reads and writes: the chains already checked (their labels, results and
 * encoder ops, read only), the diagnostics, and the decoder's own ops, which its steps go into.
 */
interface DecoderContext {
  readonly chains: ChainContext;
  readonly diagnostics: Diagnostic[];
  readonly ops: Op[];
}

/** Checks the decoder block after the encoder's chains: its arguments, its steps and how it meets the encoder. */
export function checkDecoder(
  block: DecoderBlock,
  encoderChains: readonly Chain[],
  chains: ChainContext,
  diagnostics: Diagnostic[],
): { decoder: DecoderIR; encoder?: EncoderIR } | undefined {
  const ctx: DecoderContext = { chains, diagnostics, ops: [] };
  const args = bindArguments(decoderSignature, { callee: block.keyword, args: block.args }, diagnostics);
  const encoder = encoderChains.length > 0 ? checkEncoder(ctx, block, encoderChains) : undefined;
  if (encoderChains.length > 0 && encoder === undefined) return undefined;
  const batch: Dim = encoder?.memoryType.dims[0] ?? { kind: 'symbol', name: 'batch' };
  const walked = walk(ctx, block, encoder, batch);
  if (walked === undefined || args === undefined) return undefined;
  const { embedding, recurrent, attention, head, output } = walked;
  const last = output.value.type.dims[output.value.type.dims.length - 1];
  if (output.value.type.dims.length !== 2 || last?.kind !== 'fixed' || output.value.type.dtype !== 'float32') {
    ctx.diagnostics.push(
      error(
        'SEQ041',
        block.keyword.span,
        `the decoder ends in ${formatType(output.value.type)}, but it must end in logits [batch, vocab]`,
        'end the decoder with a `Linear(vocab)` generator',
        { expected: 'float32[batch, vocab]', found: formatType(output.value.type) },
      ),
    );
    return undefined;
  }
  const vocab = last.size;
  const { bos, eos } = args;
  for (const [name, id] of [
    ['bos', bos],
    ['eos', eos],
  ] as const) {
    if (id >= embedding.vocab || id >= vocab) {
      const arg = block.args.find((a) => a.name?.text === name)!;
      ctx.diagnostics.push(
        error(
          'SEQ023',
          arg.value.span,
          `${name}=${id} is not a token id: the decoder's embedding has ${embedding.vocab} ids and it predicts ${vocab}`,
          `token ids are 0 to ${Math.min(embedding.vocab, vocab) - 1}`,
          { names: [name], range: [0, Math.min(embedding.vocab, vocab) - 1], found: id },
        ),
      );
      return undefined;
    }
  }
  const maxLength = args.max_length;
  if (maxLength > generationLimits.maxLength) {
    // Generation is bounded (src/contracts/limits.ts): the greedy graph's tokens are [batch, max_length].
    const arg = block.args.find((a) => a.name?.text === 'max_length');
    ctx.diagnostics.push(
      error(
        'SEQ023',
        arg?.value.span ?? block.keyword.span,
        `max_length=${maxLength.toLocaleString('en-US')} is above seqc's bound of ${generationLimits.maxLength} generated tokens`,
        `write max_length=${generationLimits.maxLength} or less; an RNN decoder's output degrades long before that`,
        { names: ['max_length'], limit: generationLimits.maxLength, found: maxLength },
      ),
    );
    return undefined;
  }
  const bridge = args.bridge === 'linear';
  if (bridge && encoder === undefined) {
    const arg = block.args.find((a) => a.name?.text === 'bridge')!;
    ctx.diagnostics.push(
      error(
        'SEQ040',
        arg.span,
        'a language model has no encoder state to bridge from',
        'remove `bridge=linear`; a language model starts from zeros',
        { names: ['bridge'], expected: 'encoder' },
      ),
    );
    return undefined;
  }
  if (args.c0 === 'h' && !cellFromHiddenFits(ctx, block, encoder, recurrent, bridge)) return undefined;
  // A bridge learns a projection from any final state.
  if (encoder !== undefined && !bridge && !initialStateFits(ctx, encoder, recurrent)) return undefined;
  const initialState = encoder !== undefined && bridge ? bridgeOp(ctx, block, encoder, recurrent) : undefined;
  const decoder: DecoderIR = {
    bos,
    eos,
    maxLength,
    bridge,
    ...(initialState === undefined ? {} : { initialState }),
    cellFromHidden: args.c0 === 'h',
    step: [
      embedding,
      ...(attention?.placement === 'bahdanau' ? [attention] : []),
      recurrent,
      ...(attention?.placement === 'luong' ? [attention] : []),
      ...head,
    ],
    embedding,
    ...(attention === undefined ? {} : { attention }),
    recurrent,
    head,
    vocab,
    span: block.span,
  };
  return encoder === undefined ? { decoder } : { decoder, encoder };
}

/** The memory is the value at the end of the encoder's last chain; the last recurrent layer gives the final state. */
function checkEncoder(
  ctx: DecoderContext,
  block: DecoderBlock,
  encoderChains: readonly Chain[],
): EncoderIR | undefined {
  const lastChain = encoderChains[encoderChains.length - 1]!;
  const memory = ctx.chains.chainResults.get(lastChain);
  if (memory === undefined) return undefined;
  const type = memory.value.type;
  if (!type.hasTime || type.dims.length !== 3 || type.dtype !== 'float32') {
    const lastStep = lastChain.steps[lastChain.steps.length - 1]!;
    ctx.diagnostics.push(
      error(
        'SEQ046',
        lastStep.span,
        `the encoder ends in ${formatType(type)}, but the decoder attends over a sequence [batch, time, features]`,
        'end the encoder with its recurrent layer, without pooling',
        { expected: 'float32[batch, time, features]', found: formatType(type) },
      ),
    );
    return undefined;
  }
  const deriving = ctx.chains.ops.find((o) => o.kind === 'conv1d' && o.outputLengths === type.lengths);
  if (deriving !== undefined && deriving.kind === 'conv1d') {
    // The bundle's step graph masks the memory by the source lengths input, not by lengths the encoder derives.
    ctx.diagnostics.push(
      error(
        'SEQ072',
        deriving.span,
        `the Conv1d ${deriving.label} changes the number of steps in the encoder, so the memory's lengths are no longer \`${deriving.lengths!}\`; the decoder masks the memory only by a lengths input`,
        'use a length-keeping convolution in the encoder (stride=1, 2·padding = dilation·(kernel−1)), or leave the lengths input out',
        { names: [deriving.label, deriving.lengths!], expected: 'stride=1 and 2·padding = dilation·(kernel−1)' },
      ),
    );
    return undefined;
  }
  const final = [...ctx.chains.ops].reverse().find((o): o is RecurrentOp => o.kind === 'recurrent');
  if (final === undefined) {
    ctx.diagnostics.push(
      error(
        'SEQ040',
        block.keyword.span,
        "the decoder starts from the encoder's final state, but the encoder has no recurrent layer",
        'add a recurrent layer such as `BiLSTM(hidden=…)` to the encoder',
        { names: ['encoder'], expected: 'a recurrent layer' },
      ),
    );
    return undefined;
  }
  if (final.proj !== undefined) {
    ctx.diagnostics.push(
      error(
        'SEQ074',
        final.span,
        `the decoder starts from the final state of ${final.label}, an LSTM with a projection (proj=${final.proj}), which seqc does not support there`,
        "remove `proj` from the encoder's last recurrent layer",
        { names: [final.label, 'proj'], expected: 0, found: final.proj },
      ),
    );
    return undefined;
  }
  return { memory: memory.value.id, memoryType: type, finalState: final.label };
}

/** Walks the decoder's steps: the Embedding, an optional Attention, the one recurrent layer, and the head after it. */
function walk(ctx: DecoderContext, block: DecoderBlock, encoder: EncoderIR | undefined, batch: Dim) {
  let current: Binding = {
    value: { id: 'tokens', type: { dtype: 'int64', dims: [batch], hasTime: false } },
    span: block.keyword.span,
  };
  let embedding: EmbeddingOp | undefined;
  let recurrentStep: { step: CallStep; kind: RecurrentKind; label: string } | undefined;
  let recurrentArgs: LayerArguments<RecurrentKind> | undefined;
  let attention: PendingAttention | undefined;
  const headStart = () => ctx.ops.length;
  let headFrom = 0;
  let ok = true;
  for (const [index, step] of block.steps.entries()) {
    if (step.kind === 'outputStep') {
      ctx.diagnostics.push(
        error(
          'SEQ041',
          step.span,
          'a decoder has no `output` steps: its outputs are the logits and states of docs/seq2seq.md',
          'remove this step; the compiled bundle names its outputs itself',
          { names: [step.name.text] },
        ),
      );
      ok = false;
      continue;
    }
    const callee = step.callee.text;
    const label = ctx.chains.labels.get(step) ?? callee.toLowerCase();
    if (index === 0 && callee !== 'Embedding') {
      ctx.diagnostics.push(
        error(
          'SEQ041',
          step.callee.span,
          `a decoder starts with an Embedding of the previous token, found \`${callee}\``,
          'begin with `-> tgt_embedding: Embedding(vocab=…, dim=…)`',
          { names: [callee], expected: 'Embedding', found: callee },
        ),
      );
      return undefined;
    }
    if (callee === 'Attention') {
      const bound = bindArguments(layerSignatures.Attention, step, ctx.diagnostics);
      if (bound === undefined) {
        ok = false;
        continue;
      }
      if (encoder === undefined) {
        ctx.diagnostics.push(
          error(
            'SEQ048',
            step.callee.span,
            'a language model has no encoder outputs to attend over',
            'add an `encoder { … }` block, or remove the Attention',
            { names: [label] },
          ),
        );
        ok = false;
        continue;
      }
      if (attention !== undefined) {
        ctx.diagnostics.push({
          ...error('SEQ048', step.callee.span, 'a decoder has at most one Attention', 'remove one of them', {
            names: [attention.label, label],
            limit: 1,
          }),
          related: [{ span: attention.step.span, message: 'the first Attention' }],
        });
        ok = false;
        continue;
      }
      const placement = recurrentStep === undefined ? 'bahdanau' : 'luong';
      if (placement === 'luong' && ctx.ops.length > headFrom) {
        ctx.diagnostics.push(
          error(
            'SEQ048',
            step.callee.span,
            'attention after the recurrent layer must come right after it',
            'move the Attention up, directly after the recurrent layer',
            { names: [label, recurrentStep!.label] },
          ),
        );
        ok = false;
        continue;
      }
      const inputFeed = bound.input_feed;
      // input_feed and bias are Luong's: they need the Attention after the recurrent layer.
      const luongOnly = [
        ...(inputFeed
          ? [{ name: 'input_feed', what: 'input feeding feeds the previous attentional vector of Luong attention' }]
          : []),
        ...(bound.bias === true
          ? [
              {
                name: 'bias',
                what: "`bias` is linear_out's, which only Luong attention (after the recurrent layer) has",
              },
            ]
          : []),
      ];
      const misplaced = placement === 'bahdanau' ? luongOnly[0] : undefined;
      if (misplaced !== undefined) {
        const arg = step.args!.find((a) => a.name?.text === misplaced.name)!;
        ctx.diagnostics.push(
          error(
            'SEQ048',
            arg.span,
            `${misplaced.what}; this Attention stands before the recurrent layer`,
            `move the Attention after the recurrent layer, or drop \`${misplaced.name}\``,
            { names: [label, misplaced.name], expected: 'luong', found: placement },
          ),
        );
        ok = false;
        continue;
      }
      attention = { step, label, score: bound.score, inputFeed, bias: bound.bias, placement };
      continue;
    }
    if (isRecurrentKind(callee)) {
      const kind = callee;
      const bound = bindArguments(layerSignatures[kind], step, ctx.diagnostics);
      if (recurrentStep !== undefined) {
        ctx.diagnostics.push({
          ...error(
            'SEQ049',
            step.callee.span,
            'a decoder has exactly one recurrent layer',
            'stack layers with `layers=N` instead',
            { names: [recurrentStep.label, label], limit: 1 },
          ),
          related: [{ span: recurrentStep.step.span, message: 'the first recurrent layer' }],
        });
        ok = false;
        continue;
      }
      if (bound === undefined) return undefined;
      if (kind.startsWith('Bi') || bound.bidirectional || bound.stateful) {
        const found = kind.startsWith('Bi') || bound.bidirectional ? 'bidirectional' : 'stateful';
        ctx.diagnostics.push(
          error(
            'SEQ049',
            step.callee.span,
            `a decoder's recurrent layer runs forward one token at a time, so it cannot be ${found}`,
            `use \`${kind.replace(/^Bi/, '')}(hidden=…)\` without \`bidirectional\` or \`stateful\``,
            { names: [label], expected: 'forward', found },
          ),
        );
        // What follows depends on this layer; checking it would only repeat this error.
        return undefined;
      }
      if ('proj' in bound && bound.proj > 0) {
        ctx.diagnostics.push(
          error(
            'SEQ074',
            step.args!.find((a) => a.name?.text === 'proj')!.value.span,
            `a decoder's LSTM cannot have a projection (proj=${bound.proj}): its step function carries h and c of one size`,
            'remove `proj`, or add a `Linear` after the decoder LSTM',
            { names: [label, 'proj'], expected: 0, found: bound.proj },
          ),
        );
        return undefined;
      }
      if (refuseDecoderKerasOptions(ctx.diagnostics, step, bound, label)) return undefined;
      if (embedding === undefined) continue;
      recurrentStep = { step, kind, label };
      recurrentArgs = bound;
      current = {
        value: {
          id: label,
          type: { dtype: 'float32', dims: [batch, { kind: 'fixed', size: bound.hidden }], hasTime: false },
        },
        span: step.span,
      };
      headFrom = headStart();
      continue;
    }
    if (callee === 'Embedding' && index > 0) {
      ctx.diagnostics.push(
        error('SEQ041', step.callee.span, 'a decoder has one Embedding, at its start', 'remove this Embedding', {
          names: [label],
          limit: 1,
        }),
      );
      ok = false;
      continue;
    }
    if (index > 0 && recurrentStep === undefined && isLayerKind(callee)) {
      ctx.diagnostics.push(
        error(
          'SEQ041',
          step.callee.span,
          `between the decoder's Embedding and its recurrent layer only an Attention may stand, found ${callee}`,
          `move the ${callee} after the recurrent layer`,
          { names: [label], expected: 'Attention', found: callee },
        ),
      );
      ok = false;
      continue;
    }
    const next = checkStep(ctx.chains, step, current, ctx.ops);
    if (next === undefined) {
      ok = false;
      break;
    }
    current = next;
    if (index === 0) embedding = next.op as EmbeddingOp;
  }
  if (!ok || embedding === undefined) return undefined;
  if (recurrentStep === undefined || recurrentArgs === undefined) {
    ctx.diagnostics.push(
      error(
        'SEQ049',
        block.keyword.span,
        'a decoder needs one recurrent layer',
        'add `-> LSTM(hidden=…)` after the Embedding',
        { expected: 1, found: 0 },
      ),
    );
    return undefined;
  }
  const hidden = recurrentArgs.hidden;
  const memoryDim = encoder === undefined ? 0 : (encoder.memoryType.dims[2] as { size: number }).size;
  let attentionIr: AttentionIR | undefined;
  if (attention !== undefined) {
    if (attention.score === 'dot' && memoryDim !== hidden) {
      ctx.diagnostics.push(
        error(
          'SEQ042',
          attention.step.callee.span,
          `dot attention compares the query with the memory directly, but the decoder's hidden size is ${hidden} and the memory has ${memoryDim} features`,
          'use `score=general` or `score=additive`, which learn a projection, or make the sizes equal',
          { names: [attention.label, recurrentStep.label], expected: hidden, found: memoryDim },
        ),
      );
      return undefined;
    }
    const display = stepText('Attention', attention.step.args);
    attentionIr = {
      kind: 'attention',
      label: attention.label,
      input: recurrentStep.label,
      score: attention.score,
      placement: attention.placement,
      inputFeed: attention.inputFeed,
      outBias: attention.placement === 'luong' && (attention.bias ?? attention.score === 'additive'),
      queryDim: hidden,
      memoryDim,
      span: attention.step.span,
      display,
    };
  }
  const embeddingDim = embedding.dim;
  const inputSize =
    embeddingDim +
    (attentionIr?.placement === 'bahdanau' ? memoryDim : 0) +
    (attentionIr?.inputFeed === true ? hidden : 0);
  const { step, kind, label } = recurrentStep;
  const recurrent: RecurrentOp = {
    kind: 'recurrent',
    label,
    input: embedding.label,
    span: step.span,
    display: stepText(kind, step.args),
    cell: kind.toLowerCase() as RecurrentCell,
    inputSize,
    hidden,
    layers: recurrentArgs.layers,
    bidirectional: false,
    ...recurrentOptions(recurrentArgs),
    dropout: recurrentArgs.dropout,
    output: { id: label, type: { dtype: 'float32', dims: [batch, { kind: 'fixed', size: hidden }], hasTime: false } },
  };
  const head = ctx.ops.filter((o) => o !== embedding);
  return { embedding, recurrent, attention: attentionIr, head, output: current };
}

/** The bridge from the encoder's last recurrent layer to the decoder's initial state. */
function bridgeOp(ctx: DecoderContext, block: DecoderBlock, encoder: EncoderIR, recurrent: RecurrentOp): BridgeOp {
  const final = ctx.chains.ops.find((o): o is RecurrentOp => o.kind === 'recurrent' && o.label === encoder.finalState)!;
  const arg = block.args.find((a) => a.name?.text === 'bridge')!;
  return {
    kind: 'bridge',
    label: 'bridge',
    input: final.label,
    states: recurrent.cell === 'lstm' && final.cell === 'lstm' ? ['h', 'c'] : ['h'],
    inFeatures: final.layers * (final.bidirectional ? 2 : 1) * final.hidden,
    layers: recurrent.layers,
    hidden: recurrent.hidden,
    span: arg.span,
  };
}

/** Without a bridge the encoder's final state, directions concatenated, must have the decoder's layers and size. */
function initialStateFits(ctx: DecoderContext, encoder: EncoderIR, recurrent: RecurrentOp): boolean {
  const final = ctx.chains.ops.find((o): o is RecurrentOp => o.kind === 'recurrent' && o.label === encoder.finalState)!;
  const directions = final.bidirectional ? 2 : 1;
  const size = final.hidden * directions;
  if (final.layers === recurrent.layers && size === recurrent.hidden) return true;
  const what = `${final.layers} layer${final.layers === 1 ? '' : 's'} of ${directions === 2 ? `2 × ${final.hidden} = ` : ''}${size}`;
  ctx.diagnostics.push({
    ...error(
      'SEQ040',
      recurrent.span,
      `the decoder starts from the encoder's final state, which is ${what} (directions concatenated), but the decoder has ${recurrent.layers} layer${recurrent.layers === 1 ? '' : 's'} of ${recurrent.hidden}`,
      `either make them match — \`${final.label}\` and this layer with the same layers, and hidden=${size} here — or add \`bridge=linear\` to \`decoder(…)\` to learn a projection`,
      {
        names: [final.label, recurrent.label],
        expected: `${final.layers} × ${size}`,
        found: `${recurrent.layers} × ${recurrent.hidden}`,
      },
    ),
    related: [{ span: final.span, message: `the encoder's last recurrent layer, \`${final.label}\`` }],
  });
  return false;
}

/** `c0=h` gives an LSTM decoder the encoder's final h as its initial c too: it needs an encoder, an LSTM decoder and no bridge. */
function cellFromHiddenFits(
  ctx: DecoderContext,
  block: DecoderBlock,
  encoder: EncoderIR | undefined,
  recurrent: RecurrentOp,
  bridge: boolean,
): boolean {
  const problem =
    encoder === undefined
      ? 'a language model has no encoder state to start from'
      : recurrent.cell !== 'lstm'
        ? `the decoder's ${recurrent.cell.toUpperCase()} has no cell state`
        : bridge
          ? '`bridge=linear` makes c0 itself'
          : undefined;
  if (problem === undefined) return true;
  const arg = block.args.find((a) => a.name?.text === 'c0')!;
  ctx.diagnostics.push(
    error('SEQ040', arg.span, `\`c0=h\` cannot apply here: ${problem}`, 'remove `c0=h`', {
      names: ['c0', recurrent.label],
      expected: 'an encoder, an LSTM decoder and no bridge',
      found: problem,
    }),
  );
  return false;
}
