// Node: text inputs (protocol and list files, score files, calibration JSON) read in chunks with a bound on the
// length of one line and on the whole file, so a hostile input (a 1 GiB single line, /dev/zero, a FIFO) ends in
// one error naming the file, in bounded time and memory, instead of a crash on the longest string V8 allows.
// Line lengths are counted in bytes before decoding: at most one line plus one chunk is ever held.

import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { DataError } from './errors.ts';
import { fsProblem } from './files.node.ts';

/** Longest line accepted in a text input: 1 MiB (a protocol, list or score line is under a few hundred bytes). */
export const MAX_LINE_BYTES = 1 << 20;
/** Longest line of a score file: 64 MiB, for JSON score files written on one line (Python's json.dump does so;
 *  about a million trials). Still bounded: a 1 GiB single line is refused after 64 MiB. */
export const MAX_SCORE_LINE_BYTES = 64 << 20;
/** Largest text file read whole (lists, protocols): 256 MiB, some 2 million ASVspoof lines; well under V8's
 *  longest string (about 512 Mi characters). Score files are streamed line by line and have no whole-file bound. */
export const MAX_TEXT_BYTES = 256 << 20;
/** Largest JSON file read (calibration files are a few hundred bytes). */
export const MAX_JSON_BYTES = 16 << 20;

const CHUNK = 1 << 20;

/** One line's bytes as a string, without a trailing "\r". */
function text(b: Buffer): string {
  return b.toString('utf8', 0, b.length && b[b.length - 1] === 13 ? b.length - 1 : b.length);
}

export interface TextLimits {
  /** Longest line in bytes (default MAX_LINE_BYTES); Infinity: no line bound. */
  maxLineBytes?: number;
  /** Largest file in bytes (default: unbounded for lines, MAX_TEXT_BYTES for readTextSync). */
  maxBytes?: number;
}

function kindProblem(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw fsProblem(e, path);
  }
  if (st.isDirectory()) throw new DataError('a directory, not a text file', path);
  if (!st.isFile()) throw new DataError('not a regular file (a FIFO or device?)', path);
}

const mib = (n: number) => (n >= 1 << 20 ? `${Math.round(n / 2 ** 20)} MiB` : `${n} bytes`);

/**
 * The lines of a regular file (without their "\n" or "\r\n"), read 1 MiB at a time and decoded as UTF-8
 * (invalid bytes become U+FFFD). A line longer than `maxLineBytes` or a file larger than `maxBytes` is a
 * DataError naming the file (and the line number), raised as soon as the bound is passed.
 */
export function* readLinesSync(path: string, limits: TextLimits = {}): Generator<string> {
  const maxLine = limits.maxLineBytes ?? MAX_LINE_BYTES;
  const maxBytes = limits.maxBytes ?? Infinity;
  kindProblem(path);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fsProblem(e, path);
  }
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new DataError(`file of ${size} bytes is larger than the ${mib(maxBytes)} limit`, path);
    const buf = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer[] = [];
    let carryBytes = 0;
    let total = 0;
    let lineNo = 1;
    const tooLong = () =>
      new DataError(`line ${lineNo} is longer than ${mib(maxLine)} (no line break within ${mib(maxLine)}; not a text list, or a damaged file)`, path);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, CHUNK, null);
      } catch (e) {
        throw fsProblem(e, path);
      }
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new DataError(`file is larger than the ${mib(maxBytes)} limit`, path);
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl < 0 || nl >= n) break;
        if (carryBytes + nl - start > maxLine) throw tooLong();
        const piece = buf.subarray(start, nl);
        yield text(carryBytes ? Buffer.concat([...carry, piece]) : piece);
        carry = [];
        carryBytes = 0;
        lineNo++;
        start = nl + 1;
      }
      if (carryBytes + n - start > maxLine) throw tooLong();
      if (start < n) {
        carry.push(Buffer.from(buf.subarray(start, n)));
        carryBytes += n - start;
      }
    }
    if (carryBytes) yield text(Buffer.concat(carry));
  } finally {
    closeSync(fd);
  }
}

/** A whole text file (lists, protocols, JSON), read through readLinesSync's bounds; at most MAX_TEXT_BYTES. */
export function readTextSync(path: string, limits: TextLimits = {}): string {
  const lines: string[] = [];
  for (const l of readLinesSync(path, { maxLineBytes: limits.maxLineBytes, maxBytes: limits.maxBytes ?? MAX_TEXT_BYTES })) lines.push(l);
  return lines.join('\n');
}
