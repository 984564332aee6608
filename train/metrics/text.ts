// Small text helpers shared by the score-file and protocol readers. Pure TypeScript.

/** Yields the lines of a text (LF or CRLF), without line terminators; no final empty line. */
export function* splitLines(text: string): Generator<string> {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    yield line;
    start = end + 1;
  }
}

/** Splits a line on tabs when it has one (paths may then hold spaces), else on runs of whitespace. */
export function splitFields(line: string): string[] {
  if (line.includes('\t')) {
    const f = line.split('\t').map((x) => x.trim());
    while (f.length > 0 && f[f.length - 1] === '') f.pop();
    return f;
  }
  const t = line.trim();
  return t === '' ? [] : t.split(/\s+/);
}

/** A line with no data: empty, blank, or a `#` comment. */
export function isBlankOrComment(line: string): boolean {
  const t = line.trimStart();
  return t === '' || t.startsWith('#');
}

/** Strict decimal number syntax (no hex, no empty string, no "Infinity"). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses a finite decimal number; returns NaN for anything else (including nan/inf spellings). */
export function parseFiniteNumber(token: string): number {
  if (!NUMBER.test(token)) return NaN;
  const v = Number(token);
  return Number.isFinite(v) ? v + 0 : NaN;
}

/** Parses a non-negative decimal integer; returns −1 for anything else. */
export function parseIndex(token: string): number {
  if (!/^\d+$/.test(token)) return -1;
  const v = Number(token);
  return Number.isSafeInteger(v) ? v : -1;
}

/** Path components, splitting on / and \. */
export function pathParts(path: string): string[] {
  return path.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
}

function isSep(ch: number): boolean {
  return ch === 47 /* / */ || ch === 92 /* \\ */;
}

/**
 * [start, end) of the last m components of `pathParts(path)`, last component first. Scans from the end
 * and allocates no strings: readers call it once per line of files with millions of lines.
 */
export function lastPathParts(path: string, m: number): [number, number][] {
  const parts: [number, number][] = [];
  let i = path.length;
  while (i > 0 && parts.length < m) {
    while (i > 0 && isSep(path.charCodeAt(i - 1))) i--;
    const end = i;
    while (i > 0 && !isSep(path.charCodeAt(i - 1))) i--;
    if (end > i && !(end - i === 1 && path.charCodeAt(i) === 46)) parts.push([i, end]);
  }
  return parts;
}

/** `pathParts(path).length` without allocating. */
export function countPathParts(path: string): number {
  return lastPathParts(path, Infinity).length;
}

/** Name of the parent directory of a path (MultiAPI-Spoof API group), or undefined for a bare name. */
export function parentDirName(path: string): string | undefined {
  const parts = lastPathParts(path, 2);
  return parts.length === 2 ? path.slice(parts[1][0], parts[1][1]) : undefined;
}

/**
 * Returns one shared string per distinct value: group names repeat on millions of lines, and keeping
 * one copy each saves hundreds of MB on large score files.
 */
export function interner(): (s: string | undefined) => string | undefined {
  const seen = new Map<string, string>();
  return (s) => {
    if (s === undefined) return undefined;
    const t = seen.get(s);
    if (t !== undefined) return t;
    seen.set(s, s);
    return s;
  };
}
