// Keeps a step graph's decoder state on the GPU between steps (onnxruntime-web's WebGPU provider): the row-gather graphs that reorder it there, and the bookkeeping that disposes each GPU tensor once it is used.

import { encodeModel } from '../onnx/encode.js';
import { DataType, type ModelProto, type ValueInfoProto } from '../onnx/types.js';
import type { OrtTensor } from './ort.js';

/** What generation did with GPU-resident state, counted from the tensors' own `location`. */
export interface GpuStateReport {
  /** Step graph runs. */
  readonly steps: number;
  /** State and memory feeds (`h`, `c`, `feed`, `memory`) that were already GPU tensors: no upload. */
  readonly gpuFeeds: number;
  /** State and memory feeds given from the CPU: only the zero state of the first step. */
  readonly cpuFeeds: number;
  /** Runs of the row-gather graphs, which drop finished rows and reorder beams on the GPU. */
  readonly gathers: number;
  /** The most GPU tensors held at once: a few per state, whatever the number of steps. */
  readonly peakLive: number;
  /** GPU tensors that runs returned. */
  readonly owned: number;
  /** GPU tensors disposed, each once; when generation has ended, every one that was owned. */
  readonly disposed: number;
}

/** One tensor input of a row-gather graph, and the axis its rows lie along. */
export interface GatheredInput {
  readonly name: string;
  readonly axis: number;
}

/**
 * A graph that picks rows: for each input `x`, output `x_rows` is `Gather(x, rows, axis)`, with
 * `rows` int64 `[n]`. Every input is float32 of any shape. Run on the WebGPU provider with GPU
 * outputs, it reorders state without a copy to the CPU; WebGPU's Gather reads int64 indices.
 */
export function rowGatherModel(inputs: readonly GatheredInput[]): Uint8Array {
  const floatInput = (name: string): ValueInfoProto => ({ name, type: { elemType: DataType.FLOAT } });
  const model: ModelProto = {
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }],
    producerName: 'seqc',
    producerVersion: '',
    metadataProps: [],
    graph: {
      name: 'rows',
      nodes: inputs.map((input) => ({
        name: `${input.name}/Gather`,
        opType: 'Gather',
        inputs: [input.name, 'rows'],
        outputs: [`${input.name}_rows`],
        attributes: [{ name: 'axis', kind: 'int', value: input.axis }],
      })),
      initializers: [],
      inputs: [
        ...inputs.map((input) => floatInput(input.name)),
        { name: 'rows', type: { elemType: DataType.INT64, shape: [{ kind: 'param', name: 'n' }] } },
      ],
      outputs: inputs.map((input) => floatInput(`${input.name}_rows`)),
      valueInfo: [],
    },
  };
  return encodeModel(model);
}

/** Whether a tensor's data lives in a GPU buffer (onnxruntime-web's `location`). */
export function onGpu(tensor: OrtTensor): boolean {
  return tensor.location === 'gpu-buffer';
}

/**
 * The GPU tensors one generation holds. Each tensor that a run returns on the GPU is `own`ed; it
 * is `release`d when nothing will read it again (its step ran, or its rows were gathered), and
 * `releaseAll` disposes what is left when generation ends (the last state and the memory), on
 * success or failure, once the gathers still running have ended.
 */
export class GpuTensors {
  private readonly live = new Set<OrtTensor>();
  private readonly running = new Set<Promise<unknown>>();
  private owned = 0;
  private disposed = 0;
  private steps = 0;
  private gpuFeeds = 0;
  private cpuFeeds = 0;
  private gathers = 0;
  private peakLive = 0;

  own(tensor: OrtTensor): OrtTensor {
    if (onGpu(tensor) && !this.live.has(tensor)) {
      this.owned++;
      this.live.add(tensor);
      this.peakLive = Math.max(this.peakLive, this.live.size);
    }
    return tensor;
  }

  release(tensor: OrtTensor | undefined): void {
    if (tensor === undefined || !this.live.delete(tensor)) return;
    this.disposed++;
    tensor.dispose?.();
  }

  /**
   * Keeps `run` (a gather a search may never wait for, when generation stops first) until it ends,
   * for `releaseAll`; its failure reaches whoever awaits it, and is not unhandled otherwise.
   */
  track(run: Promise<unknown>): void {
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
  }

  async releaseAll(): Promise<void> {
    await Promise.all(this.running);
    for (const tensor of [...this.live]) this.release(tensor);
  }

  countStep(feeds: readonly (OrtTensor | undefined)[]): void {
    this.steps++;
    for (const feed of feeds) {
      if (feed === undefined) continue;
      if (onGpu(feed)) this.gpuFeeds++;
      else this.cpuFeeds++;
    }
  }

  countGather(): void {
    this.gathers++;
  }

  report(): GpuStateReport {
    return {
      steps: this.steps,
      gpuFeeds: this.gpuFeeds,
      cpuFeeds: this.cpuFeeds,
      gathers: this.gathers,
      peakLive: this.peakLive,
      owned: this.owned,
      disposed: this.disposed,
    };
  }
}
