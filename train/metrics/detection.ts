// Detection metrics on bona fide and spoof score arrays (higher = more bona fide), all in float64.
// Definitions: spec recipe-and-metrics.md §5; user documentation: docs/metrics.md.
//
// Everything here is O(N log N): both classes are sorted once, then one merge pass over the sorted
// scores yields the official ASVspoof DET sweep (EER, minDCF, min t-DCF), the MultiAPI-Spoof minDCF
// over unique thresholds, and the PAV blocks for the ROC convex hull. Pure TypeScript, no Node imports.

import { MetricsInputError } from './errors.ts';

/** Costs and prior of a detection cost function. */
export interface DcfCosts {
  /** prior probability of a spoof trial */
  pSpoof: number;
  /** cost of rejecting a bona fide trial */
  cMiss: number;
  /** cost of accepting a spoof trial */
  cFa: number;
}

/** ASVspoof 5 (and MultiAPI-Spoof) costs: P_spoof 0.05, C_miss 1, C_fa 10. */
export const ASVSPOOF5_COSTS: Readonly<DcfCosts> = Object.freeze({ pSpoof: 0.05, cMiss: 1, cFa: 10 });

/** ASVspoof 5 fixed ASV error rates used by the min t-DCF (spec §5.7). */
export const ASVSPOOF5_ASV = Object.freeze({
  pfaNon: 0.01881016557566423,
  pmiss: 0.01880141010575793,
  pfaSpoof: 0.4607082907604729,
});

/** Bayes threshold −ln β with β = C_miss·(1 − P_spoof) / (C_fa·P_spoof); −ln 1.9 for ASVspoof 5. */
export function bayesThreshold(costs: DcfCosts = ASVSPOOF5_COSTS): number {
  const beta = (costs.cMiss * (1 - costs.pSpoof)) / (costs.cFa * costs.pSpoof);
  return -Math.log(beta);
}

/** Everything computed by one pass over the sorted scores. */
export interface DetectionMetrics {
  nBonafide: number;
  nSpoof: number;
  /** EER of the official ASVspoof sweep (fraction, not %), no interpolation. */
  eer: number;
  /** threshold of the sweep point that gives `eer` */
  eerThreshold: number;
  /** EER on the ROC convex hull (BOSARIS rocch2eer). */
  rocchEer: number;
  /** ASVspoof 5 minDCF (normalised), first minimum over the sweep's DET points. */
  minDcf: number;
  minDcfThreshold: number;
  /** ASVspoof 5 actDCF (normalised) at the Bayes threshold, computed on `llr` scores when given. */
  actDcf: number;
  actDcfThreshold: number;
  /** MultiAPI-Spoof minDCF: un-normalised, minimum over thresholds at the unique scores. */
  minDcfMultiapi: number;
  /** MultiAPI-Spoof actDCF: un-normalised DCF at the EER threshold. */
  actDcfMultiapi: number;
  /** Cllr in bits, computed on `llr` scores when given. */
  cllr: number;
  /** ASVspoof 5 min t-DCF with the fixed ASV error rates; null when refused (fewer than 3 unique scores). */
  minTdcf: number | null;
  /** number of distinct score values over both classes */
  nUnique: number;
}

/** Returns a sorted float64 copy (ascending; −0 is stored as +0). Throws on NaN or ±inf. */
export function sortedScores(x: ArrayLike<number>, what = 'scores'): Float64Array {
  const a = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) throw new MetricsInputError(`${what}: element ${i} is ${v}; scores must be finite`);
    a[i] = v + 0; // −0 → +0, so that printed thresholds never read "-0"
  }
  a.sort();
  return a;
}

function checkNonEmpty(b: ArrayLike<number>, s: ArrayLike<number>): void {
  if (b.length === 0 && s.length === 0) throw new MetricsInputError('no trials: both classes are empty');
  if (b.length === 0) throw new MetricsInputError(`no bona fide trials (${s.length} spoof): one class is empty`);
  if (s.length === 0) throw new MetricsInputError(`no spoof trials (${b.length} bona fide): one class is empty`);
}

function asFloat64(x: ArrayLike<number>): Float64Array {
  return x instanceof Float64Array ? x : Float64Array.from(x);
}

/** End index (exclusive) of each run of equal values in a sorted array. */
function runEnds(x: Float64Array): Int32Array {
  const ends: number[] = [];
  let i = 0;
  while (i < x.length) {
    const v = x[i];
    while (i < x.length && x[i] === v) i++;
    ends.push(i);
  }
  return Int32Array.from(ends);
}

function checkSorted(a: Float64Array, what: string): void {
  if (!Number.isFinite(a[0]) || !Number.isFinite(a[a.length - 1])) throw new MetricsInputError(`${what}: scores must be finite`);
  for (let k = 1; k < a.length; k++) {
    if (!(a[k - 1] <= a[k])) throw new Error(`${what}: not sorted ascending at ${k} (use sortedScores)`);
  }
}

/** Number of elements of the sorted array that are < t (lower bound). */
export function countBelow(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Stable softplus log(1 + e^x): no overflow for large |x|. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** Neumaier-compensated sum accumulator (keeps 10⁷-term sums accurate). */
class Sum {
  private s = 0;
  private c = 0;
  add(x: number): void {
    const t = this.s + x;
    if (Math.abs(this.s) >= Math.abs(x)) this.c += this.s - t + x;
    else this.c += x - t + this.s;
    this.s = t;
  }
  get value(): number {
    return this.s + this.c;
  }
}

/** mean softplus(sign·x) in nats: Cllr's per-class term (sign −1 for bona fide, +1 for spoof). */
function cllrTerm(x: ArrayLike<number>, sign: 1 | -1): number {
  const t = new Sum();
  for (let i = 0; i < x.length; i++) t.add(softplus(sign * x[i]));
  return t.value / x.length;
}

/** Same as cllrTerm for a sorted array, one softplus per distinct value (scores have many ties). */
function cllrTermSorted(x: Float64Array, sign: 1 | -1): number {
  const t = new Sum();
  let i = 0;
  while (i < x.length) {
    const v = x[i];
    const i0 = i;
    while (i < x.length && x[i] === v) i++;
    t.add((i - i0) * softplus(sign * v));
  }
  return t.value / x.length;
}

/** Cllr in bits: ½·[mean_b log₂(1 + e^{−b}) + mean_s log₂(1 + e^{s})], stable for any finite score. */
export function cllr(bonafide: ArrayLike<number>, spoof: ArrayLike<number>): number {
  checkNonEmpty(bonafide, spoof);
  return (0.5 * (cllrTerm(bonafide, -1) + cllrTerm(spoof, 1))) / Math.LN2;
}

/**
 * ASVspoof 5 actDCF (normalised) at the Bayes threshold τ = −ln β; a trial is accepted iff score ≥ τ.
 * Same floating-point expression as `compute_actDCF` of the official package.
 */
export function actDcf(
  bonafideSorted: Float64Array,
  spoofSorted: Float64Array,
  costs: DcfCosts = ASVSPOOF5_COSTS,
): { actDcf: number; threshold: number } {
  checkNonEmpty(bonafideSorted, spoofSorted);
  const { pSpoof, cMiss, cFa } = costs;
  const threshold = bayesThreshold(costs);
  const rateMiss = countBelow(bonafideSorted, threshold) / bonafideSorted.length;
  const rateFa = (spoofSorted.length - countBelow(spoofSorted, threshold)) / spoofSorted.length;
  const raw = cMiss * (1 - pSpoof) * rateMiss + cFa * pSpoof * rateFa;
  return { actDcf: raw / Math.min(cFa * pSpoof, cMiss * (1 - pSpoof)), threshold };
}

/** MultiAPI-Spoof un-normalised DCF at threshold t: C_miss·(1−P)·#(b < t)/N_b + C_fa·P·#(s ≥ t)/N_s. */
export function dcfMultiapiAt(
  bonafideSorted: Float64Array,
  spoofSorted: Float64Array,
  t: number,
  costs: DcfCosts = ASVSPOOF5_COSTS,
): number {
  const { pSpoof, cMiss, cFa } = costs;
  const pMiss = countBelow(bonafideSorted, t) / bonafideSorted.length;
  const pFa = (spoofSorted.length - countBelow(spoofSorted, t)) / spoofSorted.length;
  return cMiss * (1 - pSpoof) * pMiss + cFa * pSpoof * pFa;
}

/** A growable stack of PAV blocks (target count, total count). */
class PavStack {
  tar: Float64Array;
  tot: Float64Array;
  n = 0;
  constructor(capacity: number) {
    this.tar = new Float64Array(Math.max(16, capacity));
    this.tot = new Float64Array(Math.max(16, capacity));
  }
  /** Appends a block of `tot` trials, `tar` of them bona fide, then pools adjacent violators. */
  push(tar: number, tot: number): void {
    if (this.n === this.tar.length) {
      const t = new Float64Array(this.n * 2);
      t.set(this.tar);
      const u = new Float64Array(this.n * 2);
      u.set(this.tot);
      this.tar = t;
      this.tot = u;
    }
    const ta = this.tar;
    const to = this.tot;
    let n = this.n;
    ta[n] = tar;
    to[n] = tot;
    n++;
    // merge while mean(prev) ≥ mean(last); cross-multiplied, exact for fewer than 9·10⁷ trials
    while (n >= 2 && ta[n - 2] * to[n - 1] >= ta[n - 1] * to[n - 2]) {
      ta[n - 2] += ta[n - 1];
      to[n - 2] += to[n - 1];
      n--;
    }
    this.n = n;
  }
}

/** ROCCH-EER from PAV blocks (BOSARIS rocch + rocch2eer), with vertices from exact counts. */
function rocchEerFromBlocks(pav: PavStack, nb: number, ns: number): number {
  let eer = 0;
  let x1 = 1; // Pfa
  let y1 = 0; // Pmiss
  let cumTar = 0;
  let cumNon = 0;
  for (let k = 0; k < pav.n; k++) {
    cumTar += pav.tar[k];
    cumNon += pav.tot[k] - pav.tar[k];
    const x2 = (ns - cumNon) / ns;
    const y2 = cumTar / nb;
    if (x1 !== x2 && y1 !== y2) {
      // [x1 y1; x2 y2]·[α; β] = [1; 1]  ⇒  1/(α + β) = det / ((y2 − y1) + (x1 − x2))
      const seg = (x1 * y2 - x2 * y1) / (y2 - y1 + (x1 - x2));
      if (seg > eer) eer = seg;
    }
    x1 = x2;
    y1 = y2;
  }
  return eer;
}

export interface DetectionOptions {
  costs?: DcfCosts;
  /**
   * Calibrated (LLR) scores for actDCF and Cllr, of the same trials as the raw scores. `detectionMetrics`
   * takes them in any order; `detectionMetricsSorted` wants them sorted (like the raw scores).
   * When absent, actDCF and Cllr use the raw scores.
   */
  llr?: { bonafide: ArrayLike<number>; spoof: ArrayLike<number> };
  /** Also compute ASVspoof 5 min t-DCF (default true). */
  tdcf?: boolean;
  /**
   * Reuse of per-bona-fide work when the same bona fide arrays are scored against many spoof sets
   * (per-attack breakdown): pass the same object each time; it must not outlive those arrays.
   */
  bonafideCache?: { cllrTerm?: number; runEnds?: Int32Array };
}

/**
 * All detection metrics from sorted bona fide and spoof scores (use `sortedScores`). One merge pass
 * replays the official `compute_det_curve` (stable sort of bona fide ++ spoof: ties put bona fide first).
 */
export function detectionMetricsSorted(b: Float64Array, s: Float64Array, opts: DetectionOptions = {}): DetectionMetrics {
  checkNonEmpty(b, s);
  const cache = opts.bonafideCache;
  let bEnds = cache?.runEnds;
  if (!bEnds || bEnds[bEnds.length - 1] !== b.length) {
    checkSorted(b, 'bona fide scores');
    bEnds = runEnds(b);
    if (cache) cache.runEnds = bEnds;
  }
  checkSorted(s, 'spoof scores');
  const costs = opts.costs ?? ASVSPOOF5_COSTS;
  const { pSpoof, cMiss, cFa } = costs;
  const nb = b.length;
  const ns = s.length;
  const n = nb + ns;

  // ASVspoof 5 minDCF (compute_mindcf): c_det = Cmiss·frr·p_target + Cfa·far·(1 − p_target)
  const pTarget = 1 - pSpoof;
  const cDef = Math.min(cMiss * pTarget, cFa * (1 - pTarget));
  // MultiAPI DCF_u: C_miss·(1 − P_spoof)·P_miss + C_fa·P_spoof·P_fa
  const wMissU = cMiss * (1 - pSpoof);
  const wFaU = cFa * pSpoof;
  // min t-DCF (spec §5.7)
  const doTdcf = opts.tdcf !== false;
  const pTar = (1 - pSpoof) * 0.99;
  const pNon = (1 - pSpoof) * 0.01;
  const c0 = pTar * cMiss * ASVSPOOF5_ASV.pmiss + pNon * cFa * ASVSPOOF5_ASV.pfaNon;
  const c1 = pTar * (cMiss - cMiss * ASVSPOOF5_ASV.pmiss) - pNon * cFa * ASVSPOOF5_ASV.pfaNon;
  const c2 = cFa * pSpoof * ASVSPOOF5_ASV.pfaSpoof;
  const tdcfNorm = c0 + Math.min(c1, c2);

  // k = 0: FRR 0, FAR 1, threshold = lowest score − 0.001
  const lowest = b[0] <= s[0] ? b[0] : s[0];
  const thr = lowest - 0.001;
  let frr = 0;
  let far = 1;
  let bestDiff = Math.abs(frr - far);
  let eer = (frr + far) / 2;
  let eerThreshold = thr;
  let minCDet = cMiss * frr * pTarget + cFa * far * (1 - pTarget);
  let minDcfThreshold = thr;
  let minTdcf = (c0 + c1 * frr + c2 * far) / tdcfNorm;
  let minDcfU = Infinity;
  let nUnique = 0;
  const pav = new PavStack(1024);

  // One step per distinct score value (a "run"). Inside a run the stable order puts its bona fide
  // trials first, then its spoof trials; every DET point of the run shares the threshold v. Along the
  // sweep d = FRR − FAR increases strictly (each step raises FRR or lowers FAR), and the DCFs fall only
  // while spoof trials are passed, so inside a run the DCF minimum is at the run's end and |d| is
  // smallest at its end unless d crosses 0 there; only that one run is stepped point by point.
  // The results equal a point-by-point sweep with the official first-minimum rule.
  let i = 0; // bona fide trials at or below the current point
  let j = 0; // spoof trials at or below the current point
  let r = 0; // next run of equal bona fide scores
  let eerDone = false;
  while (i < nb || j < ns) {
    const v = i < nb && (j >= ns || b[i] <= s[j]) ? b[i] : s[j];
    // first occurrence of the distinct value t = v: #(b < t) = i, #(s < t) = j
    nUnique++;
    const dcfU = wMissU * (i / nb) + wFaU * ((ns - j) / ns);
    if (dcfU < minDcfU) minDcfU = dcfU;
    const i0 = i;
    const j0 = j;
    if (i < nb && b[i] === v) i = bEnds[r++];
    while (j < ns && s[j] === v) j++;
    if (i > i0) pav.push(i - i0, i - i0);
    if (j > j0) pav.push(0, j - j0);
    frr = i / nb;
    far = (ns - j) / ns;
    if (!eerDone) {
      if (frr - far < 0) {
        const diff = Math.abs(frr - far);
        if (diff < bestDiff) {
          bestDiff = diff;
          eer = (frr + far) / 2;
          eerThreshold = v;
        }
      } else {
        // d reaches 0 inside this run: check each of its DET points, in sweep order
        const farB = (ns - j0) / ns;
        for (let ii = i0 + 1; ii <= i; ii++) {
          const fr = ii / nb;
          const diff = Math.abs(fr - farB);
          if (diff < bestDiff) {
            bestDiff = diff;
            eer = (fr + farB) / 2;
            eerThreshold = v;
          }
        }
        for (let jj = j0 + 1; jj <= j; jj++) {
          const fa = (ns - jj) / ns;
          const diff = Math.abs(frr - fa);
          if (diff < bestDiff) {
            bestDiff = diff;
            eer = (frr + fa) / 2;
            eerThreshold = v;
          }
        }
        eerDone = true;
      }
    }
    const cDet = cMiss * frr * pTarget + cFa * far * (1 - pTarget);
    if (cDet < minCDet) {
      minCDet = cDet;
      minDcfThreshold = v;
    }
    if (doTdcf) {
      const t = (c0 + c1 * frr + c2 * far) / tdcfNorm;
      if (t < minTdcf) minTdcf = t;
    }
  }

  let lb = b;
  let ls = s;
  if (opts.llr) {
    lb = asFloat64(opts.llr.bonafide);
    ls = asFloat64(opts.llr.spoof);
    checkSorted(lb, 'bona fide LLRs');
    checkSorted(ls, 'spoof LLRs');
    if (lb.length !== nb || ls.length !== ns) throw new Error('LLR arrays must have the sizes of the score arrays');
  }
  const act = actDcf(lb, ls, costs);
  let termB = cache?.cllrTerm;
  if (termB === undefined) {
    termB = cllrTermSorted(lb, -1);
    if (cache) cache.cllrTerm = termB;
  }
  const cl = (0.5 * (termB + cllrTermSorted(ls, 1))) / Math.LN2;

  return {
    nBonafide: nb,
    nSpoof: ns,
    eer,
    eerThreshold,
    rocchEer: rocchEerFromBlocks(pav, nb, ns),
    minDcf: minCDet / cDef,
    minDcfThreshold,
    actDcf: act.actDcf,
    actDcfThreshold: act.threshold,
    minDcfMultiapi: minDcfU,
    actDcfMultiapi: dcfMultiapiAt(b, s, eerThreshold, costs),
    cllr: cl,
    minTdcf: doTdcf && nUnique >= 3 ? minTdcf : null,
    nUnique,
  };
}

/** All detection metrics from unsorted score arrays (any ArrayLike of finite numbers). */
export function detectionMetrics(
  bonafide: ArrayLike<number>,
  spoof: ArrayLike<number>,
  opts: DetectionOptions = {},
): DetectionMetrics {
  checkNonEmpty(bonafide, spoof);
  const llr = opts.llr && {
    bonafide: sortedScores(opts.llr.bonafide, 'bona fide LLRs'),
    spoof: sortedScores(opts.llr.spoof, 'spoof LLRs'),
  };
  return detectionMetricsSorted(sortedScores(bonafide, 'bona fide scores'), sortedScores(spoof, 'spoof scores'), { ...opts, llr });
}

/** The official DET curve itself (N + 1 points: FRR, FAR, threshold), e.g. for plots; O(N log N). */
export function detCurve(
  bonafide: ArrayLike<number>,
  spoof: ArrayLike<number>,
): { frr: Float64Array; far: Float64Array; thresholds: Float64Array } {
  checkNonEmpty(bonafide, spoof);
  const b = sortedScores(bonafide, 'bona fide scores');
  const s = sortedScores(spoof, 'spoof scores');
  const nb = b.length;
  const ns = s.length;
  const n = nb + ns;
  const frr = new Float64Array(n + 1);
  const far = new Float64Array(n + 1);
  const thresholds = new Float64Array(n + 1);
  far[0] = 1;
  thresholds[0] = (b[0] <= s[0] ? b[0] : s[0]) - 0.001;
  let i = 0;
  let j = 0;
  for (let k = 1; k <= n; k++) {
    const takeB = i < nb && (j >= ns || b[i] <= s[j]);
    thresholds[k] = takeB ? b[i++] : s[j++];
    frr[k] = i / nb;
    far[k] = (ns - j) / ns;
  }
  return { frr, far, thresholds };
}
