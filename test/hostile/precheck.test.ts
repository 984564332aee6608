// Issue 16: score, trace and features check every input's file and header (format, rate, channels, length vs
// the decoding budget) before a model loads: a bad file is one line naming it, with no model-loading output first;
// with --skip-bad the bad ones are listed and the rest are scored.
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../train/data/wav.ts';
import { cli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'spoofscan-precheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A WAV header claiming 3 hours of 48 kHz stereo over a sparse 2 GB file. */
function longWav(name: string): string {
  const path = join(dir, name);
  const frames = 48000 * 3 * 3600;
  const head = encodeWav([new Float32Array(1), new Float32Array(1)], 48000, 'pcm16').slice(0, 44);
  const dv = new DataView(head.buffer, head.byteOffset, 44);
  dv.setUint32(40, frames * 4, true);
  dv.setUint32(4, 36 + frames * 4, true);
  const fd = openSync(path, 'w');
  writeSync(fd, head);
  ftruncateSync(fd, 44 + frames * 4);
  closeSync(fd);
  return path;
}

function wavWithRate(name: string, rate: number): string {
  const b = encodeWav(new Float32Array(1600).fill(0.1), 16000).slice();
  const dv = new DataView(b.buffer, b.byteOffset);
  dv.setUint32(24, rate >>> 0, true);
  const path = join(dir, name);
  writeFileSync(path, b);
  return path;
}

function goodWav(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, encodeWav(Float32Array.from({ length: 16000 }, (_, i) => 0.3 * Math.sin(i / 7)), 16000));
  return path;
}

const TOO_LONG = /long\.wav: too long: 518400000 frames × 2 channel\(s\) \(10800 s at 48000 Hz\) exceed the limit of 134217728 decoded samples/;
const NO_STACK = /\n\s+at /;

describe('the header of every input is checked before a model loads', () => {
  const long = longWav('long.wav');
  const detector = new URL('../../models/pretrained/detector.safetensors', import.meta.url).pathname;
  const commands: [string, string[]][] = [
    ['score', ['score', long]],
    ['trace', ['trace', long]],
    ['features', ['features', '--model', detector, '--out', join(dir, 'f.safetensors'), long]],
  ];
  for (const [name, args] of commands) {
    it(`${name} on an over-budget WAV header: exactly one stderr line, no model output, exit 1`, async () => {
      const r = await cli(...args);
      expect(r.code).toBe(1);
      expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
      expect(r.err).toMatch(TOO_LONG);
      expect(r.err).not.toMatch(/model:|loaded|WebGPU/);
      expect(r.err).not.toMatch(NO_STACK);
      expect(r.out).toBe('');
    });
  }

  it('one bad input among several: one line naming it and the count; several: a list', async () => {
    const good = goodWav('good.wav');
    const r = await cli('score', good, long);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/long\.wav: too long: .* \(1 of 2 inputs; nothing was scored; --skip-bad scores the rest\)/);
    const slow = wavWithRate('rate1.wav', 1);
    const r2 = await cli('score', good, long, slow);
    expect(r2.code).toBe(1);
    expect(r2.err).toMatch(/2 of 3 inputs cannot be used \(nothing was scored; --skip-bad scores the rest\):\n {2}.*long\.wav: too long.*\n {2}.*rate1\.wav: sample rate 1 Hz/);
    expect(r2.err).not.toMatch(/model:/);
  });

  it('--skip-bad lists the bad ones and scores the rest', async () => {
    const good = goodWav('good2.wav');
    const r = await cli('score', '--skip-bad', good, long);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/good2\.wav/);
    expect(r.out).not.toMatch(/long\.wav/);
    expect(r.err).toMatch(/skipped 1 input\(s\):\n {2}.*long\.wav: too long/);
  });
});
