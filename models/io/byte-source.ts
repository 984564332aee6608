// Random-access byte sources. Readers never hold a whole weight file: they read the header, then each
// tensor's byte range on demand. Browser-safe; the Node file source lives in file-source.node.ts.
import { CheckpointError } from './errors.ts';

export interface ByteSource {
  /** Shown in every error message (path, file name or URL). */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes starting at `offset`; a range past the end is a CheckpointError. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close?(): Promise<void>;
}

/** Throws unless [offset, offset + length) lies inside a source of `size` bytes. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new CheckpointError(name, `invalid byte range (offset ${offset}, length ${length})`);
  }
  if (offset + length > size) {
    throw new CheckpointError(
      name,
      `bytes ${offset}…${offset + length} lie past the end of the file (${size} bytes): truncated or corrupt`,
    );
  }
}

/** A source over bytes already in memory (ArrayBuffer, typed array, Node Buffer). */
export function bufferSource(buf: ArrayBuffer | ArrayBufferView, name = 'buffer'): ByteSource {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(name, bytes.byteLength, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A source over a browser `File`/`Blob` (also Node ≥ 20's Blob): each read slices the blob. */
export function blobSource(blob: Blob, name = (blob as { name?: string }).name || 'blob'): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange(name, blob.size, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

export interface UrlSourceOptions {
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  name?: string;
}

/** A source over an HTTP(S) URL using Range requests. A server that ignores Range (status 200) gets its
 *  whole body downloaded once and served from memory. */
export async function urlSource(url: string, opts: UrlSourceOptions = {}): Promise<ByteSource> {
  const f = opts.fetch ?? fetch;
  const name = opts.name ?? url;
  const get = async (range: string): Promise<Response> => {
    try {
      return await f(url, { headers: { ...opts.headers, Range: range } });
    } catch (e) {
      throw new CheckpointError(name, `cannot fetch: ${(e as Error).message}`);
    }
  };
  const first = await get('bytes=0-0');
  if (first.status === 200) return bufferSource(await first.arrayBuffer(), name);
  if (first.status !== 206) throw new CheckpointError(name, `HTTP ${first.status} ${first.statusText}`);
  const total = /\/(\d+)\s*$/.exec(first.headers.get('content-range') ?? '');
  if (!total) throw new CheckpointError(name, 'the server answered a Range request without a total size in Content-Range');
  await first.arrayBuffer();
  const size = Number(total[1]);
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      if (length === 0) return new Uint8Array(0);
      const res = await get(`bytes=${offset}-${offset + length - 1}`);
      if (res.status !== 206) throw new CheckpointError(name, `HTTP ${res.status} for bytes ${offset}…${offset + length}`);
      const body = new Uint8Array(await res.arrayBuffer());
      if (body.length !== length) {
        throw new CheckpointError(name, `server sent ${body.length} bytes for a ${length}-byte range at ${offset}`);
      }
      return body;
    },
  };
}

/** Reads a little-endian u64 as a number, or null when it exceeds 2^53 (corrupt for any real file). */
export function readU64(view: DataView, at: number): number | null {
  const v = view.getBigUint64(at, true);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
}
