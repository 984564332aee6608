// Issue 16: FLAC and MP3 are bounded like WAV. The header (STREAMINFO, the first MPEG frame) is checked against
// the budget before anything large is read; a FLAC larger than its STREAMINFO allows is refused from its size;
// and decoding is chunked, stopping at the budget, so a header that lies cannot run the process out of memory.
// All inputs are generated here (sparse files for the big ones).
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesAudioReader, decodeAudio } from '../../train/data/decode.ts';
import { InlineSource } from '../../train/data/loader.ts';
import { readBytes } from '../../train/data/files.node.ts';
import { decodeAudioFile, probeAudioFile } from '../../train/data/read-audio.node.ts';
import { encodeFlacVerbatim } from '../data/helpers.ts';
import { cli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'spoofscan-compressed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Sets STREAMINFO's 36-bit total-samples field of a file made by encodeFlacVerbatim. */
function setFlacTotal(b: Uint8Array, total: number): Uint8Array {
  const o = 8 + 13; // STREAMINFO body at 8; total samples in bits 108..143
  b[o] = (b[o] & 0xf0) | Math.floor(total / 2 ** 32);
  new DataView(b.buffer, b.byteOffset).setUint32(o + 1, total >>> 0);
  return b;
}

/** `head` followed by a hole up to `size` bytes (no disk, no memory). */
function sparse(name: string, head: Uint8Array, size: number): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  writeSync(fd, head);
  ftruncateSync(fd, size);
  closeSync(fd);
  return path;
}

function tone(n: number, bits = 16): number[] {
  const a = 2 ** (bits - 1) - 1;
  return Array.from({ length: n }, (_, i) => Math.round(a * 0.5 * Math.sin(i / 5)));
}

/** A silent MPEG-1 Layer III frame (44.1 kHz, mono) at `kbps` (32…320): header, zero side info, zero data. */
function mp3Frame(kbps: number): Uint8Array {
  const index = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320].indexOf(kbps);
  const f = new Uint8Array(Math.floor((144 * kbps * 1000) / 44100));
  f.set([0xff, 0xfb, (index << 4) | (0 << 2), 0xc0]); // MPEG-1 L3, no CRC; 44.1 kHz, no padding; mono
  return f;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

const arrayBuffersGrowth = async (fn: () => Promise<unknown>) => {
  const before = process.memoryUsage().arrayBuffers;
  await fn().catch(() => undefined);
  return process.memoryUsage().arrayBuffers - before;
};

describe('FLAC: limits from STREAMINFO and the file size, before reading', () => {
  it('a STREAMINFO claiming 10 hours at 48 kHz stereo (sparse 1.5 GB file) is refused from the header', async () => {
    const head = setFlacTotal(encodeFlacVerbatim([tone(2000), tone(2000)], 48000, 16), 48000 * 36000);
    const path = sparse('ten-hours.flac', head, 1_500_000_000);
    const msg = /ten-hours\.flac: too long: 1728000000 frames × 2 channel\(s\) \(36000 s at 48000 Hz\) exceed the limit of 134217728 decoded samples/;
    await expect(readBytes(path)).rejects.toThrow(msg);
    await expect(decodeAudioFile(path)).rejects.toThrow(msg);
    expect(await arrayBuffersGrowth(() => decodeAudioFile(path))).toBeLessThan(32 << 20);
  });

  it('through the CLI: audio info and score end in one line naming the file and the limit, exit 1', async () => {
    const head = setFlacTotal(encodeFlacVerbatim([tone(2000)], 48000, 16), 48000 * 7200);
    const path = sparse('two-hours.flac', head, 800_000_000);
    for (const args of [['audio', 'info', path], ['score', path]]) {
      const r = await cli(...args);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/two-hours\.flac: too long: 345600000 frames × 1 channel\(s\) \(7200 s at 48000 Hz\) exceed the limit of 134217728 decoded samples \(512 MiB as float32\)/);
      expect(r.err.trim().split('\n'), r.err).toHaveLength(1); // score checks headers before loading the model
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  it('a short STREAMINFO in a 1.9 GB file is refused from the size STREAMINFO allows, without reading it', async () => {
    const head = encodeFlacVerbatim([tone(3000)], 16000, 16);
    const path = sparse('padded.flac', head, 1_900_000_000);
    const msg = /padded\.flac: FLAC file of 1900000000 bytes \(1812\.0 MiB\) is larger than the \d+ bytes \([\d.]+ MiB\) its STREAMINFO \(3000 samples × 1 channel\(s\), 16-bit\) allows/;
    await expect(readBytes(path)).rejects.toThrow(msg);
    await expect(decodeAudioFile(path)).rejects.toThrow(msg);
    expect(await arrayBuffersGrowth(() => readBytes(path))).toBeLessThan(32 << 20);
  });

  it('one frame over the budget is refused from STREAMINFO; exactly the budget decodes', async () => {
    const flac = encodeFlacVerbatim([tone(4000)], 16000, 16);
    const path = join(dir, 'budget.flac');
    writeFileSync(path, flac);
    await expect(decodeAudioFile(path, { maxDecodedSamples: 3999 })).rejects.toThrow(/budget\.flac: too long: 4000 frames × 1 channel\(s\) .* exceed the limit of 3999 decoded samples/);
    expect((await decodeAudioFile(path, { maxDecodedSamples: 4000 })).frames).toBe(4000);
  });

  it('a STREAMINFO that under-states the length: decoding stops past the stated count (+ one block), naming the file', async () => {
    const flac = setFlacTotal(encodeFlacVerbatim([tone(60_000)], 16000, 16, 4096), 1000);
    const path = join(dir, 'liar.flac');
    writeFileSync(path, flac);
    const msg = /liar\.flac: FLAC stream decodes to more samples than its header states \(STREAMINFO: 1000 frames; \d+ decoded so far, refused past 5096\)/;
    for (const limits of [{}, { maxDecodedSamples: 20_000 }]) {
      await expect(decodeAudioFile(path, limits)).rejects.toThrow(msg);
      await expect(decodeAudio(flac, 'liar.flac', limits)).rejects.toThrow(msg);
    }
    // through the CLI: one line naming the file, exit 1
    const r = await cli('audio', 'info', path);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/liar\.flac: FLAC stream decodes to more samples than its header states/);
  });

  it('a stream within one block of its STREAMINFO count still decodes (all of it)', async () => {
    const flac = setFlacTotal(encodeFlacVerbatim([tone(60_000)], 16000, 16, 4096), 60_000 - 4000);
    const path = join(dir, 'near.flac');
    writeFileSync(path, flac);
    expect((await decodeAudioFile(path)).frames).toBe(60_000);
  });

  it('streamed from the file (chunks of 1 MiB after a 64 KiB probe) = decoded from bytes, sample for sample', async () => {
    const a = tone(300_000); // 600 KB: probe + chunks
    const b = tone(300_000).map((v) => -v);
    const flac = encodeFlacVerbatim([a, b], 48000, 16, 4096).slice();
    const path = join(dir, 'same.flac');
    writeFileSync(path, flac);
    const fromFile = await decodeAudioFile(path);
    const fromBytes = await decodeAudio(flac, path);
    expect(fromFile.frames).toBe(300_000);
    expect(fromFile).toEqual(fromBytes);
    expect(fromFile.channelData[1][12345]).toBe(b[12345] / 32768);
  });
});

describe('evaluation and the inline loader read files through the streamed decoder', () => {
  it('InlineSource over decodeAudioFile = over the bytes (bytesAudioReader), item for item', async () => {
    const flac = encodeFlacVerbatim([tone(200_000), tone(200_000).map((v) => -v)], 48000, 16, 4096);
    const path = join(dir, 'inline.flac');
    writeFileSync(path, flac);
    const job = { record: 0, position: 0, epoch: 0, path };
    const opts = { policy: 'repeat-random' as const, seed: 7, length: 16000 };
    const streamed = await new InlineSource(decodeAudioFile, opts).prepare(job);
    const fromBytes = await new InlineSource(bytesAudioReader(async (p) => new Uint8Array(readFileSync(p))), opts).prepare(job);
    expect(streamed).toEqual(fromBytes);
    const over = setFlacTotal(flac.slice(), 1000);
    writeFileSync(join(dir, 'inline-liar.flac'), over);
    await expect(new InlineSource(decodeAudioFile, opts).prepare({ ...job, path: join(dir, 'inline-liar.flac') })).rejects.toThrow(
      /inline-liar\.flac: FLAC stream decodes to more samples than its header states/,
    );
  });
});

describe('MP3: the size-based estimate, then a decoded-length bound', () => {
  it('an MP3 that is bigger than the budget allows at its first frame\'s bitrate is refused without decoding', async () => {
    // 32 kbit/s at 44.1 kHz: ≈ 11 frames per byte; 20 MB → 2 × 2.2e8 samples > 2^27
    const path = sparse('long.mp3', concat([mp3Frame(32), mp3Frame(32)]), 20_000_000);
    const msg = /long\.mp3: too long: \d+ frames × 2 channel\(s\) \(\d+ s at 44100 Hz\) exceed the limit of 134217728 decoded samples/;
    await expect(decodeAudioFile(path)).rejects.toThrow(msg);
    await expect(readBytes(path)).rejects.toThrow(msg);
  });

  it('VBR: a 320 kbit/s first frame then 32 kbit/s frames — decoding stops at the budget, naming the file', async () => {
    const frames = [mp3Frame(320), ...Array.from({ length: 400 }, () => mp3Frame(32))]; // ≈ 461k frames decoded
    const mp3 = concat(frames);
    const path = join(dir, 'vbr.mp3');
    writeFileSync(path, mp3);
    // the estimate from 320 kbit/s: ≈ 57k frames × 2 channels fits 200k; the real length does not
    const msg = /vbr\.mp3: MP3 stream decodes to more than 200000 samples \(2 channel\(s\) × \d+ frames so far\)/;
    await expect(decodeAudioFile(path, { maxDecodedSamples: 200_000 })).rejects.toThrow(msg);
    await expect(decodeAudio(mp3, 'vbr.mp3', { maxDecodedSamples: 200_000 })).rejects.toThrow(msg);
    const ok = await decodeAudioFile(path, { maxDecodedSamples: 2_000_000 });
    expect(ok).toMatchObject({ format: 'mp3', channels: 1, sampleRate: 44100 });
    expect(ok.frames).toBeGreaterThan(400_000);
  });

  it('an ID3 tag longer than the 64 KiB probe (cover art) is read past; one claiming 20 MiB is refused', async () => {
    const fixture = new Uint8Array(readFileSync(new URL('../data/fixtures/tone1k-44100-mono.mp3', import.meta.url)));
    const id3 = (size: number) => {
      const h = new Uint8Array(10 + Math.min(size, 200_000));
      h.set([0x49, 0x44, 0x33, 4, 0, 0, (size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]);
      return h;
    };
    const tagged = concat([id3(100_000), fixture.subarray(fixture[0] === 0x49 ? 10 + (((fixture[6] & 0x7f) << 21) | ((fixture[7] & 0x7f) << 14) | ((fixture[8] & 0x7f) << 7) | (fixture[9] & 0x7f)) : 0)]);
    const path = join(dir, 'art.mp3');
    writeFileSync(path, tagged);
    const d = await decodeAudioFile(path);
    expect(d).toEqual(await decodeAudio(tagged, path));
    expect(d.format).toBe('mp3');
    expect(await probeAudioFile(path)).toMatchObject({ format: 'mp3', sampleRate: 44100 });
    const junk = sparse('junk.mp3', id3(20 << 20), 100_000_000);
    await expect(decodeAudioFile(junk)).rejects.toThrow(/junk\.mp3: ID3 tag of 20971530 bytes before the audio \(more than 16 MiB\)/);
  });

  it('streamed from the file = decoded from bytes (the stored fixtures)', async () => {
    for (const name of ['tone1k-44100-mono.mp3', 'tones-22050-stereo.mp3']) {
      const path = new URL(`../data/fixtures/${name}`, import.meta.url).pathname;
      expect(await decodeAudioFile(path)).toEqual(await decodeAudio(new Uint8Array(readFileSync(path)), path));
    }
  });
});
