// Building blocks of Nes2Net (spec model-nes2net-la.md §2–§5): conv → ReLU → BN units, the Bottle2neck with its
// re-convolved slot stack, and the local-window attention over the group tokens. Pure functions of a Params
// store and a canonical name prefix; autograd records everything.
import { tidy, type Tensor } from '../../engine/index.ts';
import {
  add,
  batchNorm,
  concat,
  dropout,
  matmul,
  mean,
  mul,
  relu,
  reshape,
  sigmoid,
  slice,
  sum,
} from '../../kernels/index.ts';
import { conv1d } from '../../kernels/conv1d.ts';
import { localWindowAttention } from '../../kernels/local-attention.ts';
import type { Nes2NetConfig } from './config.ts';
import type { Params } from './params.ts';

export interface RunContext {
  training: boolean;
  /** Dropout seed for one layer (see dropoutSeed); called only when a dropout is active. */
  seedFor(layer: number): number;
}

/** Derived sizes of a configuration: C channels per group, w per slot, n2 slots. */
export function geometry(c: Nes2NetConfig): { n1: number; n2: number; C: number; w: number; pad: number } {
  const [n1, n2] = c.nesRatio;
  const C = c.inputDim / n1;
  return { n1, n2, C, w: Math.floor(C / n2), pad: Math.floor(c.kernel / 2) * c.dilation };
}

/** BN(ReLU(x)) with the BatchNorm named `prefix`. */
export function reluBn(p: Params, prefix: string, x: Tensor, ctx: RunContext): Tensor {
  return batchNorm(relu(x), p.batchNorm(prefix), ctx.training);
}

/** 1×1 Conv1d (weights [out, in, 1]) on [B, in, T]. */
function pointwise(p: Params, prefix: string, x: Tensor): Tensor {
  return conv1d(x, p.get(`${prefix}.weight`), p.get(`${prefix}.bias`));
}

/**
 * One Bottle2neck (§3) on x [B, C, T]: conv1 → ReLU → BN1, split into n2 slots of w channels, the slot stack
 * (kept as [B, slots, w, T]) grown by one chunk and re-convolved at every step, weighted slot sums, conv3 →
 * ReLU → BN3, SE gate, dropout, residual.
 */
export function bottle2neck(p: Params, prefix: string, c: Nes2NetConfig, x: Tensor, ctx: RunContext, dropLayer: number): Tensor {
  const { n2, w, pad } = geometry(c);
  const [B, , T] = x.shape;
  return tidy(() => {
    const h = reluBn(p, `${prefix}.bn1`, pointwise(p, `${prefix}.conv1`, x), ctx);
    const chunk = (i: number) => slice(h, 1, i * w, (i + 1) * w);
    const last = chunk(n2 - 1);
    let stack = reshape(last, [B, 1, w, T]);
    const outs: Tensor[] = [];
    for (let j = 0; j < n2 - 1; j++) {
      const slots = j + 2;
      stack = concat([stack, reshape(chunk(j), [B, 1, w, T])], 1);
      const flat = reshape(stack, [B * slots, w, T]);
      const kw = p.get(`${prefix}.convs.${j}.weight`);
      const conv = conv1d(flat, reshape(kw, [w, w, c.kernel]), p.get(`${prefix}.convs.${j}.bias`), { dilation: c.dilation, padding: pad });
      stack = reshape(reluBn(p, `${prefix}.bns.${j}`, conv, ctx), [B, slots, w, T]);
      const weights = reshape(p.get(`${prefix}.weighted_sum.${j}`), [1, slots, 1, 1]);
      outs.push(sum(mul(stack, weights), 1));
    }
    const y = reluBn(p, `${prefix}.bn3`, pointwise(p, `${prefix}.conv3`, concat([...outs, last], 1)), ctx);
    const gate = sigmoid(pointwise(p, `${prefix}.se.fc2`, relu(pointwise(p, `${prefix}.se.fc1`, mean(y, 2, { keepDims: true })))));
    const gated = mul(y, gate);
    const dropped = ctx.training && c.dropout > 0 ? dropout(gated, c.dropout, ctx.seedFor(dropLayer)) : gated;
    return add(dropped, x);
  });
}

/**
 * Local-window attention over the group tokens (§5) on X [B, n1, C, T]: token = time mean; Q, K, V = bias-free
 * projections plus the shared position embedding; W-slot clamped window over the groups through the fused
 * kernel; output projection broadcast-added over time.
 */
export function groupAttention(p: Params, prefix: string, c: Nes2NetConfig, x: Tensor, ctx: RunContext, dropLayer: number): Tensor {
  const la = c.la;
  if (!la) throw new Error('groupAttention: configuration has no LA block');
  const { n1, C } = geometry(c);
  const B = x.shape[0];
  return tidy(() => {
    const tok = mean(x, 3); // [B, n1, C]
    const pos = p.get(`${prefix}.pos_emb`);
    const proj = (m: string) => reshape(add(matmul(tok, p.get(`${prefix}.${m}.weight`), { transB: true }), pos), [B, 1, n1, C]);
    const drop = ctx.training && la.dropout > 0 ? { dropout: la.dropout, seed: ctx.seedFor(dropLayer) } : {};
    const o = localWindowAttention(proj('q'), proj('k'), proj('v'), {
      window: la.windowSize,
      policy: 'clamp',
      scale: 1 / Math.sqrt(C),
      ...drop,
    });
    const out = matmul(reshape(o, [B, n1, C]), p.get(`${prefix}.out.weight`), { transB: true });
    return add(x, reshape(out, [B, n1, C, 1]));
  });
}
