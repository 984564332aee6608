// Node: file names that are not valid UTF-8. Linux allows any bytes in a name, but Node decodes command-line
// arguments, directory listings and list files as UTF-8, turning each invalid byte into U+FFFD — a string that
// no longer names the file, so a plain stat() says "not found". fsPath() maps such a string back to the raw
// bytes of the one directory entry it stands for (a Buffer path every fs call accepts), so the file is read
// as given; several entries that read alike are one clear error asking to rename them.

import { isUtf8 } from 'node:buffer';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { DataError } from './errors.ts';

const REPLACEMENT = '\uFFFD';

/** True when `path` holds U+FFFD, the mark of bytes that were not valid UTF-8. */
export function hasReplacementChar(path: string): boolean {
  return path.includes(REPLACEMENT);
}

async function missing(path: string | Buffer): Promise<boolean> {
  try {
    await stat(path);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * The path to hand to fs calls for `path` as Node decoded it: `path` itself, unless it holds U+FFFD and does
 * not exist — then the raw bytes of the directory entry (per component) whose UTF-8 reading equals it.
 * Throws a DataError naming the file when several entries read the same.
 */
export async function fsPath(path: string): Promise<string | Buffer> {
  if (!hasReplacementChar(path) || !(await missing(path))) return path;
  return resolveRaw(path);
}

async function resolveRaw(path: string): Promise<string | Buffer> {
  const dir = dirname(path);
  const base = basename(path);
  if (dir === path || !base) return path;
  const rawDir = hasReplacementChar(dir) && (await missing(dir)) ? await resolveRaw(dir) : dir;
  if (!hasReplacementChar(base)) return typeof rawDir === 'string' ? path : Buffer.concat([rawDir, Buffer.from(`/${base}`)]);
  let names: Buffer[];
  try {
    names = await readdir(rawDir, { encoding: 'buffer' });
  } catch {
    return path; // the caller's own stat/open reports the problem
  }
  const hits = names.filter((n) => !isUtf8(n) && n.toString('utf8') === base);
  if (hits.length > 1)
    throw new DataError(`${hits.length} files in ${dir} have names that read as "${base}" (bytes that are not valid UTF-8); rename them`, path);
  if (!hits.length) return path;
  return Buffer.concat([typeof rawDir === 'string' ? Buffer.from(rawDir) : rawDir, Buffer.from('/'), hits[0]]);
}

/** The hint added to "file not found" for a name with U+FFFD that matched no directory entry. */
export const REPLACEMENT_HINT = 'the name holds U+FFFD, the stand-in for bytes that are not valid UTF-8; if the real name has such bytes, rename the file';
