// The demo page used as a person would: it loads the model, a typed message gets a streamed
// answer, Stop ends it, and the next message works. A bad model URL shows the error panel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { startTestServer, MODEL_URL_PATH } from '../lib/server.mjs';
import { DIST } from '../lib/harness.mjs';
import fs from 'node:fs';

let server;
let browser;

before(async () => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: build the package first`);
  server = await startTestServer();
  browser = await launch({ name: 'demo' });
});
after(async () => {
  if (process.exitCode && browser) console.error(browser.logs.slice(-30).join('\n'));
  await browser?.close();
  await server?.close();
});

test('load, chat with a streamed answer, stop, chat again', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/demo/?model=${encodeURIComponent(MODEL_URL_PATH)}`);
  // Load is enabled once the page has imported the package; click() waits for that.
  await page.getByRole('button', { name: 'Load' }).click();
  // The progress bar shows up while the model downloads, then the composer is enabled.
  await page.locator('#progress-row').waitFor({ state: 'visible' });
  await page.locator('#prompt:not([disabled])').waitFor({ timeout: 180_000 });
  assert.equal(await page.locator('#error').isVisible(), false, await page.locator('#error').textContent());
  assert.match(await page.locator('#backend').textContent(), /^cpu( · \d+ threads)?$/);
  assert.match(await page.locator('#model-name').textContent(), /gemma3/);

  // A long answer to stop midway.
  await page.locator('#max-tokens').fill('200');
  await page.locator('#prompt').fill('Tell me a long story about a dragon.');
  await page.locator('#prompt').press('Enter');
  const answer = page.locator('.msg.assistant').last();
  await page.locator('#stop').waitFor({ state: 'visible' });
  // Text streams in: wait until it has grown twice.
  const text = answer.locator('.text');
  await page.waitForFunction((el) => el.textContent.trim().length > 0, await text.elementHandle(), { timeout: 120_000 });
  const early = await text.textContent();
  await page.waitForFunction(([el, n]) => el.textContent.length > n, [await text.elementHandle(), early.length], { timeout: 60_000 });
  await page.locator('#stop').click();
  await page.locator('#send').waitFor({ state: 'visible' });
  assert.equal(await answer.getAttribute('data-finish-reason'), 'abort');
  assert.match(await answer.locator('.meta').textContent(), /stopped/);
  const stoppedText = await text.textContent();
  assert.ok(stoppedText.length > 0 && !stoppedText.startsWith('('), stoppedText);

  // The same engine answers the next message to the end.
  await page.locator('#max-tokens').fill('8');
  await page.locator('#prompt').fill('Thanks! Now say hello.');
  await page.getByRole('button', { name: 'Send' }).click();
  const second = page.locator('.msg.assistant').nth(1);
  await page.waitForFunction((el) => el.dataset.finishReason, await second.elementHandle(), { timeout: 120_000 });
  assert.match(await second.getAttribute('data-finish-reason'), /^(stop|length)$/);
  assert.match(await second.locator('.meta').textContent(), /tokens · [\d.]+ tok\/s/);
  assert.equal(await page.locator('#error').isVisible(), false);
  assert.equal(await page.locator('.msg.user').count(), 2);
});

test('a local file opened with the file picker loads and answers', async () => {
  const { page } = browser;
  await page.locator('#model-file:not([disabled])').setInputFiles(server.modelFile);
  await page.locator('#prompt:not([disabled])').waitFor({ timeout: 180_000 });
  assert.equal(await page.locator('#error').isVisible(), false, await page.locator('#error').textContent());
  assert.match(await page.locator('#model-name').textContent(), /gemma3/);
  await page.locator('#max-tokens').fill('4');
  await page.locator('#prompt').fill('Hello!');
  await page.locator('#prompt').press('Enter');
  const answer = page.locator('.msg.assistant').last();
  await page.waitForFunction((el) => el.dataset.finishReason, await answer.elementHandle(), { timeout: 120_000 });
  assert.match(await answer.getAttribute('data-finish-reason'), /^(stop|length)$/);
});

test('a model URL that does not exist shows the error panel', async () => {
  const { page } = browser;
  await page.locator('#model-url').fill('/models/missing.gguf');
  await page.getByRole('button', { name: 'Load' }).click();
  await page.locator('#error').waitFor({ state: 'visible', timeout: 30_000 });
  assert.match(await page.locator('#error-title').textContent(), /NETWORK/);
  assert.equal(await page.locator('#prompt').isDisabled(), true);
});
