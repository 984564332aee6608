// Audio decoding shared by Node and the browser: WAV by our own parser (wav.ts), FLAC and MP3 by the
// wasm decoders of the @wasm-audio-decoders family (loaded on first use), then mono mix-down and
// resampling to 16 kHz (spec data.md §1). No amplitude normalisation, DC removal or pre-emphasis.

import { AudioError } from './errors.ts';
import { checkSamples, type AudioLimits } from './limits.ts';
import { formatName, parseWav, probeWav } from './wav.ts';
import { checkFlacHeader, checkMp3Header, flacAudioStart, flacStreamInfo, id3Length, mp3FrameEstimate, sniffFormat, type ContainerFormat } from './headers.ts';
import { decodeFlacStream, decodeMp3Stream, slices, type DecodedAudio } from './stream-decode.ts';
import { resample, resamplerName, TARGET_RATE, type ResampleOptions } from './resample.ts';

export type { ContainerFormat, DecodedAudio };
export { sniffFormat };

/** Minimum length after resampling: XLS-R's feature extractor yields no frame below 400 samples. */
export const MIN_SAMPLES = 400;

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
    checkFlacHeader(si, size, file, limits, flacAudioStart(prefix));
    return { format: 'flac', sampleRate: si.sampleRate, channels: si.channels, frames: si.totalSamples || undefined, needBytes: size };
  }
  if (fmt === 'mp3') {
    const h = checkMp3Header(prefix, size, file, limits);
    const frames = mp3FrameEstimate(h, size);
    return { format: 'mp3', sampleRate: h.sampleRate, channels: h.channels, frames, needBytes: size };
  }
  if (fmt === 'ogg') throw new AudioError('Ogg audio is not supported (supported: WAV, FLAC, MP3)', file);
  if (prefix.length < Math.min(size, 16)) return null;
  if (prefix.length < size && id3Length(prefix) + 16 > prefix.length) return null; // an ID3 tag (cover art) longer than the prefix
  throw new AudioError('unrecognised audio format (supported: WAV, FLAC, MP3)', file);
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
  if (fmt === 'flac') return decodeFlacStream(bytes, bytes.length, slices(bytes), file, limits);
  if (fmt === 'mp3') return decodeMp3Stream(bytes, bytes.length, slices(bytes), file, limits);
  if (fmt === 'ogg') throw new AudioError('Ogg audio is not supported (supported: WAV, FLAC, MP3)', file);
  throw new AudioError('unrecognised audio format (supported: WAV, FLAC, MP3)', file);
}

/**
 * Reads and decodes one audio file by path, at its own rate (what the loader's InlineSource and evaluation take).
 * Node passes decodeAudioFile (read-audio.node.ts: FLAC/MP3 streamed from the file); elsewhere bytesAudioReader
 * wraps whatever fetches the bytes. Both give the same samples for the same file.
 */
export type AudioReader = (path: string, limits?: AudioLimits) => Promise<DecodedAudio>;

/** An AudioReader over a bytes reader (fetch, File, a map of test files…): reads the bytes, then decodes them. */
export function bytesAudioReader(read: (path: string) => Promise<Uint8Array>): AudioReader {
  return async (path, limits) => decodeAudio(await read(path), path, limits);
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
  return prepareAudio(await decodeAudio(bytes, file, { maxDecodedSamples: opts.maxDecodedSamples }), file, opts);
}

/** Mixes decoded audio to mono and resamples it to the target rate (16 kHz), checking the minimum length. */
export function prepareAudio(src: DecodedAudio, file?: string, opts: LoadOptions = {}): LoadedAudio {
  const rate = opts.targetRate ?? TARGET_RATE;
  const minSamples = opts.minSamples ?? MIN_SAMPLES;
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
