// Test helpers: a WAV builder for any format, chunk layout and channel count, and a minimal
// FLAC encoder (VERBATIM subframes) so that decoders are checked against samples known exactly.

import { fft } from '../../train/data/fft.ts';

export interface WavSpec {
  formatTag: number; // 1 PCM, 3 float, 6 A-law, 7 µ-law
  bits: number;
  channels: number;
  rate: number;
  /** Raw sample values per channel: integers for PCM (unsigned for 8-bit), floats for float. */
  samples: number[][];
  extensible?: boolean;
  validBits?: number;
  /** Chunks inserted before fmt / between fmt and data / after data. */
  before?: { id: string; body: Uint8Array }[];
  between?: { id: string; body: Uint8Array }[];
  after?: { id: string; body: Uint8Array }[];
  /** Override the data chunk's size field. */
  dataSizeOverride?: number;
  blockAlignOverride?: number;
}

function chunk(id: string, body: Uint8Array): Uint8Array {
  const pad = body.length & 1;
  const out = new Uint8Array(8 + body.length + pad);
  for (let i = 0; i < 4; i++) out[i] = id.charCodeAt(i);
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function buildWav(spec: WavSpec): Uint8Array {
  const bps = spec.bits / 8;
  const frames = spec.samples[0]?.length ?? 0;
  const fmt = new Uint8Array(spec.extensible ? 40 : 16);
  const f = new DataView(fmt.buffer);
  f.setUint16(0, spec.extensible ? 0xfffe : spec.formatTag, true);
  f.setUint16(2, spec.channels, true);
  f.setUint32(4, spec.rate, true);
  f.setUint32(8, spec.rate * spec.channels * bps, true);
  f.setUint16(12, spec.blockAlignOverride ?? spec.channels * bps, true);
  f.setUint16(14, spec.bits, true);
  if (spec.extensible) {
    f.setUint16(16, 22, true);
    f.setUint16(18, spec.validBits ?? spec.bits, true);
    f.setUint32(20, 0, true);
    // KSDATAFORMAT_SUBTYPE GUID: tag, then 00000000-0010-8000-00aa00389b71
    f.setUint16(24, spec.formatTag, true);
    fmt.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  const data = new Uint8Array(frames * spec.channels * bps);
  const d = new DataView(data.buffer);
  let o = 0;
  for (let i = 0; i < frames; i++)
    for (let c = 0; c < spec.channels; c++) {
      const v = spec.samples[c][i];
      if (spec.formatTag === 3) {
        if (spec.bits === 32) d.setFloat32(o, v, true);
        else d.setFloat64(o, v, true);
      } else if (spec.bits === 8) d.setUint8(o, v);
      else if (spec.bits === 16) d.setInt16(o, v, true);
      else if (spec.bits === 24) {
        d.setUint8(o, v & 0xff);
        d.setUint8(o + 1, (v >> 8) & 0xff);
        d.setUint8(o + 2, (v >> 16) & 0xff);
      } else d.setInt32(o, v, true);
      o += bps;
    }
  const dataChunk = chunk('data', data);
  if (spec.dataSizeOverride !== undefined) new DataView(dataChunk.buffer).setUint32(4, spec.dataSizeOverride, true);
  const body = concat([
    ...(spec.before ?? []).map((c) => chunk(c.id, c.body)),
    chunk('fmt ', fmt),
    ...(spec.between ?? []).map((c) => chunk(c.id, c.body)),
    dataChunk,
    ...(spec.after ?? []).map((c) => chunk(c.id, c.body)),
  ]);
  const head = new Uint8Array(12);
  head.set([0x52, 0x49, 0x46, 0x46]);
  new DataView(head.buffer).setUint32(4, body.length + 4, true);
  head.set([0x57, 0x41, 0x56, 0x45], 8);
  return concat([head, body]);
}

// ---- minimal FLAC encoder: STREAMINFO + frames of VERBATIM subframes (independent channels) ----

class BitWriter {
  bytes: number[] = [];
  private acc = 0;
  private n = 0;
  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | (Math.floor(value / 2 ** i) & 1);
      if (++this.n === 8) {
        this.bytes.push(this.acc & 0xff);
        this.acc = 0;
        this.n = 0;
      }
    }
  }
  align(): void {
    while (this.n) this.write(0, 1);
  }
}

function crc8(b: number[]): number {
  let c = 0;
  for (const x of b) {
    c ^= x;
    for (let i = 0; i < 8; i++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
  }
  return c;
}

function crc16(b: number[]): number {
  let c = 0;
  for (const x of b) {
    c ^= x << 8;
    for (let i = 0; i < 8; i++) c = c & 0x8000 ? ((c << 1) ^ 0x8005) & 0xffff : (c << 1) & 0xffff;
  }
  return c;
}

/** Encodes integer samples (per channel) as a valid FLAC file with VERBATIM subframes. */
export function encodeFlacVerbatim(samples: number[][], rate: number, bits: 8 | 16 | 24, blockSize = 1024): Uint8Array {
  const ch = samples.length;
  const total = samples[0].length;
  const out: number[] = [0x66, 0x4c, 0x61, 0x43]; // fLaC
  const si = new BitWriter();
  si.write(blockSize, 16);
  si.write(blockSize, 16);
  si.write(0, 24);
  si.write(0, 24);
  si.write(rate, 20);
  si.write(ch - 1, 3);
  si.write(bits - 1, 5);
  si.write(total, 36);
  for (let i = 0; i < 16; i++) si.write(0, 8); // MD5 unknown
  out.push(0x80, 0, 0, 34, ...si.bytes); // last metadata block, STREAMINFO, 34 bytes
  const bitsCode = { 8: 1, 16: 4, 24: 6 }[bits];
  const rateCode = ({ 8000: 4, 16000: 5, 22050: 6, 24000: 7, 32000: 8, 44100: 9, 48000: 10, 96000: 11 } as Record<number, number>)[rate];
  if (rateCode === undefined) throw new Error(`test encoder: unsupported rate ${rate}`);
  for (let frame = 0, start = 0; start < total; frame++, start += blockSize) {
    const n = Math.min(blockSize, total - start);
    const w = new BitWriter();
    w.write(0x3ffe, 14);
    w.write(0, 1);
    w.write(0, 1); // fixed block size
    w.write(n === 4096 ? 12 : n <= 256 ? 6 : 7, 4); // block size: 4096 by code, else 8- or 16-bit (n − 1) at end of header
    w.write(rateCode, 4); // explicit sample-rate code (codec-parser does not accept 'from STREAMINFO')
    w.write(ch - 1, 4); // independent channels
    w.write(bitsCode, 3);
    w.write(0, 1);
    // frame number, UTF-8 coded (frames < 128 here)
    if (frame >= 128) throw new Error('test encoder: too many frames');
    w.write(frame, 8);
    if (n !== 4096) w.write(n - 1, n <= 256 ? 8 : 16);
    w.write(crc8(w.bytes), 8);
    for (let c = 0; c < ch; c++) {
      w.write(0, 1);
      w.write(1, 6); // VERBATIM
      w.write(0, 1);
      for (let i = 0; i < n; i++) {
        const v = samples[c][start + i];
        w.write(v < 0 ? v + 2 ** bits : v, bits);
      }
    }
    w.align();
    const crc = crc16(w.bytes);
    w.write(crc, 16);
    out.push(...w.bytes);
  }
  return new Uint8Array(out);
}

/** Amplitude (peak) of the component of y at frequency f (Hz) over [a, b), by least squares on sin/cos. */
export function toneAmplitude(y: Float32Array, rate: number, f: number, a = 0, b = y.length): number {
  let ss = 0;
  let sc = 0;
  let cc = 0;
  let ys = 0;
  let yc = 0;
  for (let i = a; i < b; i++) {
    const s = Math.sin((2 * Math.PI * f * i) / rate);
    const c = Math.cos((2 * Math.PI * f * i) / rate);
    ss += s * s;
    cc += c * c;
    sc += s * c;
    ys += y[i] * s;
    yc += y[i] * c;
  }
  const det = ss * cc - sc * sc;
  const A = (ys * cc - yc * sc) / det;
  const B = (yc * ss - ys * sc) / det;
  return Math.hypot(A, B);
}

export function rms(y: ArrayLike<number>, a = 0, b = y.length): number {
  let e = 0;
  for (let i = a; i < b; i++) e += y[i] * y[i];
  return Math.sqrt(e / Math.max(1, b - a));
}

/**
 * Share of a signal's energy at or above `fromHz`, in dB, from a Hann-windowed short-time spectrum
 * (frames of `frame` samples, hop frame/2), summed over several signals.
 */
export function energyAboveDb(signals: Float32Array[], rate: number, fromHz: number, frame = 256): number {
  let above = 0;
  let total = 0;
  const re = new Float64Array(frame);
  const im = new Float64Array(frame);
  for (const x of signals)
    for (let s = 0; s + frame <= x.length; s += frame / 2) {
      for (let i = 0; i < frame; i++) {
        re[i] = x[s + i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / frame));
        im[i] = 0;
      }
      fft(re, im);
      for (let k = 0; k <= frame / 2; k++) {
        const e = re[k] * re[k] + im[k] * im[k];
        total += e;
        if ((k * rate) / frame >= fromHz) above += e;
      }
    }
  return 10 * Math.log10(above / total + 1e-30);
}
