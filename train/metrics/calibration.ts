// Affine score calibration by prior-weighted logistic regression (BOSARIS `train_llr_fusion` / pyllr
// style), spec recipe-and-metrics.md §5.6. llr = a·x + c, fitted on dev scores, applied to test scores.
// Pure TypeScript, no Node imports.

import { MetricsInputError } from './errors.ts';
import { softplus, sortedScores } from './detection.ts';

/** ASVspoof 5 effective prior π_eff = 0.95 / (0.95 + 0.5) = 0.655172…, logit π_eff = ln 1.9. */
export const ASVSPOOF5_EFFECTIVE_PRIOR = 0.95 / (0.95 + 0.5);

/** A fitted calibration: two numbers, plus how they were obtained. */
export interface Calibration {
  /** slope */
  a: number;
  /** offset */
  c: number;
  /** target prior π of the objective */
  prior: number;
  /** objective value at (a, c), in nats (prior-weighted cross-entropy); at π = 0.5, objective / ln 2 = calibrated Cllr */
  objective: number;
  /** Newton iterations taken */
  iterations: number;
  /** max |gradient| at the solution */
  gradient: number;
  /** gradient below tolerance (or at the floating-point floor) */
  converged: boolean;
  /** no spoof score is above any bona fide score (or the reverse; ties allowed): the slope grows without bound */
  separable: boolean;
}

export interface FitOptions {
  /** target prior π ∈ (0, 1); default 0.5 */
  prior?: number;
  /** stop when max |gradient| < tol (default 1e-12) */
  tol?: number;
  /** Newton iteration limit (default 100) */
  maxIterations?: number;
}

function logit(p: number): number {
  return Math.log(p) - Math.log1p(-p);
}

/** Distinct scores of one class with their multiplicities (the loss only depends on these). */
interface Runs {
  values: Float64Array;
  counts: Float64Array;
}

function runs(x: ArrayLike<number>, what: string): Runs {
  const sorted = sortedScores(x, what);
  const values: number[] = [];
  const counts: number[] = [];
  let i = 0;
  while (i < sorted.length) {
    const v = sorted[i];
    const i0 = i;
    while (i < sorted.length && sorted[i] === v) i++;
    values.push(v);
    counts.push(i - i0);
  }
  return { values: Float64Array.from(values), counts: Float64Array.from(counts) };
}

/** Prior-weighted logistic loss and its derivatives at (a, c). */
function evaluate(
  b: Runs,
  s: Runs,
  a: number,
  c: number,
  off: number,
  wb: number,
  ws: number,
  withDerivatives: boolean,
): { f: number; ga: number; gc: number; haa: number; hac: number; hcc: number } {
  let f = 0;
  let ga = 0;
  let gc = 0;
  let haa = 0;
  let hac = 0;
  let hcc = 0;
  // bona fide: π/N_b · softplus(−z); spoof: (1 − π)/N_s · softplus(z); z = a·x + c + logit π
  let fb = 0;
  for (let i = 0; i < b.values.length; i++) {
    const x = b.values[i];
    const n = b.counts[i];
    const z = a * x + c + off;
    fb += n * softplus(-z);
    if (withDerivatives) {
      const e = Math.exp(-Math.abs(z));
      const sigNeg = (n * (z >= 0 ? e : 1)) / (1 + e); // n·σ(−z)
      const h = (z >= 0 ? 1 / (1 + e) : e / (1 + e)) * sigNeg; // n·σ(z)σ(−z)
      ga -= sigNeg * x;
      gc -= sigNeg;
      haa += h * x * x;
      hac += h * x;
      hcc += h;
    }
  }
  let fs = 0;
  let ga2 = 0;
  let gc2 = 0;
  let haa2 = 0;
  let hac2 = 0;
  let hcc2 = 0;
  for (let i = 0; i < s.values.length; i++) {
    const x = s.values[i];
    const n = s.counts[i];
    const z = a * x + c + off;
    fs += n * softplus(z);
    if (withDerivatives) {
      const e = Math.exp(-Math.abs(z));
      const sig = (n * (z >= 0 ? 1 : e)) / (1 + e); // n·σ(z)
      const h = sig * (z >= 0 ? e / (1 + e) : 1 / (1 + e));
      ga2 += sig * x;
      gc2 += sig;
      haa2 += h * x * x;
      hac2 += h * x;
      hcc2 += h;
    }
  }
  f = wb * fb + ws * fs;
  ga = wb * ga + ws * ga2;
  gc = wb * gc + ws * gc2;
  haa = wb * haa + ws * haa2;
  hac = wb * hac + ws * hac2;
  hcc = wb * hcc + ws * hcc2;
  return { f, ga, gc, haa, hac, hcc };
}

/**
 * Fits llr = a·x + c by minimising
 *   π·mean_b softplus(−(a·x + c + logit π)) + (1 − π)·mean_s softplus(a·x + c + logit π)
 * with Newton's method (backtracking line search; convex). Bona fide = target class.
 */
export function fitCalibration(bonafide: ArrayLike<number>, spoof: ArrayLike<number>, opts: FitOptions = {}): Calibration {
  const prior = opts.prior ?? 0.5;
  const tol = opts.tol ?? 1e-12;
  const maxIterations = opts.maxIterations ?? 100;
  if (!(prior >= MIN_PRIOR && prior <= 1 - MIN_PRIOR))
    throw new MetricsInputError(`calibration prior must be in [${MIN_PRIOR}, 1 − ${MIN_PRIOR}], got ${prior}: a prior that close to 0 or 1 ignores one class`);
  if (bonafide.length === 0 || spoof.length === 0) {
    throw new MetricsInputError(
      `calibration needs both classes: ${bonafide.length} bona fide, ${spoof.length} spoof (one class is empty)`,
    );
  }
  // sorting once makes every Newton iteration O(distinct scores) instead of O(trials)
  const rb = runs(bonafide, 'calibration: bona fide scores');
  const rs = runs(spoof, 'calibration: spoof scores');
  const minB = rb.values[0];
  const maxB = rb.values[rb.values.length - 1];
  const minS = rs.values[0];
  const maxS = rs.values[rs.values.length - 1];
  // (quasi-)separation: a threshold puts every bona fide score on one side and every spoof score on the
  // other (ties allowed at the threshold), so the loss keeps falling as |a| grows. All-equal scores are
  // the exception: the slope is then irrelevant and c has a finite optimum.
  const allEqual = minB === maxB && minS === maxS && minB === minS;
  const separable = !allEqual && (maxS <= minB || maxB <= minS);

  const off = logit(prior);
  const wb = prior / bonafide.length;
  const ws = (1 - prior) / spoof.length;
  let a = 0;
  let c = 0;
  let cur = evaluate(rb, rs, a, c, off, wb, ws, true);
  let iterations = 0;
  let converged = false;
  let gradient = Math.max(Math.abs(cur.ga), Math.abs(cur.gc));
  while (iterations < maxIterations) {
    if (gradient < tol) {
      converged = true;
      break;
    }
    iterations++;
    // Newton direction d = −H⁻¹ g (2 × 2); fall back to the gradient when H is singular
    const det = cur.haa * cur.hcc - cur.hac * cur.hac;
    let da: number;
    let dc: number;
    if (det > 0 && Number.isFinite(det)) {
      da = -(cur.hcc * cur.ga - cur.hac * cur.gc) / det;
      dc = -(cur.haa * cur.gc - cur.hac * cur.ga) / det;
    } else {
      da = -cur.ga;
      dc = -cur.gc;
    }
    const slope = cur.ga * da + cur.gc * dc; // directional derivative, < 0
    let step = 1;
    let next = evaluate(rb, rs, a + da, c + dc, off, wb, ws, false);
    while (!(next.f <= cur.f + 1e-4 * step * slope) && step > 1e-20) {
      step /= 2;
      next = evaluate(rb, rs, a + step * da, c + step * dc, off, wb, ws, false);
    }
    const na = a + step * da;
    const nc = c + step * dc;
    if (!(next.f <= cur.f) || (na === a && nc === c)) {
      // no further decrease representable: we are at the floating-point floor of the objective
      converged = !separable;
      break;
    }
    a = na;
    c = nc;
    cur = evaluate(rb, rs, a, c, off, wb, ws, true);
    gradient = Math.max(Math.abs(cur.ga), Math.abs(cur.gc));
  }
  if (!converged && gradient < tol) converged = true;
  if (!Number.isFinite(a) || !Number.isFinite(c) || !Number.isFinite(cur.f))
    throw new MetricsInputError(`calibration fit diverged (a = ${a}, c = ${c}, objective ${cur.f}); check the scores for extreme values`);
  return { a, c, prior, objective: cur.f, iterations, gradient, converged: converged && !separable, separable };
}

/** llr = a·x + c for every score. A result that overflows to ±Infinity (or NaN) is an error naming the
 *  calibration file (when it came from parseCalibrationJson), never a silent NaN in Cllr. */
export function applyCalibration(scores: ArrayLike<number>, cal: Pick<Calibration, 'a' | 'c'>): Float64Array {
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const v = cal.a * scores[i] + cal.c;
    if (!Number.isFinite(v)) {
      const src = (cal as { source?: unknown }).source;
      throw new MetricsInputError(
        `${typeof src === 'string' ? `${src}: ` : ''}the calibration llr = ${cal.a}·score + ${cal.c} maps score ${scores[i]} to ${v}: ` +
          'a degenerate calibration (refit it on dev scores)',
      );
    }
    out[i] = v;
  }
  return out;
}

/** Calibration parameters beyond this magnitude are corrupt or degenerate (log-likelihood ratios of real
 *  systems are within ±100 nats). */
export const MAX_CALIBRATION_PARAMETER = 1e12;
/** Priors closer than this to 0 or 1 make the objective ignore one class entirely. */
export const MIN_PRIOR = 1e-6;

/** Parses a prior given as a number or as the name `asvspoof5` (π_eff = 0.655172…). */
export function parsePrior(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'asvspoof5' || t === 'asvspoof5-eff' || t === 'eff') return ASVSPOOF5_EFFECTIVE_PRIOR;
  const v = Number(t);
  if (!/^[0-9.eE+-]+$/.test(t) || !(v > 0 && v < 1)) {
    throw new MetricsInputError(`prior must be a number in (0, 1) or 'asvspoof5', got '${text}'`);
  }
  if (v < MIN_PRIOR || v > 1 - MIN_PRIOR) {
    throw new MetricsInputError(`prior ${text} is degenerate: it must lie in [${MIN_PRIOR}, 1 − ${MIN_PRIOR}] (a prior that close to 0 or 1 ignores one class)`);
  }
  return v;
}

/** The JSON document of a calibration file (`spoofscan calibrate --out`). */
export interface CalibrationFile {
  format: 'spoofscan-calibration';
  version: 1;
  /** llr = a·score + c */
  a: number;
  c: number;
  prior: number;
  [extra: string]: unknown;
}

export function calibrationToJson(cal: Calibration, extra: Record<string, unknown> = {}): CalibrationFile {
  return {
    format: 'spoofscan-calibration',
    version: 1,
    a: cal.a,
    c: cal.c,
    prior: cal.prior,
    iterations: cal.iterations,
    converged: cal.converged,
    separable: cal.separable,
    ...extra,
  };
}

/** Reads a calibration file: a JSON object with finite numbers `a` and `c`. */
export function parseCalibrationJson(text: string, source = 'calibration file'): CalibrationFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new MetricsInputError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  const o = doc as Record<string, unknown>;
  if (!o || typeof o !== 'object' || typeof o.a !== 'number' || typeof o.c !== 'number' || !Number.isFinite(o.a) || !Number.isFinite(o.c)) {
    throw new MetricsInputError(`${source}: expected a JSON object with finite numbers "a" and "c" (llr = a·score + c)`);
  }
  if (Math.abs(o.a) > MAX_CALIBRATION_PARAMETER || Math.abs(o.c) > MAX_CALIBRATION_PARAMETER) {
    throw new MetricsInputError(
      `${source}: a = ${o.a}, c = ${o.c} is not a usable calibration (need |a|, |c| ≤ ${MAX_CALIBRATION_PARAMETER}); refit it on dev scores`,
    );
  }
  if (o.prior !== undefined && o.prior !== null && !(typeof o.prior === 'number' && o.prior > 0 && o.prior < 1)) {
    throw new MetricsInputError(`${source}: "prior" must be a number in (0, 1), got ${JSON.stringify(o.prior)}`);
  }
  const cal: CalibrationFile = {
    ...o,
    format: 'spoofscan-calibration',
    version: 1,
    a: o.a,
    c: o.c,
    prior: typeof o.prior === 'number' ? o.prior : NaN,
  };
  // Where it came from, for messages (applyCalibration); not enumerable, so never written back out.
  Object.defineProperty(cal, 'source', { value: source, enumerable: false });
  return cal;
}
