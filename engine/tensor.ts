// Tensors: a shape, a dtype and a reference-counted GPU storage. Reshape views share storage;
// dispose() drops this tensor's reference and the buffer returns to the pool when none are left.
import { f16BitsToF32, f32ToF16Bits } from './f16.ts';
import { getEngine, type Engine } from './runtime.ts';
import { SCOPED, trackInScope } from './scope.ts';
import { formatShape, sizeOf } from './shape.ts';

export type DType = 'f32' | 'i32' | 'u32' | 'f16';
export type TypedData = Float32Array | Int32Array | Uint32Array;

/** A tensor's gradient rule: the gradients of its inputs from its own gradient (null: no gradient). */
export type BackwardFn = (grad: Tensor, saved: Tensor[]) => (Tensor | null)[];

/** One recorded op on the autograd tape (engine/autograd.ts records and walks them; declared here, next to
 *  the Tensor that points at it, so that tensor.ts does not import autograd.ts). */
export interface GradNode {
  readonly id: number;
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly outputId: number;
  saved: Tensor[];
  backward: BackwardFn | null;
}

export const BYTES: Record<DType, number> = { f32: 4, i32: 4, u32: 4, f16: 2 };

export class Storage {
  refs = 1;
  /** Bumped whenever a kernel writes this storage (launch() outputs), so derived values can be cached safely. */
  version = 0;
  constructor(readonly engine: Engine, readonly buffer: GPUBuffer, readonly bytes: number) {}

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0) this.engine.pool.release(this.buffer);
  }
}

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  requiresGrad = false;
  /** Accumulated gradient of a leaf after backward(). */
  grad: Tensor | null = null;
  /** The autograd node that produced this tensor, if it was recorded. */
  gradFn: GradNode | null = null;
  name?: string;
  private storageRef: Storage | null;

  constructor(readonly shape: readonly number[], readonly dtype: DType, storage: Storage, track = true) {
    this.size = sizeOf(shape);
    this.storageRef = storage;
    if (track) trackInScope(this);
  }

  /** Brand that lets tidy() (engine/scope.ts) recognise tensors. */
  get [SCOPED](): true {
    return true;
  }

  get disposed(): boolean {
    return this.storageRef === null;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The storage; throws a clear error after dispose. */
  storageFor(op: string): Storage {
    if (!this.storageRef) throw new Error(`${op}: tensor ${this.describe()} was used after dispose()`);
    return this.storageRef;
  }

  bufferFor(op: string): GPUBuffer {
    return this.storageFor(op).buffer;
  }

  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${formatShape(this.shape)} ${this.dtype}`;
  }

  toString(): string {
    return `Tensor(${this.describe()}${this.disposed ? ', disposed' : ''})`;
  }

  dispose(): void {
    if (!this.storageRef) return;
    this.storageRef.release();
    this.storageRef = null;
  }

  /** A tensor sharing this one's storage under another shape (no copy). Not recorded by autograd. */
  view(shape: readonly number[], track = true): Tensor {
    const storage = this.storageFor('view').retain();
    return new Tensor(shape, this.dtype, storage, track);
  }

  /** Reads the values back to the host (flushes pending work). */
  async data(): Promise<TypedData> {
    const engine = this.storageFor('data').engine;
    const bytes = this.size * BYTES[this.dtype];
    const raw = await engine.read('data', this.bufferFor('data'), 0, bytes);
    switch (this.dtype) {
      case 'f32':
        return new Float32Array(raw);
      case 'i32':
        return new Int32Array(raw);
      case 'u32':
        return new Uint32Array(raw);
      case 'f16':
        return f16BitsToF32(new Uint16Array(raw));
    }
  }

  /** Readback as a plain number array (convenient in tests). */
  async toArray(): Promise<number[]> {
    return Array.from(await this.data());
  }

  /** Readback of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor ${this.describe()} has ${this.size} elements, not 1`);
    return (await this.data())[0];
  }
}

/** A new tensor's storage on `engine` (ops pass the engine of their inputs, see engineOf). */
export function allocate(shape: readonly number[], dtype: DType, op: string, engine: Engine): Tensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid shape ${formatShape(shape)}`);
  }
  const bytes = Math.max(4, sizeOf(shape) * BYTES[dtype]);
  const buffer = engine.pool.acquire(bytes, op);
  return new Tensor(shape, dtype, new Storage(engine, buffer, bytes));
}

/**
 * The engine that owns `tensors` (the current engine when there are none). Tensors of two engines cannot
 * meet in one op: their buffers belong to different devices, so this throws naming the op and both engines.
 */
export function engineOf(op: string, tensors: readonly Tensor[]): Engine {
  if (tensors.length === 0) return getEngine();
  const first = tensors[0];
  const engine = first.storageFor(op).engine;
  for (const t of tensors) {
    const e = t.storageFor(op).engine;
    if (e !== engine) {
      throw new Error(
        `${op}: tensors of two engines in one op: ${first.describe()} is on ${engine.label}, ${t.describe()} is on ${e.label} (read one back and upload it with tensor(…, engine) to move it)`,
      );
    }
  }
  return engine;
}

function checkedData(values: ArrayLike<number>, shape: readonly number[], dtype: DType, engine: Engine): ArrayBufferView {
  const n = sizeOf(shape);
  if (values.length !== n) throw new Error(`tensor(): ${values.length} values given for shape ${formatShape(shape)} (${n} elements)`);
  switch (dtype) {
    case 'f32':
      return values instanceof Float32Array ? values : Float32Array.from(values);
    case 'i32':
      return values instanceof Int32Array ? values : Int32Array.from(values);
    case 'u32':
      return values instanceof Uint32Array ? values : Uint32Array.from(values);
    case 'f16':
      if (!engine.hasF16()) throw new Error(`tensor(): dtype f16 needs the adapter feature 'shader-f16', which ${engine.describe()} lacks`);
      return f32ToF16Bits(values);
  }
}

/** A tensor from host values (a typed array or number array) of the given shape, on `engine` (default: the current one). */
export function tensor(values: ArrayLike<number>, shape?: readonly number[], dtype?: DType, engine: Engine = getEngine()): Tensor {
  const dt: DType = dtype ?? (values instanceof Int32Array ? 'i32' : values instanceof Uint32Array ? 'u32' : 'f32');
  const sh = shape ?? [values.length];
  const data = checkedData(values, sh, dt, engine);
  const t = allocate(sh, dt, 'tensor', engine);
  if (data.byteLength > 0) {
    // writeBuffer needs a multiple of 4 bytes: pad odd f16 counts.
    const padded = data.byteLength % 4 === 0 ? data : padTo4(data);
    engine.write(t.bufferFor('tensor'), 0, padded);
  }
  return t;
}

function padTo4(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

export function scalar(value: number, dtype: DType = 'f32', engine: Engine = getEngine()): Tensor {
  return tensor([value], [], dtype, engine);
}

export function full(shape: readonly number[], value: number, dtype: DType = 'f32', engine: Engine = getEngine()): Tensor {
  const n = sizeOf(shape);
  const data = dtype === 'i32' ? new Int32Array(n) : dtype === 'u32' ? new Uint32Array(n) : new Float32Array(n);
  data.fill(value);
  return tensor(data, shape, dtype, engine);
}

export const zeros = (shape: readonly number[], dtype: DType = 'f32', engine: Engine = getEngine()): Tensor => full(shape, 0, dtype, engine);
export const ones = (shape: readonly number[], dtype: DType = 'f32', engine: Engine = getEngine()): Tensor => full(shape, 1, dtype, engine);

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
