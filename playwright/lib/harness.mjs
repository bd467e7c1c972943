// Opening the harness page (pages/harness.js) and calling its helpers from Node.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = path.join(process.env.WASM_CHORD_DIST ?? path.join(REPO, 'packages', 'wasm-chord', 'dist'), 'index.js');

/** Navigates to the harness and waits until the package module has been imported. */
export async function openHarness(page, server) {
  if (!fs.existsSync(DIST)) {
    throw new Error(`${path.relative(REPO, DIST)} is missing: bash scripts/build-wasm.sh && npm run build -w packages/wasm-chord`);
  }
  const failures = [];
  const onError = (e) => failures.push(e.message);
  page.on('pageerror', onError);
  await page.goto(server.url + '/test/harness.html');
  try {
    await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 30_000 });
  } catch (e) {
    throw new Error(`the harness did not start: ${failures.join('; ') || e.message}`);
  } finally {
    page.off('pageerror', onError);
  }
}

/** Calls window.h[name](...args) in the page. */
export function h(page, name, ...args) {
  return page.evaluate(([n, a]) => window.h[n](...a), [name, args]);
}

/** Fails with the page's error (name, code, message) when a helper returned one. */
export function ok(result, what) {
  if (result?.error) {
    const e = result.error;
    throw new Error(`${what}: ${e.name} (${e.code}): ${e.message}`);
  }
  return result;
}

/** Requests for `urlPath` seen by a context (page and its workers), for "no fetch" checks. */
export function recordRequests(context, urlPath) {
  const seen = [];
  context.on('request', (req) => {
    if (new URL(req.url()).pathname === urlPath) seen.push({ method: req.method(), range: req.headers().range ?? null });
  });
  return seen;
}

/**
 * Asserts the browser's greedy text equals the native CLI's. On a mismatch the message names the
 * first differing generated token (both texts tokenized by the page's engine), which is what one
 * needs to start a numerics investigation.
 */
export async function assertSameText(page, actual, expected, what) {
  if (actual === expected) return;
  const tok = (t) => h(page, 'tokenize', t, { addSpecial: false, parseSpecial: false });
  const [a, e] = [Array.from(await tok(actual)), Array.from(await tok(expected))];
  let i = 0;
  while (i < a.length && i < e.length && a[i] === e[i]) i++;
  const piece = async (ids) => JSON.stringify(ids.length ? await h(page, 'detokenize', ids) : '');
  throw new Error(
    `${what}: the browser's greedy text differs from the native CLI's at generated token ${i} ` +
      `(browser ${a[i]} ${await piece(a.slice(i, i + 1))}, native ${e[i]} ${await piece(e.slice(i, i + 1))}; ` +
      `common prefix ${await piece(a.slice(0, i))})\n  browser: ${JSON.stringify(actual)}\n  native:  ${JSON.stringify(expected)}`,
  );
}
