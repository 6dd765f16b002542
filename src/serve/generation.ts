// Generation requests to a bundle: `src` and `prompt` token rows and the decoding `parameters`, read into the runtime's generate options.

import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { BundleManifest } from '../contracts/manifest.js';
import type { GenerateOptions } from '../runtime/generate.js';
import { describeValue } from '../runtime/inputs.js';
import { isRecord, requestError } from './protocol.js';

type Rows = readonly (readonly number[])[];

/**
 * The source rows (seq2seq: `src`, required) and prompt rows (`prompt`; for a language model the
 * batch, default one empty prompt). A flat list is one row.
 */
export function generationRows(
  body: Record<string, unknown>,
  manifest: BundleManifest,
): { src?: Rows; prompt?: Rows; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const src = body['src'] === undefined ? undefined : tokenRows('src', body['src'], diagnostics);
  const prompt = body['prompt'] === undefined ? undefined : tokenRows('prompt', body['prompt'], diagnostics);
  if (manifest.kind === 'seq2seq' && body['src'] === undefined)
    diagnostics.push(
      requestError('SEQ500', 'a translation model needs `src`: the source token ids', 'e.g. { "src": [[5, 6, 7]] }', {
        names: ['src'],
      }),
    );
  if (manifest.kind === 'lm' && body['src'] !== undefined)
    diagnostics.push(
      requestError('SEQ506', 'a language model has no source: send `prompt` instead of `src`', undefined, {
        names: ['src'],
      }),
    );
  if (diagnostics.length > 0) return { diagnostics };
  return {
    src: manifest.kind === 'lm' ? [] : (src ?? []),
    ...(prompt === undefined ? {} : { prompt }),
    diagnostics,
  };
}

/** Decoding `parameters`: strategy (greedy, beam, sample), max_length, min_length, beam_width, n_best, length_penalty, temperature, top_k, top_p, seed. */
export function generationOptions(
  raw: unknown,
  prompt: Rows | undefined,
): { options?: GenerateOptions; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const parameters = raw === undefined ? {} : raw;
  if (!isRecord(parameters))
    return {
      diagnostics: [
        requestError('SEQ500', `\`parameters\` is ${describeValue(raw)}, not an object`, undefined, {
          names: ['parameters'],
        }),
      ],
    };
  const known = [
    'strategy',
    'max_length',
    'min_length',
    'beam_width',
    'n_best',
    'length_penalty',
    'temperature',
    'top_k',
    'top_p',
    'seed',
  ];
  for (const key of Object.keys(parameters))
    if (!known.includes(key))
      diagnostics.push(
        requestError('SEQ506', `the generation parameter \`${key.slice(0, 60)}\` is not one seqc knows`, undefined, {
          names: [key.slice(0, 60)],
          expected: known,
        }),
      );
  const number = (key: string, whole: boolean): number | undefined => {
    const v = parameters[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || (whole && !Number.isSafeInteger(v))) {
      diagnostics.push(
        requestError(
          'SEQ506',
          `\`${key}\` is ${describeValue(v)}, not ${whole ? 'a whole number' : 'a number'}`,
          undefined,
          {
            names: [key],
            found: describeValue(v),
          },
        ),
      );
      return undefined;
    }
    return v;
  };
  const strategy = parameters['strategy'] ?? 'greedy';
  if (strategy !== 'greedy' && strategy !== 'beam' && strategy !== 'sample')
    diagnostics.push(
      requestError('SEQ506', `\`strategy\` is ${describeValue(strategy)}, not greedy, beam or sample`, undefined, {
        names: ['strategy'],
        expected: ['greedy', 'beam', 'sample'],
      }),
    );
  const maxLength = number('max_length', true);
  const minLength = number('min_length', true);
  const width = number('beam_width', true);
  const nBest = number('n_best', true);
  const lengthPenalty = number('length_penalty', false);
  const temperature = number('temperature', false);
  const topK = number('top_k', true);
  const topP = number('top_p', false);
  const seed = number('seed', true);
  if (diagnostics.length > 0) return { diagnostics };
  const defined = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const options: GenerateOptions = {
    strategy: strategy as GenerateOptions['strategy'],
    ...defined({ maxLength, minLength }),
    ...(prompt === undefined ? {} : { prompt }),
    ...(strategy === 'beam' ? { beam: defined({ width, nBest, lengthPenalty }) } : {}),
    ...(strategy === 'sample' ? { sample: defined({ temperature, topK, topP, seed }) } : {}),
  };
  return { options, diagnostics };
}

// Internals.

function tokenRows(name: string, value: unknown, diagnostics: Diagnostic[]): Rows | undefined {
  const rows = Array.isArray(value) && value.every((v) => typeof v === 'number') ? [value] : value;
  const ok =
    Array.isArray(rows) &&
    rows.length <= 4096 &&
    rows.every(
      (row) =>
        Array.isArray(row) &&
        row.length <= 65_536 &&
        row.every((v) => typeof v === 'number' && Number.isSafeInteger(v)),
    );
  if (!ok) {
    diagnostics.push(
      requestError('SEQ500', `\`${name}\` is not a list of token id rows`, `e.g. { "${name}": [[5, 6, 7]] }`, {
        names: [name],
      }),
    );
    return undefined;
  }
  return rows as Rows;
}
