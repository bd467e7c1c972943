/**
 * Runtime detection and the few platform services the engine needs.
 *
 * Node and Deno are detected at run time instead of through package.json conditions so that
 * `dist/index.js` is one entry that a browser can import straight from a static server. Node-only
 * modules are imported through a computed specifier, marked ignore for bundlers, so no bundler tries
 * to pull `node:fs` into a browser build; the code path never runs in a browser.
 */

/** Node 20+ or Deno (which also has `process.versions.node`). */
export function isServerRuntime(): boolean {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string } } };
  return g.Deno !== undefined || typeof g.process?.versions?.node === 'string';
}

/** True inside a dedicated Web Worker (where OPFS sync access handles exist). */
export function isDedicatedWorker(): boolean {
  const g = globalThis as { DedicatedWorkerGlobalScope?: new () => unknown };
  return typeof g.DedicatedWorkerGlobalScope === 'function' && globalThis instanceof g.DedicatedWorkerGlobalScope;
}

/** The subset of `node:fs/promises` this package uses (typed here so the browser build needs no
 *  @types/node). */
export interface NodeFileHandle {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}
export interface NodeFs {
  open(path: string | URL, flags: string): Promise<NodeFileHandle>;
  readFile(path: string | URL): Promise<Uint8Array>;
}

export async function nodeFs(): Promise<NodeFs> {
  const specifier = 'node:fs/promises';
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as NodeFs;
}

/**
 * The URL of this package's own `dist/` folder when its code was loaded from a Vite dev server's
 * pre-bundle, else null.
 *
 * Vite's dev server pre-bundles dependencies (optimizeDeps, on by default) into one file per
 * package under `<cacheDir>/deps/` (`/node_modules/.vite/deps/wasm-chord.js?v=…`), but leaves
 * `new URL('./worker.js', import.meta.url)` and the wasm URLs pointing into that folder, where
 * there is no worker.js or wasm (Vite 7 answers "The file does not exist … in the optimize deps
 * directory"; vitejs/vite#8427). The optimizer's `_metadata.json` beside the pre-bundle, served
 * by the dev server like any file under its root, names the source entry of each pre-bundled
 * package relative to that folder (`"src": "../../wasm-chord/dist/index.js"`): that entry's folder
 * is the package's dist/, which the dev server serves as it is. Outside that folder layout this
 * costs nothing (no request is made); where the metadata cannot be read, null (the literal URLs are
 * used, and a failure names `optimizeDeps.exclude`).
 */
export async function vitePrebundledPackageBase(moduleUrl: string): Promise<URL | null> {
  let url: URL;
  try {
    url = new URL(moduleUrl);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !/\/deps\/[^/]+\.js$/.test(url.pathname)) return null;
  try {
    const metadataUrl = new URL('_metadata.json', url);
    const res = await fetch(metadataUrl, { cache: 'no-store' });
    if (!res.ok) return null;
    const metadata = (await res.json()) as { optimized?: Record<string, { src?: unknown }> };
    for (const [id, entry] of Object.entries(metadata.optimized ?? {})) {
      const src = entry?.src;
      if (typeof src !== 'string') continue;
      if (id === 'wasm-chord' || /(^|\/)wasm-chord\/dist\/index\.js$/.test(src)) return new URL('./', new URL(src, metadataUrl));
    }
  } catch {
    // Not Vite's metadata after all (or not readable): keep the literal URLs.
  }
  return null;
}

/**
 * Lets the event loop run one round (so an abort message reaches us) without setTimeout's 4 ms
 * clamp: a MessageChannel message in browsers and workers, setImmediate in Node/Deno (where an open
 * MessagePort would keep the process alive).
 */
export const yieldToEventLoop: () => Promise<void> = (() => {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate;
    return () => new Promise<void>((resolve) => void setImmediate(resolve));
  }
  if (typeof MessageChannel === 'function') {
    const channel = new MessageChannel();
    const pending: Array<() => void> = [];
    channel.port1.onmessage = () => pending.shift()?.();
    return () =>
      new Promise<void>((resolve) => {
        pending.push(resolve);
        channel.port2.postMessage(null);
      });
  }
  return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
})();

/** "12.3 MB" */
export function formatBytes(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}
