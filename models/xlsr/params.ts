// XLS-R parameters on the GPU, under spoofscan's canonical names (models/io/mapping.ts): loaded from any
// checkpoint models/io reads, or random (benchmarks, tests). Freezing sets requiresGrad per parameter.
import { keep, requiresGrad, tensor, type Tensor } from '../../engine/index.ts';
import { Rng } from '../../engine/random.ts';
import type { LoadedWeights } from '../io/load.ts';
import type { ParamSpec } from '../param-spec.ts';
import { type XlsrConfig, xlsrParams } from './config.ts';

export const PREFIX = 'xlsr.';

export class XlsrParams {
  constructor(
    readonly config: XlsrConfig,
    /** Canonical name (with the `xlsr.` prefix) → tensor, in modelParams order. */
    readonly tensors: Map<string, Tensor>,
  ) {}

  /** The tensor `xlsr.<name>`; throws naming it when absent. */
  get(name: string): Tensor {
    const t = this.tensors.get(PREFIX + name);
    if (!t) throw new Error(`XLS-R parameter ${PREFIX}${name} is missing`);
    return t;
  }

  /** Parameters read by encoder layer l (the leaves a checkpointed layer recomputes from). */
  layer(l: number): Tensor[] {
    const p = `${PREFIX}layers.${l}.`;
    return [...this.tensors].filter(([n]) => n.startsWith(p)).map(([, t]) => t);
  }

  count(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.size;
    return n;
  }

  dispose(): void {
    for (const t of this.tensors.values()) {
      t.grad?.dispose();
      t.dispose();
    }
  }
}

/** Uploads every XLS-R tensor of a loaded checkpoint (one at a time, converted to f32). */
export async function paramsFromWeights(w: LoadedWeights, onTensor?: (name: string) => void): Promise<XlsrParams> {
  const config = w.config.xlsr;
  const tensors = new Map<string, Tensor>();
  try {
    for (const spec of xlsrParams(config)) {
      const m = w.get(spec.name);
      if (!m) throw new Error(`${w.file}: XLS-R tensor ${spec.name} is missing`);
      const data = await m.read('F32');
      tensors.set(spec.name, keep(tensor(data.data as Float32Array, spec.shape)));
      onTensor?.(spec.name);
    }
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
  return new XlsrParams(config, tensors);
}

/** Host values for one random parameter: LayerNorm weight 1 and biases 0 (as PyTorch initialises them), weight_g
 *  positive, other weights uniform with variance 1/fan_in. */
function randomValues(spec: ParamSpec, rng: Rng): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  const name = spec.name;
  if (name.endsWith('norm.weight')) v.fill(1);
  else if (name.endsWith('.bias')) v.fill(0);
  else if (name.endsWith('weight_g')) for (let i = 0; i < n; i++) v[i] = 0.5 + rng.uniform();
  else {
    const fanIn = spec.shape.slice(1).reduce((a, b) => a * b, 1);
    const a = Math.sqrt(3 / fanIn);
    for (let i = 0; i < n; i++) v[i] = (2 * rng.uniform() - 1) * a;
  }
  return v;
}

/** Random parameters of `config` (seeded: the same values on every platform). */
export function randomParams(config: XlsrConfig, seed = 0): XlsrParams {
  const rng = new Rng(seed);
  const tensors = new Map<string, Tensor>();
  for (const spec of xlsrParams(config)) tensors.set(spec.name, keep(tensor(randomValues(spec, rng), spec.shape)));
  return new XlsrParams(config, tensors);
}

/**
 * Which parameters train: 'none' frozen (all trainable), 'all' frozen, 'feature-encoder' (the conv blocks), or a
 * number N: the conv blocks, the feature projection, the positional conv and encoder layers 0…N−1.
 */
export type FreezeSpec = 'none' | 'all' | 'feature-encoder' | number;

export function isFrozen(name: string, spec: FreezeSpec, layers: number): boolean {
  if (spec === 'none') return false;
  if (spec === 'all') return true;
  const inner = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name;
  if (inner.startsWith('conv.')) return true;
  if (spec === 'feature-encoder') return false;
  if (!Number.isInteger(spec) || spec < 0 || spec > layers) throw new Error(`freeze: ${spec} is not a layer count in 0..${layers}`);
  if (inner.startsWith('proj.') || inner.startsWith('pos_conv.')) return true;
  const m = /^layers\.(\d+)\./.exec(inner);
  return m !== null && Number(m[1]) < spec;
}

/** Sets requiresGrad on every parameter according to `spec`. */
export function applyFreeze(p: XlsrParams, spec: FreezeSpec): void {
  for (const [name, t] of p.tensors) requiresGrad(t, !isFrozen(name, spec, p.config.layers));
}
