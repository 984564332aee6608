// RIFF/WAVE reader and writer (own parser; no dependencies).
//
// Reads PCM 8 (unsigned) / 16 / 24 / 32-bit, IEEE float 32 / 64, G.711 A-law / µ-law, and
// WAVE_FORMAT_EXTENSIBLE with those sub-formats, any channel count, RIFF and RF64 containers.
// Unknown chunks are skipped, odd-sized chunks honour their pad byte; a data size of 0xFFFFFFFF (streamed
// output) means "to the end of the file". Integer scaling (spec data.md §1):
// s16 / 32768, s24 / 2^23, s32 / 2^31, u8 (x − 128) / 128; floats as stored. Every malformed input
// gives an AudioError naming the problem, never another exception (fuzzed in test/data/wav.test.ts).

import { AudioError } from './errors.ts';
import { checkAudioHeader, type AudioLimits } from './limits.ts';

export const WAVE_FORMAT_PCM = 0x0001;
export const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
export const WAVE_FORMAT_ALAW = 0x0006;
export const WAVE_FORMAT_MULAW = 0x0007;
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

export interface WavInfo {
  container: 'RIFF' | 'RF64';
  formatTag: number; // effective tag (sub-format for EXTENSIBLE)
  extensible: boolean;
  sampleRate: number;
  channels: number;
  bitsPerSample: number; // container bits per sample
  validBits: number; // EXTENSIBLE wValidBitsPerSample, else bitsPerSample
  frames: number;
}

export interface WavAudio extends WavInfo {
  /** One Float32Array per channel. */
  channelData: Float32Array[];
}

function fourcc(b: Uint8Array, o: number): string {
  return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
}

export function isWav(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const id = fourcc(bytes, 0);
  return (id === 'RIFF' || id === 'RF64') && fourcc(bytes, 8) === 'WAVE';
}

export function formatName(tag: number, bits: number): string {
  switch (tag) {
    case WAVE_FORMAT_PCM:
      return bits === 8 ? 'PCM u8' : `PCM s${bits}`;
    case WAVE_FORMAT_IEEE_FLOAT:
      return `float${bits}`;
    case WAVE_FORMAT_ALAW:
      return 'G.711 A-law';
    case WAVE_FORMAT_MULAW:
      return 'G.711 µ-law';
    default:
      return `format tag 0x${tag.toString(16).padStart(4, '0')}`;
  }
}

const KIND_NAMES: Record<number, string> = {
  [WAVE_FORMAT_PCM]: 'PCM',
  [WAVE_FORMAT_IEEE_FLOAT]: 'IEEE float',
  [WAVE_FORMAT_ALAW]: 'A-law',
  [WAVE_FORMAT_MULAW]: 'µ-law',
};

interface Located {
  info: WavInfo;
  dataOffset: number;
  blockAlign: number;
  /** Bytes of the file the decoder needs: every chunk walked through, up to the end of the data chunk. */
  end: number;
}

/**
 * Walks the chunks to fmt and data. `bytes` may be just the start of a file of `size` bytes (a header probe):
 * then null means the chunks needed lie beyond the prefix. Limits (rate, channels, decoded length) are checked
 * here, before any sample buffer exists.
 */
function locate(bytes: Uint8Array, file?: string, size = bytes.length, limits?: AudioLimits): Located | null {
  const fail = (reason: string): never => {
    throw new AudioError(reason, file);
  };
  if (size === 0) fail('empty file (0 bytes)');
  if (size < 12) fail(`not a WAV file: ${size} bytes is shorter than a RIFF header`);
  if (bytes.length < 12) return null;
  const id = fourcc(bytes, 0);
  if (id === 'RIFX') fail('big-endian RIFX WAV is not supported');
  if ((id !== 'RIFF' && id !== 'RF64') || fourcc(bytes, 8) !== 'WAVE') fail('not a WAV file (no RIFF/WAVE header)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const container = id as 'RIFF' | 'RF64';
  const total = size;

  let fmt: { tag: number; channels: number; rate: number; blockAlign: number; bits: number; validBits: number; ext: boolean } | null = null;
  let dataOffset = -1;
  let dataSize = -1;
  let ds64DataSize = -1;
  let pos = 12;
  let furthest = 12;
  while (pos + 8 <= total) {
    if (pos + 8 > bytes.length) return null;
    const cid = fourcc(bytes, pos);
    let size = dv.getUint32(pos + 4, true);
    const body = pos + 8;
    furthest = Math.max(furthest, Math.min(total, body + size + (size & 1)));
    if (cid === 'ds64') {
      if (size < 16 || body + 16 > total) fail('truncated ds64 chunk');
      if (body + 16 > bytes.length) return null;
      // riffSize (8), dataSize (8), sampleCount (8): keep only the data size.
      const lo = dv.getUint32(body + 8, true);
      const hi = dv.getUint32(body + 12, true);
      ds64DataSize = hi * 4294967296 + lo;
    } else if (cid === 'fmt ') {
      if (size < 16) fail(`fmt chunk too small (${size} bytes, need 16)`);
      if (body + 16 > total) fail('truncated fmt chunk');
      if (body + 16 > bytes.length) return null;
      let tag = dv.getUint16(body, true);
      const channels = dv.getUint16(body + 2, true);
      const rate = dv.getUint32(body + 4, true);
      const blockAlign = dv.getUint16(body + 12, true);
      const bits = dv.getUint16(body + 14, true);
      let validBits = bits;
      let ext = false;
      if (tag === WAVE_FORMAT_EXTENSIBLE) {
        if (size < 40 || body + 40 > total) fail('WAVE_FORMAT_EXTENSIBLE fmt chunk shorter than 40 bytes');
        if (body + 40 > bytes.length) return null;
        ext = true;
        validBits = dv.getUint16(body + 18, true) || bits;
        tag = dv.getUint16(body + 24, true); // first two bytes of the sub-format GUID
      }
      fmt = { tag, channels, rate, blockAlign, bits, validBits, ext };
    } else if (cid === 'data') {
      dataOffset = body;
      if (container === 'RF64' && size === 0xffffffff) {
        if (ds64DataSize < 0) fail('RF64 data chunk without a ds64 size');
        size = ds64DataSize;
      } else if (size === 0xffffffff) {
        // A RIFF written to a pipe (e.g. ffmpeg) cannot go back to fill in the size: data runs to EOF.
        size = total - body;
      }
      dataSize = size;
      furthest = Math.max(furthest, Math.min(total, body + size + (size & 1)));
      // Stop at the data chunk once fmt is known: trailing chunks are not needed.
      if (fmt) break;
    }
    // Next chunk: body + size, plus a pad byte when size is odd.
    const next = body + size + (size & 1);
    if (cid === 'data' && next > total) break; // data before fmt and running to EOF: handled below
    pos = next;
  }

  if (!fmt) fail('no fmt chunk');
  const f = fmt!;
  if (dataOffset < 0) fail('no data chunk');
  if (f.channels === 0) fail('zero channels');
  if (f.rate === 0) fail('zero sample rate');

  const supported =
    (f.tag === WAVE_FORMAT_PCM && (f.bits === 8 || f.bits === 16 || f.bits === 24 || f.bits === 32)) ||
    (f.tag === WAVE_FORMAT_IEEE_FLOAT && (f.bits === 32 || f.bits === 64)) ||
    ((f.tag === WAVE_FORMAT_ALAW || f.tag === WAVE_FORMAT_MULAW) && f.bits === 8);
  if (!supported) {
    const kind = KIND_NAMES[f.tag];
    fail(
      kind
        ? `unsupported bit depth ${f.bits} for ${kind}`
        : `unsupported format tag 0x${f.tag.toString(16).padStart(4, '0')}${f.ext ? ' (EXTENSIBLE sub-format)' : ''}; ` +
            'supported: PCM 8/16/24/32-bit, IEEE float 32/64, A-law, µ-law',
    );
  }
  if (f.validBits > f.bits) fail(`valid bits ${f.validBits} exceed container size ${f.bits}`);
  const bytesPerSample = f.bits / 8;
  const minAlign = bytesPerSample * f.channels;
  // Some writers put a wrong blockAlign; frames are always channels × container bytes.
  if (f.blockAlign !== 0 && f.blockAlign < minAlign)
    fail(`block align ${f.blockAlign} is smaller than ${f.channels} channels × ${bytesPerSample} bytes`);
  const available = total - dataOffset;
  if (dataSize > available)
    fail(`truncated data chunk: header says ${dataSize} bytes, file holds ${Math.max(0, available)}`);
  const frames = Math.floor(dataSize / minAlign);
  if (frames === 0) fail('empty audio (data chunk holds no complete frame)');
  checkAudioHeader({ sampleRate: f.rate, channels: f.channels, frames }, file, limits);
  return {
    info: {
      container,
      formatTag: f.tag,
      extensible: f.ext,
      sampleRate: f.rate,
      channels: f.channels,
      bitsPerSample: f.bits,
      validBits: f.validBits,
      frames,
    },
    dataOffset,
    blockAlign: minAlign,
    end: furthest,
  };
}

/** Header facts only (no sample decoding). Throws AudioError as parseWav does. */
export function readWavInfo(bytes: Uint8Array, file?: string): WavInfo {
  return locate(bytes, file)!.info;
}

/**
 * Header facts from the first bytes of a file of `size` bytes, limits checked; null when the header reaches
 * past `prefix` (read more). Lets a reader refuse an absurd file before reading it whole.
 */
export function probeWav(prefix: Uint8Array, size: number, file?: string, limits?: AudioLimits): (WavInfo & { dataEnd: number }) | null {
  const l = locate(prefix, file, size, limits);
  return l && { ...l.info, dataEnd: l.end };
}

export function parseWav(bytes: Uint8Array, file?: string, limits?: AudioLimits): WavAudio {
  const { info, dataOffset, blockAlign } = locate(bytes, file, bytes.length, limits)!;
  const { channels, frames, bitsPerSample: bits, formatTag: tag } = info;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Float32Array[] = [];
  for (let c = 0; c < channels; c++) out.push(new Float32Array(frames));
  const bps = bits / 8;
  for (let c = 0; c < channels; c++) {
    const ch = out[c];
    let o = dataOffset + c * bps;
    if (tag === WAVE_FORMAT_PCM) {
      if (bits === 8) for (let i = 0; i < frames; i++, o += blockAlign) ch[i] = (bytes[o] - 128) / 128;
      else if (bits === 16) for (let i = 0; i < frames; i++, o += blockAlign) ch[i] = dv.getInt16(o, true) / 32768;
      else if (bits === 24)
        for (let i = 0; i < frames; i++, o += blockAlign) {
          const v = bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16);
          ch[i] = ((v << 8) >> 8) / 8388608;
        }
      else for (let i = 0; i < frames; i++, o += blockAlign) ch[i] = dv.getInt32(o, true) / 2147483648;
    } else if (tag === WAVE_FORMAT_IEEE_FLOAT) {
      if (bits === 32) for (let i = 0; i < frames; i++, o += blockAlign) ch[i] = dv.getFloat32(o, true);
      else for (let i = 0; i < frames; i++, o += blockAlign) ch[i] = dv.getFloat64(o, true);
    } else {
      const table = tag === WAVE_FORMAT_ALAW ? alawTable() : mulawTable();
      for (let i = 0; i < frames; i++, o += blockAlign) ch[i] = table[bytes[o]];
    }
  }
  return { ...info, channelData: out };
}

let alaw: Float32Array | null = null;
let mulaw: Float32Array | null = null;

// G.711 expansions to 16-bit linear, then / 32768.
function alawTable(): Float32Array {
  if (alaw) return alaw;
  alaw = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    const a = i ^ 0x55;
    const seg = (a & 0x70) >> 4;
    let t = (a & 0x0f) << 4;
    if (seg === 0) t += 8;
    else if (seg === 1) t += 0x108;
    else t = (t + 0x108) << (seg - 1);
    alaw[i] = ((a & 0x80) ? t : -t) / 32768;
  }
  return alaw;
}

function mulawTable(): Float32Array {
  if (mulaw) return mulaw;
  mulaw = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    const u = ~i & 0xff;
    let t = ((u & 0x0f) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;
    mulaw[i] = ((u & 0x80) ? 0x84 - t : t - 0x84) / 32768;
  }
  return mulaw;
}

export type WavSampleFormat = 'float32' | 'pcm16';

/**
 * Encodes channels as a WAV file. float32 writes IEEE float (fmt of 18 bytes + fact chunk);
 * pcm16 rounds to nearest and clips to [-32768, 32767].
 */
export function encodeWav(channels: Float32Array[] | Float32Array, sampleRate: number, format: WavSampleFormat = 'float32'): Uint8Array {
  const chans = channels instanceof Float32Array ? [channels] : channels;
  const nch = chans.length;
  if (nch === 0) throw new RangeError('encodeWav: no channels');
  const frames = chans[0].length;
  for (const c of chans) if (c.length !== frames) throw new RangeError('encodeWav: channels differ in length');
  const bps = format === 'float32' ? 4 : 2;
  const fmtSize = format === 'float32' ? 18 : 16;
  const factSize = format === 'float32' ? 12 : 0;
  const dataSize = frames * nch * bps;
  const total = 12 + 8 + fmtSize + factSize + 8 + dataSize + (dataSize & 1);
  const buf = new Uint8Array(total);
  const dv = new DataView(buf.buffer);
  const put = (o: number, s: string) => {
    for (let i = 0; i < 4; i++) buf[o + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  dv.setUint32(4, total - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  dv.setUint32(16, fmtSize, true);
  dv.setUint16(20, format === 'float32' ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM, true);
  dv.setUint16(22, nch, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * nch * bps, true);
  dv.setUint16(32, nch * bps, true);
  dv.setUint16(34, bps * 8, true);
  let o = 20 + fmtSize; // fmt body starts at 20
  if (format === 'float32') {
    dv.setUint16(36, 0, true); // cbSize
    put(o, 'fact');
    dv.setUint32(o + 4, 4, true);
    dv.setUint32(o + 8, frames, true);
    o += 12;
  }
  put(o, 'data');
  dv.setUint32(o + 4, dataSize, true);
  o += 8;
  for (let i = 0; i < frames; i++)
    for (let c = 0; c < nch; c++) {
      const v = chans[c][i];
      if (format === 'float32') dv.setFloat32(o, v, true);
      else dv.setInt16(o, Math.max(-32768, Math.min(32767, Math.round(v * 32768))), true);
      o += bps;
    }
  return buf;
}
