// Runs Debian's PyTorch (`/usr/bin/python3` with python3-torch) as the oracle: a script in, JSON out.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const pythonPath = '/usr/bin/python3';

let availability: boolean | undefined;

/**
 * Whether PyTorch oracle tests can run here. Without `/usr/bin/python3` and its `torch` module they are
 * skipped with a loud notice, except in CI (`CI` set), where a missing PyTorch is a failure: .ci/run
 * installs Debian's python3-torch.
 */
export function torchAvailable(): boolean {
  if (availability !== undefined) return availability;
  const found =
    existsSync(pythonPath) &&
    spawnSync(pythonPath, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 }).status === 0;
  if (!found && process.env.CI !== undefined)
    throw new Error(
      `PyTorch is missing (${pythonPath} -c "import torch" failed), and CI must run the PyTorch oracle tests: .ci/run installs Debian's python3-torch`,
    );
  if (!found)
    console.warn(
      `\n!!! PYTORCH ORACLE TESTS SKIPPED: no torch for ${pythonPath}. Install it with \`apt-get install python3-torch\` to run them. !!!\n`,
    );
  availability = found;
  return found;
}

/**
 * Runs `script` with `/usr/bin/python3`, giving it `input` as JSON on standard input, and returns what
 * it printed on standard output, parsed as JSON. The script reads `json.load(sys.stdin)` and prints one
 * JSON value. A failing script throws with its standard error, so the test fails with Python's message.
 */
export function runPython<T = unknown>(script: string, input: unknown = null, cwd?: string): T {
  const result = spawnSync(pythonPath, ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    cwd,
    timeout: 300_000,
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, PYTHONHASHSEED: '0', OMP_NUM_THREADS: '1' },
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) throw new Error(`python exited with ${String(result.status)}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
