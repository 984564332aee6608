// Audio decoding shared by Node and the browser: WAV by our own parser (wav.ts), FLAC and MP3 by the
// wasm decoders of the @wasm-audio-decoders family (loaded on first use), then mono mix-down and
// resampling to 16 kHz (spec data.md §1). No amplitude normalisation, DC removal or pre-emphasis.

import { AudioError } from './errors.ts';
import { checkAudioHeader, checkSamples, MAX_DECODED_SAMPLES, type AudioLimits } from './limits.ts';
import { formatName, isWav, parseWav, probeWav } from './wav.ts';
import { resample, resamplerName, TARGET_RATE, type ResampleOptions } from './resample.ts';

export type ContainerFormat = 'wav' | 'flac' | 'mp3';

export interface DecodedAudio {
  format: ContainerFormat;
  /** Human-readable codec, e.g. "PCM s16", "FLAC 24-bit", "MPEG-1 Layer III". */
  codec: string;
  sampleRate: number;
  /** Channels in the file (MP3: from the frame header; the decoder always returns two). */
  channels: number;
  bitDepth?: number;
  /** One Float32Array per channel, `channels` long. */
  channelData: Float32Array[];
  frames: number;
}

/** Minimum length after resampling: XLS-R's feature extractor yields no frame below 400 samples. */
export const MIN_SAMPLES = 400;

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

function id3Length(b: Uint8Array): number {
  if (b.length >= 10 && b[0] === 0x49 && b[1] === 0x44 && b[2] === 0x33) {
    const size = ((b[6] & 0x7f) << 21) | ((b[7] & 0x7f) << 14) | ((b[8] & 0x7f) << 7) | (b[9] & 0x7f);
    return 10 + size + (b[5] & 0x10 ? 10 : 0);
  }
  return 0;
}

interface Mp3Header {
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

function mp3FrameAt(b: Uint8Array, o: number): Mp3Header | null {
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

interface FlacStreamInfo {
  maxBlock: number;
  sampleRate: number;
  channels: number;
  bits: number;
  /** 0 = unknown */
  totalSamples: number;
}

/** STREAMINFO (the first metadata block), or null when the file has none. */
function flacStreamInfo(b: Uint8Array): FlacStreamInfo | null {
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

/** STREAMINFO total samples (0 = unknown or no STREAMINFO). */
function flacTotalSamples(b: Uint8Array): number {
  return flacStreamInfo(b)?.totalSamples ?? 0;
}

export interface AudioProbe {
  format: ContainerFormat;
  sampleRate: number;
  channels: number;
  /** Frames from the header, or an upper bound / estimate; undefined when unknown. */
  frames?: number;
  /** WAV: bytes of the file the decoder needs (header and data chunk); else the whole file. */
  needBytes: number;
}

/**
 * What the header says, with every limit checked, from the first bytes of a file of `size` bytes. Null: the
 * prefix is too short to tell (read more, or the whole file). Throws an AudioError naming the file for an empty
 * file, an unknown format, or a header outside the limits (limits.ts), before any large allocation.
 */
export function probeAudio(prefix: Uint8Array, size: number, file?: string, limits: AudioLimits = {}): AudioProbe | null {
  if (size === 0) throw new AudioError('empty file (0 bytes)', file);
  const fmt = sniffFormat(prefix);
  if (fmt === 'wav') {
    const w = probeWav(prefix, size, file, limits);
    return w && { format: 'wav', sampleRate: w.sampleRate, channels: w.channels, frames: w.frames, needBytes: Math.min(size, w.dataEnd) };
  }
  if (fmt === 'flac') {
    const si = flacStreamInfo(prefix);
    if (!si) return null; // STREAMINFO not in the prefix (or absent): the decoder checks
    checkFlacHeader(si, size, file, limits);
    return { format: 'flac', sampleRate: si.sampleRate, channels: si.channels, frames: si.totalSamples || undefined, needBytes: size };
  }
  if (fmt === 'mp3') {
    const h = mp3FrameAt(prefix, id3Length(prefix))!;
    const frames = mp3FrameEstimate(h, size);
    checkAudioHeader({ sampleRate: h.sampleRate, channels: 2, frames }, file, limits);
    return { format: 'mp3', sampleRate: h.sampleRate, channels: h.channels, frames, needBytes: size };
  }
  if (fmt === 'ogg') throw new AudioError('Ogg audio is not supported (supported: WAV, FLAC, MP3)', file);
  if (prefix.length < Math.min(size, 16)) return null;
  throw new AudioError('unrecognised audio format (supported: WAV, FLAC, MP3)', file);
}

function checkFlacHeader(si: FlacStreamInfo, size: number, file: string | undefined, limits: AudioLimits): void {
  checkAudioHeader({ sampleRate: si.sampleRate, channels: si.channels, frames: si.totalSamples || undefined }, file, limits);
  if (!si.totalSamples) {
    // No length in STREAMINFO: bound it by the file size (a FLAC frame is at least ~10 bytes, ≤ maxBlock samples).
    const bound = Math.ceil(size / 10) * Math.max(16, si.maxBlock);
    const max = limits.maxDecodedSamples ?? MAX_DECODED_SAMPLES;
    if (bound * si.channels > max)
      throw new AudioError(
        `FLAC without a total sample count in STREAMINFO, and too large (${size} bytes) to bound its decoded length within ${max} samples`,
        file,
      );
  }
}

/** Decoded frames of an MP3 of `size` bytes, estimated from the first frame's bitrate (free format: a bound). */
function mp3FrameEstimate(h: Mp3Header, size: number): number {
  // The decoder always returns two channels; the budget counts them.
  if (h.bitrate > 0) return Math.ceil(((size * 8) / h.bitrate) * h.sampleRate);
  return size * 12; // ≤ 12 samples per byte at the lowest bitrates
}

function rescaleFlac(c: Float32Array, bits: number): Float32Array {
  const out = new Float32Array(c.length);
  if (bits >= 2 && bits <= 24) {
    const dec = 2 ** (bits - 1) - 1;
    const full = 2 ** (bits - 1);
    for (let i = 0; i < c.length; i++) out[i] = Math.round(c[i] * dec) / full;
  } else {
    const k = (2 ** (bits - 1) - 1) / 2 ** (bits - 1);
    for (let i = 0; i < c.length; i++) out[i] = c[i] * k;
  }
  return out;
}

// One decoder instance per codec, used by one decode at a time (the wasm decoders keep state).
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

type FlacDecoderT = import('@wasm-audio-decoders/flac').FLACDecoder;
type MpegDecoderT = import('mpg123-decoder').MPEGDecoder;
let flacDecoder: Promise<FlacDecoderT> | null = null;
let mpegDecoder: Promise<MpegDecoderT> | null = null;

async function getFlac(): Promise<FlacDecoderT> {
  flacDecoder ??= import('@wasm-audio-decoders/flac').then(async (m) => {
    const d = new m.FLACDecoder();
    await d.ready;
    return d;
  });
  return flacDecoder;
}

async function getMpeg(): Promise<MpegDecoderT> {
  mpegDecoder ??= import('mpg123-decoder').then(async (m) => {
    const d = new m.MPEGDecoder();
    await d.ready;
    return d;
  });
  return mpegDecoder;
}

function decodeErrors(errors: { message?: string; frameNumber?: number }[]): string {
  const first = errors[0];
  return `${errors.length} decode error${errors.length === 1 ? '' : 's'}, first: ${first?.message ?? 'unknown'}${
    first?.frameNumber !== undefined ? ` (frame ${first.frameNumber})` : ''
  }`;
}

/** Decodes a whole file to per-channel float samples at the file's own rate. */
export async function decodeAudio(bytes: Uint8Array, file?: string, limits: AudioLimits = {}): Promise<DecodedAudio> {
  const d = await decodeUnchecked(bytes, file, limits);
  checkSamples(d.channelData, file);
  return d;
}

async function decodeUnchecked(bytes: Uint8Array, file: string | undefined, limits: AudioLimits): Promise<DecodedAudio> {
  if (bytes.length === 0) throw new AudioError('empty file (0 bytes)', file);
  const fmt = sniffFormat(bytes);
  if (fmt === 'wav') {
    const w = parseWav(bytes, file, limits);
    return {
      format: 'wav',
      codec: formatName(w.formatTag, w.bitsPerSample) + (w.extensible ? ', EXTENSIBLE' : ''),
      sampleRate: w.sampleRate,
      channels: w.channels,
      bitDepth: w.validBits,
      channelData: w.channelData,
      frames: w.frames,
    };
  }
  if (fmt === 'flac') {
    const si = flacStreamInfo(bytes);
    if (si) checkFlacHeader(si, bytes.length, file, limits);
    const expected = flacTotalSamples(bytes);
    const r = await serial(async () => {
      const d = await getFlac();
      try {
        let out = await d.decodeFile(bytes);
        // The wasm decoder can hold back a final full-size frame it has not seen the end of;
        // a few trailing zero bytes let it finish. Retry once when STREAMINFO says samples are missing.
        if (!out.errors.length && expected > out.samplesDecoded) {
          const padded = new Uint8Array(bytes.length + 16);
          padded.set(bytes);
          out = await d.decodeFile(padded);
        }
        return out;
      } catch (e) {
        throw new AudioError(`FLAC decoder failed: ${(e as Error).message}`, file);
      }
    });
    if (r.errors.length) throw new AudioError(`corrupt FLAC: ${decodeErrors(r.errors)}`, file);
    if (!r.samplesDecoded || !r.channelData.length) throw new AudioError('empty audio (FLAC stream decoded to no samples)', file);
    if (expected > r.samplesDecoded)
      throw new AudioError(`truncated FLAC: STREAMINFO says ${expected} samples, decoded ${r.samplesDecoded}`, file);
    // The wasm decoder scales by 2^(b−1) − 1; spec data.md §1 (and soundfile/librosa) use 2^(b−1).
    // Its output is exact enough (≤ 24 bits) to recover the integers and rescale.
    const bits = r.bitDepth;
    const chans = r.channelData.map((c) => rescaleFlac(c.subarray(0, r.samplesDecoded), bits));
    if (!r.sampleRate) throw new AudioError('zero sample rate', file);
    checkAudioHeader({ sampleRate: r.sampleRate, channels: r.channelData.length, frames: r.samplesDecoded }, file, limits);
    return {
      format: 'flac',
      codec: `FLAC ${r.bitDepth}-bit`,
      sampleRate: r.sampleRate,
      channels: r.channelData.length,
      bitDepth: r.bitDepth,
      channelData: chans,
      frames: r.samplesDecoded,
    };
  }
  if (fmt === 'mp3') {
    const header = mp3FrameAt(bytes, id3Length(bytes))!;
    checkAudioHeader({ sampleRate: header.sampleRate, channels: 2, frames: mp3FrameEstimate(header, bytes.length) }, file, limits);
    const r = await serial(async () => {
      const d = await getMpeg();
      try {
        await d.reset();
        return d.decode(bytes);
      } catch (e) {
        throw new AudioError(`MP3 decoder failed: ${(e as Error).message}`, file);
      }
    });
    if (!r.samplesDecoded || !r.channelData.length) {
      throw new AudioError(`empty audio (MP3 stream decoded to no samples${r.errors.length ? `; ${decodeErrors(r.errors)}` : ''})`, file);
    }
    if (r.errors.length) throw new AudioError(`corrupt MP3: ${decodeErrors(r.errors)}`, file);
    checkAudioHeader({ sampleRate: r.sampleRate, channels: r.channelData.length, frames: r.samplesDecoded }, file, limits);
    const chans = r.channelData.slice(0, header.channels).map((c) => c.subarray(0, r.samplesDecoded));
    return {
      format: 'mp3',
      codec: `${header.version} Layer ${'I'.repeat(header.layer)}`,
      sampleRate: r.sampleRate,
      channels: chans.length,
      channelData: chans,
      frames: r.samplesDecoded,
    };
  }
  if (fmt === 'ogg') throw new AudioError('Ogg audio is not supported (supported: WAV, FLAC, MP3)', file);
  throw new AudioError('unrecognised audio format (supported: WAV, FLAC, MP3)', file);
}

/** Averages channels to mono (spec data.md §1). A mono input is returned as is. */
export function mixToMono(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const n = channels[0].length;
  const out = new Float32Array(n);
  const k = channels.length;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < k; c++) s += channels[c][i];
    out[i] = s / k;
  }
  return out;
}

export interface LoadOptions {
  targetRate?: number; // default 16,000
  resampler?: ResampleOptions;
  /** Minimum samples after resampling; default 400 (XLS-R needs one frame). 0 disables. */
  minSamples?: number;
  /** Decoded-length budget (limits.ts); default MAX_DECODED_SAMPLES. */
  maxDecodedSamples?: number;
}

export interface LoadedAudio {
  samples: Float32Array; // mono, targetRate
  sampleRate: number;
  source: DecodedAudio;
  resampler: string | null; // null when the file was already at the target rate
}

/** What the model sees: decode, mix to mono, resample to 16 kHz. */
export async function loadAudio(bytes: Uint8Array, file?: string, opts: LoadOptions = {}): Promise<LoadedAudio> {
  const rate = opts.targetRate ?? TARGET_RATE;
  const minSamples = opts.minSamples ?? MIN_SAMPLES;
  const src = await decodeAudio(bytes, file, { maxDecodedSamples: opts.maxDecodedSamples });
  const mono = mixToMono(src.channelData);
  const samples = src.sampleRate === rate ? mono : resample(mono, src.sampleRate, rate, opts.resampler);
  if (samples.length < minSamples)
    throw new AudioError(
      `too short: ${samples.length} samples at ${rate} Hz after resampling (need ≥ ${minSamples}; XLS-R yields no frame below 400)`,
      file,
    );
  for (let i = 0; i < samples.length; i++)
    if (!Number.isFinite(samples[i])) throw new AudioError(`non-finite sample at index ${i}`, file);
  return {
    samples,
    sampleRate: rate,
    source: src,
    resampler: src.sampleRate === rate ? null : resamplerName(opts.resampler),
  };
}
