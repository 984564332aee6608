// One entry of a model's parameter list: canonical name, shape, parameter or buffer. Each model's config
// module (models/xlsr/config.ts, models/nes2net/config.ts, models/tracer/config.ts) lists its tensors with
// these; the weight loader (models/io/) checks a file against the list. The naming scheme is documented in
// models/io/mapping.ts and docs/weights.md.

export interface ParamSpec {
  name: string;
  shape: number[];
  /** 'param': trained weight; 'buffer': BatchNorm statistics. */
  kind: 'param' | 'buffer';
  dtype: 'float' | 'int64';
  /** May be absent from a file without error (num_batches_tracked). */
  optional?: boolean;
}

/** A trainable float parameter. */
export const paramSpec = (name: string, shape: number[]): ParamSpec => ({ name, shape, kind: 'param', dtype: 'float' });

/** A BatchNorm's weight, bias and running statistics (num_batches_tracked optional). */
export function batchNormSpecs(prefix: string, c: number): ParamSpec[] {
  return [
    paramSpec(`${prefix}.weight`, [c]),
    paramSpec(`${prefix}.bias`, [c]),
    { name: `${prefix}.running_mean`, shape: [c], kind: 'buffer', dtype: 'float' },
    { name: `${prefix}.running_var`, shape: [c], kind: 'buffer', dtype: 'float' },
    { name: `${prefix}.num_batches_tracked`, shape: [], kind: 'buffer', dtype: 'int64', optional: true },
  ];
}

/** Trainable parameter count (buffers excluded). */
export function countParams(specs: readonly ParamSpec[]): number {
  let n = 0;
  for (const s of specs) if (s.kind === 'param') n += s.shape.reduce((a, b) => a * b, 1);
  return n;
}
