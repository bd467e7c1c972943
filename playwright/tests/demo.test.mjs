// The demo page used as a person would. The test model (Gemma 3 270M) is a base model without a
// chat template of its own: the page says so, starts in text-completion mode with a starter prompt,
// and a greedy completion streams the native CLI's text after the prompt. Switched to chat, a
// typed message gets a streamed answer, Stop ends it, and the next message works. A local file
// loads too (and the mode follows the model again); a bad model URL shows the error panel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { startTestServer, MODEL_URL_PATH } from '../lib/server.mjs';
import { DIST } from '../lib/harness.mjs';
import { nativeGreedy } from '../lib/native.mjs';
import fs from 'node:fs';

const N = 24; // greedy tokens compared with the native CLI

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

const modeChecked = (page, mode) => page.locator(`input[name="mode"][value="${mode}"]`).isChecked();
/** The mode toggle's button (a label around a hidden radio), clicked as a person would. */
const modeButton = (page, text) => page.locator('#mode label').filter({ hasText: text });

test('base model: the notice, text completion by default, a streamed greedy completion equal to the native CLI', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/demo/?model=${encodeURIComponent(MODEL_URL_PATH)}`);
  assert.equal(await page.locator('#model-notice').isVisible(), false);
  // Load is enabled once the page has imported the package; click() waits for that.
  await page.getByRole('button', { name: 'Load' }).click();
  // The progress bar shows up while the model downloads, then the composer is enabled.
  await page.locator('#progress-row').waitFor({ state: 'visible' });
  await page.locator('#prompt:not([disabled])').waitFor({ timeout: 180_000 });
  assert.equal(await page.locator('#error').isVisible(), false, await page.locator('#error').textContent());
  assert.match(await page.locator('#backend').textContent(), /^cpu( · \d+ threads)?$/);
  assert.match(await page.locator('#model-name').textContent(), /gemma3/);

  // No tokenizer.chat_template in the file: the notice, where the output appears, and completion mode.
  const notice = await page.locator('#model-notice').textContent();
  assert.ok(await page.locator('#model-notice').isVisible());
  assert.match(notice, /^Base model: it continues text rather than answering/);
  assert.match(notice, /Load an instruction-tuned GGUF to chat\./);
  assert.match(notice, /Text completion is on/);
  assert.equal(await modeChecked(page, 'completion'), true);
  assert.equal(await modeChecked(page, 'chat'), false);
  assert.match(await page.locator('#template-info').textContent(), /builtin gemma .*none in the file/);
  const prompt = await page.locator('#prompt').inputValue();
  assert.ok(prompt.length > 10, `starter prompt ${JSON.stringify(prompt)}`);

  // Greedy: the continuation is the native CLI's, shown after the prompt.
  const expected = nativeGreedy(server.modelFile, prompt, N);
  await page.locator('#temperature').fill('0');
  await page.locator('#max-tokens').fill(String(N));
  await page.getByRole('button', { name: 'Generate' }).click();
  const entry = page.locator('.msg.completion').last();
  await page.waitForFunction((el) => el.dataset.finishReason, await entry.elementHandle(), { timeout: 120_000 });
  assert.equal(await page.locator('#error').isVisible(), false, await page.locator('#error').textContent());
  assert.equal(await entry.getAttribute('data-finish-reason'), 'length');
  assert.equal(await entry.locator('.prompt-text').textContent(), prompt);
  assert.equal(await entry.locator('.continuation').textContent(), expected, 'greedy continuation vs native CLI');
  assert.equal(await entry.locator('.text').textContent(), prompt + expected);
  // It streamed: the text arrived in several chunks.
  assert.ok(Number(await entry.getAttribute('data-chunks')) > 1, `${await entry.getAttribute('data-chunks')} chunks`);
  assert.match(await entry.locator('.meta').textContent(), new RegExp(`^${N} tokens · [\\d.]+ tok/s`));
  // The prompt stays in the box, to be edited and run again.
  assert.equal(await page.locator('#prompt').inputValue(), prompt);
});

test('switched to chat mode: a streamed answer, stop, chat again', async () => {
  const { page } = browser;
  await modeButton(page, 'Chat').click();
  assert.equal(await modeChecked(page, 'chat'), true);
  // The notice stays (it is still a base model) and says what chat does with it.
  assert.match(await page.locator('#model-notice').textContent(), /^Base model: .*Chat mode wraps your messages in the builtin gemma template/);
  assert.equal(await page.locator('#prompt').inputValue(), ''); // the untouched starter prompt is gone
  assert.equal(await page.locator('#system').isDisabled(), false);

  // A long answer to stop midway (greedy, from the test before: the same answer every run).
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
  assert.equal(await page.locator('.msg.completion').count(), 1);
});

test('a local file opened with the file picker loads (in the mode its template implies) and completes', async () => {
  const { page } = browser;
  await page.locator('#model-file:not([disabled])').setInputFiles(server.modelFile);
  await page.locator('#prompt:not([disabled])').waitFor({ timeout: 180_000 });
  assert.equal(await page.locator('#error').isVisible(), false, await page.locator('#error').textContent());
  assert.match(await page.locator('#model-name').textContent(), /gemma3/);
  // The mode follows the newly loaded model again, not the last click.
  assert.equal(await modeChecked(page, 'completion'), true);
  assert.ok(await page.locator('#model-notice').isVisible());
  await page.locator('#max-tokens').fill('4');
  await page.locator('#prompt').fill('Hello!');
  await page.locator('#prompt').press('Enter');
  const entry = page.locator('.msg.completion').last();
  await page.waitForFunction((el) => el.dataset.finishReason, await entry.elementHandle(), { timeout: 120_000 });
  assert.match(await entry.getAttribute('data-finish-reason'), /^(stop|length)$/);
  assert.equal(await entry.locator('.prompt-text').textContent(), 'Hello!');
});

test('a model URL that does not exist shows the error panel', async () => {
  const { page } = browser;
  await page.locator('#model-url').fill('/models/missing.gguf');
  await page.getByRole('button', { name: 'Load' }).click();
  await page.locator('#error').waitFor({ state: 'visible', timeout: 30_000 });
  assert.match(await page.locator('#error-title').textContent(), /NETWORK/);
  assert.equal(await page.locator('#prompt').isDisabled(), true);
  assert.equal(await page.locator('#model-notice').isVisible(), false);
});
