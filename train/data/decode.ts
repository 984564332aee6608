// Audio decoding shared by Node and the browser: WAV by our own parser (wav.ts), FLAC and MP3 by the
// wasm decoders of the @wasm-audio-decoders family (loaded on first use), then mono mix-down and
// resampling to 16 kHz (data.md §1). No amplitude normalisation, DC removal or pre-emphasis.

import { AudioError } from './errors.ts';
import { formatName, isWav, parseWav } from './wav.ts';
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
}

function mp3FrameAt(b: Uint8Array, o: number): Mp3Header | null {
  if (o + 4 > b.length || b[o] !== 0xff || (b[o + 1] & 0xe0) !== 0xe0) return null;
  const ver = (b[o + 1] >> 3) & 3; // 0: 2.5, 2: 2, 3: 1
  const layer = (b[o + 1] >> 1) & 3; // 1: III, 2: II, 3: I
  const bitrate = b[o + 2] >> 4;
  const rate = (b[o + 2] >> 2) & 3;
  if (ver === 1 || layer === 0 || bitrate === 15 || rate === 3) return null;
  return {
    version: ver === 3 ? 'MPEG-1' : ver === 2 ? 'MPEG-2' : 'MPEG-2.5',
    layer: 4 - layer,
    channels: b[o + 3] >> 6 === 3 ? 1 : 2,
  };
}

/** STREAMINFO total samples (0 = unknown or no STREAMINFO). */
function flacTotalSamples(b: Uint8Array): number {
  const o = id3Length(b) + 4; // first metadata block header
  if (b.length < o + 4 + 18 || (b[o] & 0x7f) !== 0) return 0;
  const s = o + 4; // STREAMINFO body; total samples are its bits 108..143
  return (b[s + 13] & 0x0f) * 4294967296 + ((b[s + 14] << 24) >>> 0) + (b[s + 15] << 16) + (b[s + 16] << 8) + b[s + 17];
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
export async function decodeAudio(bytes: Uint8Array, file?: string): Promise<DecodedAudio> {
  const fmt = sniffFormat(bytes);
  if (fmt === 'wav') {
    const w = parseWav(bytes, file);
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
    // The wasm decoder scales by 2^(b−1) − 1; data.md §1 (and soundfile/librosa) use 2^(b−1).
    // Its output is exact enough (≤ 24 bits) to recover the integers and rescale.
    const bits = r.bitDepth;
    const chans = r.channelData.map((c) => rescaleFlac(c.subarray(0, r.samplesDecoded), bits));
    if (!r.sampleRate) throw new AudioError('zero sample rate', file);
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

/** Averages channels to mono (data.md §1). A mono input is returned as is. */
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
  const src = await decodeAudio(bytes, file);
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
