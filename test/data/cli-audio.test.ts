import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeAudio, loadAudio } from '../../train/data/decode.ts';
import { parseWav } from '../../train/data/wav.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const cli = (...args: string[]) => run(process.execPath, [join(repo, 'bin/spoofscan.mjs'), 'audio', ...args], { cwd: repo });
const clip = join(repo, 'data/mini/flite-kal', readdirSync(join(repo, 'data/mini/flite-kal')).sort()[0]);

describe('spoofscan audio', () => {
  it('info --json: format, rate, channels, duration and the model-input length', async () => {
    const { stdout } = await cli('info', clip, '--json');
    const info = JSON.parse(stdout);
    const src = await decodeAudio(new Uint8Array(readFileSync(clip)), clip);
    expect(info).toMatchObject({ format: 'FLAC', codec: 'FLAC 16-bit', sampleRate: 8000, channels: 1, bitDepth: 16, frames: src.frames });
    expect(info.durationSeconds).toBeCloseTo(src.frames / 8000, 9);
    expect(info.modelInput).toMatchObject({ sampleRate: 16000, samples: 2 * src.frames, tooShort: false });
    expect(info.modelInput.resampler).toMatch(/^sinc_interp_hann/);
  });

  it('convert writes exactly what the model sees: 16 kHz mono float32', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'spoofscan-cli-')), 'out.wav');
    const { stdout } = await cli('convert', clip, out);
    expect(stdout).toMatch(/out\.wav: \d+ samples, [\d.]+ s, 16000 Hz mono float32 \(from 1 channel; resampled 8000 → 16000 Hz/);
    const w = parseWav(new Uint8Array(readFileSync(out)));
    expect(w).toMatchObject({ sampleRate: 16000, channels: 1, formatTag: 3, bitsPerSample: 32 });
    const expected = (await loadAudio(new Uint8Array(readFileSync(clip)), clip)).samples;
    expect(Buffer.from(w.channelData[0].buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });

  it('bad input: exit code 1 and a message naming the file', async () => {
    const err = await cli('info', join(repo, 'package.json')).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/package\.json: unrecognised audio format/);
    const err2 = await cli('convert', clip, '/tmp/x.mp3').catch((e) => e);
    expect(err2.stderr).toMatch(/output must be a \.wav file/);
  });
});
