// Buffer pool with size classes. A released buffer waits in `pending` until the commands that used
// it have been submitted; only then may a later op record a write into it.

// GPUBufferUsage STORAGE | COPY_SRC | COPY_DST as numbers: the GPU globals may not exist yet at import time in Node.
const STORAGE_USAGE = 0x80 | 0x04 | 0x08;

/** Size classes: 256 B minimum, then each power of two and the midpoint 1.5·2^k. Waste is at most 33 %. */
export function sizeClass(bytes: number): number {
  const n = Math.max(256, Math.ceil(bytes / 16) * 16);
  let p = 256;
  while (p < n) {
    if (p + p / 2 >= n) return p + p / 2;
    p *= 2;
  }
  return p;
}

export interface PoolStats {
  /** Bytes held by live tensors (size-class bytes). */
  liveBytes: number;
  peakLiveBytes: number;
  /** Bytes sitting in free lists or waiting for submission. */
  pooledBytes: number;
  /** Total bytes of GPU buffers allocated and not destroyed. */
  allocatedBytes: number;
  buffersCreated: number;
  reuses: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private readonly classOf = new WeakMap<GPUBuffer, number>();
  private stats: PoolStats = { liveBytes: 0, peakLiveBytes: 0, pooledBytes: 0, allocatedBytes: 0, buffersCreated: 0, reuses: 0 };

  constructor(private readonly device: GPUDevice, private readonly maxBufferSize: number) {}

  acquire(bytes: number, what: string): GPUBuffer {
    let size = sizeClass(bytes);
    // Near the adapter's maximum the size class may overshoot it: use the exact size there.
    if (size > this.maxBufferSize) size = Math.ceil(bytes / 16) * 16;
    if (size > this.maxBufferSize) {
      throw new Error(`${what}: needs a ${bytes}-byte buffer, larger than this adapter's maxBufferSize (${this.maxBufferSize})`);
    }
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.stats.reuses++;
      this.stats.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: STORAGE_USAGE, label: what });
      this.classOf.set(buf, size);
      this.stats.allocatedBytes += size;
      this.stats.buffersCreated++;
    }
    this.stats.liveBytes += size;
    if (this.stats.liveBytes > this.stats.peakLiveBytes) this.stats.peakLiveBytes = this.stats.liveBytes;
    return buf;
  }

  /** The buffer's last use may still be in the open command encoder: it is reusable after the next submit. */
  release(buf: GPUBuffer): void {
    const size = this.classOf.get(buf) ?? buf.size;
    this.stats.liveBytes -= size;
    this.stats.pooledBytes += size;
    this.pending.push(buf);
  }

  /** Called right after a submit: everything released before it can now be handed out again. */
  onSubmitted(): void {
    for (const buf of this.pending) {
      const size = this.classOf.get(buf) ?? buf.size;
      let list = this.free.get(size);
      if (!list) this.free.set(size, (list = []));
      list.push(buf);
    }
    this.pending = [];
  }

  /** Destroys every free buffer (e.g. between benchmark cases). */
  trim(): void {
    for (const [size, list] of this.free) {
      for (const b of list) b.destroy();
      this.stats.allocatedBytes -= size * list.length;
      this.stats.pooledBytes -= size * list.length;
    }
    this.free.clear();
  }

  resetPeak(): void {
    this.stats.peakLiveBytes = this.stats.liveBytes;
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }
}
