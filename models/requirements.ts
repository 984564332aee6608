// What a model needs from a WebGPU adapter, checked before the weights go to the GPU so that a page can say which
// limit is too small instead of failing mid-forward. The largest single buffer decides: the biggest weight, the
// first conv block's output (channels × frames of every window in a batch), the FFN hidden activations.
import { frameCount } from './xlsr/config.ts';
import { modelParams, type ModelConfig } from './config.ts';

export interface BufferNeed {
  bytes: number;
  what: string;
}

/** The largest buffers a forward pass of `batch` inputs of `samples` samples allocates (f32). */
export function largestBuffers(config: ModelConfig, samples: number, batch = 1): BufferNeed[] {
  const x = config.xlsr;
  const needs: BufferNeed[] = [];
  let weight: BufferNeed = { bytes: 0, what: '' };
  for (const s of modelParams(config)) {
    const bytes = 4 * s.shape.reduce((a, b) => a * b, 1);
    if (bytes > weight.bytes) weight = { bytes, what: `the weight ${s.name} [${s.shape.join(', ')}]` };
  }
  needs.push(weight);
  const [c0, k0, s0] = x.convLayers[0];
  const t0 = Math.floor((samples - k0) / s0) + 1;
  needs.push({ bytes: 4 * batch * c0 * t0, what: `the first conv block's output (${batch} × ${c0} channels × ${t0} steps)` });
  const T = frameCount(samples, x.convLayers);
  needs.push({ bytes: 4 * batch * T * x.ffnDim, what: `the feed-forward activations (${batch} × ${T} frames × ${x.ffnDim})` });
  return needs.sort((a, b) => b.bytes - a.bytes);
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** Problems (empty when none) running `config` on an adapter with `limits`, for inputs of `samples` samples. */
export function limitProblems(config: ModelConfig, limits: Readonly<Record<string, number>>, samples: number, batch = 1): string[] {
  const [largest] = largestBuffers(config, samples, batch);
  const out: string[] = [];
  for (const name of ['maxStorageBufferBindingSize', 'maxBufferSize']) {
    const limit = limits[name];
    if (typeof limit === 'number' && largest.bytes > limit) {
      out.push(`the adapter's ${name} is ${fmt(limit)} bytes, but this model needs ${fmt(largest.bytes)} bytes in one buffer for ${largest.what}`);
    }
  }
  return out;
}

/** The largest batch ≤ `max` whose buffers fit the limits (1 when even one input does not; limitProblems says why). */
export function fittingBatch(config: ModelConfig, limits: Readonly<Record<string, number>>, samples: number, max = 8): number {
  for (let b = max; b > 1; b--) if (!limitProblems(config, limits, samples, b).length) return b;
  return 1;
}
