/**
 * The model cache in the Origin Private File System: `wasm-chord/models/<name>.gguf` plus
 * `<name>.json` (see metadata.ts for what the JSON holds and why it is written last).
 *
 * Writes go through a sync access handle inside a dedicated worker (each write lands in the file at
 * once, so even a killed tab leaves a resumable prefix) and through `createWritable` elsewhere (the
 * engine in-thread; that stream commits on close, which we do on success, error and abort alike).
 */

import { Sha256, toHex } from '../sha256.js';
import { isDedicatedWorker } from '../platform.js';
import { QuotaExceededError } from '../errors.js';
import { entryNameForUrl, parseMetadata, type CacheMetadata } from './metadata.js';

// Minimal typings for the parts of OPFS that TypeScript's DOM lib lacks (sync handles are
// worker-only; directory iteration lives in a separate lib).
interface SyncAccessHandle {
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}
interface FileHandleWithSync extends FileSystemFileHandle {
  createSyncAccessHandle(): Promise<SyncAccessHandle>;
}
interface IterableDirectory extends FileSystemDirectoryHandle {
  entries(): AsyncIterableIterator<[string, FileSystemHandle]>;
}

const DIR = ['wasm-chord', 'models'];

/** OPFS is there: a secure context with navigator.storage.getDirectory (not Node/Deno). */
export function opfsAvailable(): boolean {
  const nav = (globalThis as { navigator?: { storage?: { getDirectory?: unknown } } }).navigator;
  const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext !== false;
  return secure && typeof nav?.storage?.getDirectory === 'function';
}

async function modelsDir(create: boolean): Promise<FileSystemDirectoryHandle | null> {
  try {
    let dir = await navigator.storage.getDirectory();
    for (const name of DIR) dir = await dir.getDirectoryHandle(name, { create });
    return dir;
  } catch (err) {
    if ((err as { name?: string }).name === 'NotFoundError') return null;
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as { name?: string }).name === 'NotFoundError';
}

/** Converts the DOM's QuotaExceededError into ours, with a message that says what to do. */
export function rethrowQuota(err: unknown, needed?: number): never {
  if ((err as { name?: string }).name === 'QuotaExceededError') {
    const size = needed ? ` (${(needed / 1e6).toFixed(1)} MB needed)` : '';
    throw new QuotaExceededError(
      `not enough browser storage to cache the model${size}: free space with deleteCachedModel(), ` +
        `or load with { cache: false }`,
      { cause: err },
    );
  }
  throw err;
}

export interface EntryWriter {
  /** Appends at the current position. */
  write(chunk: Uint8Array): Promise<void>;
  /** Commits (createWritable) / releases the file (sync handle). Safe to call twice. */
  close(): Promise<void>;
}

export class CacheEntry {
  private constructor(
    readonly url: string,
    private readonly dir: FileSystemDirectoryHandle,
    readonly name: string,
  ) {}

  static async open(url: string): Promise<CacheEntry> {
    const dir = await modelsDir(true);
    if (!dir) throw new Error('OPFS: could not create the model cache directory');
    const hash = toHex(new Sha256().update(new TextEncoder().encode(url)).digest());
    return new CacheEntry(url, dir, entryNameForUrl(url, hash));
  }

  private get dataName(): string {
    return `${this.name}.gguf`;
  }
  private get metaName(): string {
    return `${this.name}.json`;
  }

  async readMetadata(): Promise<CacheMetadata | null> {
    try {
      const fh = await this.dir.getFileHandle(this.metaName);
      return parseMetadata(await (await fh.getFile()).text());
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async writeMetadata(meta: CacheMetadata): Promise<void> {
    const fh = await this.dir.getFileHandle(this.metaName, { create: true });
    const bytes = new TextEncoder().encode(JSON.stringify(meta));
    try {
      if (isDedicatedWorker()) {
        const h = await (fh as FileHandleWithSync).createSyncAccessHandle();
        try {
          h.truncate(0);
          h.write(bytes, { at: 0 });
          h.flush();
        } finally {
          h.close();
        }
      } else {
        const w = await fh.createWritable({ keepExistingData: false });
        await w.write(bytes);
        await w.close();
      }
    } catch (err) {
      rethrowQuota(err);
    }
  }

  /** Bytes of the data file (0 when absent). */
  async bytesOnDisk(): Promise<number> {
    try {
      const fh = await this.dir.getFileHandle(this.dataName);
      return (await fh.getFile()).size;
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
  }

  /** The data file as a Blob (reads are lazy, by slice). */
  async file(): Promise<File> {
    return (await this.dir.getFileHandle(this.dataName)).getFile();
  }

  /** Opens the data file for writing from byte `from`, dropping anything after it. */
  async openWriter(from: number): Promise<EntryWriter> {
    const fh = await this.dir.getFileHandle(this.dataName, { create: true });
    try {
      if (isDedicatedWorker()) {
        const h = await (fh as FileHandleWithSync).createSyncAccessHandle();
        h.truncate(from);
        let at = from;
        let unflushed = 0;
        let closed = false;
        return {
          write: async (chunk) => {
            try {
              at += h.write(chunk, { at });
            } catch (err) {
              rethrowQuota(err);
            }
            // Flush now and then, so a killed tab leaves bytes that are really on disk.
            unflushed += chunk.length;
            if (unflushed >= 16 << 20) {
              h.flush();
              unflushed = 0;
            }
          },
          close: async () => {
            if (closed) return;
            closed = true;
            h.flush();
            h.close();
          },
        };
      }
      const w = await fh.createWritable({ keepExistingData: from > 0 });
      if (from > 0) {
        await w.truncate(from);
        await w.seek(from);
      }
      let closed = false;
      return {
        write: async (chunk) => {
          try {
            await w.write(chunk as Uint8Array<ArrayBuffer>);
          } catch (err) {
            rethrowQuota(err);
          }
        },
        close: async () => {
          if (closed) return;
          closed = true;
          await w.close();
        },
      };
    } catch (err) {
      rethrowQuota(err);
    }
  }

  async remove(): Promise<boolean> {
    let removed = false;
    for (const name of [this.metaName, this.dataName]) {
      try {
        await this.dir.removeEntry(name);
        removed = true;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return removed;
  }
}

/** Every entry of the cache: metadata plus bytes on disk. Orphaned data files are skipped. */
export async function listEntries(): Promise<Array<{ meta: CacheMetadata; bytes: number }>> {
  if (!opfsAvailable()) return [];
  const dir = (await modelsDir(false)) as IterableDirectory | null;
  if (!dir) return [];
  const files = new Map<string, FileSystemFileHandle>();
  for await (const [name, handle] of dir.entries()) {
    if (handle.kind === 'file') files.set(name, handle as FileSystemFileHandle);
  }
  const out: Array<{ meta: CacheMetadata; bytes: number }> = [];
  for (const [name, handle] of files) {
    if (!name.endsWith('.json')) continue;
    const meta = parseMetadata(await (await handle.getFile()).text());
    if (!meta) continue;
    const data = files.get(name.replace(/\.json$/, '.gguf'));
    out.push({ meta, bytes: data ? (await data.getFile()).size : 0 });
  }
  return out.sort((a, b) => b.meta.updatedAt - a.meta.updatedAt);
}
