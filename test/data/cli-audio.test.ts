import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

  it('list: counts trials per label and group of a real list, all files present', async () => {
    const { stdout } = await cli('list', 'data/mini/protocols/eval_tracing.txt', '--root', 'data/mini', '--json');
    const r = JSON.parse(stdout);
    const lines = readFileSync(join(repo, 'data/mini/protocols/eval_tracing.txt'), 'utf8').trim().split('\n');
    expect(r).toMatchObject({ format: 'multiapi-tracing', trials: lines.length, filesChecked: true });
    const unseen = lines.filter((l) => l.endsWith(' 7')).length;
    expect(r.labels['7']).toBe(unseen);
    expect(Object.keys(r.labels)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(r.groups['festival-slt-hts']).toBe(lines.filter((l) => l.startsWith('festival-slt-hts/')).length);
  });

  it('list: malformed lines with file:line, and every missing file at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoofscan-cli-'));
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'a/x/1.wav bonafide\na/x/2.wav maybe\na/y/3.wav\n');
    const e1 = await cli('list', bad).catch((e) => e);
    expect(e1.code).toBe(1);
    expect(e1.stderr).toMatch(/bad\.txt:2: unknown label 'maybe'[^]*bad\.txt:3: expected 2 columns/);
    const missing = join(dir, 'missing.txt');
    writeFileSync(missing, `espeak/nope.flac spoof\nespeak/${readdirSync(join(repo, 'data/mini/espeak')).sort()[0]} spoof\nbonafide/nada.flac bona-fide\n`);
    const e2 = await cli('list', missing, '--root', 'data/mini').catch((e) => e);
    expect(e2.code).toBe(1);
    expect(e2.stderr).toMatch(/2 of 3 listed audio files are missing:\n {2}.*missing\.txt:1: data\/mini\/espeak\/nope\.flac\n {2}.*missing\.txt:3: data\/mini\/bonafide\/nada\.flac/);
    const { stdout } = await cli('list', missing, '--root', 'data/mini', '--no-check');
    expect(stdout).toMatch(/multiapi, 3 trials\n {2}labels: bonafide 1, spoof 2\n/);
  });
});
