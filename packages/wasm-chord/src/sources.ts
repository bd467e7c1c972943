/**
 * Random-access byte sources the loader reads the model from: a Blob/File (also what an OPFS file
 * gives), bytes already in memory, or a Node/Deno file handle. Reads are by absolute offsets
 * [start, end), exactly what ModelLoader.nextRange() hands out, so only one tensor's bytes are in JS
 * memory at a time.
 */

import { nodeFs, type NodeFileHandle } from './platform.js';
import { BadGgufError, InvalidRequestError, NetworkError } from './errors.js';

export interface ByteSource {
  readonly size: number;
  /** Bytes [start, end); end <= size. */
  read(start: number, end: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

function checkRange(source: ByteSource, start: number, end: number): void {
  if (!(start >= 0 && end >= start && end <= source.size)) {
    throw new BadGgufError(`range [${start}, ${end}) lies outside the file (${source.size} bytes)`);
  }
}

export class BlobSource implements ByteSource {
  constructor(private readonly blob: Blob) {}
  get size(): number {
    return this.blob.size;
  }
  async read(start: number, end: number): Promise<Uint8Array> {
    checkRange(this, start, end);
    try {
      return new Uint8Array(await this.blob.slice(start, end).arrayBuffer());
    } catch (err) {
      // A File whose underlying disk file changed or vanished fails with NotReadableError.
      throw new NetworkError(`could not read the model file: ${(err as Error).message}`, { cause: err });
    }
  }
  async close(): Promise<void> {}
}

export class MemorySource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  async read(start: number, end: number): Promise<Uint8Array> {
    checkRange(this, start, end);
    return this.bytes.subarray(start, end);
  }
  async close(): Promise<void> {}
}

export class NodeFileSource implements ByteSource {
  private constructor(
    private readonly handle: NodeFileHandle,
    readonly size: number,
  ) {}

  static async open(path: string | URL): Promise<NodeFileSource> {
    const fs = await nodeFs();
    let handle: NodeFileHandle;
    try {
      handle = await fs.open(path, 'r');
    } catch (err) {
      throw new InvalidRequestError(`cannot open model file ${String(path)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const { size } = await handle.stat();
    return new NodeFileSource(handle, size);
  }

  async read(start: number, end: number): Promise<Uint8Array> {
    checkRange(this, start, end);
    const out = new Uint8Array(end - start);
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await this.handle.read(out, done, out.length - done, start + done);
      if (bytesRead === 0) throw new BadGgufError(`unexpected end of file at byte ${start + done}`);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
