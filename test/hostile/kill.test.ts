// Issue 16: kill -9 while a command writes its output. The old output stays intact (or is replaced by a
// complete new one), and the next run removes the temporary file the killed process left behind.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// Every other command that writes a file: a preloaded hook (kill-hook.mjs) SIGKILLs the child right after the
// first bytes reach the temporary file, and again when the complete temporary file is about to be renamed —
// the two places a kill -9 can hurt. Each time the old output must be byte for byte intact; the next normal run
// must succeed, write a complete new output and leave no temporary file of the project's naming behind.
const HOOK = join(repo, 'test/hostile/kill-hook.mjs');

function runChild(args: string[], killAt?: 'write' | 'rename'): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, SPOOFSCAN_QUIET: '1', SPOOFSCAN_DEBUG: '', SPOOFSCAN_TEST_KILL_AT: killAt ?? '' };
    const child = spawn(process.execPath, ['--import', HOOK, BIN, ...args], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, err }));
  });
}

const safetensorsKeys = (b: Buffer) => Object.keys(JSON.parse(b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString('utf8')) as object);

describe('kill -9 while convert, calibrate --out / --write-scores, features --out and score --out write', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spoofscan-kill2-'));
  const wav = join(dir, 'a.wav');
  const x = new Float32Array(16000);
  for (let i = 0; i < x.length; i++) x[i] = 0.2 * Math.sin(i / 9);
  writeFileSync(wav, encodeWav(x, 16000));
  const dev = join(dir, 'dev.txt');
  writeFileSync(dev, 'a 1.5 bonafide\nb -2 spoof\nc 0.5 bonafide\nd -1 spoof\ne 0.2 spoof\nf -0.3 bonafide\n');
  const tiny = join(repo, 'test/fixtures/xlsr/tiny-hf/pytorch_model.bin');

  const cases: { name: string; out: string; args: (out: string) => string[]; check: (b: Buffer) => void }[] = [
    {
      name: 'convert',
      out: 'w.safetensors',
      args: (out) => ['convert', join(repo, 'test/fixtures/io/xlsr-fairseq.pt'), out],
      check: (b) => expect(safetensorsKeys(b).length).toBeGreaterThan(60),
    },
    {
      name: 'calibrate --out',
      out: 'cal.json',
      args: (out) => ['calibrate', '--scores', dev, '--out', out],
      check: (b) => expect(JSON.parse(b.toString('utf8'))).toMatchObject({ a: expect.any(Number), c: expect.any(Number) }),
    },
    {
      name: 'calibrate --write-scores',
      out: 'llr.txt',
      args: (out) => ['calibrate', '--scores', dev, '--write-scores', out],
      check: (b) => expect(b.toString('utf8')).toMatch(/score_type=llr[\s\S]*\nf\t-?\d/),
    },
    {
      name: 'features --out',
      out: 'f.safetensors',
      args: (out) => ['features', '--model', tiny, '--out', out, wav],
      check: (b) => expect(safetensorsKeys(b)).toContain('0.final'),
    },
    {
      name: 'score --out',
      out: 's.tsv',
      args: (out) => ['score', '--out', out, wav],
      check: (b) => expect(b.toString('utf8')).toMatch(/a\.wav\t-?\d/),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: old output intact after a kill mid-write and before the rename; the next run cleans up`, async () => {
      const out = join(dir, c.out);
      const old = Buffer.from(`old output of ${c.name}, must survive\n`);
      writeFileSync(out, old);
      const mine = () => temps(dir).filter((n) => n.startsWith(`.${c.out}.`));
      for (const at of ['write', 'rename'] as const) {
        const r = await runChild(c.args(out), at);
        expect(r.signal, r.err).toBe('SIGKILL');
        expect(readFileSync(out).equals(old)).toBe(true);
        expect(mine()).toHaveLength(1); // its own temporary file (the previous killed run's was removed on start)
      }
      const r = await runChild(c.args(out));
      expect(r.code, r.err).toBe(0);
      expect(mine()).toEqual([]);
      c.check(readFileSync(out));
    });
  }

  it('no temporary file of any output is left in the directory', () => {
    expect(temps(dir)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});
