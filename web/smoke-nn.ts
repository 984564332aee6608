// The network kernels of the browser smoke suite: conv1d (incl. the wav2vec2 positional conv with
// weight norm), layer/batch norm, GELU/SELU, seeded dropout, weighted cross-entropy, pooling, full
// and local-window attention, and optimizer steps. Every case gives the forward output and the
// gradients of a seeded random projection Σ y·r (r ~ randn), so both directions of every kernel are
// compared between Node and the browser. Shapes are tiny: SwiftShader's shader compiles dominate.
import { rand, randn, requiresGrad, tensor, tidy, type Tensor } from '../engine/index.ts';
import * as k from '../kernels/index.ts';
import { conv1d } from '../kernels/conv1d.ts';
import { weightNorm } from '../kernels/weight-norm.ts';
import { attention } from '../kernels/attention.ts';
import { localWindowAttention, type LocalAttentionOptions } from '../kernels/local-attention.ts';
import { Adam, AdamW, SGD, type Params } from '../nn/optim.ts';
import { gradCases, type SmokeCases } from './smoke-cases.ts';

type Cases = SmokeCases;

/** `name` → y, plus `name.grad.LEAF` for every leaf, from backward(Σ y·r) with r = randn(seed). */
function withGrads(name: string, y: Tensor, leaves: Record<string, Tensor>, seed: number): Cases {
  const loss = k.sum(k.mul(y, randn(y.shape, seed)));
  return { [name]: y, ...gradCases(loss, leaves, `${name}.`) };
}

/** A leaf: seeded randn that requires grad. */
function leaf(shape: number[], seed: number, std = 1): Tensor {
  return requiresGrad(randn(shape, seed, std));
}

function convolutions(): Cases {
  // stride, padding, dilation, groups and bias together
  const x = leaf([2, 4, 13], 101);
  const w = leaf([6, 2, 3], 102, 0.5);
  const b = leaf([6], 103, 0.1);
  const strided = conv1d(x, w, b, { stride: 2, padding: 1, dilation: 2, groups: 2 });
  // depthwise (one input channel per group, channel multiplier 2), no bias
  const xd = leaf([1, 3, 9], 104);
  const wd = leaf([6, 1, 5], 105, 0.5);
  const depthwise = conv1d(xd, wd, null, { padding: 2, groups: 3 });
  // wav2vec2 positional conv in miniature: weight norm over dim 2 (one norm per tap), 2 groups,
  // even kernel K with padding K/2 and the SamePad drop of the last frame, then GELU
  const K = 4;
  const xp = leaf([1, 8, 11], 106);
  const g = requiresGrad(rand([1, 1, K], 107, 0.5, 1.5));
  const v = leaf([8, 4, K], 108);
  const bp = leaf([8], 109, 0.1);
  const pos = k.gelu(conv1d(xp, weightNorm(g, v, 2), bp, { padding: K / 2, groups: 2, trimEnd: 1 }));
  return {
    ...withGrads('conv1d.s2p1d2g2', strided, { x, w, b }, 110),
    ...withGrads('conv1d.depthwise', depthwise, { x: xd, w: wd }, 111),
    ...withGrads('conv1d.posconv', pos, { x: xp, g, v, b: bp }, 112),
  };
}

function norms(): Cases {
  const x = leaf([3, 4, 10], 120, 2);
  const w = leaf([10], 121, 0.5);
  const b = leaf([10], 122, 0.5);
  const xc = leaf([2, 6, 5], 123, 2);
  const wc = leaf([6], 124, 0.5);
  const bc = leaf([6], 125, 0.5);
  const out: Cases = {
    ...withGrads('layerNorm.last', k.layerNorm(x, w, b), { x, w, b }, 126),
    ...withGrads('layerNorm.channels', k.layerNormChannels(xc, wc, bc), { x: xc, w: wc, b: bc }, 127),
  };
  const xg = leaf([2, 6, 5], 150, 2);
  const wg = leaf([6], 151, 0.5);
  const bg = leaf([6], 152, 0.5);
  Object.assign(out, withGrads('groupNorm.g3', k.groupNorm(xg, 3, wg, bg), { x: xg, w: wg, b: bg }, 153));
  for (const training of [true, false]) {
    const mode = training ? 'train' : 'eval';
    const s = training ? 130 : 140;
    const xb = requiresGrad(k.affine(randn([4, 3, 5], s), 1.5, 0.3));
    const state: k.BatchNormState = {
      weight: leaf([3], s + 1, 0.5),
      bias: leaf([3], s + 2, 0.5),
      runningMean: randn([3], s + 3, 0.2),
      runningVar: rand([3], s + 4, 0.5, 1.5),
      numBatchesTracked: 0,
      momentum: 0.1,
    };
    const y = k.batchNorm(xb, state, training);
    Object.assign(out, withGrads(`batchNorm.${mode}`, y, { x: xb, w: state.weight, b: state.bias }, s + 5));
    // training moves the running statistics toward the batch statistics; eval leaves them alone
    out[`batchNorm.${mode}.runningMean`] = state.runningMean;
    out[`batchNorm.${mode}.runningVar`] = state.runningVar;
  }
  return out;
}

/** The dropout case's geometry, exported so the test can check the mask against dropoutMaskHost. */
export const DROPOUT_CASE = { name: 'dropout', shape: [4, 50], p: 0.3, seed: k.dropoutSeed(1234, 7, 3) } as const;

function activations(): Cases {
  const xg = leaf([5, 8], 150, 2);
  const xs = leaf([5, 8], 151, 2);
  const xd = leaf([...DROPOUT_CASE.shape], 152);
  return {
    ...withGrads('act.gelu', k.gelu(xg), { x: xg }, 153),
    ...withGrads('act.selu', k.selu(xs), { x: xs }, 154),
    ...withGrads(DROPOUT_CASE.name, k.dropout(xd, DROPOUT_CASE.p, DROPOUT_CASE.seed), { x: xd }, 155),
  };
}

function lossesAndPooling(): Cases {
  // the recipe's weighted cross-entropy (bona fide 0.9, spoof 0.1) and a 3-class sum
  const logits = leaf([6, 2], 160, 2);
  const weighted = k.crossEntropy(logits, [0, 1, 1, 0, 1, 0], { classWeights: [0.1, 0.9] });
  const logits3 = leaf([5, 3], 161, 2);
  const summed = k.crossEntropy(logits3, [2, 0, 1, 1, 2], { reduction: 'sum' });
  const x = leaf([2, 3, 7], 162);
  const a = leaf([2, 3, 7], 163);
  const xs = leaf([2, 3, 7], 164);
  const a1 = leaf([2, 1, 7], 165);
  return {
    'crossEntropy.weighted': weighted,
    ...gradCases(weighted, { logits }, 'crossEntropy.weighted.'),
    'crossEntropy.sum': summed,
    ...gradCases(summed, { logits: logits3 }, 'crossEntropy.sum.'),
    ...withGrads('pool.mean', k.meanPool(x), { x }, 166),
    ...withGrads('pool.astp', k.attentiveStatsPool(xs, a), { x: xs, logits: a }, 167),
    // one attention logit per frame shared by all channels ([B, 1, T])
    ...withGrads('pool.astp.shared', k.attentiveStatsPool(randn([2, 3, 7], 169), a1), { logits: a1 }, 168),
  };
}

function attentions(): Cases {
  // full attention, N ≠ M and d_k ≠ d_v; batch 1 has its last 3 keys padded
  const q = leaf([2, 2, 5, 4], 170);
  const kk = leaf([2, 2, 7, 4], 171);
  const v = leaf([2, 2, 7, 3], 172);
  const mask = tensor([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], [2, 7]);
  const out: Cases = withGrads('attention.keyPadding', attention(q, kk, v, { keyPaddingMask: mask }), { q, k: kk, v }, 173);
  // local windows that reach past both edges (N = 9) with dilation > 1: clamp with a trainable
  // bias and d = 4 (vectorised kernels), mask with an off-centre window, d = 3 and attention dropout
  const locals: [string, number, LocalAttentionOptions, number][] = [
    ['clamp.w5d2', 4, { window: 5, dilation: 2, policy: 'clamp' }, 180],
    ['mask.w4d3', 3, { window: 4, dilation: 3, left: 1, policy: 'mask', dropout: 0.25, seed: 4242 }, 190],
  ];
  for (const [name, d, base, s] of locals) {
    const lq = leaf([1, 2, 9, d], s);
    const lk = leaf([1, 2, 9, d], s + 1);
    const lv = leaf([1, 2, 9, d], s + 2);
    const bias = base.policy === 'clamp' ? leaf([2, base.window], s + 3, 0.5) : undefined;
    const leaves: Record<string, Tensor> = bias ? { q: lq, k: lk, v: lv, bias } : { q: lq, k: lk, v: lv };
    const y = localWindowAttention(lq, lk, lv, { ...base, bias });
    Object.assign(out, withGrads(`localAttention.${name}`, y, leaves, s + 4));
  }
  return out;
}

/** Two steps of each optimizer on a small linear regression (the second step uses the state). */
function optimizers(): Cases {
  const x = randn([6, 5], 200);
  const target = randn([6, 3], 201);
  const makers: Record<string, (p: Params) => Adam | SGD> = {
    adam: (p) => new Adam(p, { lr: 0.05, weightDecay: 0.01 }),
    adamw: (p) => new AdamW(p, { lr: 0.05, weightDecay: 0.1 }),
    sgdMomentum: (p) => new SGD(p, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3 }),
  };
  const out: Cases = {};
  for (const [name, make] of Object.entries(makers)) {
    const w = leaf([5, 3], 202, 0.5);
    const b = leaf([3], 203, 0.1);
    const opt = make({ w, b });
    for (let step = 0; step < 2; step++) {
      tidy(() => {
        const err = k.sub(k.add(k.matmul(x, w), b), target);
        gradCases(k.mean(k.mul(err, err)), { w, b });
      });
      opt.update();
      opt.zeroGrad();
    }
    opt.dispose();
    out[`optim.${name}.w`] = w;
    out[`optim.${name}.b`] = b;
  }
  return out;
}

export const NN_GROUPS: readonly (() => Cases)[] = [convolutions, norms, activations, lossesAndPooling, attentions, optimizers];
