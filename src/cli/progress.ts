// Progress for long work (weights, large compiles, builds, many generated rows): a line on a terminal, nothing when piped.

import type { Io } from './io.js';

export interface Progress {
  /** Moves the count to `done` out of the total and redraws the line (at most every 100 ms). */
  readonly update: (done: number) => void;
  /** Clears the line. */
  readonly finish: () => void;
}

/** Where progress may be drawn: a terminal's standard error, never under `--json` and never when piped. */
export interface ProgressSink {
  readonly isTTY: boolean;
  readonly write: (text: string) => void;
}

const silent: Progress = { update: () => {}, finish: () => {} };

/** The process's standard error, as a progress sink. */
export function stderrSink(): ProgressSink {
  return { isTTY: process.stderr.isTTY === true, write: (text) => process.stderr.write(text) };
}

/**
 * Starts a progress line `label: done/total (percent)` when `sink` is a terminal and the command
 * is not printing JSON; otherwise returns a progress that draws nothing.
 */
export function startProgress(
  io: Io,
  label: string,
  total: number,
  sink: ProgressSink = stderrSink(),
  now: () => number = Date.now,
): Progress {
  if (!sink.isTTY || io.json !== undefined || total <= 0) return silent;
  let last = -Infinity;
  let drawn = false;
  const draw = (done: number): void => {
    const percent = Math.floor((100 * Math.min(done, total)) / total);
    sink.write(
      `\r${label}: ${Math.min(done, total).toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${percent}%)\u001b[K`,
    );
    drawn = true;
  };
  return {
    update: (done) => {
      const t = now();
      if (t - last < 100 && done < total) return;
      last = t;
      draw(done);
    },
    finish: () => {
      if (drawn) sink.write('\r\u001b[K');
    },
  };
}

const stageLabels: Readonly<Record<string, string>> = {
  weights: 'initializing weights',
  lower: 'building graphs',
  encode: 'encoding',
};

/**
 * The library's `onProgress` for one compile, drawn as progress lines (`tagger.seq: initializing
 * weights: …`), one per stage, on a terminal only.
 */
export function compileProgress(
  io: Io,
  name: string,
  sink: ProgressSink = stderrSink(),
): (stage: string, done: number, total: number) => void {
  let current: { stage: string; progress: Progress } | undefined;
  return (stage, done, total) => {
    if (current?.stage !== stage) {
      current?.progress.finish();
      current = { stage, progress: startProgress(io, `${name}: ${stageLabels[stage] ?? stage}`, total, sink) };
    }
    current.progress.update(done);
    if (done >= total) {
      current.progress.finish();
      current = undefined;
    }
  };
}
