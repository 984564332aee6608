// Issue 16: generated hostile inputs (fast-check with fixed seeds; nothing stored) for every reader a user can
// point spoofscan at. Each case must end in a clear, user-facing error naming the input, or a correct result,
// within a time bound; no other exception (a crash, i.e. a stack trace for the user) is allowed.
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CheckpointError, bufferSource, loadWeights, openCheckpoint, unpickle } from '../../models/io/index.ts';
import { MAX_MODEL_PARAMS, validateConfig } from '../../models/io/config.ts';
import { countParams } from '../../models/param-spec.ts';
import { modelParams, type ModelConfig } from '../../models/config.ts';
import { NES2NET_LA } from '../../models/nes2net/config.ts';
import { TRACER } from '../../models/tracer/config.ts';
import { XLSR_300M, XLSR_TINY } from '../../models/xlsr/config.ts';
import { PICKLE_LIMITS } from '../../models/io/pickle.ts';
import { decodeAudio, probeAudio } from '../../train/data/decode.ts';
import { AudioError } from '../../train/data/errors.ts';
import { MAX_ABS_SAMPLE, MAX_DECODED_SAMPLES } from '../../train/data/limits.ts';
import { encodeWav } from '../../train/data/wav.ts';
import { MetricsInputError } from '../../train/metrics/errors.ts';
import { parseDetectionScores } from '../../train/metrics/score-file.ts';
import { applyCalibration, fitCalibration, parseCalibrationJson, parsePrior } from '../../train/metrics/calibration.ts';
import { buildZip, torchZipEntries, zipToBytes, type SynthTensor } from '../io/helpers.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const SEED = 1616;
/** Per-case wall-clock bound (generous for a 2-core CI machine). */
const CASE_MS = 2000;

function userFacing(e: unknown, name: string): void {
  if (!(e instanceof Error) || !(e as { userFacing?: boolean }).userFacing) throw e; // a crash: fail with it
  expect(e.message).toContain(name);
  expect(e.message).not.toMatch(/\n\s+at /);
}

async function timed<T>(fn: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  expect(performance.now() - t0).toBeLessThan(CASE_MS);
  return r;
}

// ---------- audio ----------

const WAV_NAME = 'fuzz.wav';
const header = (fields: { tag: number; ch: number; rate: number; align: number; bits: number; dataSize: number; body: number }) => {
  const b = new Uint8Array(44 + fields.body);
  const dv = new DataView(b.buffer);
  b.set([0x52, 0x49, 0x46, 0x46], 0);
  dv.setUint32(4, b.length - 8, true);
  b.set([0x57, 0x41, 0x56, 0x45, 0x66, 0x6d, 0x74, 0x20], 8);
  dv.setUint32(16, 16, true);
  dv.setUint16(20, fields.tag, true);
  dv.setUint16(22, fields.ch, true);
  dv.setUint32(24, fields.rate >>> 0, true);
  dv.setUint32(28, (fields.rate * fields.align) >>> 0, true);
  dv.setUint16(32, fields.align, true);
  dv.setUint16(34, fields.bits, true);
  b.set([0x64, 0x61, 0x74, 0x61], 36);
  dv.setUint32(40, fields.dataSize >>> 0, true);
  for (let i = 44; i < b.length; i++) b[i] = (i * 37) & 0xff;
  return b;
};

async function checkAudio(bytes: Uint8Array, name: string): Promise<void> {
  // The header probe (what readBytes runs on the first 64 KiB) and the full decode must agree on refusing.
  try {
    probeAudio(bytes.subarray(0, 64), bytes.length, name);
  } catch (e) {
    userFacing(e, name);
  }
  try {
    const d = await timed(() => decodeAudio(bytes, name));
    expect(d.sampleRate).toBeGreaterThanOrEqual(1000);
    expect(d.sampleRate).toBeLessThanOrEqual(768000);
    expect(d.frames * d.channels).toBeLessThanOrEqual(MAX_DECODED_SAMPLES);
    for (const ch of d.channelData) for (const v of ch) expect(Math.abs(v) <= MAX_ABS_SAMPLE).toBe(true);
  } catch (e) {
    userFacing(e, name);
  }
}

describe('fuzz: audio headers', () => {
  it('WAV: generated fmt/data headers (absurd rates, channels, sizes, tags) — 1500 cases', async () => {
    const interesting = fc.oneof(
      fc.constantFrom(0, 1, 999, 1000, 8000, 16000, 44100, 768000, 768001, 1_000_000_007, 0xffffffff),
      fc.integer({ min: 0, max: 0xffffffff }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          tag: fc.constantFrom(0, 1, 3, 6, 7, 2, 0xfffe, 0xffff),
          ch: fc.oneof(fc.constantFrom(0, 1, 2, 64, 65, 0xffff), fc.integer({ min: 0, max: 0xffff })),
          rate: interesting,
          align: fc.integer({ min: 0, max: 0xffff }),
          bits: fc.constantFrom(0, 8, 16, 24, 32, 64, 7, 0xffff),
          dataSize: fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0x7fffffff), fc.integer({ min: 0, max: 4096 })),
          body: fc.integer({ min: 0, max: 2048 }),
        }),
        async (f) => checkAudio(header(f), WAV_NAME),
      ),
      { numRuns: 1500, seed: SEED },
    );
  });

  it('WAV: float samples anywhere in the float32 range — 300 cases (non-finite or absurd → error naming the file)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.float32Array({ minLength: 1, maxLength: 64 }), async (x) => {
        const bytes = encodeWav(x, 16000);
        const bad = x.some((v) => !(Math.abs(v) <= MAX_ABS_SAMPLE));
        try {
          const d = await decodeAudio(bytes, WAV_NAME);
          expect(bad).toBe(false);
          expect(d.channelData[0]).toEqual(x);
        } catch (e) {
          expect(bad).toBe(true);
          expect(e).toBeInstanceOf(AudioError);
          expect((e as Error).message).toMatch(/^fuzz\.wav: (non-finite sample|sample at index \d+ is .* outside)/);
        }
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  const flacDir = join(repo, 'data/mini/bonafide');
  const flac = new Uint8Array(readFileSync(join(flacDir, readdirSync(flacDir).filter((n) => n.endsWith('.flac')).sort()[0])));
  const mp3 = new Uint8Array(readFileSync(join(repo, 'test/data/fixtures/tone1k-44100-mono.mp3')));
  /** Overwrites 1–4 bytes of the first `span` bytes (the headers), or truncates. */
  const damage = (base: Uint8Array, span: number) =>
    fc.oneof(
      fc.array(fc.tuple(fc.integer({ min: 0, max: Math.min(span, base.length) - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
        const b = base.slice();
        for (const [i, v] of edits) b[i] = v;
        return b;
      }),
      fc.integer({ min: 0, max: base.length - 1 }).map((n) => base.slice(0, n)),
    );

  it('FLAC: damaged STREAMINFO and frame headers — 40 cases', async () => {
    await fc.assert(fc.asyncProperty(damage(flac, 128), (b) => checkAudio(b, 'fuzz.flac')), { numRuns: 40, seed: SEED });
  });

  it('MP3: damaged ID3 and frame headers — 40 cases', async () => {
    await fc.assert(fc.asyncProperty(damage(mp3, 64), (b) => checkAudio(b, 'fuzz.mp3')), { numRuns: 40, seed: SEED });
  });

  it('an empty input is "empty", not "unrecognised"', async () => {
    await expect(decodeAudio(new Uint8Array(0), 'e.wav')).rejects.toThrow(/^e\.wav: empty file \(0 bytes\)$/);
    expect(() => probeAudio(new Uint8Array(0), 0, 'e.wav')).toThrow(/empty file/);
  });
});

// ---------- checkpoints ----------

const CK = 'fuzz.pt';
const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

async function checkCheckpoint(bytes: Uint8Array): Promise<void> {
  try {
    await timed(async () => {
      const ck = await openCheckpoint(bufferSource(bytes, CK));
      for (const t of ck.tensors) await t.read();
    });
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    userFacing(e, CK);
  }
}

describe('fuzz: checkpoints', () => {
  const synth: SynthTensor[] = [
    { name: 'w', dtype: 'F32', shape: [2, 3], data: f32(1, 2, 3, 4, 5, 6) },
    { name: 'v', dtype: 'F32', shape: [4], data: f32(-1, 0.5, 2, 8) },
  ];
  const zip = zipToBytes(buildZip(torchZipEntries(synth)));
  const dataStart = zip.length - 1; // placeholder to keep TS happy

  it('zip: every single-bit flip in tensor data is caught by the CRC-32 check — 400 cases', async () => {
    // Locate the storage bytes: the first tensor's six floats in the file.
    const needle = f32(1, 2, 3, 4, 5, 6);
    let at = -1;
    for (let i = 0; i + needle.length <= zip.length && at < 0; i++) if (needle.every((b, k) => zip[i + k] === b)) at = i;
    expect(at).toBeGreaterThan(0);
    expect(dataStart).toBeGreaterThan(0);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: needle.length * 8 - 1 }), async (bit) => {
        const b = zip.slice();
        b[at + (bit >> 3)] ^= 1 << (bit & 7);
        const ck = await openCheckpoint(bufferSource(b, CK));
        await expect(Promise.all(ck.tensors.map((t) => t.read()))).rejects.toThrow(/fuzz\.pt: bad zip archive: entry ".*data\/0" fails its CRC check/);
      }),
      { numRuns: 400, seed: SEED },
    );
  });

  it('zip: damaged local and central headers — 600 cases', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(zip.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        async (edits) => {
          const b = zip.slice();
          for (const [i, v] of edits) b[i] = v;
          await checkCheckpoint(b);
        },
      ),
      { numRuns: 600, seed: SEED },
    );
  });

  it('pickle: generated opcode streams (MARK/DUP/EMPTY_LIST bombs, memo, calls) — 1000 cases', () => {
    const ops: fc.Arbitrary<number | number[]> = fc.oneof(
      fc.constantFrom(0x28, 0x32, 0x5d, 0x29, 0x7d, 0x4e, 0x88, 0x30, 0x31, 0x61, 0x65, 0x73, 0x75, 0x6c, 0x74, 0x64, 0x85, 0x86, 0x87, 0x94, 0x52, 0x81, 0x62, 0x2e),
      fc.tuple(fc.constantFrom(0x71, 0x68, 0x4b, 0x8c), fc.integer({ min: 0, max: 3 })).map(([op, n]) => (op === 0x8c ? [op, 1, 0x61] : [op, n])),
      fc.constant<number[]>([0x8c, 11, ...new TextEncoder().encode('collections'), 0x8c, 11, ...new TextEncoder().encode('OrderedDict'), 0x93]),
    );
    fc.assert(
      fc.property(fc.array(ops, { maxLength: 200 }), fc.integer({ min: 0, max: 3 }), (seq, repeat) => {
        let flat: number[] = seq.flatMap((o) => (Array.isArray(o) ? o : [o]));
        for (let r = 0; r < repeat; r++) flat = flat.concat(flat); // up to 8× longer
        const bytes = Uint8Array.from([0x80, 2, ...flat, 0x2e]);
        const t0 = performance.now();
        try {
          unpickle(bytes, { file: CK });
        } catch (e) {
          expect(e).toBeInstanceOf(CheckpointError);
          userFacing(e, CK);
        }
        expect(performance.now() - t0).toBeLessThan(CASE_MS);
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  it('pickle: a bomb beyond the opcode/stack bounds is refused early, without exhausting memory', () => {
    const n = PICKLE_LIMITS.stack + 10;
    const bomb = new Uint8Array(n + 3);
    bomb.set([0x80, 2, 0x5d]); // EMPTY_LIST, then DUP × n
    bomb.fill(0x32, 3);
    expect(() => unpickle(bomb, { file: CK })).toThrow(/fuzz\.pt: .*stack deeper than/);
    const marks = new Uint8Array(PICKLE_LIMITS.marks + 10).fill(0x28);
    expect(() => unpickle(marks, { file: CK })).toThrow(/more than \d+ nested MARKs/);
  });

  it('pickle: OrderedDict([1, 2, 3]) stays inert data; a state dict of it is a clear error', () => {
    const bytes = Uint8Array.from([
      0x80, 2, 0x63, ...new TextEncoder().encode('collections\nOrderedDict\n'), 0x5d, 0x28, 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x65, 0x85, 0x52, 0x2e,
    ]);
    const v = unpickle(bytes, { file: CK });
    expect(v).toMatchObject({ args: [[1, 2, 3]] });
  });
});

// ---------- configs ----------

describe('fuzz: model configs (one schema for load, convert, score, features, train, browser)', () => {
  const base: ModelConfig = { arch: 'xlsr-nes2net', xlsr: XLSR_TINY, nes2net: { ...NES2NET_LA, inputDim: 64 } };
  const paths: [string[], unknown][] = [];
  const hostile = fc.oneof(
    fc.constantFrom(null, -1, 0, 1, 1e8, 5e7, 1e9, 1e308, -0, NaN, Infinity, 'x', '12', true, [], {}, [8, 5e7], 1.5, 0.5, 2 ** 53),
    fc.integer({ min: -10, max: 100000 }),
    fc.double(),
  );
  const fieldPaths: string[][] = [
    ...Object.keys(XLSR_TINY).map((k) => ['xlsr', k]),
    ...Object.keys(NES2NET_LA).map((k) => ['nes2net', k]),
    ['nes2net', 'la', 'windowSize'], ['nes2net', 'la', 'heads'], ['nes2net', 'la', 'dropout'], ['nes2net', 'nesRatio', '1'],
    ['xlsr', 'convLayers', '0', '1'], ['xlsr', 'convLayers', '3'], ['arch'], ['xlsr'], ['nes2net'], ['tracer'],
  ];
  void paths;

  it('random fields set to hostile values — 2000 cases: a CheckpointError naming the file, or a config within the ceiling', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...fieldPaths), hostile), { minLength: 1, maxLength: 3 }), (edits) => {
        const c = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
        for (const [path, v] of edits) {
          let o = c as Record<string, unknown>;
          for (const k of path.slice(0, -1)) {
            if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
            o = o[k] as Record<string, unknown>;
          }
          o[path[path.length - 1]] = v;
        }
        const t0 = performance.now();
        try {
          validateConfig('cfg.safetensors', c);
          expect(countParams(modelParams(c as unknown as ModelConfig))).toBeLessThanOrEqual(MAX_MODEL_PARAMS);
        } catch (e) {
          expect(e).toBeInstanceOf(CheckpointError);
          expect((e as Error).message).toMatch(/^cfg\.safetensors: model config: /);
        }
        expect(performance.now() - t0).toBeLessThan(CASE_MS);
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it('the issue\'s cases: null, layers 1e8, nesRatio [8, 5e7], 5,000 conv layers, eps −1 or a string, dilation 0/1e9, window 0, heads 0', () => {
    const bad = (patch: (c: ModelConfig) => unknown, re: RegExp) => {
      const c = JSON.parse(JSON.stringify({ arch: 'xlsr-nes2net', xlsr: XLSR_300M, nes2net: NES2NET_LA, tracer: TRACER }));
      const r = patch(c);
      expect(() => validateConfig('m.safetensors', r === undefined ? c : r)).toThrow(re);
    };
    bad(() => null, /m\.safetensors: model config: expected an object/);
    bad((c) => void (c.xlsr.layers = 1e8), /xlsr\.layers must be an integer from 1 to 256/);
    bad((c) => void (c.nes2net!.nesRatio = [8, 5e7]), /nesRatio\[1\] must be an integer/);
    bad((c) => void (c.xlsr.convLayers = Array.from({ length: 5000 }, () => [512, 3, 2])), /convLayers must be a list of 1 to 64/);
    bad((c) => void (c.xlsr.layerNormEps = -1), /layerNormEps must be a number in \(0, 1\]/);
    bad((c) => void ((c.xlsr as unknown as Record<string, unknown>).layerNormEps = '1e-5'), /layerNormEps/);
    bad((c) => void (c.nes2net!.dilation = 0), /dilation must be an integer from 1/);
    bad((c) => void (c.nes2net!.dilation = 1e9), /dilation/);
    bad((c) => void (c.nes2net!.la!.windowSize = 0), /la\.windowSize/);
    bad((c) => void (c.xlsr.heads = 0), /attention heads unknown/);
    bad((c) => void (c.xlsr.dModel = 8192, c.xlsr.ffnDim = 65536, c.xlsr.layers = 256, c.xlsr.heads = 16, c.xlsr.posConvGroups = 16), /parameters exceed the ceiling/);
  });

  it('a stored spoofscan.config of null or a list is a clear error through loadWeights', async () => {
    const { encodeSafetensors } = await import('../../models/io/index.ts');
    for (const cfg of ['null', '[1,2,3]', '"x"', '{"arch":"xlsr"}']) {
      const bytes = encodeSafetensors([{ name: 'xlsr.final_norm.weight', dtype: 'F32', shape: [2], data: Float32Array.of(1, 1) }], { 'spoofscan.config': cfg });
      await expect(loadWeights(bufferSource(bytes, 'c.safetensors'))).rejects.toThrow(/^c\.safetensors: model config: /);
    }
  });
});

// ---------- score files, priors, calibrations ----------

describe('fuzz: score files and calibration numbers', () => {
  const token = fc.oneof(
    fc.constantFrom('LA_E_1', 'LA_E_2', 'bonafide', 'spoof', '-', 'nan', 'NaN', 'inf', '-Infinity', '1e309', '1e308', '0x10', '', '#', '# score_type=llr', '\t', 'é', '\u0000'),
    fc.double().map(String),
    fc.string({ maxLength: 8 }),
  );
  const line = fc.array(token, { maxLength: 5 }).map((t) => t.join(' '));

  it('generated score files — 1000 cases: a MetricsInputError naming the file, or finite scores', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        try {
          const f = parseDetectionScores(lines, 'scores.txt');
          for (const s of f.scores) expect(Number.isFinite(s)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(MetricsInputError);
          expect((e as Error).message).toContain('scores.txt');
        }
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  it('degenerate priors and calibrations are errors naming the file, never a silent NaN', () => {
    expect(() => parsePrior('1e-300')).toThrow(/prior 1e-300 is degenerate/);
    expect(() => parsePrior('0.9999999999')).toThrow(/degenerate/);
    expect(() => fitCalibration([1, 2], [0, 3], { prior: 1e-300 })).toThrow(/prior must be in/);
    expect(() => parseCalibrationJson('{"a": 1, "c": 1e308}', 'cal.json')).toThrow(/^cal\.json: a = 1, c = 1e\+308 is not a usable calibration/);
    const cal = parseCalibrationJson('{"a": 1e12, "c": 0}', 'cal2.json');
    expect(() => applyCalibration([1e300], cal)).toThrow(/^cal2\.json: the calibration llr = .* maps score 1e\+300 to Infinity/);
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 20 }), fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 20 }), fc.double({ min: 1e-6, max: 1 - 1e-6, noNaN: true }), (b, s, prior) => {
        try {
          const c = fitCalibration(b, s, { prior });
          expect(Number.isFinite(c.a) && Number.isFinite(c.c) && Number.isFinite(c.objective)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(MetricsInputError);
        }
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});
