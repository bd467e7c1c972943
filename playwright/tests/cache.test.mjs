// The OPFS cache: the first load downloads the model, a page reload in the same profile loads it
// from OPFS without fetching the model again, and the cache API lists and deletes it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { startTestServer, pathStats, MODEL_URL_PATH } from '../lib/server.mjs';
import { openHarness, h, ok, assertSameText, recordRequests } from '../lib/harness.mjs';
import { nativeGreedy } from '../lib/native.mjs';

const PROMPT = 'The quick brown fox';
const N = 12;

let server;
let browser;

before(async () => {
  server = await startTestServer();
  browser = await launch({ name: 'cache' });
});
after(async () => {
  if (process.exitCode && browser) console.error(browser.logs.slice(-30).join('\n'));
  await browser?.close();
  await server?.close();
});

test('first load downloads, a reload loads from OPFS with no model request', async () => {
  const { page, context } = browser;
  const expected = nativeGreedy(server.modelFile, PROMPT, N);

  await openHarness(page, server);
  server.resetStats();
  const first = ok(await h(page, 'load', MODEL_URL_PATH), 'first load');
  assert.ok(first.progress.some((p) => p.phase === 'download'), 'the first load downloads');
  const s1 = pathStats(server, MODEL_URL_PATH);
  assert.ok(s1.bytes >= server.modelSize, `first load: ${s1.bytes} bytes sent`);
  assert.ok(s1.bytes < 1.1 * server.modelSize, `first load fetched the model about once (${s1.bytes} bytes)`);
  const listed = await h(page, 'listCachedModels');
  const entry = listed.find((m) => m.url.endsWith(MODEL_URL_PATH));
  assert.ok(entry, `cached: ${JSON.stringify(listed)}`);
  assert.equal(entry.complete, true);
  assert.equal(entry.bytes, server.modelSize);

  // Same context (profile), new page load: the worker and wasm start over, OPFS stays.
  await page.reload();
  await openHarness(page, server);
  server.resetStats();
  const seen = recordRequests(context, MODEL_URL_PATH);
  const second = ok(await h(page, 'load', MODEL_URL_PATH), 'second load');
  const s2 = pathStats(server, MODEL_URL_PATH);
  assert.equal(s2.requests, 0, `requests for the model on the second load: ${JSON.stringify(s2)}`);
  assert.deepEqual(seen, [], 'the browser sent no request for the model');
  assert.ok(!second.progress.some((p) => p.phase === 'download'), 'no download phase');
  assert.ok(second.progress.some((p) => p.fromCache), 'progress says the bytes came from the cache');
  console.error(`  first load ${(first.ms / 1000).toFixed(1)} s, from OPFS ${(second.ms / 1000).toFixed(1)} s`);

  // The cached copy is the right model.
  const r = ok(await h(page, 'complete', { prompt: PROMPT, max_tokens: N, temperature: 0 }), 'completion');
  await assertSameText(page, r.choices[0].text, expected, 'completion');
});

test('deleteCachedModel removes it; storage estimate reflects the cache', async () => {
  const { page } = browser;
  const before = await h(page, 'storageEstimate');
  if (before) assert.ok(before.modelCacheBytes >= server.modelSize, JSON.stringify(before));
  await h(page, 'unload');
  const url = (await h(page, 'listCachedModels')).find((m) => m.url.endsWith(MODEL_URL_PATH)).url;
  await h(page, 'deleteCachedModel', url);
  const after = await h(page, 'listCachedModels');
  assert.ok(!after.some((m) => m.url === url), JSON.stringify(after));
  const est = await h(page, 'storageEstimate');
  if (est) assert.ok(est.modelCacheBytes < server.modelSize, JSON.stringify(est));
});
