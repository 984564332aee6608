// Tolerance checks that name the worst element, so a failing property says exactly where it broke.
import { tidy, type Tensor } from '../../engine/node.ts';
import { unravel, type Nd } from '../reference/nd.ts';

export interface Tolerance {
  /** Relative tolerance: allowed |actual − expected| is atol + rtol·|expected|. */
  rtol: number;
  atol: number;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Throws unless every |actual − expected| ≤ atol + rtol·|expected|. NaN must meet NaN and an
 * infinity the same infinity. The message names the element with the largest excess.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  label: string,
  shape?: readonly number[],
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: got ${actual.length} values, expected ${expected.length}`);
  }
  let worst = -1;
  let worstRatio = 1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    let ratio: number;
    if (Number.isNaN(e) || !Number.isFinite(e)) ratio = Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)) ? 0 : Infinity;
    else if (!Number.isFinite(a)) ratio = Infinity;
    else if (a === e) ratio = 0;
    else ratio = Math.abs(a - e) / (tol.atol + tol.rtol * Math.abs(e));
    if (!(ratio <= worstRatio)) {
      worstRatio = ratio;
      worst = i;
    }
  }
  if (worst >= 0) {
    const where = shape ? ` at ${formatShape(unravel(worst, shape))} of ${formatShape(shape)}` : '';
    const a = actual[worst];
    const e = expected[worst];
    throw new Error(
      `${label}: element ${worst}${where} is ${a}, expected ${e} (|diff| ${Math.abs(a - e)
        .toExponential(2)} > allowed ${(tol.atol + tol.rtol * Math.abs(e)).toExponential(2)} for rtol ${tol.rtol}, atol ${tol.atol}; ${actual.length} elements)`,
    );
  }
}

/** Checks a tensor's shape and values against a reference array. */
export async function expectTensorClose(t: Tensor, ref: Nd, tol: Tolerance, label: string): Promise<void> {
  if (t.shape.length !== ref.shape.length || t.shape.some((d, i) => d !== ref.shape[i])) {
    throw new Error(`${label}: shape ${formatShape(t.shape)}, expected ${formatShape(ref.shape)}`);
  }
  expectClose(await t.data(), ref.data, tol, label, ref.shape);
}

/** Exact equality (layout ops, casts, masks). */
export const EXACT: Tolerance = { rtol: 0, atol: 0 };

/**
 * Runs `op` in a tidy scope (its inputs are freed), checks the result against `ref`, frees it.
 * The shape in `label` helps reading a fast-check counterexample.
 */
export async function expectOpClose(op: () => Tensor, ref: Nd, tol: Tolerance, label: string): Promise<void> {
  const y = tidy(op);
  try {
    await expectTensorClose(y, ref, tol, label);
  } finally {
    y.dispose();
  }
}
