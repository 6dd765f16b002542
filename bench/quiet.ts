// Machine load around benchmark groups: wait for a quiet machine before recording, and note the load average before and after each group.

import { cpus, loadavg } from 'node:os';

/** The one-minute load average, per logical core, under which the machine counts as quiet. */
export const quietLoadPerCore = 0.25;

export interface LoadSettings {
  /** Record even on a busy machine (`--allow-load`): the report says so on every row. */
  readonly allowLoad: boolean;
  /** How long to wait for the load to fall before refusing. */
  readonly waitMs: number;
}

/** `--allow-load` and `--wait-quiet SECONDS` of a benchmark's arguments; the rest is left for the script. */
export function loadSettings(args: readonly string[]): { settings: LoadSettings; rest: string[] } {
  let allowLoad = false;
  let waitMs = 300_000;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--allow-load') allowLoad = true;
    else if (arg === '--wait-quiet' && i + 1 < args.length) waitMs = Number(args[++i]) * 1000;
    else rest.push(arg);
  }
  if (!Number.isFinite(waitMs) || waitMs < 0) {
    console.error('error: --wait-quiet takes a number of seconds');
    process.exit(2);
  }
  return { settings: { allowLoad, waitMs }, rest };
}

/** The one-minute load average and the number of logical cores. */
export function currentLoad(): { load: number; cores: number } {
  return { load: loadavg()[0]!, cores: cpus().length };
}

function quiet(): boolean {
  const { load, cores } = currentLoad();
  return load <= quietLoadPerCore * cores;
}

/**
 * Waits until the machine is quiet (one-minute load average at most `quietLoadPerCore` per core),
 * polling every five seconds. On a machine that stays busy past `waitMs` it refuses to record (exit 3)
 * unless `allowLoad` is set, since a table measured under load says more about the load than the code.
 */
export async function waitForQuiet(settings: LoadSettings): Promise<void> {
  const deadline = Date.now() + settings.waitMs;
  while (!quiet() && Date.now() < deadline) {
    const { load, cores } = currentLoad();
    console.log(`waiting for a quiet machine: load average ${load.toFixed(2)} on ${cores} cores`);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
  if (quiet()) return;
  const { load, cores } = currentLoad();
  const message = `the machine stayed busy (load average ${load.toFixed(2)} on ${cores} cores, quiet is ≤ ${(quietLoadPerCore * cores).toFixed(2)})`;
  if (settings.allowLoad) {
    console.warn(`warning: ${message}; recording anyway (--allow-load)`);
    return;
  }
  console.error(`error: ${message}; not recording. Stop other work, or pass --allow-load to record a noisy table.`);
  process.exit(3);
}

/** The load average before and after one group of rows, as a report writes it. */
export interface GroupLoad {
  readonly before: number;
  readonly after: number;
}

/** Runs one group of measurements, noting the load average just before and just after it. */
export async function withLoad<T>(run: () => Promise<T>): Promise<{ result: T; load: GroupLoad }> {
  const before = currentLoad().load;
  const result = await run();
  return { result, load: { before, after: currentLoad().load } };
}

export function formatLoad(load: GroupLoad): string {
  return `${load.before.toFixed(2)} → ${load.after.toFixed(2)}`;
}
