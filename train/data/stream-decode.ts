// FLAC and MP3 decoded chunk by chunk (browser-safe): the compressed bytes arrive in pieces (from a file read in
// 1 MiB steps, or slices of bytes already in memory), go through the wasm decoders' streaming APIs, and decoding
// stops with an AudioError naming the file as soon as the decoded length passes the budget (limits.ts), or, for
// a FLAC, its STREAMINFO count plus one block — so a stream whose header lies (a small STREAMINFO count, a high
// first bitrate, frames of constant 65,535-sample blocks) cannot run the process out of memory.

import { AudioError } from './errors.ts';
import { checkAudioHeader, MAX_DECODED_SAMPLES, type AudioLimits } from './limits.ts';
import { checkFlacHeader, checkMp3Header, flacAudioStart, flacStreamInfo, type ContainerFormat } from './headers.ts';

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

export type ByteChunks = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Slices of `bytes` of at most `size` bytes (views, no copies). */
export function* slices(bytes: Uint8Array, size = 1 << 20): Generator<Uint8Array> {
  for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, Math.min(bytes.length, o + size));
}

interface Piece {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message?: string; frameNumber?: number }[];
}

/** Decoded pieces kept per channel, with the running length checked against the budget after every piece. With
 *  `expect` frames known (FLAC STREAMINFO, within the budget) the channels are allocated once and filled in place;
 *  a stream that runs past them, or has no known length, keeps its pieces and joins them at the end. */
class Accumulator {
  private parts: Float32Array[][] = [];
  private filled: Float32Array[] | null = null;
  private width = 0;
  frames = 0;
  rate = 0;
  readonly errors: Piece['errors'] = [];
  constructor(
    private readonly keep: number | null,
    /** Channels the budget counts per frame (MP3: the decoder's two). */
    private readonly countChannels: number | null,
    private readonly max: number,
    private readonly file: string | undefined,
    private readonly what: string,
    private readonly expect = 0,
    /** Frames past `expect` tolerated (FLAC: one max block); null: the stated length is not enforced. */
    private readonly slack: number | null = null,
  ) {}

  add(p: Piece): void {
    this.errors.push(...p.errors);
    if (!p.samplesDecoded) return;
    this.rate ||= p.sampleRate;
    const k = this.keep ?? p.channelData.length;
    const per = this.countChannels ?? p.channelData.length;
    if (this.slack !== null && this.expect > 0 && this.frames + p.samplesDecoded > this.expect + this.slack)
      throw new AudioError(
        `${this.what} decodes to more samples than its header states (STREAMINFO: ${this.expect} frames; ` +
          `${this.frames + p.samplesDecoded} decoded so far, refused past ${this.expect + this.slack}): corrupt or not the stream its header describes`,
        this.file,
      );
    if ((this.frames + p.samplesDecoded) * per > this.max)
      throw new AudioError(
        `${this.what} decodes to more than ${this.max} samples (${per} channel(s) × ${this.frames + p.samplesDecoded} frames so far), ` +
          `the limit of ${Math.round((this.max * 4) / 2 ** 20)} MiB as float32; split the recording into shorter files`,
        this.file,
      );
    const chans = p.channelData.slice(0, k);
    this.width ||= chans.length;
    if (chans.length !== this.width) throw new AudioError(`${this.what} changes from ${this.width} to ${chans.length} channels mid-stream`, this.file);
    if (this.frames === 0 && this.expect > 0 && this.expect * per <= this.max) this.filled = chans.map(() => new Float32Array(this.expect));
    if (this.filled && this.frames + p.samplesDecoded <= this.expect) {
      this.filled.forEach((c, i) => c.set(chans[i].subarray(0, p.samplesDecoded), this.frames));
    } else {
      if (this.filled) this.parts.push(this.filled.map((c) => c.subarray(0, this.frames))); // ran past STREAMINFO
      this.filled = null;
      this.parts.push(chans.map((c) => c.slice(0, p.samplesDecoded)));
    }
    this.frames += p.samplesDecoded;
  }

  channels(): Float32Array[] {
    if (this.filled) return this.filled.map((c) => (c.length === this.frames ? c : c.slice(0, this.frames)));
    const k = this.parts[0]?.length ?? 0;
    return Array.from({ length: k }, (_, c) => {
      const out = new Float32Array(this.frames);
      let o = 0;
      for (const p of this.parts) {
        out.set(p[c], o);
        o += p[c].length;
      }
      return out;
    });
  }
}

function decodeErrors(errors: Piece['errors']): string {
  const first = errors[0];
  return `${errors.length} decode error${errors.length === 1 ? '' : 's'}, first: ${first?.message ?? 'unknown'}${
    first?.frameNumber !== undefined ? ` (frame ${first.frameNumber})` : ''
  }`;
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

/** The wasm decoder scales by 2^(b−1) − 1; spec data.md §1 (and soundfile/librosa) use 2^(b−1). Its output is
 *  exact enough (≤ 24 bits) to recover the integers and rescale (in place). */
function rescaleFlac(c: Float32Array, bits: number): void {
  if (bits >= 2 && bits <= 24) {
    const dec = 2 ** (bits - 1) - 1;
    const full = 2 ** (bits - 1);
    for (let i = 0; i < c.length; i++) c[i] = Math.round(c[i] * dec) / full;
  } else {
    const k = (2 ** (bits - 1) - 1) / 2 ** (bits - 1);
    for (let i = 0; i < c.length; i++) c[i] *= k;
  }
}

/**
 * Decodes a FLAC stream of `size` bytes whose first bytes are `prefix`, from `chunks` (the whole stream,
 * prefix included). Refuses a STREAMINFO outside the limits, a file larger than STREAMINFO allows, and stops
 * as soon as the decoded length passes the budget or runs more than one max block past the STREAMINFO count.
 */
export async function decodeFlacStream(prefix: Uint8Array, size: number, chunks: ByteChunks, file?: string, limits: AudioLimits = {}): Promise<DecodedAudio> {
  const si = flacStreamInfo(prefix);
  if (si) checkFlacHeader(si, size, file, limits, flacAudioStart(prefix));
  const expected = si?.totalSamples ?? 0;
  const max = limits.maxDecodedSamples ?? MAX_DECODED_SAMPLES;
  let bits = 0;
  // A stream running past STREAMINFO's count is refused there (plus one max block), not at the whole budget.
  const acc = new Accumulator(null, null, max, file, 'FLAC stream', expected, si ? si.maxBlock || 65535 : null);
  await serial(async () => {
    const d = await getFlac();
    await d.reset();
    try {
      const add = (p: Piece & { bitDepth: number }) => {
        bits ||= p.bitDepth;
        acc.add(p);
        if (acc.errors.length) throw new AudioError(`corrupt FLAC: ${decodeErrors(acc.errors)}`, file);
      };
      for await (const c of chunks) add(await d.decode(c));
      // The parser holds back the last frame until it sees what follows; a few zero bytes let it finish (flush
      // alone loses a final frame whose data happens to contain a sync-code lookalike).
      add(await d.decode(new Uint8Array(16)));
      add(await d.flush());
    } catch (e) {
      await d.reset().catch(() => undefined);
      if (e instanceof AudioError) throw e;
      throw new AudioError(`FLAC decoder failed: ${(e as Error).message}`, file);
    }
  });
  if (!acc.frames) throw new AudioError('empty audio (FLAC stream decoded to no samples)', file);
  if (expected > acc.frames) throw new AudioError(`truncated FLAC: STREAMINFO says ${expected} samples, decoded ${acc.frames}`, file);
  const chans = acc.channels();
  for (const c of chans) rescaleFlac(c, bits);
  if (!acc.rate) throw new AudioError('zero sample rate', file);
  checkAudioHeader({ sampleRate: acc.rate, channels: chans.length, frames: acc.frames }, file, limits);
  return { format: 'flac', codec: `FLAC ${bits}-bit`, sampleRate: acc.rate, channels: chans.length, bitDepth: bits, channelData: chans, frames: acc.frames };
}

/**
 * Decodes an MP3 stream of `size` bytes whose first bytes are `prefix`, from `chunks`. The size-based length
 * estimate is checked first; decoding stops as soon as the decoded length passes the budget (a VBR stream can
 * decode to far more than its first frame's bitrate suggests).
 */
export async function decodeMp3Stream(prefix: Uint8Array, size: number, chunks: ByteChunks, file?: string, limits: AudioLimits = {}): Promise<DecodedAudio> {
  const header = checkMp3Header(prefix, size, file, limits);
  const max = limits.maxDecodedSamples ?? MAX_DECODED_SAMPLES;
  // The decoder always returns two channels; the budget counts them (as the header check does).
  const acc = new Accumulator(header.channels, 2, max, file, 'MP3 stream');
  await serial(async () => {
    const d = await getMpeg();
    await d.reset();
    try {
      for await (const c of chunks) acc.add(d.decode(c));
    } catch (e) {
      await d.reset().catch(() => undefined);
      if (e instanceof AudioError) throw e;
      throw new AudioError(`MP3 decoder failed: ${(e as Error).message}`, file);
    }
  });
  if (!acc.frames)
    throw new AudioError(`empty audio (MP3 stream decoded to no samples${acc.errors.length ? `; ${decodeErrors(acc.errors)}` : ''})`, file);
  if (acc.errors.length) throw new AudioError(`corrupt MP3: ${decodeErrors(acc.errors)}`, file);
  checkAudioHeader({ sampleRate: acc.rate, channels: 2, frames: acc.frames }, file, limits);
  const chans = acc.channels();
  return {
    format: 'mp3',
    codec: `${header.version} Layer ${'I'.repeat(header.layer)}`,
    sampleRate: acc.rate,
    channels: chans.length,
    channelData: chans,
    frames: acc.frames,
  };
}
