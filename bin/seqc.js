#!/usr/bin/env node
// The seqc command: runs the compiled CLI from dist/ (built by `npm ci` through the prepare script).
import { main } from '../dist/src/cli/main.js';

const color = Boolean(process.stderr.isTTY) && process.env.NO_COLOR === undefined;
const code = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  color,
});
process.exitCode = code;
