// Where a model's tensors come from when it is built (nn/builder.ts): a seed, values by canonical name, or
// tensors uploaded from loaded weights one at a time (host memory holds one tensor, not the model; floats
// converted to f32, counters as numbers). Every tensor goes to one engine, `engine` of the build options.
import { getEngine, keep, tensor, type Engine, type Tensor } from '../engine/index.ts';
import { hostSource, type ParamSource, type SourceValue } from '../nn/index.ts';
import type { LoadedWeights } from './io/load.ts';
import { toFloat32 } from './io/dtypes.ts';
import type { ParamSpec } from './param-spec.ts';

/** How a model is initialised: a seed (its seeded default initialisation), values by canonical name, or any
 *  tensor source. */
export type ModelInit = number | ReadonlyMap<string, SourceValue> | ParamSource;

/** Where a model is built: `engine` holds its parameters and buffers (default: the current engine); its forward
 *  passes then run there, on inputs of that engine. */
export interface BuildOptions {
  engine?: Engine;
}

/** Building from loaded weights: the engine, and a callback after each tensor is uploaded (progress). */
export interface WeightsBuildOptions extends BuildOptions {
  onTensor?: (name: string) => void;
}

export function sourceOf(init: Exclude<ModelInit, number>): ParamSource {
  return init instanceof Map ? hostSource(init) : (init as ParamSource);
}

/** Uploads `specs` (optional ones may be absent) and builds with `make`; tensors building did not take are freed. */
export async function buildFromWeights<M>(
  weights: Pick<LoadedWeights, 'get' | 'file'>,
  specs: readonly ParamSpec[],
  make: (source: ParamSource) => M,
  opts: WeightsBuildOptions = {},
): Promise<M> {
  const engine = opts.engine ?? getEngine();
  const values = new Map<string, SourceValue>();
  const taken = new Set<string>();
  let ok = false;
  try {
    for (const s of specs) {
      const m = weights.get(s.name);
      if (!m) {
        if (s.optional) continue;
        throw new Error(`${weights.file}: tensor ${s.name} [${s.shape}] is missing`);
      }
      const t = await m.read();
      values.set(s.name, s.dtype === 'int64' ? Number(t.data[0] ?? 0) : keep(tensor(toFloat32(t), s.shape, 'f32', engine)));
      opts.onTensor?.(s.name);
    }
    const model = make({
      value(path) {
        taken.add(path);
        return values.get(path);
      },
    });
    ok = true;
    return model;
  } finally {
    // On success the model owns what it took; on failure whatever is still alive goes.
    for (const [name, v] of values) {
      const t = v as Tensor;
      if (typeof v === 'object' && !t.disposed && (!ok || !taken.has(name))) t.dispose();
    }
  }
}
