// A model's tensors on the GPU under their canonical names (models/io/mapping.ts): trainable parameters
// (requiresGrad), BatchNorm running statistics (buffers) and the BatchNorm states built on them. Filled from
// host arrays (a weight file, a fixture) or initialised like PyTorch's defaults.
import { keep, requiresGrad, Rng, tensor, type Tensor } from '../../engine/index.ts';
import type { BatchNormState } from '../../kernels/index.ts';
import type { LoadedWeights } from '../io/index.ts';
import { toFloat32 } from '../io/index.ts';
import type { ParamSpec } from '../param-spec.ts';

/** Host values for one tensor: float data, or the integer count of a num_batches_tracked buffer. */
export type HostValue = Float32Array | number;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export class Params {
  /** Every float tensor (parameters and running statistics), by canonical name. */
  readonly tensors = new Map<string, Tensor>();
  private readonly bn = new Map<string, BatchNormState>();

  /** `get(spec)` supplies each tensor's values; undefined is allowed only for optional specs. */
  constructor(
    readonly specs: readonly ParamSpec[],
    get: (spec: ParamSpec) => HostValue | undefined,
  ) {
    const counts = new Map<string, number>();
    for (const s of specs) {
      const v = get(s);
      if (s.dtype === 'int64') {
        counts.set(s.name, typeof v === 'number' ? v : 0);
        continue;
      }
      if (!(v instanceof Float32Array)) throw new Error(`Params: no values for ${s.name} [${s.shape}]`);
      if (v.length !== sizeOf(s.shape)) throw new Error(`Params: ${s.name} has ${v.length} values, expected [${s.shape}] (${sizeOf(s.shape)})`);
      const t = keep(tensor(v, s.shape));
      t.name = s.name;
      if (s.kind === 'param') requiresGrad(t);
      this.tensors.set(s.name, t);
    }
    for (const s of specs) {
      if (!s.name.endsWith('.running_mean')) continue;
      const prefix = s.name.slice(0, -'.running_mean'.length);
      this.bn.set(prefix, {
        weight: this.get(`${prefix}.weight`),
        bias: this.get(`${prefix}.bias`),
        runningMean: this.get(`${prefix}.running_mean`),
        runningVar: this.get(`${prefix}.running_var`),
        numBatchesTracked: counts.get(`${prefix}.num_batches_tracked`) ?? 0,
      });
    }
  }

  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`model has no tensor '${name}'`);
    return t;
  }

  batchNorm(prefix: string): BatchNormState {
    const s = this.bn.get(prefix);
    if (!s) throw new Error(`model has no BatchNorm '${prefix}'`);
    return s;
  }

  /** Trainable parameters in spec order (for optimizers and gradient checks). */
  trainable(): Tensor[] {
    return this.specs.filter((s) => s.kind === 'param').map((s) => this.get(s.name));
  }

  /** Trainable parameter count (buffers excluded). */
  count(): number {
    return this.specs.filter((s) => s.kind === 'param').reduce((a, s) => a + sizeOf(s.shape), 0);
  }

  /** num_batches_tracked of every BatchNorm, by its tensor name. */
  batchCounts(): Map<string, number> {
    return new Map([...this.bn].map(([p, s]) => [`${p}.num_batches_tracked`, s.numBatchesTracked]));
  }

  /** Host copies of every tensor (for saving): float data, plus the num_batches_tracked counts. */
  async toHost(): Promise<Map<string, HostValue>> {
    const out = new Map<string, HostValue>();
    for (const s of this.specs) {
      if (s.dtype === 'int64') out.set(s.name, this.bn.get(s.name.slice(0, -'.num_batches_tracked'.length))?.numBatchesTracked ?? 0);
      else out.set(s.name, (await this.get(s.name).data()) as Float32Array);
    }
    return out;
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}

/** Reads the tensors of `specs` from loaded weights as host values (floats converted to f32). */
export async function readHostValues(weights: Pick<LoadedWeights, 'get' | 'file'>, specs: readonly ParamSpec[]): Promise<Map<string, HostValue>> {
  const out = new Map<string, HostValue>();
  for (const s of specs) {
    const m = weights.get(s.name);
    if (!m) {
      if (s.optional) continue;
      throw new Error(`${weights.file}: tensor ${s.name} [${s.shape}] is missing`);
    }
    const t = await m.read();
    if (s.dtype === 'int64') out.set(s.name, Number(t.data[0] ?? 0));
    else out.set(s.name, toFloat32(t));
  }
  return out;
}

/** U(−bound, bound) values from a seeded engine Rng (identical on every platform). */
export function uniformValues(n: number, bound: number, rng: Rng): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (2 * rng.uniform() - 1) * bound;
  return v;
}

/** Restores num_batches_tracked counts (by tensor name, as batchCounts() gives them), e.g. on resume. */
export function setBatchCounts(p: Params, counts: ReadonlyMap<string, number>): void {
  for (const [name, n] of counts) p.batchNorm(name.slice(0, -'.num_batches_tracked'.length)).numBatchesTracked = n;
}
