// Draws a checked model as an SVG: inputs → layers → outputs, ranked top to bottom, with the encoder and the per-token decoder as boxes.

import type { ModelIR, Op } from '../../src/ir/ir.js';
import { formatType } from '../../src/ir/ir.js';

type NodeKind = 'input' | 'layer' | 'builtin' | 'output' | 'token';
type EdgeKind = 'data' | 'lengths' | 'state' | 'memory' | 'feedback';
type Block = 'model' | 'encoder' | 'decoder';

interface GraphNode {
  readonly id: string;
  readonly label: string;
  readonly detail: string;
  readonly shape: string;
  readonly kind: NodeKind;
  readonly block: Block;
}

interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  readonly note?: string;
}

/** The nodes and edges of the drawing, before layout. */
export interface LayerGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

/** The model's steps and the values between them. */
export function layerGraph(ir: ModelIR): LayerGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const producers = new Map<string, string>();
  const mainBlock: Block = ir.decoder !== undefined && ir.ops.length > 0 ? 'encoder' : 'model';

  for (const input of ir.inputs) {
    const detail =
      input.role.kind === 'lengths'
        ? `lengths(${input.role.of})`
        : input.role.kind === 'state'
          ? `state of ${input.role.layer}`
          : 'input';
    nodes.push({
      id: `in:${input.name}`,
      label: input.name,
      detail,
      shape: formatType(input.type),
      kind: 'input',
      block: 'model',
    });
    producers.set(input.name, `in:${input.name}`);
  }
  const addOp = (op: Op, block: Block, inputNode?: string): string => {
    const id = `op:${block}:${op.label}`;
    nodes.push({
      id,
      label: op.label,
      detail: op.display,
      shape: formatType(op.output.type),
      kind: op.kind === 'pool' || op.kind === 'activation' ? 'builtin' : 'layer',
      block,
    });
    const from = inputNode ?? producers.get(op.input);
    if (from !== undefined) edges.push({ from, to: id, kind: 'data' });
    const lengths = 'lengths' in op ? op.lengths : undefined;
    if (lengths !== undefined && producers.has(lengths))
      edges.push({ from: producers.get(lengths)!, to: id, kind: 'lengths', note: 'mask' });
    producers.set(op.output.id, id);
    return id;
  };
  for (const op of ir.ops) addOp(op, mainBlock);
  for (const output of ir.outputs) {
    const id = `out:${output.name}`;
    nodes.push({
      id,
      label: output.name,
      detail: 'output',
      shape: formatType(output.type),
      kind: 'output',
      block: mainBlock,
    });
    const from = producers.get(output.value);
    if (from !== undefined) edges.push({ from, to: id, kind: 'data' });
  }

  const decoder = ir.decoder;
  if (decoder !== undefined) {
    const previous = 'dec:previous';
    nodes.push({
      id: previous,
      label: 'previous token',
      detail: `bos=${decoder.bos} first`,
      shape: 'int64[batch]',
      kind: 'token',
      block: 'decoder',
    });
    let last = addOp(decoder.embedding, 'decoder', previous);
    const memory = ir.encoder === undefined ? undefined : producers.get(ir.encoder.memory);
    const attention = decoder.attention;
    const addAttention = (): void => {
      const id = `op:decoder:${attention!.label}`;
      nodes.push({
        id,
        label: attention!.label,
        detail: `${attention!.display} · ${attention!.placement}`,
        shape: `float32[batch, ${attention!.placement === 'luong' ? attention!.queryDim : attention!.memoryDim}]`,
        kind: 'layer',
        block: 'decoder',
      });
      edges.push({ from: last, to: id, kind: 'data' });
      if (memory !== undefined) edges.push({ from: memory, to: id, kind: 'memory', note: 'memory' });
      last = id;
    };
    if (attention?.placement === 'bahdanau') addAttention();
    const recurrent = addOp(decoder.recurrent, 'decoder', last);
    last = recurrent;
    const finalState = ir.encoder === undefined ? undefined : producers.get(ir.encoder.finalState);
    if (finalState !== undefined)
      edges.push({ from: finalState, to: recurrent, kind: 'state', note: decoder.bridge ? 'bridge' : 'initial state' });
    if (attention?.placement === 'luong') addAttention();
    for (const op of decoder.head) last = addOp(op, 'decoder', last);
    const logits = 'dec:logits';
    nodes.push({
      id: logits,
      label: 'next-token logits',
      detail: `greedy · beam · sample, eos=${decoder.eos}`,
      shape: `float32[batch, ${decoder.vocab}]`,
      kind: 'output',
      block: 'decoder',
    });
    edges.push({ from: last, to: logits, kind: 'data' });
    edges.push({ from: logits, to: previous, kind: 'feedback', note: 'next step' });
  }
  return { nodes, edges };
}

/** The narrowest node; a graph's nodes widen together when a label or a shape needs more room. */
const minimumNodeWidth = 196;
/** The height of a node with a one-line detail; each further line adds `detailLineHeight`. */
const baseNodeHeight = 54;
const detailLineHeight = 13;
/** A detail line's most characters: details wrap after a comma or a `·` to stay within the node. */
const detailLineChars = 28;
/**
 * Generous widths of one character, in px, of the label (12 px bold), the detail (11 px) and the
 * shape (10 px monospace) fonts, so that estimated text is never wider than drawn text.
 */
const labelCharWidth = 8.2;
const detailCharWidth = 6.8;
const shapeCharWidth = 6.4;
const textPadding = 14;
const columnGap = 28;
const rowGap = 40;
const margin = 16;
const blockPadding = 14;

/** The drawing as SVG text: the inputs and the encoder in one column, the decoder in a second. */
export function graphSvg(graph: LayerGraph): string {
  const details = new Map(graph.nodes.map((n) => [n.id, wrapDetail(n.detail)]));
  const lines = Math.max(1, ...[...details.values()].map((d) => d.length));
  const nodeWidth = Math.ceil(
    Math.max(
      minimumNodeWidth,
      ...graph.nodes.map((n) => n.label.length * labelCharWidth + textPadding),
      ...graph.nodes.map((n) => n.shape.length * shapeCharWidth + textPadding),
      ...[...details.values()].flat().map((line) => line.length * detailCharWidth + textPadding),
    ),
  );
  const nodeHeight = baseNodeHeight + (lines - 1) * detailLineHeight;
  const size = { nodeWidth, nodeHeight };
  const rank = ranks(graph);
  const placed = new Map<string, { x: number; y: number }>();
  const columns: Block[][] = [['model', 'encoder'], ['decoder']];
  let left = margin;
  let bottom = 0;
  const boxes: { block: Block; x: number; y: number; width: number; height: number }[] = [];
  for (const blocks of columns) {
    const members = graph.nodes.filter((n) => blocks.includes(n.block));
    if (members.length === 0) continue;
    const boxed = members.some((n) => n.block !== 'model');
    const inset = boxed ? blockPadding : 0;
    const rows = new Map<number, GraphNode[]>();
    for (const n of members) rows.set(rank.get(n.id)!, [...(rows.get(rank.get(n.id)!) ?? []), n]);
    const widest = Math.max(...[...rows.values()].map((r) => r.length));
    const width = widest * nodeWidth + (widest - 1) * columnGap + 2 * inset;
    for (const [r, row] of rows) {
      const rowWidth = row.length * nodeWidth + (row.length - 1) * columnGap;
      row.forEach((n, i) =>
        placed.set(n.id, {
          x: left + (width - rowWidth) / 2 + i * (nodeWidth + columnGap),
          y: margin + 22 + r * (nodeHeight + rowGap),
        }),
      );
    }
    for (const block of blocks.filter((b) => b !== 'model')) {
      const ys = members.filter((n) => n.block === block).map((n) => placed.get(n.id)!.y);
      if (ys.length === 0) continue;
      boxes.push({
        block,
        x: left,
        y: Math.min(...ys) - blockPadding - 18,
        width,
        height: Math.max(...ys) - Math.min(...ys) + nodeHeight + 2 * blockPadding + 18,
      });
    }
    bottom = Math.max(bottom, ...members.map((n) => placed.get(n.id)!.y + nodeHeight + inset));
    left += width + 3 * columnGap;
  }
  // Room on the right for the lanes of mask edges and the decoder's feedback arrow.
  const totalWidth = left - 3 * columnGap + margin + 56;
  const totalHeight = bottom + margin;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="layer-graph" viewBox="0 0 ${totalWidth} ${totalHeight}" width="${totalWidth}" height="${totalHeight}" role="img" aria-label="layer graph">`,
  );
  parts.push(
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" /></marker></defs>',
  );
  for (const box of boxes) {
    const title = box.block === 'encoder' ? 'encoder' : 'decoder · runs once per generated token';
    parts.push(
      `<g class="block block-${box.block}" data-block="${box.block}"><rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" rx="10" /><text x="${box.x + 10}" y="${box.y + 16}">${escapeXml(title)}</text></g>`,
    );
  }
  for (const edge of graph.edges) parts.push(edgeSvg(edge, placed.get(edge.from)!, placed.get(edge.to)!, size));
  for (const node of graph.nodes) {
    const { x, y } = placed.get(node.id)!;
    const detail = details.get(node.id)!;
    const detailText = detail
      .map(
        (line, i) =>
          `<text class="node-detail" x="${nodeWidth / 2}" y="${32 + i * detailLineHeight}">${escapeXml(line)}</text>`,
      )
      .join('');
    parts.push(
      `<g class="node node-${node.kind}" data-node="${escapeXml(node.id)}" data-label="${escapeXml(node.label)}" data-detail="${escapeXml(node.detail)}" data-shape="${escapeXml(node.shape)}" transform="translate(${x} ${y})">` +
        `<title>${escapeXml(`${node.label}: ${node.detail} → ${node.shape}`)}</title>` +
        `<rect width="${nodeWidth}" height="${nodeHeight}" rx="${node.kind === 'input' || node.kind === 'output' || node.kind === 'token' ? 22 : 6}" />` +
        `<text class="node-label" x="${nodeWidth / 2}" y="17">${escapeXml(node.label)}</text>` +
        detailText +
        `<text class="node-shape" x="${nodeWidth / 2}" y="${nodeHeight - 8}">${escapeXml(node.shape)}</text>` +
        '</g>',
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/**
 * A node's detail as lines of at most `detailLineChars` characters, broken after a comma or around a
 * `·`; a piece longer than a line is cut at the line's end. Nothing is dropped.
 */
export function wrapDetail(detail: string): string[] {
  const pieces = detail.split(/(?<=, )|(?= · )/);
  const lines: string[] = [];
  let line = '';
  for (const piece of pieces) {
    if (line !== '' && (line + piece).trimEnd().length > detailLineChars) {
      lines.push(line.trimEnd());
      line = piece.replace(/^ /, '');
    } else {
      line += piece;
    }
    while (line.trimEnd().length > detailLineChars) {
      lines.push(line.slice(0, detailLineChars));
      line = line.slice(detailLineChars).replace(/^ +/, '');
    }
  }
  if (line.trim() !== '' || lines.length === 0) lines.push(line.trimEnd());
  return lines;
}

// Internals.

/** Each node's row: one below the lowest of its producers, ignoring the decoder's feedback edge. */
function ranks(graph: LayerGraph): Map<string, number> {
  const rank = new Map<string, number>();
  const incoming = new Map<string, string[]>();
  for (const e of graph.edges) {
    if (e.kind === 'feedback' || e.kind === 'memory' || e.kind === 'state') continue;
    incoming.set(e.to, [...(incoming.get(e.to) ?? []), e.from]);
  }
  const visit = (id: string, seen: Set<string>): number => {
    const known = rank.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    const from = incoming.get(id) ?? [];
    const r = from.length === 0 ? 0 : 1 + Math.max(...from.map((f) => visit(f, new Set([...seen, id]))));
    rank.set(id, r);
    return r;
  };
  for (const n of graph.nodes) visit(n.id, new Set());
  // The decoder's chain starts one row down, level with the encoder's first layer.
  for (const n of graph.nodes) if (n.block === 'decoder') rank.set(n.id, rank.get(n.id)! + 1);
  return rank;
}

function edgeSvg(
  edge: GraphEdge,
  from: { x: number; y: number },
  to: { x: number; y: number },
  size: { nodeWidth: number; nodeHeight: number },
): string {
  const { nodeWidth, nodeHeight } = size;
  const cls = `edge edge-${edge.kind}`;
  let path: string;
  let notePosition: { x: number; y: number };
  if (edge.kind === 'feedback') {
    const x = from.x + nodeWidth + 14;
    path = `M ${from.x + nodeWidth} ${from.y + nodeHeight / 2} C ${x + 30} ${from.y + nodeHeight / 2}, ${x + 30} ${to.y + nodeHeight / 2}, ${to.x + nodeWidth} ${to.y + nodeHeight / 2}`;
    notePosition = { x: x + 4, y: (from.y + to.y) / 2 + nodeHeight / 2 };
  } else if (Math.abs(from.x - to.x) > nodeWidth && edge.kind !== 'data') {
    // Across blocks (memory, initial state): leave from the side facing the target.
    const rightward = to.x > from.x;
    const x1 = rightward ? from.x + nodeWidth : from.x;
    const x2 = rightward ? to.x : to.x + nodeWidth;
    const y1 = from.y + nodeHeight / 2;
    const y2 = to.y + nodeHeight / 2;
    const bend = (x2 - x1) / 2;
    path = `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`;
    notePosition = { x: (x1 + x2) / 2 - 20, y: (y1 + y2) / 2 - 4 };
  } else if (edge.kind === 'lengths') {
    // Down a lane right of the target's column, then into its right side, so the mask never crosses a layer.
    const x1 = from.x + nodeWidth / 2;
    const y1 = from.y + nodeHeight;
    const lane = Math.max(x1, to.x + nodeWidth + 18);
    const y2 = to.y + nodeHeight / 2;
    path = `M ${x1} ${y1} L ${x1} ${y1 + 10} L ${lane} ${y1 + 10} L ${lane} ${y2} L ${to.x + nodeWidth} ${y2}`;
    notePosition = { x: to.x + nodeWidth + 4, y: y2 - 5 };
  } else {
    const x1 = from.x + nodeWidth / 2;
    const y1 = from.y + nodeHeight;
    const x2 = to.x + nodeWidth / 2;
    const y2 = to.y;
    const middle = (y1 + y2) / 2;
    path = `M ${x1} ${y1} C ${x1} ${middle}, ${x2} ${middle}, ${x2} ${y2}`;
    notePosition = { x: x2 + 4, y: y2 - 6 };
  }
  const note =
    edge.note === undefined
      ? ''
      : `<text class="edge-note" x="${notePosition.x}" y="${notePosition.y}">${escapeXml(edge.note)}</text>`;
  return `<g class="${cls}" data-from="${escapeXml(edge.from)}" data-to="${escapeXml(edge.to)}"><path d="${path}" marker-end="url(#arrow)" />${note}</g>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
