// Node: audio files on disk, opened safely: regular files only (never opening a FIFO or device first), file-system
// errors as DataErrors naming the file, and a WAV read only up to the end of its data chunk after its header is
// checked from the first 64 KiB. Decoding a file (FLAC/MP3 streamed) is read-audio.node.ts's.

import { open, stat } from 'node:fs/promises';
import { probeAudio } from './decode.ts';
import { AudioError, DataError } from './errors.ts';
import { MAX_AUDIO_FILE_BYTES, type AudioLimits } from './limits.ts';
import { fsPath, hasReplacementChar, REPLACEMENT_HINT } from './raw-path.node.ts';

/** Bytes read first to check an audio header before reading the rest. */
const PROBE_BYTES = 1 << 16;

const STAT_PROBLEMS: Record<string, string> = {
  ENOENT: 'file not found',
  ENOTDIR: 'file not found (a component of the path is not a directory)',
  ELOOP: 'too many levels of symbolic links (a symlink loop?)',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENAMETOOLONG: 'file name too long',
  EISDIR: 'is a directory, not an audio file',
  EIO: 'input/output error',
};

/** A file-system error as a DataError naming the file; anything else is rethrown untouched. */
export function fsProblem(e: unknown, path: string): DataError {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && !code.startsWith('ERR_')) {
    const hint = code === 'ENOENT' && hasReplacementChar(path) ? `; ${REPLACEMENT_HINT}` : '';
    return new DataError(`${STAT_PROBLEMS[code] ?? (e as Error).message.replace(/^\w+: /, '')} (${code})${hint}`, path);
  }
  throw e;
}

function kindOf(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The size of a regular file; a DataError naming the file for anything else (directory, FIFO, device, symlink
 *  loop, missing). Never opens the path first, so a FIFO cannot block the process. */
export async function regularFileSize(path: string, maxBytes = MAX_AUDIO_FILE_BYTES): Promise<number> {
  let st;
  try {
    st = await stat(await fsPath(path));
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw fsProblem(e, path);
  }
  if (!st.isFile()) throw new DataError(`${kindOf(st)}, not a regular file`, path);
  if (st.size > maxBytes) throw new DataError(`file of ${st.size} bytes is larger than the ${maxBytes}-byte limit for one input`, path);
  return st.size;
}

/**
 * Reads an audio file's bytes safely (WAV: what the parser needs; a FLAC or MP3 whole, so decode those with
 * decodeAudioFile, which streams them): regular files only, an empty file is "empty", the header (WAV, FLAC, MP3) is checked
 * against the limits in limits.ts from the first 64 KiB before the rest is read, and a WAV is read only up to the
 * end of its data chunk. Every problem is a DataError/AudioError naming the file.
 */
export async function readBytes(path: string, limits: AudioLimits = {}): Promise<Uint8Array> {
  const size = await regularFileSize(path);
  if (size === 0) throw new AudioError('empty file (0 bytes)', path);
  let fh;
  try {
    fh = await open(await fsPath(path), 'r');
  } catch (e) {
    throw fsProblem(e, path);
  }
  try {
    const readAt = async (buf: Uint8Array, from: number): Promise<number> => {
      let done = from;
      while (done < buf.length) {
        const { bytesRead } = await fh.read(buf, done, Math.min(buf.length - done, 1 << 30), done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    };
    const probeBuf = new Uint8Array(Math.min(size, PROBE_BYTES));
    const got = await readAt(probeBuf, 0);
    if (got === 0) throw new AudioError('empty file (0 bytes)', path);
    const probe = probeAudio(probeBuf.subarray(0, got), size, path, limits);
    const need = probe ? probe.needBytes : size;
    if (need <= got) return probeBuf.subarray(0, need);
    const all = new Uint8Array(need);
    all.set(probeBuf.subarray(0, got));
    const n = await readAt(all, got);
    return n === need ? all : all.subarray(0, n); // shrank while reading: the parser reports the truncation
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw fsProblem(e, path);
  } finally {
    await fh.close();
  }
}
