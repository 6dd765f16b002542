// Triton Inference Server model configuration (config.pbtxt, protobuf text format) for a compiled graph on the ONNX Runtime backend; pure, no Node APIs.

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { DataType, type ModelProto, type ValueInfoProto } from '../onnx/types.js';

/** One tensor of a Triton config: dims without the batch dim when the model batches, -1 for a dynamic dim. */
export interface TritonTensor {
  readonly name: string;
  readonly dataType: string;
  readonly dims: readonly number[];
}

/** What `config.pbtxt` says about one model. */
export interface TritonConfig {
  readonly name: string;
  /** 0 when the graph cannot batch on its first axis (Triton then passes whole shapes). */
  readonly maxBatchSize: number;
  readonly inputs: readonly TritonTensor[];
  readonly outputs: readonly TritonTensor[];
  /** Stateful models: each state input and the output Triton feeds back into it, kept per sequence. */
  readonly states: readonly (TritonTensor & { readonly outputName: string })[];
}

/**
 * Reads a Triton config from a graph's declared inputs and outputs. The model batches when every
 * input and output has the same symbolic first dim; a stateful model (`L.h0` with `L.hn`), whose
 * state has its batch on axis 1, is configured with `max_batch_size: 0` and implicit state.
 */
export function tritonConfig(
  name: string,
  model: ModelProto,
  maxBatch: number,
): { config?: TritonConfig; diagnostics: Diagnostic[] } {
  const graph = model.graph;
  const all = [...graph.inputs, ...graph.outputs];
  const unknown = all.filter((v) => v.type.shape === undefined || !tritonTypes.has(v.type.elemType));
  if (unknown.length > 0)
    return {
      diagnostics: [
        error(
          'SEQ509',
          spanOfWhole(name),
          `${name} has tensors whose type or rank Triton's config cannot state: ${unknown.map((v) => `\`${v.name}\``).join(', ')}`,
          'compile the spec again with this seqc',
          { names: unknown.map((v) => v.name) },
        ),
      ],
    };
  const first = graph.inputs[0]?.type.shape?.[0];
  const batchSymbol = first?.kind === 'param' ? first.name : undefined;
  const batches =
    maxBatch > 0 &&
    batchSymbol !== undefined &&
    all.every((v) => {
      const d = v.type.shape![0];
      return d !== undefined && d.kind === 'param' && d.name === batchSymbol;
    });
  const tensor = (v: ValueInfoProto): TritonTensor => {
    const dims = v.type.shape!.map((d) => (d.kind === 'value' ? d.value : -1));
    return { name: v.name, dataType: tritonTypes.get(v.type.elemType)!, dims: batches ? dims.slice(1) : dims };
  };
  const outputNames = new Set(graph.outputs.map((o) => o.name));
  const stateOf = (v: ValueInfoProto): string | undefined => {
    const match = /^(.*)\.([hc])0$/.exec(v.name);
    const output = match === null ? undefined : `${match[1]}.${match[2]}n`;
    return output !== undefined && outputNames.has(output) ? output : undefined;
  };
  const states = graph.inputs
    .filter((v) => stateOf(v) !== undefined)
    .map((v) => ({ ...tensor(v), outputName: stateOf(v)! }));
  const stateOutputs = new Set(states.map((s) => s.outputName));
  return {
    config: {
      name,
      maxBatchSize: batches ? maxBatch : 0,
      inputs: graph.inputs.filter((v) => stateOf(v) === undefined).map(tensor),
      outputs: graph.outputs.filter((v) => !stateOutputs.has(v.name)).map(tensor),
      states,
    },
    diagnostics: [],
  };
}

/** The config in protobuf text format, as Triton's `model_config.proto` reads it. */
export function formatTritonConfig(config: TritonConfig): string {
  const lines: string[] = [
    `name: ${quote(config.name)}`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${config.maxBatchSize}`,
  ];
  const block = (key: string, tensors: readonly TritonTensor[]): void => {
    if (tensors.length === 0) return;
    lines.push(`${key} [`);
    tensors.forEach((t, i) => {
      // A tensor that is only the batch dim has no dims left: Triton takes it as [1] reshaped to [].
      const scalar = t.dims.length === 0;
      lines.push(
        '  {',
        `    name: ${quote(t.name)}`,
        `    data_type: ${t.dataType}`,
        `    dims: [ ${(scalar ? [1] : t.dims).join(', ')} ]`,
        ...(scalar ? ['    reshape: { shape: [ ] }'] : []),
        `  }${i + 1 < tensors.length ? ',' : ''}`,
      );
    });
    lines.push(']');
  };
  block('input', config.inputs);
  block('output', config.outputs);
  if (config.states.length > 0) {
    // Implicit state: Triton keeps each state output per sequence and feeds it back as the state
    // input; a sequence's first request gets zeros. The graph has no START/END inputs of its own, so
    // the control inputs are not passed to it.
    lines.push('sequence_batching {', '  max_sequence_idle_microseconds: 60000000', '  state [');
    config.states.forEach((s, i) => {
      lines.push(
        '    {',
        `      input_name: ${quote(s.name)}`,
        `      output_name: ${quote(s.outputName)}`,
        `      data_type: ${s.dataType}`,
        `      dims: [ ${s.dims.join(', ')} ]`,
        '      initial_state: {',
        `        data_type: ${s.dataType}`,
        `        dims: [ ${s.dims.map((d) => (d < 0 ? 1 : d)).join(', ')} ]`,
        '        zero_data: true',
        '        name: "zeros"',
        '      }',
        `    }${i + 1 < config.states.length ? ',' : ''}`,
      );
    });
    lines.push('  ]', '}');
  } else if (config.maxBatchSize > 0) {
    lines.push('dynamic_batching {', '  max_queue_delay_microseconds: 2000', '}');
  }
  lines.push('instance_group [ { kind: KIND_CPU, count: 1 } ]', '');
  return lines.join('\n');
}

// Internals.

const tritonTypes = new Map<number, string>([
  [DataType.FLOAT, 'TYPE_FP32'],
  [DataType.INT64, 'TYPE_INT64'],
  [DataType.INT32, 'TYPE_INT32'],
  [DataType.BOOL, 'TYPE_BOOL'],
  [DataType.FLOAT16, 'TYPE_FP16'],
  [DataType.DOUBLE, 'TYPE_FP64'],
  [DataType.UINT8, 'TYPE_UINT8'],
  [DataType.INT8, 'TYPE_INT8'],
]);

function quote(text: string): string {
  return JSON.stringify(text);
}
