// The ModelProto around a lowered graph: IR version, opset, producer, doc string and the seqc metadata, built in one place for every graph seqc writes.

import type { GraphProto, ModelProto, StringStringEntryProto } from '../onnx/types.js';

/** What a model records about how it was made (a subset of LowerOptions). */
export interface ModelOrigin {
  readonly opset: number;
  readonly irVersion: number;
  readonly producerVersion: string;
  readonly sourceText: string;
  readonly sourceName: string;
}

/**
 * A model holding `graph`. Its doc string reads `<title>, compiled by seqc <version> from <file><detail>`;
 * its metadata is seqc.version, seqc.source_name and seqc.source, then `metadata` in order.
 */
export function modelProto(
  graph: GraphProto,
  origin: ModelOrigin,
  title: string,
  detail: string,
  metadata: readonly StringStringEntryProto[],
): ModelProto {
  const file = recordedName(origin.sourceName);
  return {
    irVersion: origin.irVersion,
    opsetImports: [{ domain: '', version: origin.opset }],
    producerName: 'seqc',
    producerVersion: origin.producerVersion,
    modelVersion: 1,
    docString: `${title}, compiled by seqc ${origin.producerVersion} from ${file}${detail}`,
    graph,
    metadataProps: [
      { key: 'seqc.version', value: origin.producerVersion },
      { key: 'seqc.source_name', value: file },
      { key: 'seqc.source', value: origin.sourceText },
      ...metadata,
    ],
  };
}

/**
 * How a model records where its spec came from: the file name without its folder
 * (`/home/ana/specs/tagger.seq` → `tagger.seq`), so the same spec compiled in two folders gives the
 * same bytes and no local path ships inside a model.
 */
export function recordedName(sourceName: string): string {
  return sourceName.split(/[\\/]/).pop() || sourceName;
}
