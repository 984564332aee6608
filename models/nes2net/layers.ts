// Building blocks of Nes2Net (spec model-nes2net-la.md §2–§5) as modules under the canonical names: the
// Bottle2neck with its re-convolved slot stack and SE gate, and the local-window attention over the group tokens.
// Registration order is the order of nes2netParams. Autograd records everything.
import { tidy, type Tensor } from '../../engine/index.ts';
import { add, concat, matmul, mean, mul, relu, reshape, sigmoid, slice, sum } from '../../kernels/index.ts';
import { localWindowAttention } from '../../kernels/local-attention.ts';
import { BatchNorm1d, Conv1d, Dropout, Linear, Module, ModuleList, ParamList, type ParamBuilder } from '../../nn/index.ts';
import type { Nes2NetConfig } from './config.ts';

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

/** BN(ReLU(x)). */
export function reluBn(bn: BatchNorm1d, x: Tensor, ctx: RunContext): Tensor {
  return bn.forward(relu(x), ctx.training);
}

/** 1×1 Conv1d (weights [out, in, 1]). */
const pointwise = (p: ParamBuilder, inCh: number, outCh: number) => new Conv1d(p, { inChannels: inCh, outChannels: outCh, kernel: 1 });

/** Squeeze-excitation: 1×1 convs C → r → C. */
export class SqueezeExcite extends Module {
  readonly fc1: Conv1d;
  readonly fc2: Conv1d;

  constructor(p: ParamBuilder, C: number, r: number) {
    super();
    this.fc1 = this.child(p, 'fc1', (q) => pointwise(q, C, r));
    this.fc2 = this.child(p, 'fc2', (q) => pointwise(q, r, C));
  }

  /** The sigmoid gate of y [B, C, T], [B, C, 1]. */
  gate(y: Tensor): Tensor {
    return sigmoid(this.fc2.forward(relu(this.fc1.forward(mean(y, 2, { keepDims: true })))));
  }
}

/**
 * One Bottle2neck (§3) on x [B, C, T]: conv1 → ReLU → BN1, split into n2 slots of w channels, the slot stack
 * (kept as [B, slots, w, T]) grown by one chunk and re-convolved at every step, weighted slot sums, conv3 →
 * ReLU → BN3, SE gate, dropout, residual.
 */
export class Bottle2neck extends Module {
  readonly conv1: Conv1d;
  readonly bn1: BatchNorm1d;
  readonly convs: ModuleList<Conv1d>;
  readonly bns: ModuleList<BatchNorm1d>;
  readonly weightedSum: ParamList;
  readonly conv3: Conv1d;
  readonly bn3: BatchNorm1d;
  readonly se: SqueezeExcite;
  private readonly drop: Dropout;

  constructor(p: ParamBuilder, readonly c: Nes2NetConfig) {
    super();
    const { n2, C, w, pad } = geometry(c);
    const wn = w * n2;
    this.conv1 = this.child(p, 'conv1', (q) => pointwise(q, C, wn));
    this.bn1 = this.child(p, 'bn1', (q) => new BatchNorm1d(q, wn));
    // The reference's Conv2d kernels [w, w, K, 1], applied as 1-D convolutions over time.
    const conv = { dilation: c.dilation, padding: pad };
    this.convs = this.child(p, 'convs', (q) => new ModuleList(q, n2 - 1, (r) => new Conv1d(r, { inChannels: w, outChannels: w, kernel: c.kernel, weightShape: [w, w, c.kernel, 1], conv })));
    this.bns = this.child(p, 'bns', (q) => new ModuleList(q, n2 - 1, (r) => new BatchNorm1d(r, w)));
    this.weightedSum = this.child(p, 'weighted_sum', (q) => new ParamList(q, Array.from({ length: n2 - 1 }, (_, j) => [1, 1, 1, j + 2])));
    this.conv3 = this.child(p, 'conv3', (q) => pointwise(q, wn, C));
    this.bn3 = this.child(p, 'bn3', (q) => new BatchNorm1d(q, C));
    this.se = this.child(p, 'se', (q) => new SqueezeExcite(q, C, C / c.seRatio));
    this.drop = new Dropout(c.dropout);
  }

  forward(x: Tensor, ctx: RunContext, dropLayer: number): Tensor {
    const { n2, w } = geometry(this.c);
    const [B, , T] = x.shape;
    return tidy(() => {
      const h = reluBn(this.bn1, this.conv1.forward(x), ctx);
      const chunk = (i: number) => slice(h, 1, i * w, (i + 1) * w);
      const last = chunk(n2 - 1);
      let stack = reshape(last, [B, 1, w, T]);
      const outs: Tensor[] = [];
      for (let j = 0; j < n2 - 1; j++) {
        const slots = j + 2;
        stack = concat([stack, reshape(chunk(j), [B, 1, w, T])], 1);
        const conv = this.convs.at(j).forward(reshape(stack, [B * slots, w, T]));
        stack = reshape(reluBn(this.bns.at(j), conv, ctx), [B, slots, w, T]);
        const weights = reshape(this.weightedSum.at(j), [1, slots, 1, 1]);
        outs.push(sum(mul(stack, weights), 1));
      }
      const y = reluBn(this.bn3, this.conv3.forward(concat([...outs, last], 1)), ctx);
      const gated = mul(y, this.se.gate(y));
      return add(this.drop.forward(gated, ctx.training, () => ctx.seedFor(dropLayer)), x);
    });
  }
}

/**
 * Local-window attention over the group tokens (§5) on X [B, n1, C, T]: token = time mean; Q, K, V = bias-free
 * projections plus the shared position embedding; W-slot clamped window over the groups through the fused
 * kernel; output projection broadcast-added over time.
 */
export class GroupAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly out: Linear;
  readonly posEmb: Tensor;

  constructor(p: ParamBuilder, readonly c: Nes2NetConfig) {
    super();
    const { n1, C } = geometry(c);
    this.q = this.child(p, 'q', (s) => new Linear(s, C, C, { bias: false }));
    this.k = this.child(p, 'k', (s) => new Linear(s, C, C, { bias: false }));
    this.v = this.child(p, 'v', (s) => new Linear(s, C, C, { bias: false }));
    this.out = this.child(p, 'out', (s) => new Linear(s, C, C, { bias: false }));
    this.posEmb = this.param(p, 'pos_emb', [n1, C]);
  }

  forward(x: Tensor, ctx: RunContext, dropLayer: number): Tensor {
    const la = this.c.la;
    if (!la) throw new Error('groupAttention: configuration has no LA block');
    const { n1, C } = geometry(this.c);
    const B = x.shape[0];
    return tidy(() => {
      const tok = mean(x, 3); // [B, n1, C]
      // Batched [B, n1, C] products (not the flattened GEMM of Linear.forward): the kernels the parity fixtures pin.
      const proj = (m: Linear) => reshape(add(matmul(tok, m.weight, { transB: true }), this.posEmb), [B, 1, n1, C]);
      const drop = ctx.training && la.dropout > 0 ? { dropout: la.dropout, seed: ctx.seedFor(dropLayer) } : {};
      const o = localWindowAttention(proj(this.q), proj(this.k), proj(this.v), {
        window: la.windowSize,
        policy: 'clamp',
        scale: 1 / Math.sqrt(C),
        ...drop,
      });
      const out = matmul(reshape(o, [B, n1, C]), this.out.weight, { transB: true });
      return add(x, reshape(out, [B, n1, C, 1]));
    });
  }
}
