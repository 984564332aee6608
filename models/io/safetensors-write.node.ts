// Node-only: streams a safetensors file to disk one tensor at a time, atomically (atomic-write.node.ts):
// everything goes to a temporary file in the target directory, which is fsynced and renamed over the target
// only when complete. A failed or interrupted write leaves any existing target untouched.
import { withAtomicFile } from './atomic-write.node.ts';
import type { HostDType, TensorData } from './dtypes.ts';
import { dataBytes, planSafetensors } from './safetensors.ts';

export interface WritableTensor {
  name: string;
  dtype: HostDType;
  shape: number[];
  /** The data, or a function producing it when its turn comes (so only one tensor is in memory at a time). */
  data: TensorData | (() => Promise<TensorData>);
}

export interface WriteOptions {
  onProgress?(bytesDone: number, bytesTotal: number, tensor: string): void;
}

export async function writeSafetensorsFile(
  path: string,
  tensors: readonly WritableTensor[],
  metadata?: Record<string, string> | null,
  opts: WriteOptions = {},
): Promise<{ bytes: number }> {
  const plan = planSafetensors(tensors, metadata);
  await withAtomicFile(path, async (fh) => {
    await writeAll(fh, plan.header, 0);
    for (const { index, begin, end } of plan.layout) {
      const t = tensors[index];
      const data = typeof t.data === 'function' ? await t.data() : t.data;
      await writeAll(fh, dataBytes({ name: t.name, dtype: t.dtype, data }, end - begin), begin);
      opts.onProgress?.(end, plan.totalSize, t.name);
    }
  });
  return { bytes: plan.totalSize };
}

async function writeAll(fh: import('node:fs/promises').FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.length - done, 1 << 30), position + done);
    done += bytesWritten;
  }
}
