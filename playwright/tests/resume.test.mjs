// Interrupted downloads resume: an abort (signal) and a dropped connection (the server's fault
// hook) each leave a partial model in OPFS, and the next createEngine asks only for the rest with
// a Range request. The model assembled from the pieces gives the native CLI's greedy text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { startTestServer, pathStats, MODEL_URL_PATH } from '../lib/server.mjs';
import { openHarness, h, ok, assertSameText } from '../lib/harness.mjs';
import { nativeGreedy } from '../lib/native.mjs';

const PROMPT = 'Water boils at';
const N = 12;
const MB = 1024 * 1024;

let server;
let browser;

before(async () => {
  server = await startTestServer();
  browser = await launch({ name: 'resume' });
  await openHarness(browser.page, server);
});
after(async () => {
  if (process.exitCode && browser) console.error(browser.logs.slice(-30).join('\n'));
  await browser?.close();
  await server?.close();
});

/** Start offset of a `bytes=N-` Range header, or null. */
const rangeStart = (header) => (header ? Number(/^bytes=(\d+)-/.exec(header)?.[1]) : null);

test('abort during download, then a cut connection, then a resumed download that completes', async () => {
  const { page } = browser;
  const size = server.modelSize;
  const expected = nativeGreedy(server.modelFile, PROMPT, N);

  // 1. Abort through the signal after ~30 MB (the server is throttled so the abort lands mid-way).
  server.resetStats();
  server.setFault(MODEL_URL_PATH, { rate: 100 * MB });
  const aborted = await h(page, 'load', MODEL_URL_PATH, { abortAtBytes: 30 * MB });
  server.clearFaults();
  assert.equal(aborted.error?.code, 'ABORTED', JSON.stringify(aborted.error));
  const partial1 = (await h(page, 'listCachedModels')).find((m) => m.url.endsWith(MODEL_URL_PATH));
  assert.ok(partial1 && !partial1.complete && partial1.bytes > 0, `partial entry: ${JSON.stringify(partial1)}`);

  // 2. The next attempt resumes from there, and the server drops the connection 60 MB later.
  server.resetStats();
  server.setFault(MODEL_URL_PATH, { after: 60 * MB });
  const cut = await h(page, 'load', MODEL_URL_PATH);
  assert.equal(cut.error?.code, 'NETWORK', JSON.stringify(cut.error));
  const s2 = pathStats(server, MODEL_URL_PATH);
  assert.equal(s2.requests, 1, JSON.stringify(s2));
  const start2 = rangeStart(s2.ranges[0]);
  assert.ok(start2 > 0 && start2 <= partial1.bytes, `second attempt resumed at ${s2.ranges[0]}`);
  const partial2 = (await h(page, 'listCachedModels')).find((m) => m.url.endsWith(MODEL_URL_PATH));
  assert.ok(!partial2.complete && partial2.bytes > partial1.bytes, `partial entry: ${JSON.stringify(partial2)}`);

  // 3. Resume again and finish: only the rest is sent.
  server.resetStats();
  const done = ok(await h(page, 'load', MODEL_URL_PATH), 'resumed load');
  const s3 = pathStats(server, MODEL_URL_PATH);
  const start3 = rangeStart(s3.ranges[0]);
  assert.ok(start3 > start2 && start3 <= partial2.bytes, `third attempt resumed at ${s3.ranges[0]}`);
  assert.deepEqual(s3.statuses, { 206: 1 }, JSON.stringify(s3));
  assert.equal(s3.bytes, size - start3);
  const firstDownload = done.progress.find((p) => p.phase === 'download');
  assert.ok(firstDownload.loaded >= start3 - 1, `download progress starts from the cached part (${firstDownload.loaded})`);

  const entry = (await h(page, 'listCachedModels')).find((m) => m.url.endsWith(MODEL_URL_PATH));
  assert.equal(entry.complete, true);
  assert.equal(entry.bytes, size);
  const r = ok(await h(page, 'complete', { prompt: PROMPT, max_tokens: N, temperature: 0 }), 'completion');
  await assertSameText(page, r.choices[0].text, expected, 'completion');
});
