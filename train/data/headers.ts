// FLAC and MP3 headers: format sniffing, STREAMINFO and MPEG frame headers, and the limits checked from them
// before anything large is read or decoded (browser-safe). WAV headers are wav.ts's.

import { AudioError } from './errors.ts';
import { checkAudioHeader, MAX_DECODED_SAMPLES, type AudioLimits } from './limits.ts';
import { isWav } from './wav.ts';

export type ContainerFormat = 'wav' | 'flac' | 'mp3';

export function sniffFormat(bytes: Uint8Array): ContainerFormat | 'ogg' | null {
  if (isWav(bytes)) return 'wav';
  const start = id3Length(bytes);
  const at = (o: number, s: string) => {
    for (let i = 0; i < s.length; i++) if (bytes[o + i] !== s.charCodeAt(i)) return false;
    return true;
  };
  if (bytes.length >= start + 4 && at(start, 'fLaC')) return 'flac';
  if (bytes.length >= 4 && at(0, 'OggS')) return 'ogg';
  if (mp3FrameAt(bytes, start) !== null) return 'mp3';
  return null;
}

/** Bytes of a leading ID3v2 tag (0 when there is none). */
export function id3Length(b: Uint8Array): number {
  if (b.length >= 10 && b[0] === 0x49 && b[1] === 0x44 && b[2] === 0x33) {
    const size = ((b[6] & 0x7f) << 21) | ((b[7] & 0x7f) << 14) | ((b[8] & 0x7f) << 7) | (b[9] & 0x7f);
    return 10 + size + (b[5] & 0x10 ? 10 : 0);
  }
  return 0;
}

export interface Mp3Header {
  version: string;
  layer: number;
  channels: number;
  sampleRate: number;
  /** bits per second; 0 = free format */
  bitrate: number;
}

const MP3_RATES = [44100, 48000, 32000];
// kbit/s by index, for MPEG-1 layer I / II / III and MPEG-2(.5) layer I / II+III.
const MP3_BITRATES: Record<string, number[]> = {
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};

export function mp3FrameAt(b: Uint8Array, o: number): Mp3Header | null {
  if (o + 4 > b.length || b[o] !== 0xff || (b[o + 1] & 0xe0) !== 0xe0) return null;
  const ver = (b[o + 1] >> 3) & 3; // 0: 2.5, 2: 2, 3: 1
  const layer = (b[o + 1] >> 1) & 3; // 1: III, 2: II, 3: I
  const bitrate = b[o + 2] >> 4;
  const rate = (b[o + 2] >> 2) & 3;
  if (ver === 1 || layer === 0 || bitrate === 15 || rate === 3) return null;
  const l = 4 - layer;
  const table = MP3_BITRATES[ver === 3 ? `1-${l}` : `2-${l === 1 ? 1 : 2}`];
  return {
    version: ver === 3 ? 'MPEG-1' : ver === 2 ? 'MPEG-2' : 'MPEG-2.5',
    layer: l,
    channels: b[o + 3] >> 6 === 3 ? 1 : 2,
    sampleRate: MP3_RATES[rate] / (ver === 3 ? 1 : ver === 2 ? 2 : 4),
    bitrate: table[bitrate] * 1000,
  };
}

export interface FlacStreamInfo {
  maxBlock: number;
  sampleRate: number;
  channels: number;
  bits: number;
  /** 0 = unknown */
  totalSamples: number;
}

/** STREAMINFO (the first metadata block), or null when the file has none. */
export function flacStreamInfo(b: Uint8Array): FlacStreamInfo | null {
  const o = id3Length(b) + 4; // first metadata block header
  if (b.length < o + 4 + 18 || (b[o] & 0x7f) !== 0) return null;
  const s = o + 4; // STREAMINFO body
  return {
    maxBlock: (b[s + 2] << 8) | b[s + 3],
    sampleRate: (b[s + 10] << 12) | (b[s + 11] << 4) | (b[s + 12] >> 4),
    channels: ((b[s + 12] >> 1) & 7) + 1,
    bits: (((b[s + 12] & 1) << 4) | (b[s + 13] >> 4)) + 1,
    // total samples are STREAMINFO bits 108..143
    totalSamples: (b[s + 13] & 0x0f) * 4294967296 + ((b[s + 14] << 24) >>> 0) + (b[s + 15] << 16) + (b[s + 16] << 8) + b[s + 17],
  };
}

/**
 * Where the FLAC frames start (after the ID3 tag, "fLaC" and every metadata block), or null when the metadata
 * runs past the prefix (e.g. a large embedded picture).
 */
export function flacAudioStart(b: Uint8Array): number | null {
  let o = id3Length(b) + 4;
  for (;;) {
    if (o + 4 > b.length) return null;
    const last = b[o] & 0x80;
    o += 4 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
    if (last) return o;
  }
}

/**
 * Most bytes the audio frames of a FLAC stream of `si.totalSamples` can take: verbatim subframes (one extra bit
 * per sample for a side channel), a frame of at least 16 samples each with a header of at most 16 bytes, a CRC-16
 * and a byte per subframe header. Anything longer than this plus its metadata is not the stream STREAMINFO describes.
 */
export function flacMaxFrameBytes(si: FlacStreamInfo): number {
  const n = si.totalSamples;
  return Math.ceil((n * si.channels * (si.bits + 1)) / 8) + (Math.ceil(n / 16) + 1) * (18 + 2 * si.channels);
}

/** Slack for trailing tags (ID3v1, APE) after the last FLAC frame. */
const FLAC_TRAILER_SLACK = 1 << 20;

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** STREAMINFO against the limits, and the file size against what STREAMINFO allows (`audioStart` when known). */
export function checkFlacHeader(si: FlacStreamInfo, size: number, file: string | undefined, limits: AudioLimits, audioStart: number | null = null): void {
  checkAudioHeader({ sampleRate: si.sampleRate, channels: si.channels, frames: si.totalSamples || undefined }, file, limits);
  const max = limits.maxDecodedSamples ?? MAX_DECODED_SAMPLES;
  if (!si.totalSamples) {
    // No length in STREAMINFO: bound it by the file size (a FLAC frame is at least ~10 bytes, ≤ maxBlock samples).
    const bound = Math.ceil(size / 10) * Math.max(16, si.maxBlock);
    if (bound * si.channels > max)
      throw new AudioError(
        `FLAC without a total sample count in STREAMINFO, and too large (${size} bytes) to bound its decoded length within ${max} samples`,
        file,
      );
  } else if (audioStart !== null) {
    const most = audioStart + flacMaxFrameBytes(si) + FLAC_TRAILER_SLACK;
    if (size > most)
      throw new AudioError(
        `FLAC file of ${size} bytes (${mb(size)}) is larger than the ${most} bytes (${mb(most)}) its STREAMINFO ` +
          `(${si.totalSamples} samples × ${si.channels} channel(s), ${si.bits}-bit) allows: corrupt or not FLAC`,
        file,
      );
  }
}

/** Decoded frames of an MP3 of `size` bytes, estimated from the first frame's bitrate (free format: a bound). */
export function mp3FrameEstimate(h: Mp3Header, size: number): number {
  if (h.bitrate > 0) return Math.ceil(((size * 8) / h.bitrate) * h.sampleRate);
  return size * 12; // ≤ 12 samples per byte at the lowest bitrates
}

/** The first MP3 frame header (after any ID3 tag), checked against the limits with the size-based estimate. */
export function checkMp3Header(prefix: Uint8Array, size: number, file: string | undefined, limits: AudioLimits): Mp3Header {
  const h = mp3FrameAt(prefix, id3Length(prefix));
  if (!h) throw new AudioError('unrecognised audio format (supported: WAV, FLAC, MP3)', file);
  // The decoder always returns two channels; the budget counts them.
  checkAudioHeader({ sampleRate: h.sampleRate, channels: 2, frames: mp3FrameEstimate(h, size) }, file, limits);
  return h;
}
