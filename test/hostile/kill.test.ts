// Issue 16: kill -9 while a command writes its output. The old output stays intact (or is replaced by a
// complete new one), and the next run removes the temporary file the killed process left behind.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeWav, parseWav } from '../../train/data/wav.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(repo, 'bin/spoofscan.mjs');
const temps = (dir: string) => readdirSync(dir).filter((n) => n.includes('.spoofscan-tmp-'));

/** Starts `audio convert`, kills it with SIGKILL as soon as its temporary file appears (or after `ms`). */
function killDuring(args: string[], dir: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: repo, stdio: 'ignore', env: { ...process.env, SPOOFSCAN_QUIET: '1' } });
    const t0 = Date.now();
    const poll = setInterval(() => {
      if (temps(dir).length || Date.now() - t0 > ms) {
        clearInterval(poll);
        child.kill('SIGKILL');
      }
    }, 1);
    child.on('exit', () => {
      clearInterval(poll);
      resolve();
    });
  });
}

describe('kill -9 during audio convert', () => {
  it('old output intact, no temp file survives the next run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoofscan-kill-'));
    const src = join(dir, 'long.wav');
    const x = new Float32Array(44100 * 40);
    for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin(i / 7);
    writeFileSync(src, encodeWav(x, 44100));
    const out = join(dir, 'out.wav');
    const old = encodeWav(new Float32Array(1234).fill(0.125), 16000);
    writeFileSync(out, old);
    let leftBehind = 0;
    for (const ms of [150, 700, 1500, 4000, 20000]) {
      await killDuring(['audio', 'convert', src, out], dir, ms);
      leftBehind = Math.max(leftBehind, temps(dir).length);
      const now = new Uint8Array(readFileSync(out));
      if (!Buffer.from(now).equals(Buffer.from(old))) {
        // the rename happened before the kill: then the new file is complete
        expect(parseWav(now).frames).toBe(Math.ceil((x.length * 160) / 441));
        writeFileSync(out, old);
      }
    }
    expect(leftBehind).toBeGreaterThan(0); // at least one kill landed mid-write, leaving its temp file
    const r = spawnSync(process.execPath, [BIN, 'audio', 'convert', src, out], { cwd: repo, encoding: 'utf8', env: { ...process.env, SPOOFSCAN_QUIET: '1' } });
    expect(r.status).toBe(0);
    expect(temps(dir)).toEqual([]);
    expect(parseWav(new Uint8Array(readFileSync(out))).sampleRate).toBe(16000);
  });
});
