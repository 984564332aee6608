// Property tests: damaged or hostile files give a CheckpointError that names the file, never a crash, a hang
// or a huge allocation. Each case opens the file and reads every tensor it lists.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bufferSource, CheckpointError, encodeSafetensors, openCheckpoint, unpickle, type HostTensor } from '../../models/io/index.ts';
import { buildZip, PickleWriter, torchZipEntries, zipToBytes, type SynthTensor } from './helpers.ts';

const NAME = 'fuzzed-file.bin';

/** Opens and reads everything; returns 'ok' or the CheckpointError; any other exception fails the property. */
async function exercise(bytes: Uint8Array): Promise<'ok' | CheckpointError> {
  try {
    const ck = await openCheckpoint(bufferSource(bytes, NAME));
    for (const t of ck.tensors) {
      const d = await t.read();
      expect(d.data.byteLength).toBeLessThanOrEqual(bytes.length);
    }
    return 'ok';
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    expect(e.message.startsWith(`${NAME}: `)).toBe(true);
    expect(e.message.length).toBeGreaterThan(NAME.length + 10);
    return e;
  }
}

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const validSafetensors = encodeSafetensors([
  { name: 'a', dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
  { name: 'b', dtype: 'I64', shape: [], data: BigInt64Array.of(5n) },
  { name: 'c', dtype: 'F16', shape: [3], data: Uint16Array.of(1, 2, 3) },
] as HostTensor[], { format: 'pt' });
const synth: SynthTensor[] = [
  { name: 'w', dtype: 'F32', shape: [2, 3], data: f32(1, 2, 3, 4, 5, 6) },
  { name: 'n', dtype: 'I64', shape: [], data: new Uint8Array(BigInt64Array.of(7n).buffer) },
];
const validZip = zipToBytes(buildZip(torchZipEntries(synth)));
const validZip64 = zipToBytes(buildZip(torchZipEntries(synth), { zip64: true }));

/** Byte-level damage: truncation, overwrites, insertions, u32/u64 lies at arbitrary offsets. */
function damaged(valid: Uint8Array) {
  const len = valid.length;
  return fc.oneof(
    fc.nat({ max: len - 1 }).map((n) => valid.slice(0, n)),
    fc.array(fc.tuple(fc.nat({ max: len - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((edits) => {
      const b = valid.slice();
      for (const [i, v] of edits) b[i] = v;
      return b;
    }),
    fc.tuple(fc.nat({ max: len - 8 }), fc.constantFrom(0, 1, 0xffff, 0xffffffff, 2 ** 31, len, len + 1, 2 ** 53 - 1)).map(([i, v]) => {
      const b = valid.slice();
      const dv = new DataView(b.buffer);
      dv.setUint32(i, v % 2 ** 32, true);
      if (i + 8 <= len) dv.setUint32(i + 4, Math.floor(v / 2 ** 32), true);
      return b;
    }),
    fc.tuple(fc.nat({ max: len }), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([i, ins]) => {
      const b = new Uint8Array(len + ins.length);
      b.set(valid.subarray(0, i));
      b.set(ins, i);
      b.set(valid.subarray(i), i + ins.length);
      return b;
    }),
  );
}

const RUNS = { numRuns: 300, seed: 4242 };

describe('fuzz: safetensors', () => {
  it('damaged files fail clearly', async () => {
    await fc.assert(fc.asyncProperty(damaged(validSafetensors), async (b) => void (await exercise(b))), RUNS);
  });

  it('hostile headers (lying offsets, overlaps, wrong dtypes, huge shapes) fail clearly', async () => {
    const entry = fc.record({
      dtype: fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'f32', 7, null),
      shape: fc.oneof(fc.array(fc.nat({ max: 4 }), { maxLength: 3 }), fc.array(fc.constantFrom(2 ** 31, 2 ** 53, -1, 1.5, 1e300), { minLength: 1, maxLength: 3 })),
      data_offsets: fc.oneof(
        fc.tuple(fc.nat({ max: 64 }), fc.nat({ max: 64 })),
        fc.tuple(fc.constantFrom(0, -8, 2 ** 53, 1e20), fc.constantFrom(8, 2 ** 60, -1)),
        fc.constant('0,8'),
      ),
    });
    const header = fc.dictionary(fc.constantFrom('a', 'b', 'c', '__metadata__', '__proto__', 'constructor'), entry, { maxKeys: 4 });
    await fc.assert(
      fc.asyncProperty(header, fc.nat({ max: 96 }), async (h, dataLen) => {
        const json = new TextEncoder().encode(JSON.stringify(h));
        const b = new Uint8Array(8 + json.length + dataLen);
        new DataView(b.buffer).setBigUint64(0, BigInt(json.length), true);
        b.set(json, 8);
        await exercise(b);
      }),
      RUNS,
    );
  });
});

describe('fuzz: PyTorch zip checkpoints', () => {
  it('damaged archives (directory, local headers, pickle, data) fail clearly', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(damaged(validZip), damaged(validZip64)), async (b) => void (await exercise(b))), RUNS);
  });

  it('tensors with hostile shapes, strides, offsets and storage sizes fail clearly', async () => {
    const dim = fc.oneof(fc.nat({ max: 5 }), fc.constantFrom(2 ** 31, 2 ** 40, 2 ** 53));
    await fc.assert(
      fc.asyncProperty(
        fc.array(dim, { maxLength: 3 }), fc.array(dim, { maxLength: 3 }), fc.oneof(fc.nat({ max: 8 }), fc.constant(2 ** 50)),
        fc.oneof(fc.nat({ max: 8 }), fc.constant(2 ** 45)), fc.constantFrom('FloatStorage', 'LongStorage', 'ComplexFloatStorage', 'Evil'),
        async (shape, stride, offset, numel, storage) => {
          const p = new PickleWriter().global('collections', 'OrderedDict').op(0x29, 0x52).str('t').global('torch._utils', '_rebuild_tensor_v2').mark();
          p.mark().str('storage').global('torch', storage).str('0').str('cpu').int(numel).tuple().op(0x51).int(offset).mark();
          for (const d of shape) p.int(d);
          p.tuple().mark();
          for (const s of stride) p.int(s);
          p.tuple().op(0x89).op(0x4e).tuple().op(0x52, 0x73, 0x2e);
          const bytes = zipToBytes(buildZip([
            { name: 'archive/data.pkl', data: p.bytes() },
            { name: 'archive/data/0', data: new Uint8Array(32) },
          ]));
          await exercise(bytes);
        },
      ),
      RUNS,
    );
  });

  it('random pickles run to a value or a clear error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (body) => {
        const bytes = Uint8Array.from([0x80, 2, ...body, 0x2e]);
        try {
          unpickle(bytes, { file: NAME, persistentLoad: () => null });
        } catch (e) {
          expect(e).toBeInstanceOf(CheckpointError);
        }
      }),
      { numRuns: 3000, seed: 7 },
    );
  });
});
