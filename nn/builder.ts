// Where a module's tensors come from while it is built: a scoped builder hands each layer its parameters by
// dotted path (`p.scope('layers', 3).get('ffn.fc1.weight', shape)`), checks shapes, and names the full path and
// both shapes when a value is absent or wrong. Sources: seeded random initialisation, host values (a fixture, a
// state dict, values read from a weight file) or tensors already on the GPU. Everything is built on one engine
// (default: the current one), so a whole model can live on any engine.
import { engineOf, getEngine, isTensor, keep, Rng, tensor, type Engine, type Tensor } from '../engine/index.ts';
import { formatShape } from './state-dict.ts';

/** A value for one path: a GPU tensor (ownership passes to the module), host floats (flat, or with their
 *  shape), or the integer of a counter. */
export type SourceValue = Tensor | Float32Array | { shape: readonly number[]; data: Float32Array } | number;

export type TensorKind = 'param' | 'buffer' | 'counter';

export interface ParamSource {
  value(path: string, shape: readonly number[], kind: TensorKind): SourceValue | undefined;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export class ParamBuilder {
  /** Tensors created so far, freed by disposeCreated() when building fails half way. */
  private readonly created: Tensor[];

  /** The engine every tensor of this build is created on (host values are uploaded there). */
  readonly engine: Engine;

  constructor(
    private readonly source: ParamSource,
    readonly prefix = '',
    created?: Tensor[],
    engine: Engine = getEngine(),
  ) {
    this.created = created ?? [];
    this.engine = engine;
  }

  /** A builder for the sub-module at `parts` (joined with dots: scope('layers', 3) → `layers.3.`). */
  scope(...parts: (string | number)[]): ParamBuilder {
    return new ParamBuilder(this.source, this.path(parts.join('.')) + '.', this.created, this.engine);
  }

  /** The full dotted path of `name` under this scope. */
  path(name: string): string {
    return this.prefix + name;
  }

  /** The float tensor at `name` (a kept tensor of exactly `shape`); throws naming the path when absent or wrong. */
  get(name: string, shape: readonly number[], kind: 'param' | 'buffer' = 'param'): Tensor {
    const path = this.path(name);
    const v = this.source.value(path, shape, kind);
    if (v === undefined) throw new Error(`${path}: missing, expected ${formatShape(shape)}`);
    if (typeof v === 'number') throw new Error(`${path}: got an integer, expected a float tensor ${formatShape(shape)}`);
    if (v instanceof Float32Array) {
      if (v.length !== sizeOf(shape)) throw new Error(`${path}: ${v.length} values, expected ${formatShape(shape)} (${sizeOf(shape)})`);
      return this.track(tensor(v, shape, 'f32', this.engine), path);
    }
    const got = v.shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) throw new Error(`${path}: shape ${formatShape(got)}, expected ${formatShape(shape)}`);
    if (isTensor(v)) {
      // A GPU tensor cannot move engines silently: the source must have uploaded it to this build's engine.
      const on = engineOf(path, [v]);
      if (on !== this.engine) throw new Error(`${path}: tensor is on ${on.label}, the model is being built on ${this.engine.label}`);
      return this.track(v, path);
    }
    if (v.data.length !== sizeOf(shape)) throw new Error(`${path}: ${v.data.length} values for shape ${formatShape(shape)}`);
    return this.track(tensor(v.data, shape, 'f32', this.engine), path);
  }

  /** The integer at `name` (a BatchNorm counter); 0 when the source has none. */
  count(name: string): number {
    const v = this.source.value(this.path(name), [], 'counter');
    if (v === undefined) return 0;
    if (typeof v !== 'number') throw new Error(`${this.path(name)}: expected an integer counter`);
    return v;
  }

  /** Frees every tensor this builder (and its scopes) created: for a build that threw. */
  disposeCreated(): void {
    for (const t of this.created) t.dispose();
    this.created.length = 0;
  }

  private track(t: Tensor, path: string): Tensor {
    const k = keep(t);
    k.name = path;
    this.created.push(k);
    return k;
  }
}

/** Builds with `make` on `engine` (default: the current one); on failure frees what was created and rethrows. */
export function build<M>(source: ParamSource, prefix: string, make: (p: ParamBuilder) => M, engine?: Engine): M {
  const p = new ParamBuilder(source, prefix, undefined, engine);
  try {
    return make(p);
  } catch (e) {
    p.disposeCreated();
    throw e;
  }
}

/** Host values by full path (floats flat or shaped; counters as numbers). Absent paths are absent. */
export function hostSource(values: ReadonlyMap<string, SourceValue>): ParamSource {
  return { value: (path) => values.get(path) };
}

/** One entry of a model's ordered tensor list (structurally a models ParamSpec). */
export interface SpecLike {
  name: string;
  shape: readonly number[];
  dtype?: 'float' | 'int64';
}

/**
 * Seeded random initialisation that draws in the order of `specs` (a model's canonical tensor list) whatever
 * order the modules ask in, so random models keep their values when the build order changes. `init` gives one
 * tensor's values from the shared Rng; counters start at 0.
 */
export function orderedRandomSource<S extends SpecLike>(specs: readonly S[], seed: number, init: (spec: S, rng: Rng) => Float32Array): ParamSource {
  const rng = new Rng(seed);
  const ahead = new Map<string, Float32Array>();
  const index = new Map(specs.map((s, i) => [s.name, i]));
  let next = 0;
  return {
    value(path, _shape, kind) {
      if (kind === 'counter') return index.has(path) ? 0 : undefined;
      const i = index.get(path);
      if (i === undefined) return undefined;
      while (next <= i) {
        const s = specs[next++];
        if (s.dtype !== 'int64') ahead.set(s.name, init(s, rng));
      }
      const v = ahead.get(path);
      ahead.delete(path);
      return v;
    },
  };
}

/** U(−bound, bound) values from a seeded engine Rng (identical on every platform). */
export function uniformValues(n: number, bound: number, rng: Rng): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (2 * rng.uniform() - 1) * bound;
  return v;
}
