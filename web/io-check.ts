// Weight files read in the browser (test/browser/pipeline.test.ts runs the same code in Node and compares):
// a safetensors file over HTTP Range requests (urlSource) and as a Blob (blobSource), every tensor read.
import { blobSource, openCheckpoint, urlSource, type ByteSource } from '../models/io/index.ts';

export interface IoCheckTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Σ value and Σ value·(index + 1) over the tensor, as float64: catches wrong offsets and orders. */
  sum: number;
  weighted: number;
}

export async function summariseCheckpoint(source: ByteSource): Promise<IoCheckTensor[]> {
  const ck = await openCheckpoint(source);
  const out: IoCheckTensor[] = [];
  for (const t of ck.tensors) {
    const v = await t.read();
    const data = v.data as ArrayLike<number | bigint>;
    let sum = 0;
    let weighted = 0;
    for (let i = 0; i < data.length; i++) {
      const x = Number(data[i]);
      sum += x;
      weighted += x * (i + 1);
    }
    out.push({ name: t.name, dtype: t.dtype, shape: t.shape, sum, weighted });
  }
  return out;
}

/** The same file through both browser sources. */
export async function runIoCheck(url: string): Promise<{ range: IoCheckTensor[]; blob: IoCheckTensor[]; size: number }> {
  const ranged = await urlSource(url);
  const blob = await (await fetch(url)).blob();
  return { range: await summariseCheckpoint(ranged), blob: await summariseCheckpoint(blobSource(blob, url)), size: ranged.size };
}
