import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeAudio, loadAudio, mixToMono, sniffFormat } from '../../train/data/decode.ts';
import { AudioError } from '../../train/data/errors.ts';
import { encodeWav } from '../../train/data/wav.ts';
import { buildWav, encodeFlacVerbatim, toneAmplitude } from './helpers.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const corpus = (rel: string) => new Uint8Array(readFileSync(new URL(`../../data/mini/${rel}`, import.meta.url)));

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AudioError);
    return (e as Error).message;
  }
  throw new Error('expected an AudioError');
}

describe('FLAC (wasm decoder) against files whose samples are known', () => {
  it.each([8, 16, 24] as const)('%i-bit: integers scaled by 2^(b−1) exactly, all frames decoded', async (bits) => {
    const full = 2 ** (bits - 1);
    const n = 5000; // several frames, last one partial
    const a = Array.from({ length: n }, (_, i) => ((i * 7919) % (2 * full)) - full);
    const b = Array.from({ length: n }, (_, i) => (i % 2 ? full - 1 : -full));
    const d = await decodeAudio(encodeFlacVerbatim([a, b], 16000, bits), 'x.flac');
    expect(d).toMatchObject({ format: 'flac', sampleRate: 16000, channels: 2, bitDepth: bits, frames: n });
    expect(d.channelData[0].every((v, i) => v === a[i] / full)).toBe(true);
    expect(d.channelData[1].every((v, i) => v === b[i] / full)).toBe(true);
  });

  it('a stream that ends on a full-size frame is decoded to its last sample', async () => {
    const v = Array.from({ length: 3 * 4096 }, (_, i) => (i % 2000) - 1000);
    const d = await decodeAudio(encodeFlacVerbatim([v], 44100, 16, 4096), 'x.flac');
    expect(d.frames).toBe(v.length);
    expect(d.channelData[0][v.length - 1]).toBe(v[v.length - 1] / 32768);
  });

  it('corrupt and truncated FLAC give errors naming the file', async () => {
    const good = encodeFlacVerbatim([Array.from({ length: 3000 }, (_, i) => i)], 16000, 16);
    const cut = good.subarray(0, 100); // STREAMINFO says 3000 samples
    expect(await reason(decodeAudio(cut, 'cut.flac'))).toMatch(/^cut\.flac: (truncated|corrupt|empty)/);
    const onlyHeader = good.subarray(0, 42);
    expect(await reason(decodeAudio(onlyHeader, 'h.flac'))).toMatch(/^h\.flac: /);
  });

  it('real corpus files decode to the samples their STREAMINFO MD5 describes', async () => {
    for (const dir of ['bonafide', 'festival-slt-hts', 'bonafide-librivox']) {
      const rel = `${dir}/${readdirSync(new URL(`../../data/mini/${dir}`, import.meta.url)).sort()[0]}`;
      const bytes = corpus(rel);
      const d = await decodeAudio(bytes, rel);
      expect(d).toMatchObject({ sampleRate: 8000, channels: 1, bitDepth: 16 });
      const pcm = new Int16Array(d.frames);
      for (let i = 0; i < d.frames; i++) pcm[i] = d.channelData[0][i] * 32768; // exact: k/32768
      const md5 = createHash('md5').update(new Uint8Array(pcm.buffer)).digest('hex');
      const stored = Buffer.from(bytes.subarray(8 + 18, 8 + 34)).toString('hex');
      expect(md5).toBe(stored);
    }
  });
});

describe('MP3 (wasm decoder)', () => {
  it('mono 44.1 kHz tone: rate, channel count from the header, amplitude', async () => {
    const d = await decodeAudio(fixture('tone1k-44100-mono.mp3'), 'tone.mp3');
    expect(d).toMatchObject({ format: 'mp3', sampleRate: 44100, channels: 1, codec: 'MPEG-1 Layer III' });
    expect(d.frames).toBeGreaterThan(0.55 * 44100);
    expect(toneAmplitude(d.channelData[0], 44100, 1000, 2000, 20000)).toBeCloseTo(0.475, 1);
  });
  it('stereo 22.05 kHz (MPEG-2): channels kept apart, then averaged by mixToMono', async () => {
    const d = await decodeAudio(fixture('tones-22050-stereo.mp3'), 'tones.mp3');
    expect(d).toMatchObject({ sampleRate: 22050, channels: 2, codec: 'MPEG-2 Layer III' });
    const [l, r] = d.channelData;
    expect(toneAmplitude(l, 22050, 440, 2000, 10000)).toBeGreaterThan(0.4);
    expect(toneAmplitude(l, 22050, 1500, 2000, 10000)).toBeLessThan(0.01);
    expect(toneAmplitude(r, 22050, 1500, 2000, 10000)).toBeGreaterThan(0.4);
    const m = mixToMono(d.channelData);
    expect(toneAmplitude(m, 22050, 440, 2000, 10000)).toBeCloseTo(toneAmplitude(l, 22050, 440, 2000, 10000) / 2, 3);
  });
});

describe('loadAudio: what the model sees', () => {
  it('sniffs formats by content, not by name', () => {
    expect(sniffFormat(encodeWav(Float32Array.of(0), 8000))).toBe('wav');
    expect(sniffFormat(encodeFlacVerbatim([[1]], 8000, 16))).toBe('flac');
    expect(sniffFormat(fixture('tone1k-44100-mono.mp3'))).toBe('mp3');
    expect(sniffFormat(new TextEncoder().encode('OggS....'))).toBe('ogg');
    expect(sniffFormat(new Uint8Array(16))).toBe(null);
  });

  it('averages channels and leaves 16 kHz input untouched (no normalisation)', async () => {
    const l = Array.from({ length: 800 }, (_, i) => (i % 100) * 10);
    const r = Array.from({ length: 800 }, (_, i) => -(i % 50) * 4);
    const a = await loadAudio(buildWav({ formatTag: 1, bits: 16, channels: 2, rate: 16000, samples: [l, r] }), 'st.wav');
    expect(a.resampler).toBeNull();
    expect(a.samples.length).toBe(800);
    for (let i = 0; i < 800; i++) expect(a.samples[i]).toBe(Math.fround((l[i] / 32768 + r[i] / 32768) / 2));
  });

  it('resamples other rates to 16 kHz and records the resampler', async () => {
    const x = new Float32Array(8000).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 8000));
    const a = await loadAudio(encodeWav(x, 8000), 'lo.wav');
    expect(a.samples.length).toBe(16000);
    expect(a.resampler).toMatch(/^sinc_interp_hann\(lowpass_filter_width=6, rolloff=0.99\)$/);
    expect(toneAmplitude(a.samples, 16000, 440, 2000, 14000)).toBeCloseTo(0.5, 3);
  });

  it('errors: too short after resampling, non-finite samples, unknown format', async () => {
    expect(await reason(loadAudio(encodeWav(new Float32Array(399), 16000), 'short.wav'))).toMatch(
      /^short\.wav: too short: 399 samples at 16000 Hz/,
    );
    expect(await reason(loadAudio(encodeWav(new Float32Array(150), 8000), 's8.wav'))).toMatch(/too short: 300 samples/);
    await expect(loadAudio(encodeWav(new Float32Array(200), 8000), 'ok.wav')).resolves.toBeDefined(); // 400 after resampling
    const bad = new Float32Array(1000);
    bad[10] = NaN;
    expect(await reason(loadAudio(encodeWav(bad, 16000), 'nan.wav'))).toMatch(/non-finite sample at index 10/);
    expect(await reason(loadAudio(new TextEncoder().encode('OggS and more bytes'), 'a.ogg'))).toMatch(/Ogg audio is not supported/);
    expect(await reason(loadAudio(new Uint8Array(100), 'z.bin'))).toMatch(/unrecognised audio format/);
  });
});
