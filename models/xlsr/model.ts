// The XLS-R (wav2vec 2.0, pre-LN, layer-norm extractor) encoder: fairseq's
// extract_features(source, padding_mask, mask=False, features_only=True) (spec model-xlsr.md §3), with autograd,
// train/eval modes, padding, freezing and per-layer activation checkpointing. Three stages that a benchmark
// can time apart: featureEncoder (conv blocks → LN → projection), positional (pos conv add), transformer
// (pre-LN layers → final LN).
import { isGradEnabled, noGrad, tensor, tidy, type Tensor } from '../../engine/index.ts';
import {
  add,
  addScalar,
  div,
  dropout,
  dropoutSeed,
  gelu,
  layerNorm,
  matmul,
  mul,
  reshape,
  rsqrt,
  sub,
  sum,
  transpose,
} from '../../kernels/index.ts';
import { conv1d } from '../../kernels/conv1d.ts';
import { weightNorm } from '../../kernels/weight-norm.ts';
import { multiHeadAttention } from '../../kernels/attention.ts';
import { rngHash, rngUniform } from '../../kernels/rng.ts';
import { checkpoint, gradScale } from './autograd-ops.ts';
import { frameCount, receptiveField, type XlsrConfig } from './config.ts';
import { applyFreeze, type FreezeSpec, type XlsrParams } from './params.ts';

export interface XlsrForwardOptions {
  /** Valid samples of each batch row (zero padding after them); default: every row is full length. */
  lengths?: readonly number[];
  /** Train mode: dropouts and layerdrop of the config are active (default false = eval). */
  training?: boolean;
  /** Dropout / layerdrop randomness: a run is a pure function of (seed, step). */
  seed?: number;
  step?: number;
  /** Return every layer's raw output (no final LN), `layers[l]` [B, T, d]. */
  outputLayers?: boolean;
  /** Return `features` [B, T, C] (conv output after the projection LayerNorm; dropout_features in training). */
  outputFeatures?: boolean;
  /** Zero-mean unit-variance per utterance over its valid samples (default: the model's `normalize`, off). */
  normalize?: boolean;
  /** Recompute each layer in backward instead of keeping its activations (default: the model's setting). */
  checkpoint?: boolean;
}

export interface XlsrOutput {
  /** Final-LN output [B, T, d] (fairseq res['x'], HF last_hidden_state). */
  x: Tensor;
  /** Raw outputs of the layers (a layer skipped by layerdrop passes its input through). */
  layers?: Tensor[];
  features?: Tensor;
  /** Valid frames per batch row. */
  frameLengths: number[];
}

/** Context of one forward call shared by the stages. */
export interface XlsrRun {
  B: number;
  T: number;
  training: boolean;
  seed: number;
  step: number;
  frameLengths: number[];
  /** [B, T] f32, 1 at padded frames; null when nothing is padded. */
  keyPadding: Tensor | null;
  /** [B, T, 1] f32, 1 at valid frames; null when nothing is padded. */
  frameMask: Tensor | null;
}

/** Dropout sites, so that every dropout of a forward call gets its own seed. */
const SITE = { input: 0, features: 1, pos: 2, layer: 16 } as const;
const PER_LAYER = 8;
const LAYERDROP_TAG = 0x6c647270;

export class XlsrModel {
  /** Default of the `normalize` forward option. */
  normalize = false;
  /** Default of the `checkpoint` forward option. */
  checkpointLayers = false;

  constructor(readonly params: XlsrParams) {}

  get config(): XlsrConfig {
    return this.params.config;
  }

  /** Sets which parameters train (see FreezeSpec). */
  freeze(spec: FreezeSpec): this {
    applyFreeze(this.params, spec);
    return this;
  }

  /** Trainable parameters (requiresGrad). */
  trainable(): Tensor[] {
    return [...this.params.tensors.values()].filter((t) => t.requiresGrad);
  }

  /** Valid frames for `samples` samples; throws for inputs shorter than the receptive field. */
  frames(samples: number): number {
    const T = frameCount(samples, this.config.convLayers);
    if (T < 1) throw new Error(`XLS-R: an input of ${samples} samples is shorter than the ${receptiveField(this.config.convLayers)}-sample receptive field (no frame)`);
    return T;
  }

  forward(wav: Tensor, opts: XlsrForwardOptions = {}): XlsrOutput {
    // tidy frees the masks and every stage output that is not returned (autograd keeps what backward needs).
    return tidy(() => {
      const run = this.begin(wav, opts);
      const { y, features } = this.featureEncoder(wav, run, opts);
      const x0 = this.positional(y, run);
      const { x, layers } = this.transformer(x0, run, opts);
      return { x, layers, features, frameLengths: run.frameLengths };
    });
  }

  /** Checks the input and builds the padding masks of one call (stage-by-stage use: free them with end()). */
  begin(wav: Tensor, opts: XlsrForwardOptions = {}): XlsrRun {
    if (wav.rank !== 2 || wav.dtype !== 'f32') throw new Error(`XLS-R: input must be f32 [batch, samples], got ${wav.describe()}`);
    const [B, L] = wav.shape;
    const lengths = opts.lengths ?? new Array<number>(B).fill(L);
    if (lengths.length !== B) throw new Error(`XLS-R: ${lengths.length} lengths given for a batch of ${B}`);
    for (const n of lengths) {
      if (!Number.isInteger(n) || n > L) throw new Error(`XLS-R: length ${n} is not an integer ≤ ${L} samples`);
    }
    const T = this.frames(L);
    const frameLengths = lengths.map((n) => this.frames(n));
    let keyPadding: Tensor | null = null;
    let frameMask: Tensor | null = null;
    if (frameLengths.some((t) => t < T)) {
      const pad = new Float32Array(B * T);
      for (let b = 0; b < B; b++) pad.fill(1, b * T + frameLengths[b], (b + 1) * T);
      keyPadding = tensor(pad, [B, T]);
      frameMask = tensor(pad.map((v) => 1 - v), [B, T, 1]);
    }
    return { B, T, training: opts.training ?? false, seed: opts.seed ?? 0, step: opts.step ?? 0, frameLengths, keyPadding, frameMask };
  }

  private drop(x: Tensor, p: number, run: XlsrRun, site: number): Tensor {
    if (!run.training || p === 0) return x;
    return dropout(x, p, dropoutSeed(run.seed, run.step, site), true);
  }

  /** Optional normalisation, the conv blocks, the projection LayerNorm (= features) and the projection. */
  featureEncoder(wav: Tensor, run: XlsrRun, opts: XlsrForwardOptions = {}): { y: Tensor; features?: Tensor } {
    const c = this.config;
    const p = this.params;
    return tidy(() => {
      const normalize = opts.normalize ?? this.normalize;
      const input = normalize ? normalizeRows(wav, opts.lengths) : wav;
      const conv = () =>
        tidy(() => {
          let h = reshape(input, [run.B, 1, wav.shape[1]]);
          c.convLayers.forEach(([, , stride], i) => {
            const y = conv1d(h, p.get(`conv.${i}.weight`), c.convBias ? p.get(`conv.${i}.bias`) : null, { stride });
            const t = transpose(y, 1, 2);
            const g = gelu(layerNorm(t, p.get(`conv.${i}.norm.weight`), p.get(`conv.${i}.norm.bias`), c.layerNormEps));
            h = i < c.convLayers.length - 1 ? transpose(g, 1, 2) : g;
          });
          return h; // [B, T, C]
        });
      // feature_grad_mult: 0 = the CNN gets no gradient; (0, 1) scales the gradient leaving it.
      const cnn = c.featureGradMult === 0 ? noGrad(conv) : gradScale(conv(), c.featureGradMult);
      const features = layerNorm(cnn, p.get('proj.norm.weight'), p.get('proj.norm.bias'), c.layerNormEps);
      const y = this.drop(linear(features, p.get('proj.weight'), p.get('proj.bias')), c.dropoutInput, run, SITE.input);
      if (!opts.outputFeatures) return { y };
      return { y, features: this.drop(features, c.dropoutFeatures, run, SITE.features) };
    });
  }

  /** x = y + GELU(pos_conv(y)) with padded frames zeroed first, then dropout. */
  positional(y: Tensor, run: XlsrRun): Tensor {
    const c = this.config;
    const p = this.params;
    return tidy(() => {
      const masked = run.frameMask ? mul(y, run.frameMask) : y;
      const K = c.posConvKernel;
      const w = weightNorm(p.get('pos_conv.weight_g'), p.get('pos_conv.weight_v'), 2);
      // SamePad: an even kernel with padding K/2 gives T + 1 frames; the last is dropped (never computed).
      const pc = conv1d(transpose(masked, 1, 2), w, p.get('pos_conv.bias'), { padding: Math.floor(K / 2), groups: c.posConvGroups, trimEnd: K % 2 === 0 ? 1 : 0 });
      const x = add(masked, gelu(transpose(pc, 1, 2)));
      return this.drop(x, c.dropout, run, SITE.pos);
    });
  }

  /** The pre-LN layers (layerdrop, checkpointing) and the final LayerNorm. */
  transformer(x0: Tensor, run: XlsrRun, opts: XlsrForwardOptions = {}): { x: Tensor; layers?: Tensor[] } {
    const c = this.config;
    const p = this.params;
    const useCheckpoint = (opts.checkpoint ?? this.checkpointLayers) && isGradEnabled();
    const layers: Tensor[] = [];
    let x = x0;
    for (let l = 0; l < c.layers; l++) {
      const skip = run.training && c.layerdrop > 0 && rngUniform(rngHash(run.seed >>> 0, run.step >>> 0, l, LAYERDROP_TAG)) < c.layerdrop;
      if (!skip) {
        // The key-padding mask travels as checkpoint context: the recompute in backward runs after forward freed it.
        const fn = (h: Tensor, ctx: readonly Tensor[]) => this.layer(l, h, { ...run, keyPadding: ctx[0] ?? null });
        const ctx = run.keyPadding ? [run.keyPadding] : [];
        const next = useCheckpoint ? checkpoint(fn, x, p.layer(l), ctx) : fn(x, ctx);
        if (!opts.outputLayers && x !== x0) x.dispose();
        x = next;
      }
      if (opts.outputLayers) layers.push(x);
    }
    const out = layerNorm(x, p.get('final_norm.weight'), p.get('final_norm.bias'), c.layerNormEps);
    if (!opts.outputLayers && x !== x0) x.dispose();
    return opts.outputLayers ? { x: out, layers } : { x: out };
  }

  /** One pre-LN encoder layer (spec model-xlsr.md §3). */
  layer(l: number, x: Tensor, run: XlsrRun): Tensor {
    const c = this.config;
    const p = this.params;
    const q = (n: string) => p.get(`layers.${l}.${n}`);
    const site = SITE.layer + PER_LAYER * l;
    return tidy(() => {
      const h = layerNorm(x, q('attn_norm.weight'), q('attn_norm.bias'), c.layerNormEps);
      const attnDrop = run.training ? c.attentionDropout : 0;
      const a = multiHeadAttention(h, {
        wq: q('attn.q.weight'), bq: q('attn.q.bias'), wk: q('attn.k.weight'), bk: q('attn.k.bias'),
        wv: q('attn.v.weight'), bv: q('attn.v.bias'), wo: q('attn.out.weight'), bo: q('attn.out.bias'),
        heads: c.heads,
        scale: 1 / Math.sqrt(c.dModel / c.heads),
        keyPaddingMask: run.keyPadding ?? undefined,
        dropout: attnDrop,
        seed: attnDrop > 0 ? dropoutSeed(run.seed, run.step, site) : undefined,
      });
      const x1 = add(x, this.drop(a, c.dropout, run, site + 1));
      const h2 = layerNorm(x1, q('ffn_norm.weight'), q('ffn_norm.bias'), c.layerNormEps);
      const f1 = this.drop(gelu(linear(h2, q('ffn.fc1.weight'), q('ffn.fc1.bias'))), c.activationDropout, run, site + 2);
      const f2 = this.drop(linear(f1, q('ffn.fc2.weight'), q('ffn.fc2.bias')), c.dropout, run, site + 3);
      return add(x1, f2);
    });
  }

  end(run: XlsrRun): void {
    run.keyPadding?.dispose();
    run.frameMask?.dispose();
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** y = x·Wᵀ + b over the last dim of [B, T, in] (one 2-D GEMM). */
function linear(x: Tensor, w: Tensor, b: Tensor): Tensor {
  return tidy(() => {
    const [B, T, n] = x.shape;
    const y = matmul(reshape(x, [B * T, n]), w, { transB: true });
    return reshape(add(y, b), [B, T, w.shape[0]]);
  });
}

/** (x − mean)/√(var + 1e-5) per row over its first lengths[b] samples (biased variance); padding stays 0. */
export function normalizeRows(wav: Tensor, lengths?: readonly number[]): Tensor {
  const [B, L] = wav.shape;
  return tidy(() => {
    const n = lengths ?? new Array<number>(B).fill(L);
    const maskHost = new Float32Array(B * L);
    for (let b = 0; b < B; b++) maskHost.fill(1, b * L, b * L + n[b]);
    const mask = tensor(maskHost, [B, L]);
    const count = tensor(Float32Array.from(n), [B, 1]);
    const mean = div(sum(mul(wav, mask), 1, { keepDims: true }), count);
    const d = mul(sub(wav, mean), mask);
    const v = div(sum(mul(d, d), 1, { keepDims: true }), count);
    return mul(d, rsqrt(addScalar(v, 1e-5)));
  });
}
