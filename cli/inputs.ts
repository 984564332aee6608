// What `score`, `trace` and friends take as input: audio files, folders (searched recursively for .wav/.flac/
// .mp3), or a protocol list (`--list FILE --root DIR`; ids as the list names them, labels kept). Every input
// is checked before a model is loaded (collectInputs: the file; checkHeaders, on the inputs a run reads: its
// header against the limits of train/data/limits.ts), so one bad path among thousands is reported up front; with
// `skipBad` the rest go on and the bad ones are listed.
import { readdir, stat } from 'node:fs/promises';
import { DataError } from '../train/data/errors.ts';
import { probeAudioFile } from '../train/data/read-audio.node.ts';
import { readTextSync } from '../train/data/text-file.node.ts';
import { fsPath, hasReplacementChar, REPLACEMENT_HINT } from '../train/data/raw-path.node.ts';
import { join, relative } from 'node:path';
import { detectProtocolFormat, parseProtocol, PROTOCOL_FORMATS, type ProtocolFormat } from '../train/data/protocols.ts';
import { UserError } from '../common/errors.ts';

export interface InputItem {
  /** The id written to score files: the list's path as written, or the path given. */
  id: string;
  /** The file to read. */
  path: string;
  label?: string;
}

export interface Inputs {
  items: InputItem[];
  skipped: { path: string; reason: string }[];
}

const AUDIO = /\.(wav|flac|mp3)$/i;

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(await fsPath(dir), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && AUDIO.test(e.name)) out.push(p);
  }
}

/** Why a path cannot be read as an audio file (missing, a directory or special file, empty), or null. */
async function fileProblem(path: string): Promise<string | null> {
  try {
    const s = await stat(await fsPath(path));
    if (s.isDirectory()) return 'is a directory';
    if (!s.isFile()) return 'is not a regular file';
    if (s.size === 0) return 'is empty';
    return null;
  } catch (e) {
    return problemText(e, path);
  }
}

/** Why a file cannot be scored: fileProblem's reasons, or a header outside the limits (format, rate, channels,
 *  length vs the decoding budget); reads at most the file's first 64 KiB. */
async function headerProblem(path: string): Promise<string | null> {
  try {
    await probeAudioFile(path);
    return null;
  } catch (e) {
    return problemText(e, path);
  }
}

function problemText(e: unknown, path: string): string {
  if (e instanceof DataError) return e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message;
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? (hasReplacementChar(path) ? `not found (${REPLACEMENT_HINT})` : 'not found') : code === 'EACCES' ? 'permission denied' : `cannot be read (${code ?? (e as Error).message})`;
}

/** Files checked at once. */
const CHECK_CONCURRENCY = 16;

async function sortOut(items: InputItem[], problemOf: (path: string) => Promise<string | null>, skipBad: boolean, canSkip: boolean): Promise<Inputs> {
  const problems: (string | null)[] = new Array(items.length).fill(null);
  let next = 0;
  const work = async () => {
    while (next < items.length) {
      const k = next++;
      problems[k] = await problemOf(items[k].path);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, items.length) }, work));
  const skipped = items.flatMap((it, i) => (problems[i] ? [{ path: it.path, reason: problems[i]! }] : []));
  if (skipped.length && !skipBad) {
    const note = canSkip ? 'nothing was scored; --skip-bad scores the rest' : 'nothing was computed';
    if (skipped.length === 1) {
      const more = items.length > 1 ? ` (1 of ${items.length} inputs; ${note})` : '';
      throw new UserError(`${skipped[0].path}: ${skipped[0].reason}${more}`);
    }
    const show = skipped.slice(0, 10).map((s) => `  ${s.path}: ${s.reason}`);
    if (skipped.length > 10) show.push(`  … and ${skipped.length - 10} more`);
    throw new UserError(`${skipped.length} of ${items.length} inputs cannot be used (${note}):\n${show.join('\n')}`);
  }
  return { items: items.filter((_, i) => !problems[i]), skipped };
}

/**
 * Checks every input's header against the limits (format, rate, channels, length vs the decoding budget), and
 * the file itself, before a model loads: run on the inputs a run will actually read (after --shard and --resume
 * have picked them). Without `skipBad` any bad input stops the run: one is one line naming it, several are
 * listed (the first 10). With `skipBad` they are returned in `skipped`. `canSkip`: the command has --skip-bad.
 */
export function checkHeaders(items: InputItem[], skipBad: boolean, canSkip = true): Promise<Inputs> {
  return sortOut(items, headerProblem, skipBad, canSkip);
}

/** `canSkip`: the command has --skip-bad (the error says so). */
export async function collectInputs(o: { paths: string[]; list?: string; root?: string; format?: string; skipBad: boolean; canSkip?: boolean }): Promise<Inputs> {
  const items: InputItem[] = [];
  if (o.list) {
    let text: string;
    try {
      text = readTextSync(o.list);
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new UserError(`${o.list}: cannot read the list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const format = (o.format ?? detectProtocolFormat(text, o.list)) as ProtocolFormat | null;
    if (!format || !PROTOCOL_FORMATS.includes(format)) throw new UserError(`${o.list}: cannot tell the list format; give --list-format (${PROTOCOL_FORMATS.join(', ')})`);
    const asWritten = parseProtocol(text, format, { file: o.list, asWritten: true });
    const joined = parseProtocol(text, format, { file: o.list, root: o.root });
    joined.forEach((r, i) => items.push({ id: asWritten[i].path, path: r.path, label: typeof r.label === 'number' ? String(r.label) : r.label }));
  }
  for (const p of o.paths) {
    let isDir = false;
    try {
      isDir = (await stat(await fsPath(p))).isDirectory();
    } catch {
      /* reported below as not found */
    }
    if (isDir) {
      const found: string[] = [];
      await walk(p, found);
      if (!found.length) throw new UserError(`${p}: the folder holds no .wav, .flac or .mp3 file`);
      for (const f of found) items.push({ id: relative(process.cwd(), f) || f, path: f });
    } else items.push({ id: p, path: p });
  }
  if (!items.length) throw new UserError('no audio given: name files or folders, or --list FILE --root DIR');
  return sortOut(items, fileProblem, o.skipBad, o.canSkip ?? true);
}
