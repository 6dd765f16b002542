// A Keras-style model summary: one row per step with its output shape and parameter count.

import { formatType, parameterCount, type ModelIR, type Op } from '../ir/ir.js';

export interface SummaryRow {
  readonly label: string;
  readonly layer: string;
  readonly outputShape: string;
  readonly parameters: number;
}

export interface ModelSummary {
  readonly name: string;
  readonly rows: readonly SummaryRow[];
  readonly totalParameters: number;
  /** Bytes the parameters take as float32. */
  readonly parameterBytes: number;
}

export function summarize(ir: ModelIR): ModelSummary {
  const inputRows: SummaryRow[] = ir.inputs.map((i) => ({
    label: i.name,
    layer:
      i.role.kind === 'lengths'
        ? `input lengths(${i.role.of})`
        : i.role.kind === 'state'
          ? `state input of ${i.role.layer}`
          : 'input',
    outputShape: formatType(i.type),
    parameters: 0,
  }));
  const opRows: SummaryRow[] = ir.ops.map((op) => ({
    label: op.label,
    layer: op.display,
    outputShape: formatType(op.output.type),
    parameters: countOf(ir, op.label),
  }));
  const decoder = ir.decoder;
  if (decoder !== undefined) {
    const att = decoder.attention;
    const attentionRow = (): SummaryRow => ({
      label: att!.label,
      layer: `${att!.display} (${att!.placement})`,
      outputShape: `float32[batch, ${att!.placement === 'luong' ? att!.queryDim : att!.memoryDim}]`,
      parameters: countOf(ir, att!.label),
    });
    const row = (op: Op): SummaryRow => ({
      label: op.label,
      layer: op.display,
      outputShape: formatType(op.output.type),
      parameters: countOf(ir, op.label),
    });
    opRows.push({
      label: '[decoder]',
      layer: `decoder(bos=${decoder.bos}, eos=${decoder.eos}, max_length=${decoder.maxLength}${decoder.bridge ? ', bridge=linear' : ''}${decoder.cellFromHidden ? ', c0=h' : ''})`,
      outputShape: 'one step per token',
      parameters: countOf(ir, 'bridge'),
    });
    opRows.push(row(decoder.embedding));
    if (att?.placement === 'bahdanau') opRows.push(attentionRow());
    opRows.push(row(decoder.recurrent));
    if (att?.placement === 'luong') opRows.push(attentionRow());
    opRows.push(...decoder.head.map(row));
  }
  const outputRows: SummaryRow[] = ir.outputs.map((o) => ({
    label: o.name,
    layer: 'output',
    outputShape: formatType(o.type),
    parameters: 0,
  }));
  const total = parameterCount(ir);
  return {
    name: ir.name,
    rows: [...inputRows, ...opRows, ...outputRows],
    totalParameters: total,
    parameterBytes: total * 4,
  };
}

export function formatSummary(summary: ModelSummary): string {
  const header = ['Label', 'Layer', 'Output shape', 'Params'];
  const cells = summary.rows.map((r) => [r.label, r.layer, r.outputShape, r.parameters.toLocaleString('en-US')]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string =>
    c
      .map((v, i) => (i === 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = '─'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  const megabytes = (summary.parameterBytes / (1024 * 1024)).toFixed(2);
  return [
    `Model: ${summary.name}`,
    rule,
    line(header),
    rule,
    ...cells.map(line),
    rule,
    `Total params: ${summary.totalParameters.toLocaleString('en-US')} (${megabytes} MiB as float32)`,
    '',
  ].join('\n');
}

function countOf(ir: ModelIR, owner: string): number {
  return ir.parameters.filter((p) => p.owner === owner).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}
