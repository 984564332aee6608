// Optimizers over named parameters: Adam (L2 added to the gradient, as torch.optim.Adam's
// weight_decay), AdamW (decoupled decay) and SGD with momentum; gradient clipping by global norm;
// state that can be saved and loaded so that training resumes exactly. State lives on each parameter's engine.
import { engineOf, getEngine, keep, noGrad, tidy, zeros, tensor, type Tensor } from '../engine/index.ts';
import { add, assign, minimum, mul, sqrt, sum, affine, div } from '../kernels/index.ts';
import { adamStep, sgdStep } from '../kernels/optim.ts';

export type Params = ReadonlyMap<string, Tensor> | Record<string, Tensor>;

function entries(p: Params): [string, Tensor][] {
  return p instanceof Map ? [...p.entries()] : Object.entries(p);
}

/** Host copy of optimizer state: JSON-able hyper-parameters plus named f32 buffers. */
export interface OptimizerState {
  kind: string;
  step: number;
  hyper: Record<string, number | boolean>;
  buffers: Record<string, { shape: number[]; data: Float32Array }>;
}

abstract class Optimizer {
  step = 0;
  protected readonly params: [string, Tensor][];
  /** Per-parameter state buffers, e.g. `m`/`v` for Adam, keyed `${name}.${slot}`. */
  protected readonly state = new Map<string, Tensor>();

  constructor(params: Params, protected readonly slots: readonly string[]) {
    this.params = entries(params);
    for (const [name, p] of this.params) {
      if (!p.requiresGrad) throw new Error(`optimizer: parameter '${name}' ${p.describe()} does not require grad`);
      for (const s of slots) this.state.set(`${name}.${s}`, keep(zeros(p.shape, 'f32', engineOf('optimizer', [p]))));
    }
  }

  protected abstract kind: string;
  protected abstract hyper(): Record<string, number | boolean>;
  protected abstract apply(p: Tensor, g: Tensor, name: string): void;

  /** One update from the gradients in `.grad` (parameters without a gradient are left alone). */
  update(): void {
    this.step++;
    noGrad(() => {
      for (const [name, p] of this.params) if (p.grad) this.apply(p, p.grad, name);
    });
  }

  /** Drops the gradients (call after update, before the next backward). */
  zeroGrad(): void {
    for (const [, p] of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  protected buf(name: string, slot: string): Tensor {
    return this.state.get(`${name}.${slot}`)!;
  }

  async stateDict(): Promise<OptimizerState> {
    const buffers: OptimizerState['buffers'] = {};
    for (const [k, t] of this.state) buffers[k] = { shape: [...t.shape], data: (await t.data()) as Float32Array };
    return { kind: this.kind, step: this.step, hyper: this.hyper(), buffers };
  }

  loadStateDict(s: OptimizerState): void {
    if (s.kind !== this.kind) throw new Error(`optimizer: state is for '${s.kind}', this optimizer is '${this.kind}'`);
    const missing = [...this.state.keys()].filter((k) => !(k in s.buffers));
    if (missing.length) throw new Error(`optimizer: state lacks ${missing.length} buffer(s): ${missing.slice(0, 5).join(', ')}`);
    for (const [k, t] of this.state) {
      const b = s.buffers[k];
      if (b.data.length !== t.size) throw new Error(`optimizer: state buffer '${k}' has ${b.data.length} values, parameter needs ${t.size}`);
      const src = tensor(b.data, t.shape, 'f32', engineOf('optimizer', [t]));
      assign(t, src);
      src.dispose();
    }
    this.step = s.step;
  }

  dispose(): void {
    for (const t of this.state.values()) t.dispose();
    this.state.clear();
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam extends Optimizer {
  protected kind = 'adam';
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  protected decoupled = false;

  constructor(params: Params, o: AdamOptions = {}) {
    super(params, ['m', 'v']);
    this.lr = o.lr ?? 1e-3;
    this.betas = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
  }

  protected hyper() {
    return { lr: this.lr, beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay: this.weightDecay };
  }

  protected apply(p: Tensor, g: Tensor, name: string): void {
    adamStep(p, g, this.buf(name, 'm'), this.buf(name, 'v'), {
      lr: this.lr,
      beta1: this.betas[0],
      beta2: this.betas[1],
      eps: this.eps,
      weightDecay: this.weightDecay,
      step: this.step,
      decoupled: this.decoupled,
    });
  }
}

/** AdamW: weight decay applied to the weights (p ← p·(1 − lr·wd)), not added to the gradient. Default wd 0.01. */
export class AdamW extends Adam {
  protected override kind = 'adamw';
  protected override decoupled = true;
  constructor(params: Params, o: AdamOptions = {}) {
    super(params, { weightDecay: 0.01, ...o });
  }
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  protected kind = 'sgd';
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private started = new Set<string>();

  constructor(params: Params, o: SgdOptions) {
    super(params, ['momentum_buffer']);
    this.lr = o.lr;
    this.momentum = o.momentum ?? 0;
    this.dampening = o.dampening ?? 0;
    this.weightDecay = o.weightDecay ?? 0;
    this.nesterov = o.nesterov ?? false;
  }

  protected hyper() {
    return { lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }

  protected apply(p: Tensor, g: Tensor, name: string): void {
    sgdStep(p, g, this.buf(name, 'momentum_buffer'), {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      first: !this.started.has(name),
    });
    this.started.add(name);
  }

  override loadStateDict(s: OptimizerState): void {
    super.loadStateDict(s);
    // After a resume the buffers already hold momentum: no parameter is on its first step.
    if (s.step > 0) for (const [name] of this.params) this.started.add(name);
  }
}

/**
 * Scales all gradients so that their global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_).
 * Runs on the GPU without a readback; returns the total norm before clipping as a scalar tensor.
 */
export function clipGradNorm(params: Params, maxNorm: number): Tensor {
  const all = entries(params);
  const grads = all.map(([, p]) => p.grad).filter((g): g is Tensor => g !== null);
  return noGrad(() =>
    tidy(() => {
      if (grads.length === 0) return zeros([], 'f32', all.length ? engineOf('clipGradNorm', [all[0][1]]) : getEngine());
      let sq = sum(mul(grads[0], grads[0]));
      for (const g of grads.slice(1)) sq = add(sq, sum(mul(g, g)));
      const total = sqrt(sq);
      // coef = min(1, maxNorm / (total + 1e-6))
      const coef = minimum(div(maxNorm, affine(total, 1, 1e-6)), 1);
      for (const g of grads) assign(g, mul(g, coef));
      return total;
    }),
  );
}
