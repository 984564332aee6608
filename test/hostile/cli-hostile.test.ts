// Issue 16: hostile input through the real CLI (bin/spoofscan.mjs) ends in one line naming the file and the
// problem, with a documented exit code (common/errors.ts), never a stack trace, a hang or a silent success.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_USAGE, reportError, UsageError, UserError } from '../../common/errors.ts';
import { encodeWav, parseWav } from '../../train/data/wav.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spoofscan-hostile-'));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(repo, 'bin/spoofscan.mjs'), ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SPOOFSCAN_QUIET: '1', SPOOFSCAN_DEBUG: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const NO_STACK = /\n\s+at /;

/** A 16-bit mono WAV whose header claims `rate`. */
function wavWithRate(rate: number, frames = 1600): Uint8Array {
  const b = encodeWav(new Float32Array(frames).fill(0.1), 16000, 'pcm16');
  new DataView(b.buffer).setUint32(24, rate >>> 0, true);
  return b;
}

describe('one top-level error handler (common/errors.ts)', () => {
  it('maps errors to exit codes: usage 2, bad input 1, internal 3 (one line, hint to SPOOFSCAN_DEBUG)', () => {
    expect(reportError(new UsageError('bad flag'), 'spoofscan x')).toMatchObject({ message: 'spoofscan x: bad flag', exitCode: EXIT_USAGE });
    expect(reportError(new UserError('f.wav: empty'), 'spoofscan x')).toMatchObject({ exitCode: EXIT_BAD_INPUT });
    const fsErr = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: 'ENOSPC', path: '/o/x.wav' });
    expect(reportError(fsErr, 'spoofscan x')).toMatchObject({ message: 'spoofscan x: /o/x.wav: no space left on the device (ENOSPC)', exitCode: 1 });
    const bug = reportError(new TypeError("Cannot read properties of undefined (reading 'x')"), 'spoofscan x');
    expect(bug.exitCode).toBe(EXIT_INTERNAL);
    expect(bug.message).toMatch(/^spoofscan x: internal error: TypeError: Cannot read properties.*\n\(this is a bug.*SPOOFSCAN_DEBUG=1/);
    expect(bug.message).not.toMatch(NO_STACK);
    expect(reportError('a string', 'p').exitCode).toBe(EXIT_INTERNAL);
  });

  it('doctor --adapter quantum is a usage error; SPOOFSCAN_ADAPTER=quantum too; neither prints a stack', () => {
    let r = cli(['doctor', '--adapter', 'quantum']);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toMatch(/^spoofscan doctor: --adapter must be one of auto, default, swiftshader, gles, not "quantum"\n$/);
    r = cli(['doctor'], { SPOOFSCAN_ADAPTER: 'quantum' });
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toMatch(/SPOOFSCAN_ADAPTER='quantum' is not one of/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  it('SPOOFSCAN_DEBUG=1 adds the stack trace; without it there is none', () => {
    const empty = join(dir, 'empty-debug.wav');
    writeFileSync(empty, '');
    const r = cli(['audio', 'info', empty], { SPOOFSCAN_DEBUG: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(NO_STACK);
    expect(cli(['audio', 'info', empty]).stderr).not.toMatch(NO_STACK);
  });
});

describe('hostile audio through `spoofscan audio`', () => {
  const cases: [string, () => string, RegExp][] = [
    ['a directory', () => (mkdirSync(join(dir, 'adir.wav'), { recursive: true }), join(dir, 'adir.wav')), /adir\.wav: a directory, not a regular file/],
    ['/dev/zero', () => '/dev/zero', /\/dev\/zero: a character device, not a regular file/],
    ['a symlink loop', () => (symlinkSync('loop.wav', join(dir, 'loop.wav')), join(dir, 'loop.wav')), /loop\.wav: too many levels of symbolic links/],
    ['a missing file', () => join(dir, 'nope.wav'), /nope\.wav: file not found/],
    ['an empty file', () => (writeFileSync(join(dir, 'empty.wav'), ''), join(dir, 'empty.wav')), /empty\.wav: empty file \(0 bytes\)/],
    ['sample rate 0xFFFFFFFF', () => (writeFileSync(join(dir, 'r1.wav'), wavWithRate(0xffffffff)), join(dir, 'r1.wav')), /r1\.wav: sample rate 4294967295 Hz in the header is outside 1000–768000 Hz/],
    ['sample rate 1,000,000,007', () => (writeFileSync(join(dir, 'r2.wav'), wavWithRate(1_000_000_007)), join(dir, 'r2.wav')), /r2\.wav: sample rate 1000000007 Hz/],
    ['sample rate 1 Hz', () => (writeFileSync(join(dir, 'r3.wav'), wavWithRate(1)), join(dir, 'r3.wav')), /r3\.wav: sample rate 1 Hz/],
    ['float samples of 3e38', () => (writeFileSync(join(dir, 'huge.wav'), encodeWav(new Float32Array(2000).fill(3e38), 16000)), join(dir, 'huge.wav')), /huge\.wav: sample at index 0 is 3\.0000000\d*e\+38, outside ±1000/],
    ['500 KB of zeros', () => (writeFileSync(join(dir, 'zeros.wav'), new Uint8Array(500_000)), join(dir, 'zeros.wav')), /zeros\.wav: unrecognised audio format/],
  ];
  for (const [what, make, message] of cases) {
    it(`info on ${what}: exit 1, one line naming the file`, () => {
      const r = cli(['audio', 'info', make()]);
      expect(r.code).toBe(EXIT_BAD_INPUT);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(NO_STACK);
    });
  }

  it('a FIFO is refused without opening it (no hang)', () => {
    const fifo = join(dir, 'pipe.wav');
    const mk = spawnSync('mkfifo', [fifo]);
    if (mk.status !== 0) return; // no mkfifo on this platform
    const r = cli(['audio', 'info', fifo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pipe\.wav: a named pipe \(FIFO\), not a regular file/);
  });

  it('convert --rate outside 1 kHz–768 kHz is a usage error; no output is written', () => {
    const src = join(dir, 'ok.wav');
    writeFileSync(src, encodeWav(new Float32Array(1600).fill(0.25), 16000));
    for (const rate of ['4294967295', '999', '0', '-5', '1e9', 'abc']) {
      const r = cli(['audio', 'convert', src, join(dir, 'never.wav'), '--rate', rate]);
      expect(r.code, rate).toBe(EXIT_USAGE);
      expect(r.stderr).toMatch(/--rate/);
      expect(r.stderr).not.toMatch(NO_STACK);
    }
    expect(readdirSync(dir).filter((n) => n.startsWith('never'))).toEqual([]);
  });

  it('convert writes atomically and cleans temp files of dead writers; a missing directory is one clear line', () => {
    const src = join(dir, 'ok2.wav');
    writeFileSync(src, encodeWav(new Float32Array(3200).fill(0.5), 16000));
    const out = join(dir, 'conv.wav');
    const stale = join(dir, '.conv.wav.spoofscan-tmp-999999999-deadbeef');
    writeFileSync(stale, 'half-written');
    const r = cli(['audio', 'convert', src, out, '--rate', '8000']);
    expect(r.code).toBe(0);
    expect(parseWav(new Uint8Array(readFileSync(out)))).toMatchObject({ sampleRate: 8000, frames: 1600 });
    expect(readdirSync(dir).filter((n) => n.includes('spoofscan-tmp'))).toEqual([]);
    const bad = cli(['audio', 'convert', src, join(dir, 'no/such/dir/x.wav')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no\/such\/dir\/x\.wav: cannot write the output \(ENOENT: its directory does not exist\)\n$/);
  });
});
