// The native CLI is the reference the browser output is compared with: same GGUF, same prompt,
// greedy decoding, so the text must be equal (the model code is the same Rust, only the target differs).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let cliPath = null;

/** WASM_CHORD_CLI, or a release build of the CLI (cargo makes this a no-op when it is fresh). */
export function nativeCli() {
  if (cliPath) return cliPath;
  if (process.env.WASM_CHORD_CLI) {
    cliPath = process.env.WASM_CHORD_CLI;
  } else {
    execFileSync('cargo', ['build', '--release', '--quiet', '-p', 'wasm-chord-cli'], {
      cwd: REPO,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const target = process.env.CARGO_TARGET_DIR || path.join(REPO, 'target');
    cliPath = path.join(target, 'release', 'wasm-chord');
  }
  if (!fs.existsSync(cliPath)) throw new Error(`native CLI not found at ${cliPath}`);
  return cliPath;
}

const memo = new Map();

/** Greedy continuation of `prompt` by the native CLI: only the generated text. */
export function nativeGreedy(model, prompt, nTokens) {
  // The CLI turns backslash escapes in -p into characters, as llama.cpp does; the tests only use
  // prompts without backslashes, so the browser gets exactly the same text.
  if (prompt.includes('\\')) throw new Error('nativeGreedy: prompts with backslashes are not comparable');
  const key = JSON.stringify([model, prompt, nTokens]);
  if (!memo.has(key)) {
    const out = execFileSync(
      nativeCli(),
      ['run', '-m', model, '-p', prompt, '-n', String(nTokens), '--temp', '0', '-t', '1'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 20 },
    );
    memo.set(key, out);
  }
  return memo.get(key);
}

/** Gemma's chat turn layout, written out by hand so the browser's template code is checked
 *  against an independent rendering (the CLI recognises the special-token text in -p). */
export function gemmaChatPrompt(userMessage) {
  return `<start_of_turn>user\n${userMessage}<end_of_turn>\n<start_of_turn>model\n`;
}

/** Token ids of `text` from the native tokenizer (BOS added, special-token text parsed). */
export function nativeTokenize(model, text) {
  if (text.includes('\\')) throw new Error('nativeTokenize: prompts with backslashes are not comparable');
  const out = execFileSync(nativeCli(), ['tokenize', '-m', model, '-p', text], { encoding: 'utf8' });
  return JSON.parse(out);
}
