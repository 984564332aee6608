// safetensors (https://github.com/huggingface/safetensors): u64 LE header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__": {string: string}}, then the data.
// The header is validated like the reference implementation: offsets inside the data section, sizes that
// match dtype × shape, and no gaps or overlaps. Tensors are read lazily, one byte range each.
import type { ByteSource } from './byte-source.ts';
import { readU64 } from './byte-source.ts';
import type { HostDType, HostTensor, TensorData } from './dtypes.ts';
import { bytesOf, DTYPE_SIZE, isDType, numel, viewAs } from './dtypes.ts';
import { CheckpointError } from './errors.ts';

/** The reference implementation refuses headers above 100 MB; so do we (a lying length must not allocate). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: HostDType;
  shape: number[];
  /** Absolute file offsets, end exclusive. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  source: ByteSource;
  /** Tensors in data order. */
  entries: SafetensorsEntry[];
  metadata: Record<string, string> | null;
  read(entry: SafetensorsEntry): Promise<HostTensor>;
}

/** A u64 then '{'. The length itself is not judged here: a lying or truncated length must reach
 *  openSafetensors, whose message says what is wrong, rather than end as "unknown format". */
export function isSafetensorsPrefix(head: Uint8Array): boolean {
  return head.length >= 9 && head[8] === 0x7b; // '{'
}

export async function openSafetensors(source: ByteSource): Promise<SafetensorsFile> {
  const name = source.name;
  if (source.size < 8) throw new CheckpointError(name, `too short for safetensors (${source.size} bytes)`);
  const lenBytes = await source.read(0, 8);
  const n = readU64(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8), 0);
  if (n === null || n > MAX_HEADER_BYTES || 8 + n > source.size) {
    throw new CheckpointError(
      name,
      `safetensors header length ${new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true)} ` +
        `does not fit the file (${source.size} bytes): truncated or not a safetensors file`,
    );
  }
  const { entries, metadata } = parseSafetensorsHeader(name, await source.read(8, n), 8 + n, source.size);
  return {
    source,
    entries,
    metadata,
    async read(e) {
      return { name: e.name, dtype: e.dtype, shape: [...e.shape], data: viewAs(e.dtype, await source.read(e.begin, e.end - e.begin)) };
    },
  };
}

/** Parses and validates a header; `dataStart` = 8 + N, `fileSize` the total size. */
export function parseSafetensorsHeader(
  file: string,
  header: Uint8Array,
  dataStart: number,
  fileSize: number,
): { entries: SafetensorsEntry[]; metadata: Record<string, string> | null } {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, `bad safetensors header: ${problem}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
  } catch (e) {
    fail(`not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('not a JSON object');
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  for (const [key, v] of Object.entries(json as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('__metadata__ is not an object');
      metadata = {};
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(`__metadata__ value for "${mk}" is not a string`);
        Object.defineProperty(metadata, mk, { value: mv, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    if (typeof v !== 'object' || v === null) return fail(`entry "${key}" is not an object`);
    const { dtype, shape, data_offsets: offs } = v as Record<string, unknown>;
    if (!isDType(dtype)) return fail(`tensor "${key}" has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape)) return fail(`tensor "${key}" has no shape array`);
    const count = numel(shape);
    if (count === null) return fail(`tensor "${key}" has an invalid or too large shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      return fail(`tensor "${key}" has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [b, e] = offs as number[];
    if (b > e || e > dataSize) {
      return fail(`tensor "${key}" data_offsets [${b}, ${e}] lie outside the data section (${dataSize} bytes)`);
    }
    if ((e - b) / DTYPE_SIZE[dtype] !== count) {
      return fail(`tensor "${key}" is ${e - b} bytes but ${dtype} ${JSON.stringify(shape)} needs ${count * DTYPE_SIZE[dtype]}`);
    }
    entries.push({ name: key, dtype, shape: shape as number[], begin: dataStart + b, end: dataStart + e });
  }
  entries.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = dataStart;
  for (const e of entries) {
    if (e.begin < pos) fail(`tensor "${e.name}" overlaps the tensor before it (offset ${e.begin - dataStart})`);
    if (e.begin > pos) fail(`gap of ${e.begin - pos} bytes before tensor "${e.name}"`);
    pos = e.end;
  }
  if (pos !== fileSize) fail(`the tensors cover ${pos - dataStart} bytes but the data section holds ${dataSize}`);
  return { entries, metadata };
}

// ---- writing ----

export interface TensorSpec {
  name: string;
  dtype: HostDType;
  shape: number[];
}

export interface SafetensorsPlan {
  header: Uint8Array; // includes the 8-byte length prefix and the space padding
  /** Indices into the spec list in write order, with absolute file offsets. */
  layout: { index: number; begin: number; end: number }[];
  totalSize: number;
}

/** Lays out a file: larger element types first (so every tensor is aligned to its element size), header
 *  padded with spaces to a multiple of 8 bytes. */
export function planSafetensors(specs: readonly TensorSpec[], metadata?: Record<string, string> | null): SafetensorsPlan {
  const seen = new Set<string>();
  for (const s of specs) {
    if (s.name === '__metadata__' || seen.has(s.name)) throw new Error(`safetensors: bad or duplicate tensor name "${s.name}"`);
    seen.add(s.name);
    if (numel(s.shape) === null) throw new Error(`safetensors: invalid shape for "${s.name}"`);
  }
  const order = specs.map((_, i) => i).sort((a, b) => DTYPE_SIZE[specs[b].dtype] - DTYPE_SIZE[specs[a].dtype] || a - b);
  const json: Record<string, unknown> = {};
  if (metadata) json.__metadata__ = metadata;
  let off = 0;
  const rel: { index: number; begin: number; end: number }[] = [];
  for (const i of order) {
    const s = specs[i];
    const bytes = (numel(s.shape) as number) * DTYPE_SIZE[s.dtype];
    json[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [off, off + bytes] };
    rel.push({ index: i, begin: off, end: off + bytes });
    off += bytes;
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  const n = Math.ceil(text.length / 8) * 8;
  const header = new Uint8Array(8 + n).fill(0x20, 8);
  new DataView(header.buffer).setBigUint64(0, BigInt(n), true);
  header.set(text, 8);
  const start = 8 + n;
  return {
    header,
    layout: rel.map((r) => ({ index: r.index, begin: start + r.begin, end: start + r.end })),
    totalSize: start + off,
  };
}

/** Whole file in memory (browser downloads, tests). For big files in Node use writeSafetensorsFile. */
export function encodeSafetensors(tensors: readonly HostTensor[], metadata?: Record<string, string> | null): Uint8Array {
  const plan = planSafetensors(tensors, metadata);
  const out = new Uint8Array(plan.totalSize);
  out.set(plan.header, 0);
  for (const { index, begin, end } of plan.layout) out.set(dataBytes(tensors[index], end - begin), begin);
  return out;
}

/** The bytes of a tensor's data, checked against the size its dtype and shape need. */
export function dataBytes(t: { name: string; dtype: HostDType; data: TensorData }, expected: number): Uint8Array {
  const b = bytesOf(t.data);
  if (b.byteLength !== expected) throw new Error(`tensor "${t.name}": ${b.byteLength} bytes of data, shape needs ${expected}`);
  return b;
}
