// Integration, Deno: the built package (dist/) runs under Deno with the same API, and its greedy
// text equals the native CLI's. Run by npm test as:
//   deno test --allow-read --allow-env --allow-run test/integration/deno.test.ts
// (WASM_CHORD_MODEL and WASM_CHORD_CLI set, as for the Node test).

// The bare specifier, as users write it: Deno resolves it through the workspace's node_modules
// and package.json `exports` (types included), i.e. the built dist/.
import { createEngine, PromptTooLongError, type Engine } from 'wasm-chord';
import assert from 'node:assert/strict';

const MODEL = Deno.env.get('WASM_CHORD_MODEL');
const CLI = Deno.env.get('WASM_CHORD_CLI');
if (!MODEL || !CLI) throw new Error('set WASM_CHORD_MODEL and WASM_CHORD_CLI (npm test does)');

async function cli(args: string[]): Promise<string> {
  const out = await new Deno.Command(CLI!, { args, stdout: 'piped', stderr: 'piped' }).output();
  if (!out.success) throw new Error(`${CLI} ${args.join(' ')}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}
const cliRun = (prompt: string, n = 16) => cli(['run', '-m', MODEL, '-p', prompt, '-n', String(n), '--temp', '0']);

Deno.test('wasm-chord in Deno: load, tokenize, greedy text equals the CLI, streaming, errors', async (t) => {
  const engine: Engine = await createEngine({ model: MODEL });
  try {
    await t.step('info', () => {
      assert.equal(engine.info.architecture, 'gemma3');
      assert.equal(engine.backend, 'cpu');
      // Deno's V8 has relaxed SIMD: the relaxed module, self-checked at load.
      assert.match(engine.cpuKernels, /^simd128 \+ relaxed-simd/);
    });

    await t.step('tokenize equals the CLI', async () => {
      const text = 'Hello from Deno';
      const ids = await engine.tokenize(text, { addSpecial: true, parseSpecial: true });
      assert.deepEqual(ids, JSON.parse(await cli(['tokenize', '-m', MODEL, '-p', text])));
    });

    const prompt = 'The capital of France is';
    const expected = await cliRun(prompt);

    await t.step('greedy completion equals the CLI', async () => {
      const res = await engine.completions.create({ prompt, max_tokens: 16, temperature: 0 });
      assert.equal(res.choices[0]!.text, expected);
    });

    await t.step('streamed chat chunks', async () => {
      const stream = await engine.chat.completions.create({
        messages: [{ role: 'user', content: 'Say hello.' }],
        max_tokens: 8,
        temperature: 0,
        stream: true,
      });
      let last;
      let text = '';
      for await (const chunk of stream) {
        text += chunk.choices[0]!.delta.content ?? '';
        last = chunk;
      }
      assert.ok(last?.usage && last.usage.completion_tokens <= 8);
      assert.ok(last?.choices[0]!.finish_reason);
      // The rendered chat prompt tokenizes exactly as the CLI tokenizes it, and the chat answer is
      // the plain completion of that prompt.
      const prompt = engine.formatChat([{ role: 'user', content: 'Say hello.' }]);
      const ids = await engine.tokenize(prompt, { addSpecial: true, parseSpecial: true });
      assert.deepEqual(ids, JSON.parse(await cli(['tokenize', '-m', MODEL, '-p', prompt])));
      // (cache_prompt: false: evaluated as the chat was, not reusing the chat's own prompt)
      const raw = await engine.completions.create({ prompt, max_tokens: 8, temperature: 0, cache_prompt: false });
      assert.equal(text, raw.choices[0]!.text);
    });

    await t.step('the same engine in a module Web Worker (worker.js): same text, abort, errors rebuilt', async () => {
      const inWorker = await createEngine({ model: MODEL, worker: true });
      try {
        const res = await inWorker.completions.create({ prompt, max_tokens: 16, temperature: 0 });
        assert.equal(res.choices[0]!.text, expected);
        const controller = new AbortController();
        const stream = await inWorker.completions.create({
          prompt,
          max_tokens: 100,
          temperature: 0,
          stream: true,
          signal: controller.signal,
        });
        let pieces = 0;
        let finish: string | null = null;
        for await (const chunk of stream) {
          if (chunk.choices[0]!.text) pieces += 1;
          if (pieces === 2) controller.abort();
          finish = chunk.choices[0]!.finish_reason ?? finish;
        }
        assert.equal(finish, 'abort');
        await assert.rejects(inWorker.completions.create({ prompt: 'word '.repeat(5000) }), PromptTooLongError);
      } finally {
        await inWorker.unload();
      }
    });

    await t.step('errors are the named classes', async () => {
      const small = await createEngine({ model: MODEL, nCtx: 16 });
      try {
        await assert.rejects(small.completions.create({ prompt: 'word '.repeat(50) }), PromptTooLongError);
      } finally {
        await small.unload();
      }
    });
  } finally {
    await engine.unload();
  }
});
