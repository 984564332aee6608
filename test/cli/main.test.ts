// The spoofscan dispatcher: every command answers --help, and a bad flag is a one-line user error
// (exit 1, the message and a pointer to --help, no stack trace) for every command.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/spoofscan.mjs', import.meta.url).pathname;
const COMMANDS = readdirSync(new URL('../../cli/commands/', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, SPOOFSCAN_QUIET: '1' }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('spoofscan CLI', () => {
  it('lists every command with its summary', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(c);
  });

  it('rejects an unknown command with the list of known ones', () => {
    const r = cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it.each(['convert', 'score', 'features', 'eval', 'calibrate', 'doctor'])('%s: an unknown flag is a usage error (exit 2) without a stack trace', (name) => {
    const r = cli(name, '--bogus-flag');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--bogus-flag'/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack frames
  });
});
