// Reductions over any set of axes (sum, mean, max, min, var); the kernel and sumTo (for broadcast
// gradients) are in reduce-kernel.ts. Small reductions use one thread per output; long ones one workgroup per
// output with a tree in workgroup memory (few barriers, so it is acceptable on CPU adapters too).
import { record } from '../engine/autograd.ts';
import { formatShape, normAxes } from '../engine/shape.ts';
import type { Tensor } from '../engine/tensor.ts';
import { checkRank, requireDType } from './util.ts';
import { affine, div, eq, mul, sub as subFrom } from './elementwise.ts';
import { expand } from './layout.ts';
import { plan, reduceKernel } from './reduce-kernel.ts';

export { sumTo } from './reduce-kernel.ts';

/** expand(g viewed as `keepShape`) to `shape`; the view is freed (outside tidy() it would pin g's buffer). */
function expandView(g: Tensor, keepShape: readonly number[], shape: readonly number[]): Tensor {
  const v = g.view(keepShape);
  const e = expand(v, shape);
  v.dispose();
  return e;
}

export interface ReduceOptions {
  keepDims?: boolean;
}

function prepare(op: string, x: Tensor, axes: number | readonly number[] | undefined): number[] {
  requireDType(op, x, ['f32']);
  checkRank(op, x);
  return normAxes(op, axes, x.rank);
}

/** Sum over `axes` (all axes when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = prepare('sum', x, axes);
  const p = plan('sum', x, ax, Boolean(opts.keepDims));
  const y = reduceKernel('sum', 'sum', x, p, 1);
  return record('sum', [x], y, (g) => [expandView(g, p.keepShape, x.shape)]);
}

export function mean(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = prepare('mean', x, axes);
  const p = plan('mean', x, ax, Boolean(opts.keepDims));
  const y = reduceKernel('sum', 'mean', x, p, 1 / p.nRed);
  return record('mean', [x], y, (g) => {
    const e = expandView(g, p.keepShape, x.shape);
    const r = affine(e, 1 / p.nRed);
    e.dispose();
    return [r];
  });
}

// amax/amin semantics: the gradient is shared equally between tied extrema.
function extremum(op: 'max' | 'min', x: Tensor, axes: number | readonly number[] | undefined, opts: ReduceOptions): Tensor {
  const ax = prepare(op, x, axes);
  const p = plan(op, x, ax, Boolean(opts.keepDims));
  const y = reduceKernel(op, op, x, p, 1);
  return record(
    op,
    [x],
    y,
    (g, [sx, sy]) => {
      const yk = sy.view(p.keepShape);
      const mask = eq(sx, yk);
      const count = reduceKernel('sum', `${op}.backward`, mask, plan(op, mask, ax, true), 1);
      const gk = g.view(p.keepShape);
      const share = div(gk, count);
      const gx = mul(mask, share);
      for (const t of [yk, gk, mask, count, share]) t.dispose();
      return [gx];
    },
    [x, y],
  );
}

export const max = (x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}) => extremum('max', x, axes, opts);
export const min = (x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}) => extremum('min', x, axes, opts);

export interface VarOptions extends ReduceOptions {
  /** Bessel's correction: 1 (PyTorch's default, unbiased) or 0 (population variance). */
  correction?: number;
}

/** Variance over axes, composed from differentiable ops (two passes: numerically safe). */
export function variance(x: Tensor, axes?: number | readonly number[], opts: VarOptions = {}): Tensor {
  const ax = prepare('var', x, axes);
  const correction = opts.correction ?? 1;
  let n = 1;
  for (const a of ax) n *= x.shape[a];
  if (n - correction <= 0) throw new Error(`var: ${n} element(s) over axes [${ax.join(', ')}] of ${formatShape(x.shape)} with correction ${correction}`);
  const m = mean(x, ax, { keepDims: true });
  const d = subFrom(x, m);
  const d2 = mul(d, d);
  const s = sum(d2, ax, { keepDims: opts.keepDims });
  const v = affine(s, 1 / (n - correction));
  for (const t of [m, d, d2, s]) t.dispose();
  return v;
}
