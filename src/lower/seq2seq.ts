// Lowers an encoder–decoder or language model into its bundle: scoring, encoder, step and greedy graphs (docs/seq2seq.md).

import type { ModelIR, ValueType } from '../ir/ir.js';
import { DataType, type GraphProto, type ModelProto, type ValueInfoProto } from '../onnx/types.js';
import type { WeightMap } from '../weights/types.js';
import type { ModelSignature } from '../contracts/signature.js';
import type { BundleManifest, BundleRole } from '../contracts/manifest.js';
import { modelProto } from './model.js';
import type { LowerOptions } from './lower.js';
import type { BundleGraphs } from './target.js';
import { decoderContext } from './decoder.js';
import { encoderGraph } from './encoder.js';
import { stepGraph } from './step.js';
import { scoringGraph, scoringGraphWithoutLoop } from './scoring.js';
import { greedyGraph, greedyGraphUnrolled } from './greedy.js';

export interface BundleFile {
  readonly role: BundleRole;
  /** Added to the output's stem: '' for the scoring graph, '.encoder', '.step', '.greedy'. */
  readonly suffix: string;
  readonly proto: ModelProto;
}

export interface Bundle {
  readonly files: readonly BundleFile[];
  readonly manifest: BundleManifest;
}

export function lowerSeq2seq(ir: ModelIR, weights: WeightMap, options: LowerOptions, stem: string): Bundle {
  const ctx = decoderContext(ir, weights, options);
  const { decoder, sizes, target } = ctx;
  const kind = ir.encoder === undefined ? 'lm' : 'seq2seq';
  const graphs: BundleGraphs = {
    scoringGraph: () => scoringGraph(ctx),
    scoringGraphWithoutLoop: () => scoringGraphWithoutLoop(ctx),
    greedyGraph: () => greedyGraph(ctx),
    greedyGraphUnrolled: () => greedyGraphUnrolled(ctx),
  };
  const files: BundleFile[] = [];
  const model = (graph: GraphProto, role: BundleRole): ModelProto =>
    modelProto(graph, options, `${ir.name} (${role})`, '', [
      { key: 'seqc.bundle_role', value: role },
      { key: 'seqc.signature', value: JSON.stringify(bundleSignature(ir, graph, role)) },
    ]);
  files.push({ role: 'scoring', suffix: '', proto: model(target.bundleScoringGraph(graphs), 'scoring') });
  if (kind === 'seq2seq')
    files.push({ role: 'encoder', suffix: '.encoder', proto: model(encoderGraph(ctx), 'encoder') });
  files.push({ role: 'step', suffix: '.step', proto: model(stepGraph(ctx), 'step') });
  files.push({ role: 'greedy', suffix: '.greedy', proto: model(target.bundleGreedyGraph(graphs), 'greedy') });
  const entry = (f: BundleFile) => ({
    path: `${stem}${f.suffix}.onnx`,
    inputs: f.proto.graph.inputs.map((i) => i.name),
    outputs: f.proto.graph.outputs.map((o) => o.name),
  });
  const byRole = (role: BundleRole) => files.find((f) => f.role === role);
  const sourceInput = ir.inputs.find((i) => i.role.kind === 'data');
  const lengthsInput = ir.inputs.find((i) => i.role.kind === 'lengths');
  const att = decoder.attention;
  const manifest: BundleManifest = {
    format: 'seqc-bundle',
    version: 1,
    ...target.manifestFields,
    name: ir.name,
    kind,
    bos: decoder.bos,
    eos: decoder.eos,
    maxLength: decoder.maxLength,
    vocab: decoder.vocab,
    targetVocab: decoder.embedding.vocab,
    state: { cell: decoder.recurrent.cell, layers: sizes.layers, hidden: sizes.hidden },
    inputFeed: att?.inputFeed === true,
    ...(kind === 'seq2seq' ? { memoryDim: sizes.memoryDim } : {}),
    ...(att === undefined ? {} : { attention: { score: att.score, placement: att.placement } }),
    ...(sourceInput === undefined
      ? {}
      : { source: { input: sourceInput.name, ...(lengthsInput === undefined ? {} : { lengths: lengthsInput.name }) } }),
    files: {
      scoring: entry(byRole('scoring')!),
      ...(kind === 'seq2seq' ? { encoder: entry(byRole('encoder')!) } : {}),
      step: entry(byRole('step')!),
      greedy: entry(byRole('greedy')!),
    },
  };
  return { files, manifest };
}

/** The ValueType of a [batch, features] decoder value, for summaries and signatures. */
export function decoderValueType(features: number): ValueType {
  return {
    dtype: 'float32',
    dims: [
      { kind: 'symbol', name: 'batch' },
      { kind: 'fixed', size: features },
    ],
    hasTime: false,
  };
}

/**
 * The signature of one bundle graph, as `seqc.signature` metadata, so runtimes validate its inputs:
 * token inputs carry their vocabulary, the source lengths their role.
 */
function bundleSignature(ir: ModelIR, graph: GraphProto, role: BundleRole): ModelSignature {
  const decoder = ir.decoder!;
  const lengths = ir.inputs.find((i) => i.role.kind === 'lengths');
  const source = ir.inputs.find((i) => i.role.kind === 'data');
  const sourceVocab = ir.ops.find((o) => o.kind === 'embedding' && o.input === source?.name);
  const dtypeOf = (t: DataType): string =>
    t === DataType.INT64 ? 'int64' : t === DataType.FLOAT ? 'float32' : t === DataType.BOOL ? 'bool' : String(t);
  const dims = (v: ValueInfoProto): (string | number)[] =>
    (v.type.shape ?? []).map((d) => (d.kind === 'param' ? d.name : d.value));
  return {
    name: `${ir.name} (${role})`,
    inputs: graph.inputs.map((i) => {
      const base = { name: i.name, dtype: dtypeOf(i.type.elemType), dims: dims(i) };
      if (lengths !== undefined && i.name === lengths.name) {
        // The step graph has no source input; there the lengths mask the memory's time axis (axis 1 as well).
        const of = graph.inputs.some((g) => g.name === source?.name) ? source!.name : 'memory';
        return { ...base, role: 'lengths', of };
      }
      if (source !== undefined && i.name === source.name)
        return { ...base, role: 'data', ...(sourceVocab?.kind === 'embedding' ? { vocab: sourceVocab.vocab } : {}) };
      if (['tgt_in', 'tokens', 'prompt'].includes(i.name))
        return { ...base, role: 'data', vocab: decoder.embedding.vocab };
      // The step's TopK count (docs/seq2seq.md) is checked as ids are: `vocab` bounds it, so k ≤ V passes.
      if (role === 'step' && i.name === 'top_k') return { ...base, role: 'data', vocab: decoder.vocab + 1 };
      return { ...base, role: i.type.elemType === DataType.FLOAT ? 'state' : 'data' };
    }),
    outputs: graph.outputs.map((o) => ({ name: o.name, dtype: dtypeOf(o.type.elemType), dims: dims(o) })),
  };
}
