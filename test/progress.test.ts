// Progress lines: drawn on a terminal, throttled, cleared at the end; nothing at all when piped or under --json.

import { describe, expect, it } from 'vitest';
import { startProgress } from '../src/cli/progress.js';
import type { Io } from '../src/cli/io.js';

const io: Io = { out: () => {}, err: () => {}, color: false };

describe('progress', () => {
  it('draws a line on a terminal, at most every 100 ms, and clears it', () => {
    let text = '';
    let clock = 0;
    const p = startProgress(io, 'weights', 4, { isTTY: true, write: (t) => (text += t) }, () => clock);
    p.update(1);
    p.update(2); // within 100 ms of the last draw: skipped
    clock = 150;
    p.update(3);
    p.update(4); // the end is always drawn
    p.finish();
    expect(text).toBe(
      '\rweights: 1/4 (25%)\u001b[K\rweights: 3/4 (75%)\u001b[K\rweights: 4/4 (100%)\u001b[K\r\u001b[K',
    );
  });

  it('writes nothing when standard error is not a terminal, or under --json', () => {
    let text = '';
    const sink = { isTTY: false, write: (t: string) => (text += t) };
    const p = startProgress(io, 'build', 10, sink);
    p.update(5);
    p.finish();
    const q = startProgress({ ...io, json: { diagnostics: [] } }, 'build', 10, {
      isTTY: true,
      write: (t) => (text += t),
    });
    q.update(5);
    q.finish();
    expect(text).toBe('');
  });
});
