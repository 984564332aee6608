// Elementwise ops: unary math, binary ops with NumPy broadcasting, comparisons, where/mask.
// Forward expressions and their gradients come from one table per family.
import { record, setGradAccumulator } from '../engine/autograd.ts';
import { broadcastShapes, broadcastStrides, shapesEqual, stridesOf } from '../engine/shape.ts';
import { allocate, engineOf, scalar, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { bindings, checkRank, collapseDims, grid1d, launch, main1d, requireDType, stridedOffsets, type UField } from './util.ts';
import { sumTo } from './reduce-kernel.ts';

// ---------------------------------------------------------------- unary

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

// erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit): GELU must be the exact-erf form.
const ERF_WGSL = `
fn erf_(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}`;

interface UnaryDef {
  /** WGSL expression of x (and p0, p1: float parameters). */
  f: string;
  /** Gradient w.r.t. x as a WGSL expression of g, and s = x or y as `from` says. */
  df: string;
  from: 'x' | 'y';
  helpers?: string;
}

const UNARY: Record<string, UnaryDef> = {
  neg: { f: '-x', df: '-g', from: 'x' },
  exp: { f: 'exp(x)', df: 'g * s', from: 'y' },
  log: { f: 'log(x)', df: 'g / s', from: 'x' },
  sqrt: { f: 'sqrt(x)', df: 'g * 0.5 / s', from: 'y' },
  rsqrt: { f: 'inverseSqrt(x)', df: '-0.5 * g * s * s * s', from: 'y' },
  abs: { f: 'abs(x)', df: 'g * sign(s)', from: 'x' },
  tanh: { f: 'tanh_(x)', df: 'g * (1.0 - s * s)', from: 'y', helpers: 'fn tanh_(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }' },
  sigmoid: { f: 'sigmoid_(x)', df: 'g * s * (1.0 - s)', from: 'y', helpers: 'fn sigmoid_(x: f32) -> f32 { if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); } let e = exp(x); return e / (1.0 + e); }' },
  relu: { f: 'max(x, 0.0)', df: 'select(0.0, g, s > 0.0)', from: 'x' },
  gelu: {
    f: '0.5 * x * (1.0 + erf_(x * 0.70710678118654752))',
    df: 'g * (0.5 * (1.0 + erf_(s * 0.70710678118654752)) + s * 0.39894228040143268 * exp(-0.5 * s * s))',
    from: 'x',
    helpers: ERF_WGSL,
  },
  selu: {
    f: `select(${SELU_SCALE * SELU_ALPHA} * (exp(x) - 1.0), ${SELU_SCALE} * x, x > 0.0)`,
    df: `select(g * ${SELU_SCALE * SELU_ALPHA} * exp(s), g * ${SELU_SCALE}, s > 0.0)`,
    from: 'x',
  },
  // x·p0 + p1 (scalar multiply/add without a tensor for the scalar)
  affine: { f: 'x * u.p0 + u.p1', df: 'g * u.p0', from: 'x' },
  // x^p0 with p0 a host number
  powScalar: { f: 'pow_(x, u.p0)', df: 'g * u.p0 * pow_(s, u.p0 - 1.0)', from: 'x', helpers: '' },
};

// pow() in WGSL is undefined for x < 0; PyTorch gives real results for integer exponents.
const POW_WGSL = `
fn pow_(x: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  if (x >= 0.0) { return pow(x, p); }
  // A NaN constant is a shader-creation error in WGSL; a var keeps the bitcast out of const-eval.
  var nan_bits = 0x7fc00000u;
  if (fract(p) != 0.0) { return bitcast<f32>(nan_bits); }
  let m = pow(-x, p);
  return select(m, -m, fract(p * 0.5) != 0.0);
}`;
UNARY.powScalar.helpers = POW_WGSL;

const UNARY_FIELDS: UField[] = [
  ['n', 'u32'],
  ['p0', 'f32'],
  ['p1', 'f32'],
];

// `op` names an entry of UNARY, which holds the expressions.
const UNARY_KERNEL = defineKernel(
  'unary',
  ({ op }: { op: string }) => `${bindings(['x_'], ['y_'], 'f32', true, UNARY_FIELDS)}${UNARY[op].helpers ?? ''}
${main1d(`  if (idx >= u.n) { return; }
  let x = x_[idx];
  y_[idx] = ${UNARY[op].f};`)}`,
);

const UNARY_GRAD_KERNEL = defineKernel(
  'unary_grad',
  ({ op }: { op: string }) => `${bindings(['s_', 'g_'], ['dx_'], 'f32', true, UNARY_FIELDS)}${UNARY[op].helpers ?? ''}
${main1d(`  if (idx >= u.n) { return; }
  let s = s_[idx];
  let g = g_[idx];
  dx_[idx] = ${UNARY[op].df};`)}`,
);

function runUnary(op: string, x: Tensor, p0 = 0, p1 = 0): Tensor {
  requireDType(op, x, ['f32']);
  const y = allocate(x.shape, 'f32', op, engineOf(op, [x]));
  launch({
    op,
    kernel: UNARY_KERNEL({ op }),
    inputs: [x],
    outputs: [y],
    fields: UNARY_FIELDS,
    values: { n: x.size, p0, p1 },
    workgroups: grid1d(x.size),
  });
  return y;
}

function runUnaryGrad(op: string, s: Tensor, g: Tensor, p0 = 0, p1 = 0): Tensor {
  const name = `${op}.backward`;
  const dx = allocate(s.shape, 'f32', name, engineOf(name, [s, g]));
  launch({
    op: name,
    kernel: UNARY_GRAD_KERNEL({ op }),
    inputs: [s, g],
    outputs: [dx],
    fields: UNARY_FIELDS,
    values: { n: s.size, p0, p1 },
    workgroups: grid1d(s.size),
  });
  return dx;
}

function unary(op: string, x: Tensor, p0 = 0, p1 = 0): Tensor {
  const y = runUnary(op, x, p0, p1);
  const def = UNARY[op];
  return record(op, [x], y, (g, [s]) => [runUnaryGrad(op, s, g, p0, p1)], [def.from === 'x' ? x : y]);
}

export const neg = (x: Tensor) => unary('neg', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const abs = (x: Tensor) => unary('abs', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const relu = (x: Tensor) => unary('relu', x);
/** GELU with the exact erf (PyTorch's default, fairseq's `gelu`). */
export const gelu = (x: Tensor) => unary('gelu', x);
export const selu = (x: Tensor) => unary('selu', x);
/** x·a + b for host numbers a, b. */
export const affine = (x: Tensor, a: number, b = 0) => unary('affine', x, a, b);
export const mulScalar = (x: Tensor, a: number) => unary('affine', x, a, 0);
export const addScalar = (x: Tensor, b: number) => unary('affine', x, 1, b);
export const powScalar = (x: Tensor, p: number) => unary('powScalar', x, p);

// ---------------------------------------------------------------- binary with broadcasting

const BINARY: Record<string, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'pow_(a, b)',
  maximum: 'max(a, b)',
  minimum: 'min(a, b)',
  eq: 'select(0.0, 1.0, a == b)',
  ne: 'select(0.0, 1.0, a != b)',
  lt: 'select(0.0, 1.0, a < b)',
  le: 'select(0.0, 1.0, a <= b)',
  gt: 'select(0.0, 1.0, a > b)',
  ge: 'select(0.0, 1.0, a >= b)',
};

function broadcastFields(r: number, nOperands: number): UField[] {
  const f: UField[] = [['n', 'u32'], ['shape', 'arr', r]];
  for (let k = 0; k < nOperands; k++) f.push([`st${k}`, 'arr', r]);
  return f;
}

interface EwParams {
  expr: string;
  /** Number of operands (1–3, named a, b, c in expr). */
  n: number;
  helpers: string;
}

const FLAT_FIELDS: UField[] = [['n', 'u32']];
const vars = (n: number): string[] => ['a', 'b', 'c'].slice(0, n);

/** Operands of the output's shape: one flat index. */
const EW_FLAT = defineKernel(
  'ew:flat',
  ({ expr, n, helpers }: EwParams) => `${bindings(vars(n).map((v) => `${v}_`), ['out_'], 'f32', true, FLAT_FIELDS)}${helpers}
${main1d(`  if (idx >= u.n) { return; }
${vars(n).map((v) => `  let ${v} = ${v}_[idx];`).join('\n')}
  out_[idx] = ${expr};`)}`,
);

/** Broadcast operands: offsets through per-operand strides over the (collapsed) output shape of rank r. */
const EW_STRIDED = defineKernel(
  'ew:strided',
  ({ expr, n, helpers, r }: EwParams & { r: number }) => `${bindings(vars(n).map((v) => `${v}_`), ['out_'], 'f32', true, broadcastFields(r, n))}${helpers}
${main1d(`  if (idx >= u.n) { return; }
${stridedOffsets(r, 'shape', vars(n).map((_, k) => `st${k}`))}
${vars(n).map((v, k) => `  let ${v} = ${v}_[off_st${k}];`).join('\n')}
  out_[idx] = ${expr};`)}`,
);

/** Runs `out = expr(a, b[, c])` over the broadcast shape of the operands. */
function broadcastKernel(op: string, expr: string, operands: readonly Tensor[], helpers = ''): Tensor {
  let outShape: number[] = [...operands[0].shape];
  for (const t of operands.slice(1)) outShape = broadcastShapes(op, outShape, t.shape);
  const out = allocate(outShape, 'f32', op, engineOf(op, operands));
  if (out.size === 0) return out;
  const params: EwParams = { expr, n: operands.length, helpers };
  if (operands.every((t) => shapesEqual(t.shape, outShape))) {
    launch({
      op,
      kernel: EW_FLAT(params),
      inputs: operands,
      outputs: [out],
      fields: FLAT_FIELDS,
      values: { n: out.size },
      workgroups: grid1d(out.size),
    });
    return out;
  }
  const { shape, strides } = collapseDims(outShape, operands.map((t) => broadcastStrides(t.shape, outShape)));
  const r = shape.length;
  const fields = broadcastFields(r, operands.length);
  const values: Record<string, number | number[]> = { n: out.size, shape };
  strides.forEach((s, k) => (values[`st${k}`] = s));
  launch({
    op,
    kernel: EW_STRIDED({ ...params, r }),
    inputs: operands,
    outputs: [out],
    fields,
    values,
    workgroups: grid1d(out.size),
  });
  return out;
}

function binaryForward(op: string, a: Tensor, b: Tensor): Tensor {
  requireDType(op, a, ['f32'], 'first input');
  requireDType(op, b, ['f32'], 'second input');
  checkRank(op, a);
  checkRank(op, b);
  return broadcastKernel(op, BINARY[op], [a, b], op === 'pow' ? POW_WGSL : '');
}

type Operand = Tensor | number;

/** A number operand as a scalar tensor on the engine of the tensor operand `other` (if any). */
function asTensor(x: Operand, other: Operand): Tensor {
  if (typeof x !== 'number') return x;
  return typeof other === 'number' ? scalar(x) : scalar(x, 'f32', engineOf('scalar operand', [other]));
}

/** Calls fn with number operands turned into scalar tensors (on the engine of `ref`, else of the other operand), freeing those after. */
function withTensors(a: Operand, b: Operand, fn: (a: Tensor, b: Tensor) => Tensor, ref?: Tensor): Tensor {
  const ta = asTensor(a, ref ?? b);
  const tb = asTensor(b, ref ?? a);
  try {
    return fn(ta, tb);
  } finally {
    if (ta !== a) ta.dispose();
    if (tb !== b) tb.dispose();
  }
}

export function add(a: Operand, b: Operand): Tensor {
  return withTensors(a, b, (a, b) =>
    record('add', [a, b], binaryForward('add', a, b), (g) => [sumTo(g, a.shape), sumTo(g, b.shape)]),
  );
}

export function sub(a: Operand, b: Operand): Tensor {
  return withTensors(a, b, (a, b) =>
    record('sub', [a, b], binaryForward('sub', a, b), (g) => {
      return [sumTo(g, a.shape), reduced(neg(g), b.shape)];
    }),
  );
}

/** Reduces a broadcast gradient to `shape`, freeing the unreduced temporary. */
function reduced(t: Tensor, shape: readonly number[]): Tensor {
  const r = sumTo(t, shape);
  t.dispose();
  return r;
}

export function mul(a: Operand, b: Operand): Tensor {
  return withTensors(a, b, (a, b) =>
    record(
      'mul',
      [a, b],
      binaryForward('mul', a, b),
      (g, [sa, sb]) => [
        a.requiresGrad ? reduced(binaryForward('mul', g, sb), a.shape) : null,
        b.requiresGrad ? reduced(binaryForward('mul', g, sa), b.shape) : null,
      ],
      [a, b],
    ),
  );
}

export function div(a: Operand, b: Operand): Tensor {
  return withTensors(a, b, (a, b) =>
    record(
      'div',
      [a, b],
      binaryForward('div', a, b),
      (g, [sa, sb]) => [
        a.requiresGrad ? reduced(binaryForward('div', g, sb), a.shape) : null,
        b.requiresGrad ? reduced(broadcastKernel('div.backward', '-c * a / (b * b)', [sa, sb, g]), b.shape) : null,
      ],
      [a, b],
    ),
  );
}

export function pow(a: Operand, b: Operand): Tensor {
  return withTensors(a, b, (a, b) => {
    const y = binaryForward('pow', a, b);
    return record(
      'pow',
      [a, b],
      y,
      (g, [sa, sb, sy]) => [
        a.requiresGrad ? reduced(broadcastKernel('pow.backward', 'c * b * pow_(a, b - 1.0)', [sa, sb, g], POW_WGSL), a.shape) : null,
        b.requiresGrad ? reduced(broadcastKernel('pow.backward', 'select(0.0, c * b * log(a), a > 0.0)', [sa, sy, g]), b.shape) : null,
      ],
      [a, b, y],
    );
  });
}

// max/min: on ties each side gets half, as torch.maximum does.
function extremum(op: 'maximum' | 'minimum', a: Operand, b: Operand): Tensor {
  const cmp = op === 'maximum' ? '>' : '<';
  return withTensors(a, b, (a, b) =>
    record(
      op,
      [a, b],
      binaryForward(op, a, b),
      (g, [sa, sb]) => [
        a.requiresGrad ? reduced(broadcastKernel(`${op}.backward`, `select(select(0.0, 0.5 * c, a == b), c, a ${cmp} b)`, [sa, sb, g]), a.shape) : null,
        b.requiresGrad ? reduced(broadcastKernel(`${op}.backward`, `select(select(0.0, 0.5 * c, a == b), c, b ${cmp} a)`, [sa, sb, g]), b.shape) : null,
      ],
      [a, b],
    ),
  );
}

export const maximum = (a: Operand, b: Operand) => extremum('maximum', a, b);
export const minimum = (a: Operand, b: Operand) => extremum('minimum', a, b);

/** Comparisons give f32 masks (1 where true, 0 elsewhere) and carry no gradient. */
function compare(op: string, a: Operand, b: Operand): Tensor {
  return withTensors(a, b, (a, b) => binaryForward(op, a, b));
}
export const eq = (a: Operand, b: Operand) => compare('eq', a, b);
export const ne = (a: Operand, b: Operand) => compare('ne', a, b);
export const lt = (a: Operand, b: Operand) => compare('lt', a, b);
export const le = (a: Operand, b: Operand) => compare('le', a, b);
export const gt = (a: Operand, b: Operand) => compare('gt', a, b);
export const ge = (a: Operand, b: Operand) => compare('ge', a, b);

/** where(cond, a, b): a where cond ≠ 0, else b, with broadcasting over all three (cond is an f32 mask). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  requireDType('where', cond, ['f32'], 'condition');
  return withTensors(a, b, (a, b) => {
    requireDType('where', a, ['f32'], 'first choice');
    requireDType('where', b, ['f32'], 'second choice');
    const y = broadcastKernel('where', 'select(c, b, a != 0.0)', [cond, a, b]);
    return record(
      'where',
      [cond, a, b],
      y,
      (g, [sc]) => [
        null,
        a.requiresGrad ? reduced(broadcastKernel('where.backward', 'select(0.0, b, a != 0.0)', [sc, g]), a.shape) : null,
        b.requiresGrad ? reduced(broadcastKernel('where.backward', 'select(b, 0.0, a != 0.0)', [sc, g]), b.shape) : null,
      ],
      [cond],
    );
  }, cond);
}

/** Sets positions where mask ≠ 0 to `value` (e.g. −∞ before a softmax). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  const v = scalar(value, 'f32', engineOf('maskedFill', [x]));
  try {
    return where(mask, v, x);
  } finally {
    v.dispose();
  }
}

export { stridesOf };

// backward() sums the gradients of a tensor used more than once with `add`; the engine cannot import kernels,
// so the kernel is registered here, by the module that defines it.
setGradAccumulator((a, b) => add(a, b));
