// A zip central-directory reader over a ByteSource (PyTorch's checkpoint container). It reads only the
// end records and the central directory; entry data is located through each local header and read on demand.
// Zip64 is supported (checkpoints above 4 GB, and writers that always emit it).
import { inflateSync } from 'fflate';
import type { ByteSource } from './byte-source.ts';
import { readU64 } from './byte-source.ts';
import { CheckpointError } from './errors.ts';

export interface ZipEntry {
  name: string;
  method: number; // 0 stored, 8 deflate
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export class ZipReader {
  private constructor(
    readonly source: ByteSource,
    readonly entries: Map<string, ZipEntry>,
    private readonly centralStart: number,
  ) {}

  private fail(problem: string): never {
    throw new CheckpointError(this.source.name, `bad zip archive: ${problem}`);
  }

  static async open(source: ByteSource): Promise<ZipReader> {
    const fail = (problem: string): never => {
      throw new CheckpointError(source.name, `bad zip archive: ${problem}`);
    };
    const tailLen = Math.min(source.size, 22 + 0xffff);
    const tail = await source.read(source.size - tailLen, tailLen);
    const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tv.getUint32(i, true) === EOCD && i + 22 + tv.getUint16(i + 20, true) <= tailLen) {
        at = i;
        break;
      }
    }
    if (at < 0) fail('no end-of-central-directory record (truncated file?)');
    const eocdPos = source.size - tailLen + at;
    let count: number = tv.getUint16(at + 10, true);
    let cdSize: number = tv.getUint32(at + 12, true);
    let cdOffset: number = tv.getUint32(at + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      if (eocdPos < 20) fail('zip64 locator missing');
      const loc = await source.read(eocdPos - 20, 20);
      const lv = new DataView(loc.buffer, loc.byteOffset, 20);
      if (lv.getUint32(0, true) !== ZIP64_LOCATOR) fail('zip64 locator missing');
      const z64 = readU64(lv, 8);
      if (z64 === null || z64 + 56 > eocdPos) fail('zip64 end record offset out of range');
      const rec = await source.read(z64 as number, 56);
      const rv = new DataView(rec.buffer, rec.byteOffset, 56);
      if (rv.getUint32(0, true) !== ZIP64_EOCD) fail('zip64 end record missing');
      const c = readU64(rv, 32), s = readU64(rv, 40), o = readU64(rv, 48);
      if (c === null || s === null || o === null) fail('zip64 end record values out of range');
      [count, cdSize, cdOffset] = [c as number, s as number, o as number];
    }
    if (cdOffset + cdSize > eocdPos) fail(`central directory (offset ${cdOffset}, ${cdSize} bytes) lies outside the file`);
    if (count * 46 > cdSize) fail(`central directory claims ${count} entries but holds only ${cdSize} bytes`);
    const cd = await source.read(cdOffset, cdSize);
    const cv = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
    const decoder = new TextDecoder();
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let n = 0; n < count; n++) {
      if (p + 46 > cdSize || cv.getUint32(p, true) !== CENTRAL) fail(`central directory entry ${n} is corrupt`);
      const nameLen = cv.getUint16(p + 28, true), extraLen = cv.getUint16(p + 30, true), commentLen = cv.getUint16(p + 32, true);
      if (p + 46 + nameLen + extraLen + commentLen > cdSize) fail(`central directory entry ${n} runs past the directory`);
      const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLen));
      const e: ZipEntry = {
        name,
        flags: cv.getUint16(p + 8, true),
        method: cv.getUint16(p + 10, true),
        crc32: cv.getUint32(p + 16, true),
        compressedSize: cv.getUint32(p + 20, true),
        size: cv.getUint32(p + 24, true),
        localHeaderOffset: cv.getUint32(p + 42, true),
      };
      // Zip64 extended information: the saturated fields, in this order, from extra field 0x0001.
      let x = p + 46 + nameLen;
      const xEnd = x + extraLen;
      while (x + 4 <= xEnd) {
        const id = cv.getUint16(x, true), len = cv.getUint16(x + 2, true);
        if (x + 4 + len > xEnd) fail(`entry "${name}" has a corrupt extra field`);
        if (id === 0x0001) {
          let q = x + 4;
          const next = (): number => {
            if (q + 8 > x + 4 + len) fail(`entry "${name}" has a short zip64 extra field`);
            const v = readU64(cv, q);
            if (v === null) fail(`entry "${name}" has a zip64 value out of range`);
            q += 8;
            return v as number;
          };
          if (e.size === 0xffffffff) e.size = next();
          if (e.compressedSize === 0xffffffff) e.compressedSize = next();
          if (e.localHeaderOffset === 0xffffffff) e.localHeaderOffset = next();
        }
        x += 4 + len;
      }
      if (entries.has(name)) fail(`duplicate entry "${name}"`);
      // Tensors are sliced by `size`; a stored entry whose two sizes differ would reach into its neighbours.
      if (e.method === 0 && e.compressedSize !== e.size) fail(`stored entry "${name}" claims ${e.size} bytes but holds ${e.compressedSize}`);
      if (e.localHeaderOffset + 30 + e.compressedSize > cdOffset) fail(`entry "${name}" lies outside the file data area`);
      entries.set(name, e);
      p += 46 + nameLen + extraLen + commentLen;
    }
    return new ZipReader(source, entries, cdOffset);
  }

  /** Absolute [start, end) of the entry's (possibly compressed) data, read from its local header. */
  async dataRange(e: ZipEntry): Promise<{ start: number; end: number }> {
    if (e.flags & 1) this.fail(`entry "${e.name}" is encrypted`);
    const h = await this.source.read(e.localHeaderOffset, 30);
    const hv = new DataView(h.buffer, h.byteOffset, 30);
    if (hv.getUint32(0, true) !== LOCAL) this.fail(`entry "${e.name}" has no local header at offset ${e.localHeaderOffset}`);
    const nameLen = hv.getUint16(26, true);
    // The local header repeats the name: a changed name length would shift the data silently.
    const localName = await this.source.read(e.localHeaderOffset + 30, Math.min(nameLen, Math.max(0, this.centralStart - e.localHeaderOffset - 30)));
    if (nameLen !== this.nameBytes(e).length || !localName.every((b, i) => b === this.nameBytes(e)[i])) {
      this.fail(`entry "${e.name}": its local header names it differently (corrupt header)`);
    }
    const start = e.localHeaderOffset + 30 + nameLen + hv.getUint16(28, true);
    const end = start + e.compressedSize;
    if (end > this.centralStart) this.fail(`data of entry "${e.name}" (bytes ${start}…${end}) runs into the central directory`);
    return { start, end };
  }

  private readonly names = new Map<ZipEntry, Uint8Array>();
  private nameBytes(e: ZipEntry): Uint8Array {
    let b = this.names.get(e);
    if (!b) this.names.set(e, (b = new TextEncoder().encode(e.name)));
    return b;
  }

  private readonly verified = new Set<ZipEntry>();

  /**
   * Checks the CRC-32 of a stored (uncompressed) entry once, reading it in 16 MiB pieces (so a 1 GB storage
   * costs no extra memory); later calls for the same entry return at once. Tensor data is read from entries
   * checked this way, so a flipped bit or a NaN-filled storage never loads silently.
   */
  async verifyStored(e: ZipEntry): Promise<{ start: number; end: number }> {
    const range = await this.dataRange(e);
    if (this.verified.has(e)) return range;
    let c = 0xffffffff;
    for (let at = range.start; at < range.end; at += 1 << 24) {
      const piece = await this.source.read(at, Math.min(1 << 24, range.end - at));
      c = crc32Update(c, piece);
    }
    if (((c ^ 0xffffffff) >>> 0) !== e.crc32) this.fail(`entry "${e.name}" fails its CRC check (corrupt data)`);
    this.verified.add(e);
    return range;
  }

  /** The whole (decompressed, CRC-checked) content of a small entry such as a pickle. */
  async readEntry(e: ZipEntry, maxSize: number): Promise<Uint8Array> {
    if (e.size > maxSize) this.fail(`entry "${e.name}" is ${e.size} bytes, more than the ${maxSize} allowed`);
    // Deflate expands at most 1032:1, so a larger claimed size is a lie; refuse it before allocating the output.
    if (e.method === 8 && e.size > e.compressedSize * 1032 + 1024) {
      this.fail(`entry "${e.name}" claims ${e.size} bytes from ${e.compressedSize} compressed bytes, more than deflate can expand`);
    }
    const { start, end } = await this.dataRange(e);
    const raw = await this.source.read(start, end - start);
    let out: Uint8Array;
    if (e.method === 0) out = raw;
    else if (e.method === 8) {
      try {
        out = inflateSync(raw, { out: new Uint8Array(e.size) });
      } catch (err) {
        this.fail(`entry "${e.name}" does not inflate (${(err as Error).message})`);
      }
    } else this.fail(`entry "${e.name}" uses unsupported compression method ${e.method}`);
    if (out.length !== e.size) this.fail(`entry "${e.name}" holds ${out.length} bytes, directory says ${e.size}`);
    if (crc32(out) !== e.crc32) this.fail(`entry "${e.name}" fails its CRC check`);
    return out;
  }
}

let table: Uint32Array | null = null;

export function crc32(bytes: Uint8Array): number {
  return (crc32Update(0xffffffff, bytes) ^ 0xffffffff) >>> 0;
}

/** Feeds bytes into a running CRC-32 register (start at 0xffffffff, finish with ^ 0xffffffff). */
export function crc32Update(crc: number, bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  const t = table;
  let c = crc;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return c;
}
