// Full-size XLS-R 300M pieces against torchaudio in float64 (spec model-xlsr.md §9, last sentence), to catch
// size-dependent tiling bugs the tiny configuration cannot reach: one pre-LN encoder layer (d 1024, 16 heads,
// FFN 4096) and the positional conv stage (k 128, 16 groups of 64 channels, weight norm over dim 2), on T = 201.
// Weights and inputs are recomputed from the hash of scripts/fixtures/xlsr_fullsize_fixtures.py (hashUniform of
// nes2net-helpers.ts), so test/fixtures/xlsr/fullsize.* holds outputs only. The parameters run through the real
// XlsrModel.layer / XlsrModel.positional code.
// Measured on SwiftShader (max|a − e| / max|e|): see the error in each test name (XLSR_PRINT_ERRORS=1 prints them).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backward, initEngine, keep, requiresGrad, tensor, tidy, type Tensor } from '../../engine/node.ts';
import { mul, sum } from '../../kernels/index.ts';
import { toCanonical } from '../../models/io/mapping.ts';
import { XLSR_300M, xlsrParams } from '../../models/xlsr/config.ts';
import { XlsrModel, type XlsrConfig, type XlsrRun } from '../../models/xlsr/index.ts';
import { hashUniform } from './nes2net-helpers.ts';
import { relErr, XLSR_FIXTURES, type Golden } from './xlsr-helpers.ts';

interface Fixture {
  config: { d: number; heads: number; ffn: number; kernel: number; groups: number; T: number };
  keys: string[];
  tensors: Map<string, Golden>;
}

function readFixture(): Fixture {
  const meta = JSON.parse(gunzipSync(readFileSync(join(XLSR_FIXTURES, 'fullsize.json.gz'))).toString('utf8')) as Omit<Fixture, 'tensors'> & {
    tensors: Record<string, { shape: number[]; offset: number; count: number }>;
  };
  const raw = gunzipSync(readFileSync(join(XLSR_FIXTURES, 'fullsize.bin.gz')));
  // Stored as 4 byte planes (byte 0 of every float, then byte 1, ...): interleave them back.
  const n = raw.length / 4;
  const bytes = new Uint8Array(raw.length);
  for (let j = 0; j < 4; j++) for (let i = 0; i < n; i++) bytes[4 * i + j] = raw[j * n + i];
  const all = new Float32Array(bytes.buffer);
  const tensors = new Map(Object.entries(meta.tensors).map(([k, v]) => [k, { shape: v.shape, data: all.subarray(v.offset, v.offset + v.count) }]));
  return { ...meta, tensors };
}

const fx = readFixture();
const ref = (name: string): Golden => {
  const t = fx.tensors.get(name);
  if (!t) throw new Error(`${name} missing from test/fixtures/xlsr/fullsize.* (re-run scripts/fixtures/xlsr_fullsize_fixtures.py)`);
  return t;
};

// The 300M encoder with one layer; the fixture gives the tensors the two stages read (the rest are zeros, unused).
const cfg: XlsrConfig = { ...XLSR_300M, layers: 1 };
const { T, d } = fx.config;

/** The generator's parameter values: key = index in the stored key list (Hugging Face names). */
function hashParams(): Map<string, Float32Array> {
  const specs = new Map(xlsrParams(cfg).map((s) => [s.name, s]));
  const tensors = new Map<string, Float32Array>();
  fx.keys.forEach((key, index) => {
    const name = toCanonical('huggingface', key);
    const spec = name ? specs.get(name) : undefined;
    if (!name || !spec) throw new Error(`fixture key ${key} is not an XLS-R parameter`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const u = hashUniform(n, index);
    const v = new Float32Array(n);
    const a = Math.sqrt(3 / (n / spec.shape[0]));
    for (let i = 0; i < n; i++) {
      if (key.includes('layer_norm') && key.endsWith('weight')) v[i] = 1 + 0.2 * u[i];
      else if (key.endsWith('weight_g')) v[i] = 1 + 0.5 * u[i];
      else if (key.endsWith('bias')) v[i] = 0.1 * u[i];
      else v[i] = u[i] * a;
    }
    tensors.set(name, v);
  });
  return tensors;
}

const hashInput = (key: number, scale: number): Tensor =>
  tensor(Float32Array.from(hashUniform(T * d, key), (u) => u * scale), [1, T, d]);

const run: XlsrRun = { B: 1, T, training: false, seed: 0, step: 0, frameLengths: [T], keyPadding: null, frameMask: null };
let model: XlsrModel;
/** Canonical names the fixture supplies. */
let read: Set<string>;
const param = (name: string): Tensor => model.namedParameters({ prefix: 'xlsr.' }).get(`xlsr.${name}`)!;

beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
  const values = hashParams();
  read = new Set(values.keys());
  model = XlsrModel.fromConfig(cfg, { value: (path, shape) => values.get(path) ?? new Float32Array(shape.reduce((a, b) => a * b, 1)) }).setFrozen('all');
});
afterAll(() => model?.dispose());

describe('XLS-R full size (d 1024, T 201) vs torchaudio, hash weights', () => {
  it('fixture and parameters: 20,985,984 values in the layer and the pos conv, shapes as in the 300M layout', () => {
    expect(fx.config).toEqual({ d: 1024, heads: 16, ffn: 4096, kernel: 128, groups: 16, T: 201 });
    expect([...model.namedParameters({ prefix: 'xlsr.' })].filter(([n]) => read.has(n)).reduce((a, [, t]) => a + t.size, 0)).toBe(20_985_984);
    expect(param('pos_conv.weight_g').shape).toEqual([1, 1, 128]);
    expect(param('pos_conv.weight_v').shape).toEqual([1024, 64, 128]);
  });

  it('one pre-LN layer: output within 1e-4 (measured 1.8e-6); gradients of sum(y·R) w.r.t. the input and the layer vectors within 1e-3 (measured ≤ 2.4e-6)', async () => {
    const errs: [string, number][] = [];
    const x = requiresGrad(hashInput(9999, Math.sqrt(3)));
    const R = hashInput(9997, 1);
    const vectors = [...fx.tensors.keys()].filter((k) => k.startsWith('layer.grad.encoder.'));
    expect(vectors).toHaveLength(10);
    const params = vectors.map((k) => model.namedParameters({ prefix: 'xlsr.' }).get(toCanonical('huggingface', k.slice('layer.grad.'.length))!)!);
    for (const p of params) requiresGrad(p);
    const y = tidy(() => {
      const out = model.layer(0, x, run);
      backward(sum(mul(out, R)));
      return out;
    });
    expect(y.shape).toEqual([1, T, d]);
    errs.push(['y', relErr(await y.data(), ref('layer.y').data)]);
    const gradErrs: [string, number][] = [['input', relErr(await x.grad!.data(), ref('layer.grad.input').data)]];
    for (const [i, k] of vectors.entries()) {
      const gp = params[i].grad!;
      // The key bias gets no gradient in exact arithmetic (softmax ignores a per-row shift): check it is tiny.
      if (k.includes('k_proj')) expect(Math.max(...(await gp.data()).map(Math.abs)), k).toBeLessThan(1e-4);
      else gradErrs.push([k, relErr(await gp.data(), ref(k).data)]);
      gp.dispose();
      params[i].grad = null;
      requiresGrad(params[i], false);
    }
    if (process.env.XLSR_PRINT_ERRORS) console.log([...errs, ...gradErrs].map(([k, e]) => `${k} ${e.toExponential(2)}`).join('\n'));
    for (const [k, e] of errs) expect(e, k).toBeLessThan(1e-4);
    for (const [k, e] of gradErrs) expect(e, k).toBeLessThan(1e-3);
    for (const t of [y, x.grad!, x, R]) t.dispose();
  });

  it('positional conv stage x + GELU(conv(x)): output within 1e-4 (measured 1.9e-6); gradients of weight_g and bias within 1e-3 (measured ≤ 8.5e-7)', async () => {
    const x = hashInput(9998, Math.sqrt(3));
    const R = hashInput(9996, 1);
    const g = param('pos_conv.weight_g');
    const b = param('pos_conv.bias');
    requiresGrad(g);
    requiresGrad(b);
    const y = tidy(() => {
      const out = model.positional(x, run);
      backward(sum(mul(out, R)));
      return out;
    });
    const errs: [string, number][] = [
      ['y', relErr(await y.data(), ref('pos.y').data)],
      ['weight_g', relErr(await g.grad!.data(), ref('pos.grad.weight_g').data)],
      ['bias', relErr(await b.grad!.data(), ref('pos.grad.bias').data)],
    ];
    if (process.env.XLSR_PRINT_ERRORS) console.log(errs.map(([k, e]) => `${k} ${e.toExponential(2)}`).join('\n'));
    expect(errs[0][1], 'y').toBeLessThan(1e-4);
    for (const [k, e] of errs.slice(1)) expect(e, k).toBeLessThan(1e-3);
    for (const t of [y, g.grad!, b.grad!, x, R]) t.dispose();
    g.grad = b.grad = null;
  });
});
