// User-facing errors and the one place that turns any thrown value into a one-line message and an exit code.
//
// Exit codes (README "Exit codes", docs/cli.md):
//   0  success
//   1  bad input: a file, its contents or a flag value is at fault (the message names the file and the problem)
//   2  usage error: unknown command, unknown or malformed option, wrong number of arguments
//   3  internal error: a bug in spoofscan (one line; SPOOFSCAN_DEBUG=1 prints the stack)
// Shared by the front ends (cli/ and bench/). Lower layers (train/,
// models/, engine/) cannot import this file: they mark their own error classes with `userFacing = true` (and
// optionally `exitCode`), which is all the handler below looks at.

export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

/** An error caused by the user's input (file, flag, data): the CLI prints its message without a stack. */
export class UserError extends Error {
  readonly userFacing = true;
  readonly exitCode: number = EXIT_BAD_INPUT;
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A command line that cannot be run as given (exit code 2). */
export class UsageError extends UserError {
  override readonly exitCode = EXIT_USAGE;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Node's file-system error codes that are the user's to fix (missing file, permissions, full disk, …). */
const FS_CODES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a component of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links (a symlink loop?)',
  ENAMETOOLONG: 'file name too long',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EEXIST: 'file already exists',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  ENXIO: 'no such device or address',
  EBUSY: 'resource busy',
  ETXTBSY: 'text file busy',
  EINVAL: 'invalid argument',
};

export interface Reported {
  /** What the user sees on stderr (no trailing newline). */
  message: string;
  exitCode: number;
  /** The stack, for SPOOFSCAN_DEBUG=1. */
  stack?: string;
}

/** Turns anything a command threw into one message and an exit code. `prefix` is e.g. "spoofscan score". */
export function reportError(e: unknown, prefix: string): Reported {
  const err = e instanceof Error ? e : null;
  const stack = err?.stack;
  if (err && (err as { userFacing?: boolean }).userFacing) {
    const code = (err as { exitCode?: unknown }).exitCode;
    return { message: `${prefix}: ${err.message}`, exitCode: typeof code === 'number' ? code : EXIT_BAD_INPUT, stack };
  }
  const code = (err as { code?: unknown } | null)?.code;
  // node:util parseArgs rejects unknown or malformed flags with ERR_PARSE_ARGS_* codes: a usage error.
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    const cmd = prefix.replace(/^spoofscan\s*/, '');
    return { message: `${prefix}: ${err!.message}\n(spoofscan ${cmd} --help lists the options)`, exitCode: EXIT_USAGE, stack };
  }
  // A raw file-system error that escaped a command: still the user's file, named by the error's path.
  if (typeof code === 'string' && code in FS_CODES) {
    const path = (err as { path?: unknown; dest?: unknown }).path;
    const what = FS_CODES[code];
    return { message: `${prefix}: ${typeof path === 'string' ? `${path}: ` : ''}${what} (${code})`, exitCode: EXIT_BAD_INPUT, stack };
  }
  if (err instanceof RangeError && /allocation failed|Invalid (typed )?array length|Array buffer/i.test(err.message)) {
    return {
      message: `${prefix}: out of memory (${err.message}); the input is larger than this process can hold`,
      exitCode: EXIT_BAD_INPUT,
      stack,
    };
  }
  const what = err ? `${err.name}: ${err.message}` : String(e);
  return {
    message: `${prefix}: internal error: ${firstLine(what)}\n(this is a bug in spoofscan; rerun with SPOOFSCAN_DEBUG=1 for the stack trace)`,
    exitCode: EXIT_INTERNAL,
    stack,
  };
}

function firstLine(s: string): string {
  const line = s.split('\n', 1)[0];
  return line.length > 300 ? line.slice(0, 299) + '…' : line;
}

/** Prints a reported error on stderr: the message, plus the stack when SPOOFSCAN_DEBUG=1. */
export function printError(r: Reported): void {
  console.error(r.message);
  if (process.env.SPOOFSCAN_DEBUG === '1' && r.stack) console.error(r.stack);
}
