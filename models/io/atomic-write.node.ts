// Node-only: atomic file output for every spoofscan writer (convert, calibrate, audio convert, features, the
// safetensors writer, training checkpoints). The bytes go to a temporary file in the target's directory, named
//
//   .<target name>.spoofscan-tmp-<pid>-<random>
//
// which is flushed (fsync) and renamed over the target only when complete; the directory is then fsynced too.
// A failed, interrupted or killed write leaves any existing target untouched. A kill -9 cannot run clean-up
// code, so its temporary file stays behind until the next write of the same target, which removes every
// temporary file of that target whose writing process is no longer alive (`cleanStaleTemps`).
//
// File-system failures (missing directory, permission denied, read-only or full disk) become an
// AtomicWriteError naming the target, which the CLI prints as one line without a stack.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** The marker in every temporary file name spoofscan creates. */
export const TEMP_MARKER = '.spoofscan-tmp-';

/** A file could not be written (the message names it and says why). `userFacing`: printed without a stack. */
export class AtomicWriteError extends Error {
  readonly userFacing = true;
  constructor(
    readonly path: string,
    readonly fsCode: string | undefined,
    detail: string,
  ) {
    super(`${path}: cannot write the output (${detail})`);
    this.name = 'AtomicWriteError';
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'its directory does not exist',
  ENOTDIR: 'a component of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'it is a directory',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  ENAMETOOLONG: 'file name too long',
};

function asWriteError(path: string, e: unknown): unknown {
  if (e instanceof AtomicWriteError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code !== 'string' || code.startsWith('ERR_')) return e; // not a file-system error: a bug, keep it
  return new AtomicWriteError(path, code, `${code}: ${REASONS[code] ?? (e as Error).message.replace(/^\w+: /, '')}`);
}

/** The temporary name for one write of `target` (same directory, so the final rename is atomic). */
export function tempPathFor(target: string, pid = process.pid): string {
  return join(dirname(target), `.${basename(target)}${TEMP_MARKER}${pid}-${randomBytes(4).toString('hex')}`);
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function staleNames(target: string, names: readonly string[]): string[] {
  const prefix = `.${basename(target)}${TEMP_MARKER}`;
  const out: string[] = [];
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const m = /^(\d+)-[0-9a-f]+$/.exec(n.slice(prefix.length));
    if (m && !isAlive(Number(m[1]))) out.push(n);
  }
  return out;
}

/** Removes temporary files of `target` left by writers that died (kill -9, power loss). Returns how many. */
export function cleanStaleTemps(target: string): number {
  const dir = dirname(target);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0; // the write itself reports an unusable directory
  }
  let removed = 0;
  for (const n of staleNames(target, names)) {
    try {
      unlinkSync(join(dir, n));
      removed++;
    } catch {
      /* gone already, or not ours to remove */
    }
  }
  return removed;
}

async function cleanStaleTempsAsync(target: string): Promise<number> {
  const dir = dirname(target);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of staleNames(target, names)) removed += await unlink(join(dir, n)).then(() => 1, () => 0);
  return removed;
}

function syncDir(dir: string): void {
  // Makes the rename itself durable. Not every platform or file system can open a directory: best effort.
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* best effort */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `path` atomically through a FileHandle: `write(fh)` fills the temporary file (sequential or
 * positional writes, as it likes); on success it is fsynced and renamed over `path`. Returns write's result.
 */
export async function withAtomicFile<T>(path: string, write: (fh: FileHandle) => Promise<T>): Promise<T> {
  await cleanStaleTempsAsync(path);
  const tmp = tempPathFor(path);
  let fh: FileHandle;
  try {
    fh = await open(tmp, 'wx', 0o666);
  } catch (e) {
    throw asWriteError(path, e);
  }
  let result: T;
  try {
    result = await write(fh);
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw asWriteError(path, e);
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw asWriteError(path, e);
  }
  syncDir(dirname(path));
  return result;
}

export type AtomicChunks = Uint8Array | string | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

/** Writes bytes, a string (UTF-8) or a (possibly async) sequence of chunks to `path` atomically. Returns bytes written. */
export async function writeFileAtomic(path: string, data: AtomicChunks): Promise<number> {
  return withAtomicFile(path, async (fh) => {
    let total = 0;
    const put = async (chunk: Uint8Array | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.length - done, 1 << 30));
        done += bytesWritten;
      }
      total += bytes.length;
    };
    if (typeof data === 'string' || data instanceof Uint8Array) await put(data);
    else for await (const c of batched(data)) await put(c);
    return total;
  });
}

/** Joins small string chunks into ~4 MB writes. */
async function* batched(chunks: Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>): AsyncGenerator<Uint8Array | string> {
  let buf: string[] = [];
  let size = 0;
  for await (const c of chunks) {
    if (typeof c !== 'string') {
      if (buf.length) yield buf.join('');
      buf = [];
      size = 0;
      yield c;
      continue;
    }
    buf.push(c);
    size += c.length;
    if (size > 1 << 22) {
      yield buf.join('');
      buf = [];
      size = 0;
    }
  }
  if (buf.length) yield buf.join('');
}

/** Synchronous writeFileAtomic, for code paths that are synchronous throughout (e.g. calibrate). */
export function writeFileAtomicSync(path: string, data: Uint8Array | string | Iterable<Uint8Array | string>): number {
  cleanStaleTemps(path);
  const tmp = tempPathFor(path);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o666);
  } catch (e) {
    throw asWriteError(path, e);
  }
  let total = 0;
  try {
    const put = (chunk: Uint8Array | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
      total += bytes.length;
    };
    if (typeof data === 'string' || data instanceof Uint8Array) put(data);
    else {
      let buf: string[] = [];
      let size = 0;
      for (const c of data) {
        if (typeof c !== 'string') {
          if (buf.length) put(buf.join(''));
          buf = [];
          size = 0;
          put(c);
          continue;
        }
        buf.push(c);
        size += c.length;
        if (size > 1 << 22) {
          put(buf.join(''));
          buf = [];
          size = 0;
        }
      }
      if (buf.length) put(buf.join(''));
    }
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to remove */
    }
    throw asWriteError(path, e);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to remove */
    }
    throw asWriteError(path, e);
  }
  syncDir(dirname(path));
  return total;
}
