// The engine runtime: owns the device, the buffer pool, the pipeline cache and the open command
// encoder. Ops record dispatches into one compute pass; the batch is submitted every
// `maxDispatchesPerSubmit` dispatches and before any readback.
import { describeAdapter, type AdapterSummary, type OpenedDevice } from './device.ts';
import type { KernelOptions } from './kernel-options.ts';
import { BufferPool, type PoolStats } from './pool.ts';
import { adaptWgsl } from './wgsl-compat.ts';

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment is 256 on every adapter we target
const UNIFORM_CAPACITY = 64; // dispatches per batch that the uniform arena holds
export const MAX_UNIFORM_WORDS = UNIFORM_SLOT / 4;

/** A texture view bound where a kernel declares a texture (read through textureLoad, or a write-only storage texture). */
export interface TextureBinding {
  textureView: GPUTextureView;
  texture: GPUTexture;
}
/** What one binding of a dispatch holds: a storage buffer or a texture view. */
export type Binding = GPUBuffer | TextureBinding;

const isTexture = (b: Binding): b is TextureBinding => 'textureView' in b;

/** Texture sizes are rounded up to these multiples, so calls with nearby shapes share one scratch texture. */
const SCRATCH_ROUND = 64;
/** Scratch textures above this many bytes in all are dropped (after a flush) before a new one is made. */
const SCRATCH_BUDGET = 512 * 2 ** 20;

export interface DispatchSpec {
  /** Op name shown in errors ("matmul", "add", ...). */
  op: string;
  /** Pipeline cache key: kernel name plus shape class; sizes travel in uniforms. */
  key: string;
  /** WGSL source, only built on a cache miss. */
  source: () => string;
  /** Storage buffers (or texture views) in binding order (0..n-1); the uniform block, if any, is binding n. */
  buffers: Binding[];
  uniforms?: Uint32Array;
  workgroups: [number, number, number];
}

export interface EngineStats {
  dispatches: number;
  submits: number;
  pipelinesCompiled: number;
  compileMs: number;
  readbacks: number;
}

export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

export interface EngineOptions {
  /** Kernel choices and tuning for this engine (engine/kernel-options.ts). */
  kernelOptions?: KernelOptions;
  debug?: boolean;
}

let engineCount = 0;

export class Engine {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  readonly pool: BufferPool;
  /** Names this engine in errors: adapter kind, a per-process index and the device ("swiftshader#2 (…)"). */
  readonly label: string;
  /** Read by kernels/ when it picks a kernel; change with setKernelOptions. */
  kernelOptions: Readonly<KernelOptions>;
  maxDispatchesPerSubmit = 32;
  /**
   * With debug on (SPOOFSCAN_DEBUG=1), every dispatch is submitted alone so an error names exactly one op,
   * and the pipeline cache checks that a key never stands for two different WGSL sources.
   */
  debug = false;
  readonly stats: EngineStats = { dispatches: 0, submits: 0, pipelinesCompiled: 0, compileMs: 0, readbacks: 0 };

  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** WGSL per pipeline key, kept only in debug mode. */
  private readonly sources = new Map<string, string>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchOps: string[] = [];
  private readonly uniformArena: GPUBuffer;
  private readonly uniformData: Uint32Array<ArrayBuffer>;
  private uniformUsed = 0;
  private pendingErrors: Promise<string | null>[] = [];
  private lostReason: string | null = null;
  private readonly stagingFree: GPUBuffer[] = [];
  private readonly scratch = new Map<string, { texture: GPUTexture; binding: TextureBinding }>();
  private scratchBytes = 0;

  constructor(opened: OpenedDevice, opts: EngineOptions = {}) {
    this.device = opened.device;
    this.adapter = opened.adapter;
    const a = opened.adapter;
    this.label = `${a.kind}#${++engineCount} (${a.device || a.description || a.vendor || 'unknown device'})`;
    this.kernelOptions = { ...opts.kernelOptions };
    this.debug = opts.debug ?? false;
    this.pool = new BufferPool(this.device, this.device.limits.maxBufferSize);
    this.uniformArena = this.device.createBuffer({
      size: UNIFORM_SLOT * UNIFORM_CAPACITY,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'uniform arena',
    });
    this.uniformData = new Uint32Array(this.uniformArena.size / 4);
    void this.device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  describe(): string {
    return describeAdapter(this.adapter);
  }

  /** Merges `patch` into this engine's kernel options (an undefined field returns to the adapter default). */
  setKernelOptions(patch: Partial<KernelOptions>): void {
    const next: KernelOptions = { ...this.kernelOptions, ...patch };
    for (const k of Object.keys(next) as (keyof KernelOptions)[]) if (next[k] === undefined) delete next[k];
    this.kernelOptions = next;
  }

  hasF16(): boolean {
    return this.device.features.has('shader-f16');
  }

  private checkAlive(op: string): void {
    if (this.lostReason !== null) throw new GpuError(`${op}: the WebGPU device was lost (${this.lostReason})`);
  }

  private getPipeline(spec: DispatchSpec): GPUComputePipeline {
    let p = this.pipelines.get(spec.key);
    if (p && !this.debug) return p;
    const source = spec.source();
    if (this.debug) {
      const seen = this.sources.get(spec.key);
      if (seen !== undefined && seen !== source) {
        throw new GpuError(`${spec.op}: pipeline key '${spec.key}' stands for two different WGSL sources (a kernel's key misses a parameter its source depends on)`);
      }
      this.sources.set(spec.key, source);
      if (p) return p;
    }
    const t0 = performance.now();
    const code = adaptWgsl(source, this.adapter);
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: spec.key });
    p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: spec.key });
    this.watch(`${spec.op} (compiling kernel ${spec.key})`);
    this.stats.pipelinesCompiled++;
    this.stats.compileMs += performance.now() - t0;
    this.pipelines.set(spec.key, p);
    return p;
  }

  /** Pops the innermost error scope; a validation error surfaces (with `what`) at the next sync point. */
  private watch(what: string): void {
    this.pendingErrors.push(
      this.device.popErrorScope().then((e) => (e ? `WebGPU error in ${what}: ${e.message}` : null)),
    );
  }

  dispatch(spec: DispatchSpec): void {
    this.checkAlive(spec.op);
    const [x, y, z] = spec.workgroups;
    const maxDim = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new GpuError(`${spec.op}: dispatch ${x}×${y}×${z} exceeds maxComputeWorkgroupsPerDimension ${maxDim}`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const pipeline = this.getPipeline(spec);
    if (!this.pass || this.uniformUsed >= Math.min(this.maxDispatchesPerSubmit, UNIFORM_CAPACITY)) {
      if (this.pass) this.flush();
      this.openBatch();
    }
    // Pool size classes round up (1.5 GiB → 2 GiB): bind at most the binding limit, since a tensor
    // that fits a binding lies within its first maxStorageBufferBindingSize bytes.
    const maxBinding = this.device.limits.maxStorageBufferBindingSize & ~3;
    const entries: GPUBindGroupEntry[] = spec.buffers.map((b, binding) => ({
      binding,
      resource: isTexture(b) ? b.textureView : b.size > maxBinding ? { buffer: b, size: maxBinding } : { buffer: b },
    }));
    if (spec.uniforms) {
      if (spec.uniforms.length > MAX_UNIFORM_WORDS) throw new GpuError(`${spec.op}: uniform block over ${UNIFORM_SLOT} bytes`);
      const offset = this.uniformUsed * UNIFORM_SLOT;
      this.uniformData.set(spec.uniforms, offset / 4);
      entries.push({ binding: spec.buffers.length, resource: { buffer: this.uniformArena, offset, size: UNIFORM_SLOT } });
    }
    this.uniformUsed++;
    this.device.pushErrorScope('validation');
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: spec.op });
    this.watch(`op '${spec.op}' (binding its buffers)`);
    const pass = this.pass!;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.batchOps.push(spec.op);
    this.stats.dispatches++;
    if (this.debug) this.flush();
  }

  private openBatch(): void {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.encoder = this.device.createCommandEncoder();
    this.pass = this.encoder.beginComputePass();
    this.batchOps = [];
    this.uniformUsed = 0;
  }

  /** Records encoder commands between two compute passes of the open batch (copies cannot go inside a pass). */
  private betweenPasses(op: string, record: (encoder: GPUCommandEncoder) => void): void {
    if (!this.pass) this.openBatch();
    this.pass!.end();
    record(this.encoder!);
    this.pass = this.encoder!.beginComputePass();
    this.batchOps.push(op);
  }

  /** Records a buffer copy outside the compute pass (ends the pass; a new one opens on the next dispatch). */
  copy(op: string, src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.checkAlive(op);
    this.betweenPasses(op, (e) => e.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes));
  }

  /**
   * Records a copy of `rows` rows of `width` texels (rgba32float, 16 bytes each) from `src` at byte
   * `offset` (a multiple of 16), rows `bytesPerRow` apart (a multiple of 256), into the top-left corner of
   * `dst` (or `originY` rows down). Ends the pass like copy().
   */
  copyToTexture(op: string, src: GPUBuffer, offset: number, bytesPerRow: number, dst: TextureBinding, width: number, rows: number, originY = 0): void {
    this.checkAlive(op);
    this.betweenPasses(op, (e) => e.copyBufferToTexture({ buffer: src, offset, bytesPerRow, rowsPerImage: rows }, { texture: dst.texture, origin: [0, originY] }, [width, rows, 1]));
  }

  /** Ends the open pass and submits the batch. Released buffers become reusable after this. */
  flush(): void {
    if (!this.pass || !this.encoder) return;
    this.pass.end();
    const cmd = this.encoder.finish();
    if (this.uniformUsed > 0) this.device.queue.writeBuffer(this.uniformArena, 0, this.uniformData, 0, this.uniformUsed * (UNIFORM_SLOT / 4));
    this.device.queue.submit([cmd]);
    this.stats.submits++;
    const ops = summariseOps(this.batchOps);
    this.watch(`a batch of ops [${ops}]`);
    this.watch(`a batch of ops [${ops}] (out of GPU memory)`);
    this.pass = null;
    this.encoder = null;
    this.pool.onSubmitted();
  }

  /** Throws the first WebGPU error reported since the last check, naming the op or batch. */
  async checkErrors(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    const messages = (await Promise.all(pending)).filter((m): m is string => m !== null);
    if (messages.length) throw new GpuError(messages.join('\n'));
    this.checkAlive('sync');
  }

  /** Uploads host data into a buffer (queued before any later submit). */
  write(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.device.queue.writeBuffer(buffer, offset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  }

  /** Reads `bytes` from `buffer` at `offset`: flushes, copies to a staging buffer, maps it. */
  async read(op: string, buffer: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.checkAlive(op);
    // Nothing to copy: some backends (Dawn on OpenGL ES) reject mapping an empty range.
    if (bytes === 0) return new ArrayBuffer(0);
    const padded = Math.ceil(bytes / 4) * 4;
    const staging = this.takeStaging(padded);
    this.betweenPasses(op, (e) => e.copyBufferToBuffer(buffer, offset, staging, 0, padded));
    this.flush();
    this.stats.readbacks++;
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, padded);
    } catch (e) {
      await this.checkErrors();
      throw new GpuError(`${op}: reading back ${bytes} bytes failed: ${(e as Error).message}`);
    }
    const out = staging.getMappedRange(0, padded).slice(0, bytes);
    staging.unmap();
    this.stagingFree.push(staging);
    await this.checkErrors();
    return out;
  }

  /**
   * A 2-D rgba32float texture of at least width × height texels for `slot` (say 'matmul:A'), usable as a
   * write-only storage texture and as a sampled texture, kept for reuse: ops record into one command
   * stream, and WebGPU orders a dispatch that writes it before the next that reads or rewrites it. Sizes
   * round up to multiples of 64; past a 512 MiB total the others are dropped after a flush.
   */
  scratchTexture(slot: string, width: number, height: number): TextureBinding {
    const max = this.device.limits.maxTextureDimension2D;
    if (width > max || height > max) throw new GpuError(`${slot}: a ${width}×${height} texture exceeds maxTextureDimension2D ${max}`);
    const w = Math.min(max, Math.ceil(width / SCRATCH_ROUND) * SCRATCH_ROUND);
    const h = Math.min(max, Math.ceil(height / SCRATCH_ROUND) * SCRATCH_ROUND);
    const key = `${slot}:${w}x${h}`;
    const known = this.scratch.get(key);
    if (known) return known.binding;
    const bytes = w * h * 16;
    if (this.scratchBytes + bytes > SCRATCH_BUDGET && this.scratch.size > 0) {
      // Recorded commands may still use them: submit first (destroy then waits for that work).
      this.flush();
      for (const x of this.scratch.values()) x.texture.destroy();
      this.scratch.clear();
      this.scratchBytes = 0;
    }
    const texture = this.device.createTexture({
      size: [w, h],
      format: 'rgba32float',
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
      label: key,
    });
    const binding = { textureView: texture.createView(), texture };
    this.scratch.set(key, { texture, binding });
    this.scratchBytes += bytes;
    return binding;
  }

  private takeStaging(bytes: number): GPUBuffer {
    const i = this.stagingFree.findIndex((b) => b.size >= bytes && b.size <= bytes * 4);
    if (i >= 0) return this.stagingFree.splice(i, 1)[0];
    if (this.stagingFree.length > 8) this.stagingFree.shift()!.destroy();
    return this.device.createBuffer({ size: Math.max(256, bytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
  }

  /** Waits for all submitted work (for benchmarks). */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  memory(): PoolStats {
    return this.pool.snapshot();
  }

  destroy(): void {
    this.flush();
    this.pool.trim();
    for (const t of this.scratch.values()) t.texture.destroy();
    this.scratch.clear();
    this.device.destroy();
  }
}

function summariseOps(ops: string[]): string {
  const shown = ops.slice(0, 12).join(', ');
  return ops.length > 12 ? `${shown}, … ${ops.length - 12} more` : shown;
}

let current: Engine | null = null;

export function setEngine(e: Engine | null): void {
  current = e;
}

export function getEngine(): Engine {
  if (!current) throw new Error('spoofscan engine not initialised: call `await initEngine()` (Node) or `await initBrowserEngine()` first');
  return current;
}

export function hasEngine(): boolean {
  return current !== null;
}
