// The Generate panel's boxes as the runtime's generation options: the text typed in each box read as a number, and its range left to the runtime's own checks (SEQ300).

import type { GenerateOptions } from '../../src/runtime/generate.js';

/** What the boxes hold, as typed; an empty box means the runtime's default. */
export interface GenerationForm {
  readonly strategy: string;
  readonly beamWidth: string;
  readonly nBest: string;
  readonly lengthPenalty: string;
  readonly temperature: string;
  readonly topK: string;
  readonly topP: string;
  readonly seed: string;
  readonly maxLength: string;
}

/** The options the boxes ask for (without the prompt), or the boxes that do not hold numbers. */
export function generationOptions(form: GenerationForm): { options?: GenerateOptions; problems: string[] } {
  const problems: string[] = [];
  const number = (label: string, text: string): number | undefined => {
    const trimmed = text.trim();
    if (trimmed === '') return undefined;
    const value = Number(trimmed);
    if (!Number.isFinite(value)) {
      problems.push(`${label}: ${JSON.stringify(trimmed)} is not a number`);
      return undefined;
    }
    return value;
  };
  const strategy = form.strategy;
  if (strategy !== 'greedy' && strategy !== 'beam' && strategy !== 'sample') {
    return { problems: [`search: ${JSON.stringify(strategy)} is not greedy, beam or sample`] };
  }
  const maxLength = number('max length', form.maxLength);
  const width = number('beam width', form.beamWidth);
  const best = number(strategy === 'sample' ? 'samples' : 'best', form.nBest);
  const lengthPenalty = number('length penalty', form.lengthPenalty);
  const temperature = number('temperature', form.temperature);
  const topK = number('top-k', form.topK);
  const topP = number('top-p', form.topP);
  const seed = number('seed', form.seed);
  if (problems.length > 0) return { problems };
  const defined = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const options: GenerateOptions = {
    strategy,
    ...(strategy === 'beam' ? { beam: defined({ width: width ?? 4, nBest: best ?? 1, lengthPenalty }) } : {}),
    ...(strategy === 'sample'
      ? { sample: defined({ count: best ?? 1, temperature, topK, topP, seed: seed ?? 0 }) }
      : {}),
    ...(maxLength === undefined ? {} : { maxLength }),
  };
  return { options, problems };
}
