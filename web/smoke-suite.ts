// The op subset that the browser smoke test runs twice, once in headless Chromium (web/smoke.ts)
// and once in Node (test/browser/), to show that the same engine code gives the same numbers.
// Browser-shared: imports only engine/, kernels/ and train/ (no Node-only file). Inputs are seeded (randn),
// so both sides start from identical values; nothing produces NaN or ±∞ (JSON carries results).
import { randn, requiresGrad, tensor, tidy } from '../engine/index.ts';
import * as k from '../kernels/index.ts';
import { gradCases, type SmokeCases } from './smoke-cases.ts';
import { NN_GROUPS } from './smoke-nn.ts';

export interface SmokeValue {
  shape: number[];
  values: number[];
}

/** Results by case name, e.g. "matmul.transB" or "grad.w1". */
export type SmokeResults = Record<string, SmokeValue>;

type Cases = SmokeCases;

function elementwise(): Cases {
  const a = randn([2, 3, 4], 1);
  const row = randn([4], 2);
  const col = randn([3, 1], 3);
  return {
    'add.broadcast': k.add(a, col),
    'mul.broadcast': k.mul(a, row),
    'sub.broadcast': k.sub(row, a),
    'div.broadcast': k.div(a, k.addScalar(k.abs(col), 1)),
    'scalar.affine': k.affine(a, 0.5, -2),
    exp: k.exp(a),
    gelu: k.gelu(a),
    tanh: k.tanh(a),
    sigmoid: k.sigmoid(a),
    relu: k.relu(a),
    where: k.where(k.gt(a, 0), a, row),
  };
}

function reductions(): Cases {
  const x = randn([3, 5, 7], 4);
  return {
    'sum.all': k.sum(x),
    'sum.axis1': k.sum(x, 1),
    'mean.axes02.keep': k.mean(x, [0, 2], { keepDims: true }),
    'max.last': k.max(x, -1),
    softmax: k.softmax(x, -1),
    'logSoftmax.axis1': k.logSoftmax(x, 1),
  };
}

function matmuls(): Cases {
  const a = randn([2, 5, 7], 5);
  const b = randn([7, 3], 6);
  const at = randn([2, 7, 5], 7);
  const bt = randn([3, 7], 8);
  // sizes past one 4×4 register block and one 16×16 tile, with ragged edges
  const big1 = randn([33, 70], 9);
  const big2 = randn([70, 19], 10);
  return {
    matmul: k.matmul(a, b),
    'matmul.transA': k.matmul(at, b, { transA: true }),
    'matmul.transB': k.matmul(a, bt, { transB: true }),
    'matmul.transAB': k.matmul(at, bt, { transA: true, transB: true }),
    'matmul.batchBroadcast': k.matmul(randn([2, 1, 4, 6], 11), randn([3, 6, 5], 12)),
    'matmul.ragged': k.matmul(big1, big2),
  };
}

function layout(): Cases {
  const x = randn([2, 3, 4], 13);
  return {
    permute: k.permute(x, [2, 0, 1]),
    transpose: k.transpose(x),
    reshape: k.reshape(k.permute(x, [1, 0, 2]), [3, -1]),
    slice: k.slice(x, 2, 1, 3),
    concat: k.concat([x, randn([2, 2, 4], 14)], 1),
    pad: k.pad(x, [[0, 0], [1, 2], [0, 1]], 0.25),
    indexSelect: k.indexSelect(x, 1, [2, 0, 2, -2]),
    expand: k.expand(randn([3, 1], 15), [2, 3, 4]),
  };
}

/** A two-layer classifier, its cross-entropy loss and the gradients of every input. */
function training(): Cases {
  const x = requiresGrad(randn([4, 6], 16));
  const w1 = requiresGrad(randn([6, 8], 17, 0.5));
  const b1 = requiresGrad(randn([8], 18, 0.1));
  const w2 = requiresGrad(randn([8, 3], 19, 0.5));
  const onehot = tensor([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0], [4, 3]);
  const h = k.gelu(k.add(k.matmul(x, w1), b1));
  const logp = k.logSoftmax(k.matmul(h, w2), -1);
  const loss = k.neg(k.mean(k.sum(k.mul(logp, onehot), -1)));
  return { loss, ...gradCases(loss, { x, w1, b1, w2 }) };
}

// NN_GROUPS (web/smoke-nn.ts): the network kernels (conv1d, norms, attention, optimizers, ...).
const GROUPS: readonly (() => Cases)[] = [elementwise, reductions, matmuls, layout, training, ...NN_GROUPS];

/** Runs every case on the current engine and reads the results back. */
export async function runSmokeSuite(): Promise<SmokeResults> {
  const out: SmokeResults = {};
  for (const group of GROUPS) {
    const cases = tidy(group);
    try {
      for (const [name, t] of Object.entries(cases)) {
        out[name] = { shape: [...t.shape], values: await t.toArray() };
      }
    } finally {
      for (const t of Object.values(cases)) t.dispose();
    }
  }
  return out;
}

export interface SmokeMismatch {
  name: string;
  problem: string;
}

/**
 * Compares two result sets: same case names, same shapes, and every value within
 * |a − b| ≤ rtol·max(|a|, |b|) + atol. Returns the mismatches (empty when equal), the largest
 * absolute difference and the largest share of the tolerance used (≤ 1 passes), for reporting.
 */
export function compareSmokeResults(
  expected: SmokeResults,
  actual: SmokeResults,
  rtol = 1e-5,
  atol = 1e-6,
): { mismatches: SmokeMismatch[]; maxAbsDiff: number; toleranceUsed: number } {
  const mismatches: SmokeMismatch[] = [];
  let maxAbsDiff = 0;
  let toleranceUsed = 0;
  const names = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const name of names) {
    const e = expected[name];
    const a = actual[name];
    if (!e || !a) {
      mismatches.push({ name, problem: `present only in the ${e ? 'expected' : 'actual'} results` });
      continue;
    }
    if (e.shape.join(',') !== a.shape.join(',') || e.values.length !== a.values.length) {
      mismatches.push({ name, problem: `shape [${a.shape}] (${a.values.length} values), expected [${e.shape}] (${e.values.length} values)` });
      continue;
    }
    for (let i = 0; i < e.values.length; i++) {
      const x = e.values[i];
      const y = a.values[i];
      const diff = Math.abs(x - y);
      const allowed = rtol * Math.max(Math.abs(x), Math.abs(y)) + atol;
      maxAbsDiff = Math.max(maxAbsDiff, diff);
      toleranceUsed = Math.max(toleranceUsed, diff / allowed);
      if (!(diff <= allowed)) {
        mismatches.push({ name, problem: `value ${i} is ${y}, expected ${x} (|diff| ${diff.toExponential(2)})` });
        break;
      }
    }
  }
  return { mismatches, maxAbsDiff, toleranceUsed };
}
