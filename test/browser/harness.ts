// Drives Debian's Chromium through playwright-core for browser tests: a static server on 127.0.0.1, WebGPU via SwiftShader.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

/**
 * Whether browser tests can run here. Without Chromium they are skipped with a loud notice, except
 * in CI (`CI` set), where a missing browser is a failure: .ci/run installs it.
 */
export function browserAvailable(): boolean {
  if (existsSync(chromiumPath)) return true;
  if (process.env.CI !== undefined)
    throw new Error(
      `Chromium is missing at ${chromiumPath}, and CI must run the browser tests: .ci/run installs Debian's chromium package`,
    );
  console.warn(
    `\n!!! BROWSER TESTS SKIPPED: no Chromium at ${chromiumPath}. Install it with \`apt-get install chromium\` to run them. !!!\n`,
  );
  return false;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Serves files under `root` on 127.0.0.1 (a secure context, as WebGPU needs), with the headers threaded wasm needs. */
export async function serveStatic(root: string): Promise<{ url: string; close: () => Promise<void> }> {
  const base = resolve(root);
  const server: Server = createServer(async (request, response) => {
    const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    const path = normalize(join(base, pathname.endsWith('/') ? `${pathname}index.html` : pathname));
    if (!path.startsWith(base)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const data = await readFile(path);
      response.writeHead(200, {
        'content-type': contentTypes[extname(path)] ?? 'application/octet-stream',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
        'cache-control': 'no-store',
      });
      response.end(data);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) };
}

/** The flags DESIGN.md lists: no sandbox as root, no background networking, WebGPU through SwiftShader. */
export const chromiumArgs = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
}

/** A page whose console messages are collected, for ONNX Runtime's verbose placement log. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; console: string[] }> {
  const page = await browser.newPage();
  const messages: string[] = [];
  page.on('console', (m) => messages.push(m.text()));
  page.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return { page, console: messages };
}

/**
 * Reads ONNX Runtime's "Node placements" log (session log severity 0): each execution provider
 * with the nodes placed on it, by node name.
 */
export function nodePlacements(log: readonly string[]): Map<string, string[]> {
  const placements = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of log) {
    const all = /All nodes placed on \[(\w+)\]/.exec(line);
    if (all !== null) {
      placements.set(all[1]!, ['*']);
      current = undefined;
      continue;
    }
    const header = /Node\(s\) placed on \[(\w+)\]/.exec(line);
    if (header !== null) {
      current = header[1]!;
      placements.set(current, []);
      continue;
    }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s+(\w+) \((.*)\)\s*$/.exec(line);
    if (node !== null && current !== undefined) placements.get(current)!.push(`${node[1]} ${node[2]}`);
  }
  return placements;
}
