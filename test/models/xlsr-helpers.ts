// Shared by the XLS-R tests: the golden tensors written by scripts/fixtures/xlsr_fixtures.py (torchaudio,
// float64) and the tiny model loaded from the fixture checkpoint.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { fileSource } from '../../models/io/file-source.node.ts';
import { loadXlsr, type XlsrModel } from '../../models/xlsr/index.ts';

export const XLSR_FIXTURES = fileURLToPath(new URL('../fixtures/xlsr/', import.meta.url));
export const TINY_CKPT = join(XLSR_FIXTURES, 'tiny-hf', 'pytorch_model.bin');

export interface Golden {
  shape: number[];
  data: Float32Array;
}

let cache: Map<string, Golden> | null = null;

export function golden(): Map<string, Golden> {
  if (cache) return cache;
  const manifest = JSON.parse(gunzipSync(readFileSync(join(XLSR_FIXTURES, 'golden.json.gz'))).toString('utf8')) as {
    tensors: Record<string, { shape: number[]; offset: number; count: number }>;
  };
  const raw = gunzipSync(readFileSync(join(XLSR_FIXTURES, 'golden.bin.gz')));
  const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  cache = new Map(Object.entries(manifest.tensors).map(([k, v]) => [k, { shape: v.shape, data: all.subarray(v.offset, v.offset + v.count) }]));
  return cache;
}

export function g(name: string): Golden {
  const t = golden().get(name);
  if (!t) throw new Error(`golden tensor ${name} missing from test/fixtures/xlsr (re-run scripts/fixtures/xlsr_fixtures.py)`);
  return t;
}

export async function loadTiny(): Promise<XlsrModel> {
  const src = await fileSource(TINY_CKPT);
  try {
    return (await loadXlsr(src)).model;
  } finally {
    await src.close();
  }
}

/** max |a − b| / max |b|: one relative error per tensor (robust to entries near zero). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m > 0 ? d / m : d;
}

/** Rows [0, n) of the time axis of a [B, T, C] array, batch row b. */
export function frames(data: ArrayLike<number>, shape: readonly number[], b: number, n: number): Float32Array {
  const [, T, C] = shape;
  return Float32Array.from({ length: n * C }, (_, i) => data[b * T * C + i]);
}
