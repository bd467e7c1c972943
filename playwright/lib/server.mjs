// The tests start the repository's dev server in-process on a free port, so they can read its
// request counters and arm its fault hook directly (same hooks as /__stats and /__fault over HTTP).
import { startServer } from '../../scripts/serve.mjs';
import fs from 'node:fs';
import path from 'node:path';

export const MODEL_NAME = 'gemma-3-270m-Q4_K_M.gguf';
export const MODEL_URL_PATH = `/models/${MODEL_NAME}`;

export async function startTestServer() {
  const s = await startServer({ port: 0, quiet: !process.env.PW_DEBUG });
  const modelFile = path.join(s.modelsDir, MODEL_NAME);
  if (!fs.existsSync(modelFile)) {
    await s.close();
    throw new Error(`${modelFile} is missing: run bash scripts/test-model.sh`);
  }
  return { ...s, modelFile, modelUrl: s.url + MODEL_URL_PATH, modelSize: fs.statSync(modelFile).size };
}

/** Requests and bytes the server sent for one path since the last reset. */
export function pathStats(server, urlPath) {
  return server.stats()[urlPath] ?? { requests: 0, bytes: 0, statuses: {}, ranges: [] };
}
