// PyTorch checkpoints in the zip format (torch.save since 1.6: .pt, .pth, .bin). The pickle in
// <root>/data.pkl is interpreted by the non-executing unpickler; tensors become TorchTensorRefs pointing into
// the uncompressed <root>/data/<key> entries and are sliced out of the file only when read.
import type { ByteSource } from './byte-source.ts';
import type { HostDType, HostTensor } from './dtypes.ts';
import { DTYPE_SIZE, numel, swapBytes, viewAs } from './dtypes.ts';
import { CheckpointError } from './errors.ts';
import type { Reducer } from './pickle.ts';
import { describe, PyGlobal, unpickle } from './pickle.ts';
import type { ZipEntry } from './zip.ts';
import { ZipReader } from './zip.ts';

/** torch.<Name>Storage → element type. */
const STORAGE_DTYPES: Record<string, HostDType> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

export interface TorchStorage {
  key: string;
  dtype: HostDType;
  /** Element count declared by the pickle. */
  numel: number;
}

export class TorchTensorRef {
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
  get dtype(): HostDType {
    return this.storage.dtype;
  }
}

export interface TorchCheckpoint {
  source: ByteSource;
  /** The unpickled top-level object (dicts are Maps). */
  root: unknown;
  read(ref: TorchTensorRef, name: string): Promise<HostTensor>;
}

/** Largest data.pkl accepted (fairseq checkpoints pickle a few MB of Python objects at most). */
const MAX_PICKLE_BYTES = 512 << 20;

// torch.save's legacy format starts with the pickled magic number 0x1950a86a20f9469cfc6c (LONG1, 10 bytes).
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

export function isZipPrefix(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

export function isLegacyTorchPrefix(head: Uint8Array): boolean {
  return LEGACY_MAGIC.every((b, i) => head[i] === b);
}

export const LEGACY_MESSAGE =
  'this is a legacy (pre-1.6, non-zip) PyTorch checkpoint, which spoofscan does not read. Re-save it once with ' +
  'PyTorch ≥ 1.6: python -c "import torch; torch.save(torch.load(\'IN\', map_location=\'cpu\'), \'OUT\')"';

export async function openTorchCheckpoint(source: ByteSource): Promise<TorchCheckpoint> {
  const file = source.name;
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  const head = await source.read(0, Math.min(source.size, 16));
  if (isLegacyTorchPrefix(head)) fail(LEGACY_MESSAGE);
  if (!isZipPrefix(head)) fail('not a PyTorch zip checkpoint (it does not start with PK\\x03\\x04)');
  const zip = await ZipReader.open(source);
  const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    if ([...zip.entries.keys()].some((n) => n.endsWith('/constants.pkl'))) fail('this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint');
    fail(pkls.length ? `several data.pkl entries (${pkls.join(', ')})` : 'no <root>/data.pkl entry: not a torch.save checkpoint');
  }
  const root = pkls[0].slice(0, -'data.pkl'.length);
  const byteorderEntry = zip.entries.get(`${root}byteorder`);
  const byteorder = byteorderEntry ? new TextDecoder().decode(await zip.readEntry(byteorderEntry, 16)).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') fail(`unknown byteorder "${byteorder}"`);

  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown): TorchStorage => {
    if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') return fail(`unexpected persistent id (${describe(pid)}) in ${pkls[0]}`);
    const [, cls, key, , count] = pid as unknown[];
    const dtype = cls instanceof PyGlobal && cls.module === 'torch' ? STORAGE_DTYPES[cls.name] : undefined;
    if (!dtype) return fail(`unsupported storage type ${describe(cls)} in ${pkls[0]}`);
    if (typeof key !== 'string' || !Number.isSafeInteger(count) || (count as number) < 0) return fail(`malformed storage reference in ${pkls[0]}`);
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== dtype) fail(`storage ${key} is referenced as both ${known.dtype} and ${dtype}`);
      return known;
    }
    const s: TorchStorage = { key, dtype, numel: count as number };
    storages.set(key, s);
    return s;
  };
  const rebuildTensor: Reducer = (args) => {
    const [storage, offset, size, stride] = args;
    const ok =
      typeof storage === 'object' && storage !== null && storages.get((storage as TorchStorage).key) === storage &&
      Number.isSafeInteger(offset) && (offset as number) >= 0 &&
      Array.isArray(size) && Array.isArray(stride) && size.length === stride.length &&
      numel(size) !== null && numel(stride) !== null;
    if (!ok) return fail(`malformed tensor in ${pkls[0]} (torch._utils._rebuild_tensor_v2 with ${args.map(describe).join(', ')})`);
    return new TorchTensorRef(storage as TorchStorage, offset as number, size as number[], stride as number[]);
  };
  const reducers: Record<string, Reducer> = {
    'torch._utils._rebuild_tensor_v2': rebuildTensor,
    'torch._utils._rebuild_tensor': rebuildTensor,
    'torch._utils._rebuild_parameter': (args) => args[0],
    'torch._utils._rebuild_parameter_with_state': (args) => args[0],
    'torch.Size': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
  };
  const pickle = await zip.readEntry(zip.entries.get(pkls[0]) as ZipEntry, MAX_PICKLE_BYTES);
  const value = unpickle(pickle, { file, entry: pkls[0], reducers, persistentLoad });

  const read = async (ref: TorchTensorRef, name: string): Promise<HostTensor> => {
    const { storage, offset, shape, stride } = ref;
    const es = DTYPE_SIZE[storage.dtype];
    const entry = zip.entries.get(`${root}data/${storage.key}`);
    const bad = (problem: string): never => fail(`tensor "${name}": ${problem}`);
    if (!entry) return bad(`its storage entry ${root}data/${storage.key} is missing`);
    if (entry.method !== 0) return bad(`its storage entry ${entry.name} is compressed; PyTorch stores tensor data uncompressed`);
    if (entry.size < storage.numel * es) return bad(`storage ${storage.key} holds ${entry.size} bytes, the pickle declares ${storage.numel} × ${storage.dtype}`);
    const n = numel(shape) as number;
    if (n * es > source.size) return bad(`shape ${JSON.stringify(shape)} is larger than the whole file`);
    const data = { name, dtype: storage.dtype, shape: [...shape] };
    if (n === 0) return { ...data, data: viewAs(storage.dtype, new Uint8Array(0)) };
    let last = offset;
    for (let k = 0; k < shape.length; k++) last += (shape[k] - 1) * stride[k];
    if (!Number.isSafeInteger(last) || last >= storage.numel) {
      return bad(`offset ${offset}, shape ${JSON.stringify(shape)}, stride ${JSON.stringify(stride)} reach past its storage (${storage.numel} elements)`);
    }
    const { start } = await zip.verifyStored(entry); // CRC-32 of the whole storage, once
    const span = await source.read(start + offset * es, (last - offset + 1) * es);
    let bytes: Uint8Array;
    if (isRowMajor(shape, stride)) bytes = span.byteLength === n * es ? span : span.subarray(0, n * es);
    else bytes = gather(span, es, shape, stride);
    if (byteorder === 'big') {
      if (bytes === span) bytes = span.slice();
      swapBytes(bytes, es);
    }
    return { ...data, data: viewAs(storage.dtype, bytes) };
  };
  return { source, root: value, read };
}

function isRowMajor(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    if (shape[k] !== 1 && stride[k] !== expect) return false;
    expect *= shape[k];
  }
  return true;
}

/** Copies a strided view (relative to the span start) into C order. */
function gather(span: Uint8Array, es: number, shape: number[], stride: number[]): Uint8Array {
  const n = numel(shape) as number;
  const out = new Uint8Array(n * es);
  const idx = new Array<number>(shape.length).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    out.set(span.subarray(src * es, src * es + es), i * es);
    for (let k = shape.length - 1; k >= 0; k--) {
      idx[k]++;
      src += stride[k];
      if (idx[k] < shape[k]) break;
      src -= stride[k] * shape[k];
      idx[k] = 0;
    }
  }
  return out;
}
