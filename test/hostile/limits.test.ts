// Issue 16: limits checked from the header before allocation, and the flag bounds offered to `score`.
import { mkdtempSync, openSync, closeSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFullLength, checkWindowPlan, parseWindowLength } from '../../train/data/crop.ts';
import { readBytes } from '../../train/data/files.node.ts';
import { resampleKernel } from '../../train/data/resample.ts';
import { encodeWav } from '../../train/data/wav.ts';

describe('header limits before allocation', () => {
  it('a 3-hour 48 kHz stereo WAV (sparse, 2 GB) is refused from its header without reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoofscan-limits-'));
    const path = join(dir, 'long.wav');
    const frames = 48000 * 3 * 3600;
    const head = encodeWav([new Float32Array(1), new Float32Array(1)], 48000, 'pcm16').subarray(0, 44);
    const dv = new DataView(head.buffer, head.byteOffset, 44);
    dv.setUint32(40, frames * 4, true);
    dv.setUint32(4, 36 + frames * 4, true);
    const fd = openSync(path, 'w');
    writeSync(fd, head);
    ftruncateSync(fd, 44 + frames * 4); // a hole: costs no disk
    closeSync(fd);
    const before = process.memoryUsage().arrayBuffers;
    await expect(readBytes(path)).rejects.toThrow(/long\.wav: too long: 518400000 frames × 2 channel\(s\) \(10800 s at 48000 Hz\) exceed the limit/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });

  it('a WAV is read only to the end of its data chunk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoofscan-limits-'));
    const path = join(dir, 'trail.wav');
    const wav = encodeWav(new Float32Array(100).fill(0.5), 16000);
    const fd = openSync(path, 'w');
    writeSync(fd, wav);
    ftruncateSync(fd, wav.length + 100_000_000); // 100 MB of trailing junk (a hole)
    closeSync(fd);
    expect((await readBytes(path)).length).toBe(wav.length);
  });

  it('the resampler refuses rates beyond 768 kHz instead of building a gigantic filter table', () => {
    expect(() => resampleKernel(0xffffffff, 16000)).toThrow(/rates must be integers from 1 to 768000/);
    expect(() => resampleKernel(767999, 16000)).not.toThrow();
  });
});

describe('window and whole-file bounds for `score` (library checks the lead calls)', () => {
  it('--window: integers from 400 to 960,000 samples', () => {
    expect(parseWindowLength(undefined)).toBe(64600);
    expect(parseWindowLength('400')).toBe(400);
    for (const bad of ['2147483648', '399', '0', '-1', '1e6', 'abc', '400.5']) expect(() => parseWindowLength(bad)).toThrow(/--window must be an integer from 400 to 960000/);
  });
  it('window count and whole-file length are bounded per file, naming it', () => {
    expect(() => checkWindowPlan(16000 * 7200, 400, 'long.wav')).toThrow(/^long\.wav: 115200000 samples in windows of 400 make \d+ windows, more than 20000/);
    expect(() => checkWindowPlan(16000 * 7200, 64600, 'long.wav')).not.toThrow();
    expect(() => checkFullLength(16000 * 7200, 'long.wav')).toThrow(/^long\.wav: .*too long to score whole.*use --crop windows/);
    expect(() => checkFullLength(16000 * 60, 'ok.wav')).not.toThrow();
  });
});
