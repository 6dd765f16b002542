// Prints the IR as stable, readable text: one line per input, op, output and parameter, for golden tests.

import { assertNever } from '../contracts/assert.js';
import { formatType, type AttentionIR, type ModelIR, type Op, type RecurrentOp } from './ir.js';

export function formatIr(ir: ModelIR): string {
  const lines = [`model ${ir.name}`];
  for (const input of ir.inputs) {
    const role =
      input.role.kind === 'lengths'
        ? ` lengths of ${input.role.of}`
        : input.role.kind === 'state'
          ? ` state of ${input.role.layer}`
          : '';
    lines.push(`  input ${input.name}: ${formatType(input.type)}${role}`);
  }
  for (const op of ir.ops) lines.push(`  ${formatOp(op)}`);
  const decoder = ir.decoder;
  if (decoder !== undefined) {
    if (ir.encoder !== undefined)
      lines.push(
        `  encoder memory = ${ir.encoder.memory}: ${formatType(ir.encoder.memoryType)}, initial state from ${ir.encoder.finalState}`,
      );
    lines.push(
      `  decoder bos=${decoder.bos} eos=${decoder.eos} max_length=${decoder.maxLength} bridge=${decoder.bridge ? 'linear' : 'none'}${decoder.cellFromHidden ? ' c0=h' : ''} vocab=${decoder.vocab}`,
    );
    lines.push(`    ${formatOp(decoder.embedding)}`);
    if (decoder.attention?.placement === 'bahdanau') lines.push(`    ${formatAttention(decoder.attention)}`);
    lines.push(`    ${formatOp(decoder.recurrent)}`);
    if (decoder.attention?.placement === 'luong') lines.push(`    ${formatAttention(decoder.attention)}`);
    for (const op of decoder.head) lines.push(`    ${formatOp(op)}`);
  }
  for (const output of ir.outputs) lines.push(`  output ${output.name} = ${output.value}: ${formatType(output.type)}`);
  for (const p of ir.parameters) lines.push(`  parameter ${p.name} [${p.shape.join(', ')}] ${formatInit(p.init)}`);
  return `${lines.join('\n')}\n`;
}

function formatOp(op: Op): string {
  const head = `${op.label} = ${op.kind}(${op.input})`;
  const type = formatType(op.output.type);
  switch (op.kind) {
    case 'embedding':
      return `${head} vocab=${op.vocab} dim=${op.dim}${op.paddingIdx === undefined ? '' : ` padding_idx=${op.paddingIdx}`}${op.maskZero === true ? ' mask_zero' : ''}: ${type}`;
    case 'recurrent': {
      const state =
        op.state === undefined
          ? ''
          : ` state=${[op.state.h0, op.state.c0, op.state.hn, op.state.cn].filter((s) => s !== undefined).join(',')}`;
      return `${head} ${op.cell} in=${op.inputSize} hidden=${op.hidden} layers=${op.layers}${op.bidirectional ? ' bidirectional' : ''}${op.bias ? '' : ' no-bias'} nonlinearity=${op.nonlinearity} reset_after=${op.resetAfter} recurrent_activation=${op.recurrentActivation}${op.activation === 'tanh' ? '' : ` activation=${op.activation}`} dropout=${op.dropout}${op.proj === undefined ? '' : ` proj=${op.proj}`}${op.lengths === undefined ? '' : ` lengths=${op.lengths}`}${state}${kerasOptions(op)}: ${type}`;
    }
    case 'linear':
      return `${head} in=${op.inFeatures} out=${op.outFeatures}${op.bias ? '' : ' no-bias'}: ${type}`;
    case 'conv1d':
      return `${head} in=${op.inChannels} out=${op.outChannels} kernel=${op.kernel} padding=${op.padding} stride=${op.stride} dilation=${op.dilation}${op.bias ? '' : ' no-bias'}${op.lengths === undefined ? '' : ` lengths=${op.lengths}`}${op.outputLengths === undefined ? '' : ` output-lengths=${op.outputLengths}`}: ${type}`;
    case 'layerNorm':
      return `${head} features=${op.features} eps=${op.eps}: ${type}`;
    case 'dropout':
      return `${head} p=${op.p} (identity): ${type}`;
    case 'pool':
      return `${head} ${op.mode}${op.lengths === undefined ? '' : ` lengths=${op.lengths}`}${op.finalStateOf === undefined ? '' : ` final-state-of=${op.finalStateOf}`}${op.mask === undefined ? '' : ` mask=${op.mask}`}: ${type}`;
    case 'activation':
      return `${head} ${op.fn}: ${type}`;
    case 'repeat':
      return `${head} times=${op.times}: ${type}`;
    case 'merge':
      return `${op.label} = ${op.mode}(${op.operands.join(', ')})${op.output.type.lengths === undefined ? '' : ` lengths=${op.output.type.lengths}`}: ${type}`;
    case 'crf':
      return `${head} tags=${op.tags}${op.lengths === undefined ? '' : ` lengths=${op.lengths}`}${op.scoreOutput === undefined ? '' : ` score=${op.scoreOutput}`}: ${type}`;
    case 'masking':
      return `${head} value=${op.value}: ${type}`;
    default:
      return assertNever(op);
  }
}

/** A recurrent op's Keras options, as ` mask=emb masked_output=zero go_backwards merge=sum`; empty without them. */
function kerasOptions(op: RecurrentOp): string {
  return [
    op.mask === undefined ? '' : ` mask=${op.mask}`,
    op.maskedOutput === undefined ? '' : ` masked_output=${op.maskedOutput}`,
    op.goBackwards === true ? ' go_backwards' : '',
    op.merge === undefined ? '' : ` merge=${op.merge}`,
  ].join('');
}

function formatAttention(a: AttentionIR): string {
  return `${a.label} = attention score=${a.score} placement=${a.placement} input_feed=${a.inputFeed}${a.outBias === (a.score === 'additive') ? '' : ` bias=${a.outBias}`} query=${a.queryDim} memory=${a.memoryDim}`;
}

function formatInit(init: ModelIR['parameters'][number]['init']): string {
  switch (init.kind) {
    case 'normal':
      return `normal(0, ${init.std})${init.zeroRow === undefined ? '' : ` row ${init.zeroRow} zero`}`;
    case 'uniform':
      return `uniform(±${init.bound.toPrecision(6)})`;
    case 'ones':
      return 'ones';
    case 'zeros':
      return 'zeros';
  }
}
