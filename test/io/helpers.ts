// Test helpers: expected values from the Python generator, and a small writer for PyTorch zip checkpoints
// (protocol-2 pickle + zip, optionally zip64, optionally sparse) to synthesise full-size and hostile files.
import { gunzipSync } from 'node:zlib';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from '../../models/io/zip.ts';
import type { HostDType } from '../../models/io/dtypes.ts';
import { DTYPE_SIZE, numel } from '../../models/io/dtypes.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/io/', import.meta.url));

export interface ExpectedManifest {
  fixtures: Record<string, Record<string, string>>;
  configs: Record<string, Record<string, unknown>>;
  tensors: Record<string, { dtype: 'F32' | 'I64'; shape: number[]; offset: number; nbytes: number }>;
  dtypes: Record<string, { shape: number[]; dtype: string; bits?: number[]; values?: (number | string)[] }>;
}

export async function loadExpected(): Promise<{ manifest: ExpectedManifest; blob: Uint8Array }> {
  const manifest = JSON.parse(gunzipSync(await readFile(join(FIXTURES, 'expected.json.gz'))).toString('utf8')) as ExpectedManifest;
  return { manifest, blob: new Uint8Array(gunzipSync(await readFile(join(FIXTURES, 'expected.bin.gz')))) };
}

// ---- pickle (protocol 2) ----

export class PickleWriter {
  private out: number[] = [0x80, 2];
  op(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    this.out.push(0x58, ...u32(b.length));
    for (const x of b) this.out.push(x);
    return this;
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.op(0x4a, ...u32(n >>> 0));
    let v = BigInt(n);
    const bytes: number[] = [];
    while (v !== 0n && v !== -1n) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    }
    if (n >= 0 && bytes[bytes.length - 1] & 0x80) bytes.push(0);
    return this.op(0x8a, bytes.length, ...bytes);
  }
  global(mod: string, name: string): this {
    this.out.push(0x63);
    for (const c of `${mod}\n${name}\n`) this.out.push(c.charCodeAt(0));
    return this;
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

const STORAGE: Record<string, string> = {
  F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage', F64: 'DoubleStorage', I64: 'LongStorage',
  I32: 'IntStorage', I16: 'ShortStorage', I8: 'CharStorage', U8: 'ByteStorage', BOOL: 'BoolStorage',
};

export interface SynthTensor {
  name: string;
  dtype: HostDType;
  shape: number[];
  /** Raw bytes; absent = zeros (written sparse). */
  data?: Uint8Array;
}

/** Pickle of an OrderedDict name → tensor (each with its own storage "0", "1", …), optionally inside
 *  {'model': …} like fairseq. */
export function pickleStateDict(tensors: readonly SynthTensor[], wrapKey?: string): Uint8Array {
  const p = new PickleWriter();
  if (wrapKey) p.op(0x7d).str(wrapKey);
  p.global('collections', 'OrderedDict').op(0x29, 0x52).mark();
  tensors.forEach((t, i) => {
    p.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark();
    p.mark().str('storage').global('torch', STORAGE[t.dtype]).str(String(i)).str('cpu').int(numel(t.shape) as number).tuple().op(0x51);
    p.int(0).mark();
    for (const d of t.shape) p.int(d);
    p.tuple().mark();
    let s = 1;
    const strides = t.shape.map(() => 0);
    for (let k = t.shape.length - 1; k >= 0; k--) {
      strides[k] = s;
      s *= t.shape[k];
    }
    for (const d of strides) p.int(d);
    p.tuple().op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52).tuple().op(0x52);
  });
  p.op(0x75);
  if (wrapKey) p.op(0x73);
  return p.op(0x2e).bytes();
}

// ---- zip ----

export interface ZipPart {
  offset: number;
  bytes: Uint8Array;
}

export interface ZipInput {
  name: string;
  data?: Uint8Array;
  /** Size of an all-zero entry that is not materialised (sparse). */
  zeros?: number;
}

/** Lays out a stored (uncompressed) zip like torch.save: data aligned to 64 bytes. Returns the non-zero
 *  parts and the total size; zero-filled entries are left as holes. */
export function buildZip(entries: readonly ZipInput[], opts: { zip64?: boolean } = {}): { parts: ZipPart[]; size: number } {
  const parts: ZipPart[] = [];
  const central: number[] = [];
  let off = 0;
  const enc = new TextEncoder();
  for (const e of entries) {
    const name = enc.encode(e.name);
    const size = e.data ? e.data.length : (e.zeros ?? 0);
    const z64 = opts.zip64 ?? false;
    const z64extra = z64 ? [0x01, 0x00, 16, 0, ...u64(size), ...u64(size)] : [];
    const base = off + 30 + name.length + z64extra.length + 4;
    const pad = (64 - (base % 64)) % 64;
    const extra = [...z64extra, 0x46, 0x42, pad & 0xff, pad >> 8, ...new Array(pad).fill(0x5a)];
    const crc = e.data ? crc32(e.data) : crc32OfZeros(size);
    const sz = z64 ? 0xffffffff : size;
    const local = [...u32(0x04034b50), 45, 0, 0, 0, 0, 0, 0, 0, 0x21, 0, ...u32(crc), ...u32(sz), ...u32(sz), name.length & 0xff, name.length >> 8, extra.length & 0xff, extra.length >> 8];
    parts.push({ offset: off, bytes: Uint8Array.from([...local, ...name, ...extra]) });
    const dataAt = off + 30 + name.length + extra.length;
    if (e.data) parts.push({ offset: dataAt, bytes: e.data });
    const cextra = z64 ? [0x01, 0x00, 24, 0, ...u64(size), ...u64(size), ...u64(off)] : [];
    central.push(
      ...u32(0x02014b50), 45, 3, 45, 0, 0, 0, 0, 0, 0, 0, 0x21, 0, ...u32(crc), ...u32(sz), ...u32(sz),
      name.length & 0xff, name.length >> 8, cextra.length & 0xff, cextra.length >> 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      ...u32(z64 ? 0xffffffff : off), ...name, ...cextra,
    );
    off = dataAt + size;
  }
  const cdOff = off;
  const tail: number[] = [...central];
  const n = entries.length;
  if (opts.zip64) {
    const z64At = cdOff + central.length;
    tail.push(...u32(0x06064b50), ...u64(44), 45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...u64(n), ...u64(n), ...u64(central.length), ...u64(cdOff));
    tail.push(...u32(0x07064b50), 0, 0, 0, 0, ...u64(z64At), 1, 0, 0, 0);
    tail.push(...u32(0x06054b50), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, ...u32(0xffffffff), ...u32(0xffffffff), 0, 0);
  } else {
    tail.push(...u32(0x06054b50), 0, 0, 0, 0, n & 0xff, n >> 8, n & 0xff, n >> 8, ...u32(central.length), ...u32(cdOff), 0, 0);
  }
  parts.push({ offset: cdOff, bytes: Uint8Array.from(tail) });
  return { parts, size: cdOff + tail.length };
}

/** CRC-32 of `n` zero bytes without materialising them (zlib's GF(2) operator squaring, as in crc32_combine). */
export function crc32OfZeros(n: number): number {
  const times = (mat: number[], vec: number): number => {
    let sum = 0;
    for (let i = 0; vec; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i];
    return sum >>> 0;
  };
  const square = (mat: number[]): number[] => mat.map((row) => times(mat, row));
  let op: number[] = [0xedb88320, ...Array.from({ length: 31 }, (_, i) => (1 << i) >>> 0)]; // one zero bit
  op = square(square(square(op))); // one zero byte
  let c = 0xffffffff;
  for (let left = n; left > 0; left = Math.floor(left / 2)) {
    if (left % 2) c = times(op, c);
    op = square(op);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function u64(n: number): number[] {
  return [...u32(n % 2 ** 32), ...u32(Math.floor(n / 2 ** 32))];
}

/** A torch.save-style zip of a state dict. */
export function torchZipEntries(tensors: readonly SynthTensor[], opts: { root?: string; wrapKey?: string } = {}): ZipInput[] {
  const root = opts.root ?? 'archive';
  return [
    { name: `${root}/data.pkl`, data: pickleStateDict(tensors, opts.wrapKey) },
    ...tensors.map((t, i) => ({ name: `${root}/data/${i}`, data: t.data, zeros: t.data ? undefined : (numel(t.shape) as number) * DTYPE_SIZE[t.dtype] })),
    { name: `${root}/version`, data: new TextEncoder().encode('3\n') },
  ];
}

export function zipToBytes(z: { parts: ZipPart[]; size: number }): Uint8Array {
  const out = new Uint8Array(z.size);
  for (const p of z.parts) out.set(p.bytes, p.offset);
  return out;
}

/** Writes the parts and extends the file to its size: unwritten ranges stay sparse holes of zeros. */
export async function writeSparse(path: string, parts: readonly ZipPart[], size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (const p of parts) await fh.write(p.bytes, 0, p.bytes.length, p.offset);
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}
