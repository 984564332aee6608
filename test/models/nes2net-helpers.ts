// Loading the PyTorch goldens of scripts/fixtures/nes2net_fixtures.py, and comparing against them.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { tensor, type Tensor } from '../../engine/node.ts';
import { toCanonical, type Scheme } from '../../models/io/mapping.ts';
import { NES2NET_LA, type Nes2NetConfig } from '../../models/nes2net/config.ts';
import type { SourceValue } from '../../nn/index.ts';
import { expectClose } from '../helpers/close.ts';

export interface Arr {
  shape: number[];
  data: number[];
}

export interface GoldenCase {
  R: Arr;
  stages: Record<string, Arr>;
  grads: Record<string, Arr>;
  input_grads: Arr[];
  buffers?: Record<string, Arr>;
  num_batches_tracked?: Record<string, number>;
  probs?: Arr;
}

export interface Golden {
  config: Record<string, number | boolean>;
  params: Record<string, Arr>;
  num_batches_tracked?: Record<string, number>;
  inputs: Arr[];
  cases: Record<string, GoldenCase>;
}

const DIR = fileURLToPath(new URL('../fixtures/nes2net/', import.meta.url));

export function readGolden<T = Golden>(name: string): T {
  return JSON.parse(gunzipSync(readFileSync(`${DIR}${name}.json.gz`)).toString('utf8')) as T;
}

/** Canonical name of a fixture key (MultiAPI names without the `Nested_Res2Net_TDNN.` prefix). */
export function canonical(scheme: Scheme, key: string): string {
  const c = toCanonical(scheme, key);
  if (!c) throw new Error(`fixture key ${key} has no canonical ${scheme} name`);
  return c;
}

export function hostValues(scheme: Scheme, g: Pick<Golden, 'params' | 'num_batches_tracked'>): Map<string, SourceValue> {
  const m = new Map<string, SourceValue>();
  for (const [k, v] of Object.entries(g.params)) m.set(canonical(scheme, k), Float32Array.from(v.data));
  for (const [k, v] of Object.entries(g.num_batches_tracked ?? {})) m.set(canonical(scheme, k), v);
  return m;
}

export function nes2netConfig(g: { config: Record<string, number | boolean> }, dropoutOff = false): Nes2NetConfig {
  const c = g.config;
  const la = c.la === false ? null : { ...NES2NET_LA.la!, dropout: dropoutOff ? 0 : NES2NET_LA.la!.dropout };
  return {
    ...NES2NET_LA,
    inputDim: c.D as number,
    nesRatio: [c.n1 as number, c.n2 as number],
    nOut: (c.n_out as number | undefined) ?? 2,
    dropout: dropoutOff ? 0 : NES2NET_LA.dropout,
    la,
  };
}

export const upload = (a: Arr): Tensor => tensor(Float32Array.from(a.data), a.shape);

/**
 * |a − e| ≤ rtol·|e| + atolFrac·max|e| + floor (the scale-aware part keeps near-zero entries from dominating; the
 * floor covers tensors that are zero in exact arithmetic, e.g. a conv bias cancelled by the BatchNorm after it).
 */
export async function expectNear(t: Tensor, e: Arr, rtol: number, atolFrac: number, label: string, floor = 1e-12): Promise<void> {
  if (t.shape.join() !== e.shape.join()) throw new Error(`${label}: shape [${t.shape}] vs expected [${e.shape}]`);
  const maxAbs = e.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expectClose(await t.data(), e.data, { rtol, atol: atolFrac * maxAbs + floor }, label, e.shape);
}

/** The 32-bit hash of the full-size fixture (hash_uniform in the generator), values in [−1, 1) exact in f32. */
export function hashUniform(n: number, key: number): Float64Array {
  const out = new Float64Array(n);
  const k = Math.imul(key + 1, 0x85ebca6b) >>> 0;
  for (let i = 0; i < n; i++) {
    let h = (Math.imul(i + 1, 2654435761 | 0) >>> 0) ^ k;
    h >>>= 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    out[i] = Math.fround(h / 2 ** 31 - 1);
  }
  return out;
}
