// Host copies of a module's state under dotted names, and the report of loading one back: the shapes a
// safetensors file holds (floats F32, counters I64), without importing the weight I/O layer above nn.

/** One saved tensor: float parameters and running statistics as F32, counters as a scalar I64. */
export interface StateEntry {
  name: string;
  dtype: 'F32' | 'I64';
  shape: number[];
  data: Float32Array | BigInt64Array;
}

/** What loadStateDict accepts: any host tensor whose data is f32 (floats) or an integer scalar (counters). */
export interface LoadEntry {
  name: string;
  shape: readonly number[];
  data: ArrayLike<number> | BigInt64Array;
}

export interface LoadReport {
  /** State the module has that the dict lacks (num_batches_tracked included, though loading tolerates it). */
  missing: string[];
  /** Dict entries the module has no state for. */
  unexpected: string[];
  /** Entries present under the right name with the wrong shape: `name: [dict] vs [module]`. */
  wrongShape: string[];
}

const COUNTER_SUFFIX = '.num_batches_tracked';

/** num_batches_tracked may be absent from a checkpoint (older PyTorch files): never fatal. */
export const isOptionalState = (name: string): boolean => name.endsWith(COUNTER_SUFFIX);

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Throws naming every problem of `r` that a strict load refuses. */
export function assertCleanLoad(r: LoadReport): void {
  const missing = r.missing.filter((n) => !isOptionalState(n));
  const parts: string[] = [];
  if (missing.length) parts.push(`missing: ${missing.join(', ')}`);
  if (r.unexpected.length) parts.push(`unexpected: ${r.unexpected.join(', ')}`);
  if (r.wrongShape.length) parts.push(`wrong shape: ${r.wrongShape.join(', ')}`);
  if (parts.length) throw new Error(`loadStateDict: ${parts.join('; ')}`);
}

/**
 * A name pattern: a RegExp, or a glob over dotted names where `*` matches within one segment and `**` across
 * segments; a glob without wildcards also matches everything under it (`conv` matches `conv.0.weight`).
 */
export function nameMatcher(pattern: string | RegExp): (name: string) => boolean {
  if (pattern instanceof RegExp) return (n) => pattern.test(n);
  const esc = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^.]*').replace(/\u0000/g, '.*');
  const re = new RegExp(`^${esc}(\\..*)?$`);
  return (n) => re.test(n);
}
