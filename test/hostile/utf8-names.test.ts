// Issue 16: a file name with bytes that are not valid UTF-8 (legal on Linux). Node decodes argv, directory
// listings and list files as UTF-8 (each bad byte → U+FFFD), so a plain stat() of the decoded name says "not
// found" — wrong. train/data/raw-path.node.ts maps the decoded name back to the raw directory entry: the file is
// read, whether named on the command line (raw bytes in argv, through sh), found in a folder, or listed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fsPath } from '../../train/data/raw-path.node.ts';
import { readBytes, regularFileSize } from '../../train/data/files.node.ts';
import { encodeWav } from '../../train/data/wav.ts';
import { cli } from '../helpers/cli.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'spoofscan-names-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const raw = (dir: string, bytes: number[]) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(bytes)]);
const A_FF_WAV = [0x61, 0xff, 0x2e, 0x77, 0x61, 0x76]; // "a\xff.wav"
const wav = encodeWav(new Float32Array(8000).map((_, i) => 0.2 * Math.sin(i / 7)), 16000);
const NO_STACK = /\n\s+at /;

describe('names that are not valid UTF-8', () => {
  const dir = join(root, 'one');
  mkdirSync(dir);
  writeFileSync(raw(dir, A_FF_WAV), wav);
  const decoded = join(dir, 'a\uFFFD.wav'); // what Node makes of the name

  it('fsPath maps the decoded name back to the raw bytes; valid names pass through untouched', async () => {
    expect(await fsPath(decoded)).toEqual(raw(dir, A_FF_WAV));
    expect(await fsPath(join(dir, 'plain.wav'))).toBe(join(dir, 'plain.wav'));
    expect(await regularFileSize(decoded)).toBe(wav.length);
    expect(await readBytes(decoded)).toEqual(wav);
  });

  it('a folder component with a bad byte resolves too', async () => {
    const sub = raw(root, [0x64, 0xfe]); // "d\xfe"
    mkdirSync(sub);
    writeFileSync(Buffer.concat([sub, Buffer.from('/'), Buffer.from(A_FF_WAV)]), wav);
    expect(await readBytes(join(root, 'd\uFFFD', 'a\uFFFD.wav'))).toEqual(wav);
  });

  it('two names that read alike are one clear error; no match is "not found" with a hint, not a bare ENOENT', async () => {
    const two = join(root, 'two');
    mkdirSync(two);
    writeFileSync(raw(two, A_FF_WAV), wav);
    writeFileSync(raw(two, [0x61, 0xfe, 0x2e, 0x77, 0x61, 0x76]), wav);
    await expect(readBytes(join(two, 'a\uFFFD.wav'))).rejects.toThrow(/two\/a\uFFFD\.wav: 2 files in .*two have names that read as "a\uFFFD\.wav" .*rename them/);
    await expect(readBytes(join(two, 'b\uFFFD.wav'))).rejects.toThrow(/b\uFFFD\.wav: file not found \(ENOENT\); the name holds U\+FFFD.*rename the file/);
  });

  it('audio info with the raw bytes in argv (through sh): the file is read, exit 0', () => {
    const r = spawnSync('/bin/sh', ['-c', `exec "$0" bin/spoofscan.mjs audio info "$(printf '%s/a\\377.wav' "$1")"`, process.execPath, dir], {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, SPOOFSCAN_QUIET: '1', SPOOFSCAN_DEBUG: '' },
    });
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/format: +WAV/);
    expect(r.stdout).toMatch(/16000/);
  });

  it('audio list with the name in a list file, and audio info on the decoded name', async () => {
    const list = join(root, 'list.txt');
    writeFileSync(list, Buffer.concat([Buffer.from([...A_FF_WAV]), Buffer.from(' bonafide\n')]));
    const r = await cli('audio', 'list', list, '--root', dir);
    expect(r.err).not.toMatch(/not found|missing/);
    expect(r.code, r.err).toBe(0);
    const info = await cli('audio', 'info', decoded);
    expect(info.code, info.err).toBe(0);
  });

  it('score on the folder scores the file (id as Node reads the name)', async () => {
    const r = await cli('score', dir);
    expect(r.err).not.toMatch(NO_STACK);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/a\uFFFD\.wav/);
  }, 60_000);
});
