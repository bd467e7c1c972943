// Launching Debian's Chromium for the tests: headless, WebGPU on SwiftShader, a fresh profile.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// Flags: no sandbox (we run as root in containers), nothing that phones home or updates itself
// mid-test, and WebGPU through SwiftShader (Chromium's CPU Vulkan), which works headless.
export const CHROMIUM_BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];
export const CHROMIUM_ARGS = [
  ...CHROMIUM_BASE_ARGS,
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
];

/**
 * A persistent context on a new temporary user-data-dir. Persistent (not incognito) because an
 * incognito profile keeps OPFS in memory with a small quota; the 250 MB test model needs the real
 * on-disk storage. Reloading a page of this context keeps its OPFS, which the cache test relies on.
 * Returns { context, page, profileDir, close() }; close() also removes the profile.
 */
export async function launch({ name = 'test' } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run bash scripts/install-browser.sh`);
  }
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), `wasm-chord-pw-${name}-`));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // Page and worker console output helps when a test fails; keep it short and prefixed.
  const logs = [];
  context.on('console', (msg) => logs.push(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => logs.push(`[pageerror] ${err.message}`));
  if (process.env.PW_DEBUG) context.on('console', (msg) => console.error(`  browser ${msg.type()}: ${msg.text()}`));
  return {
    context,
    page,
    profileDir,
    logs,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
