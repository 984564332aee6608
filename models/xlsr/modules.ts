// The XLS-R module tree under the canonical names (models/io/mapping.ts): conv blocks, the projection with its
// LayerNorm, the weight-normalised positional conv and the pre-LN encoder layers. Registration order is the
// order of xlsrParams, so parameter lists come out in the file order.
import type { Tensor } from '../../engine/index.ts';
import { multiHeadAttention, type MultiHeadAttentionOptions } from '../../kernels/index.ts';
import { Conv1d, LayerNorm, Linear, linear, Module, type ParamBuilder } from '../../nn/index.ts';
import type { XlsrConfig } from './config.ts';

/** Conv → LayerNorm over channels (→ GELU, applied by the model): `conv.<i>.{weight,bias,norm.*}`. */
export class ConvBlock extends Conv1d {
  readonly norm: LayerNorm;

  constructor(p: ParamBuilder, inCh: number, [ch, k, stride]: [number, number, number], c: XlsrConfig) {
    super(p, { inChannels: inCh, outChannels: ch, kernel: k, bias: c.convBias, conv: { stride } });
    this.norm = this.child(p, 'norm', (q) => new LayerNorm(q, ch, c.layerNormEps));
  }
}

/** LayerNorm (the `features`) then Linear C → d: `proj.{norm.*,weight,bias}`. */
export class Projection extends Module {
  readonly norm: LayerNorm;
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(p: ParamBuilder, inCh: number, c: XlsrConfig) {
    super();
    this.norm = this.child(p, 'norm', (q) => new LayerNorm(q, inCh, c.layerNormEps));
    this.weight = this.param(p, 'weight', [c.dModel, inCh]);
    this.bias = this.param(p, 'bias', [c.dModel]);
  }

  forward(features: Tensor): Tensor {
    return linear(features, this.weight, this.bias);
  }
}

/** Self-attention projections q, k, v, out (each with bias). */
export class SelfAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly out: Linear;

  constructor(p: ParamBuilder, d: number) {
    super();
    this.q = this.child(p, 'q', (s) => new Linear(s, d, d));
    this.k = this.child(p, 'k', (s) => new Linear(s, d, d));
    this.v = this.child(p, 'v', (s) => new Linear(s, d, d));
    this.out = this.child(p, 'out', (s) => new Linear(s, d, d));
  }

  forward(h: Tensor, opts: Omit<MultiHeadAttentionOptions, 'wq' | 'bq' | 'wk' | 'bk' | 'wv' | 'bv' | 'wo' | 'bo'>): Tensor {
    return multiHeadAttention(h, {
      wq: this.q.weight, bq: this.q.bias!, wk: this.k.weight, bk: this.k.bias!,
      wv: this.v.weight, bv: this.v.bias!, wo: this.out.weight, bo: this.out.bias!,
      ...opts,
    });
  }
}

export class FeedForward extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(p: ParamBuilder, d: number, hidden: number) {
    super();
    this.fc1 = this.child(p, 'fc1', (q) => new Linear(q, d, hidden));
    this.fc2 = this.child(p, 'fc2', (q) => new Linear(q, hidden, d));
  }
}

/** One pre-LN encoder layer's parameters: `layers.<l>.{attn_norm,attn,ffn_norm,ffn}`. */
export class EncoderLayer extends Module {
  readonly attnNorm: LayerNorm;
  readonly attn: SelfAttention;
  readonly ffnNorm: LayerNorm;
  readonly ffn: FeedForward;

  constructor(p: ParamBuilder, c: XlsrConfig) {
    super();
    this.attnNorm = this.child(p, 'attn_norm', (q) => new LayerNorm(q, c.dModel, c.layerNormEps));
    this.attn = this.child(p, 'attn', (q) => new SelfAttention(q, c.dModel));
    this.ffnNorm = this.child(p, 'ffn_norm', (q) => new LayerNorm(q, c.dModel, c.layerNormEps));
    this.ffn = this.child(p, 'ffn', (q) => new FeedForward(q, c.dModel, c.ffnDim));
  }
}
