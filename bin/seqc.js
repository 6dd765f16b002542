#!/usr/bin/env node
// The seqc command: runs the compiled CLI from dist/ (built by `npm ci` through the prepare script).
import { main } from '../dist/src/cli/main.js';
import { removeTemporariesOnSignals } from '../dist/src/cli/files.js';

// An interrupted write (Ctrl-C, kill) removes its temporary files and exits with 130 or 143.
removeTemporariesOnSignals();
const color = Boolean(process.stderr.isTTY) && process.env.NO_COLOR === undefined;
const code = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  color,
});
process.exitCode = code;
