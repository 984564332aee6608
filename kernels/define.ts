// Kernel definitions: a name and a WGSL builder over typed parameters. The pipeline cache key is the
// name plus a stable serialization of the parameters, so a key cannot leave out a parameter the source
// depends on (hand-written key strings could, and then two kernels would share one pipeline). In debug
// mode (SPOOFSCAN_DEBUG=1) the engine also checks that one key never yields two different sources.

/** What a kernel's parameters may hold: plain data only (no functions), so the key is a faithful summary. */
export type KernelParam = string | number | boolean | null | undefined | readonly KernelParam[] | { readonly [k: string]: KernelParam };

/** One concrete kernel: its pipeline key and its source (built only on a pipeline-cache miss). */
export interface KernelSource {
  key: string;
  source: () => string;
}

/** Stable text of a parameter value: object keys sorted, strings quoted, undefined fields dropped. */
export function serializeParams(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'number':
    case 'boolean':
      return String(v);
    case 'string':
      return JSON.stringify(v);
    case 'undefined':
      return 'undefined';
    case 'object': {
      if (Array.isArray(v)) return `[${v.map(serializeParams).join(',')}]`;
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, x]) => `${k}:${serializeParams(x)}`).join(',')}}`;
    }
    default:
      throw new Error(`defineKernel: a kernel parameter must be plain data, got a ${typeof v}`);
  }
}

/**
 * Defines a kernel: `defineKernel('matmul:naive', (p: { rb: number }) => wgsl)` gives a function from
 * parameters to `{ key, source }` for launch() (kernels/util.ts). Everything the source depends on must be
 * in `p`; sizes that vary per call belong in uniforms, not parameters (each parameter value is a pipeline).
 */
export function defineKernel<P = void>(name: string, build: (p: P) => string): (p: P) => KernelSource {
  return (p: P) => ({
    key: p === undefined ? name : `${name}${serializeParams(p)}`,
    source: () => build(p),
  });
}
