// Thousands of random score sets (many with ties) against the naive reference in reference.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ASVSPOOF5_EFFECTIVE_PRIOR,
  applyCalibration,
  cllr,
  detectionBreakdown,
  detectionMetrics,
  fitCalibration,
  tracingMetrics,
} from '../../train/metrics/index.ts';
import { refCalObjective, refDetection, refTracing } from './reference.ts';

const SEED = 20260801;

// scores: half-integers (heavy ties), arbitrary doubles, and a few wide values
const score = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -4, max: 4 }).map((x) => x / 2) },
  { weight: 3, arbitrary: fc.double({ min: -8, max: 8, noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.double({ min: -300, max: 300, noNaN: true, noDefaultInfinity: true }) },
);
const scores = (max: number) => fc.array(score, { minLength: 1, maxLength: max });
const constant = fc.integer({ min: -2, max: 2 }).chain((v) => fc.tuple(fc.array(fc.constant(v), { minLength: 1, maxLength: 6 }), fc.array(fc.constant(v), { minLength: 1, maxLength: 6 })));

const tol = (got: number, want: number, eps = 1e-12) => expect(Math.abs(got - want)).toBeLessThanOrEqual(eps * Math.max(1, Math.abs(want)));

function compare(b: number[], s: number[]): void {
  const m = detectionMetrics(b, s);
  const r = refDetection(b, s);
  // the sweep quantities are exact: same integer counts, same divisions, first minimum
  expect(m.eer).toBe(r.eer);
  expect(m.eerThreshold).toBe(r.eerThreshold + 0);
  tol(m.minDcf, r.minDcf);
  tol(m.actDcf, r.actDcf);
  tol(m.minDcfMultiapi, r.minDcfMultiapi);
  tol(m.actDcfMultiapi, r.actDcfMultiapi);
  tol(m.rocchEer, r.rocchEer, 1e-10);
  tol(m.cllr, r.cllr, 1e-10);
  if (r.minTdcf === null) expect(m.minTdcf).toBeNull();
  else tol(m.minTdcf!, r.minTdcf);
}

describe('detection metrics vs the O(N²) reference', () => {
  it('random score sets, small, with ties (3000 sets)', () => {
    fc.assert(
      fc.property(scores(12), scores(12), (b, s) => compare(b, s)),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('random score sets, larger (500 sets)', () => {
    fc.assert(
      fc.property(fc.array(score, { minLength: 1, maxLength: 150, size: 'max' }), fc.array(score, { minLength: 1, maxLength: 150, size: 'max' }), (b, s) =>
        compare(b, s),
      ),
      { seed: SEED + 1, numRuns: 500 },
    );
  });

  it('all-equal scores in both classes', () => {
    fc.assert(
      fc.property(constant, ([b, s]) => {
        compare(b, s);
        expect(detectionMetrics(b, s).eer).toBe(1);
      }),
      { seed: SEED + 2, numRuns: 100 },
    );
  });

  it('ROCCH-EER lies in [0, 0.5] (the chance diagonal is always achievable)', () => {
    fc.assert(
      fc.property(scores(60), scores(60), (b, s) => {
        const m = detectionMetrics(b, s);
        expect(m.rocchEer).toBeGreaterThanOrEqual(0);
        expect(m.rocchEer).toBeLessThanOrEqual(0.5 + 1e-15);
      }),
      { seed: SEED + 3, numRuns: 500 },
    );
  });

  it('invariant to input order and to strictly increasing transforms (rates only)', () => {
    fc.assert(
      fc.property(scores(40), scores(40), fc.double({ min: 0.1, max: 10, noNaN: true }), fc.integer({ min: -5, max: 5 }), (b, s, scale, shift) => {
        const m = detectionMetrics(b, s);
        const rev = detectionMetrics([...b].reverse(), [...s].reverse());
        expect(rev).toEqual(m);
        const f = (x: number) => Math.exp((x * scale) / 300) + shift; // strictly increasing, keeps ties
        const t = detectionMetrics(b.map(f), s.map(f));
        // a transform can merge scores that differ by less than its rounding: skip those sets
        fc.pre(new Set([...b, ...s]).size === new Set([...b, ...s].map(f)).size);
        expect(t.eer).toBe(m.eer);
        expect(t.minDcf).toBe(m.minDcf);
        expect(t.minDcfMultiapi).toBe(m.minDcfMultiapi);
        tol(t.rocchEer, m.rocchEer, 1e-12);
      }),
      { seed: SEED + 4, numRuns: 500 },
    );
  });

  it('breakdown: each group against all bona fide equals the metrics of that group alone', () => {
    fc.assert(
      fc.property(scores(20), fc.array(fc.tuple(score, fc.constantFrom('g1', 'g2', 'g3')), { minLength: 1, maxLength: 30 }), (b, tagged) => {
        const s = tagged.map((t) => t[0]);
        const groups = tagged.map((t) => t[1]);
        const bd = detectionBreakdown(b, s, groups, { unseen: ['g3'] });
        for (const g of ['g1', 'g2', 'g3']) {
          const mine = s.filter((_, i) => groups[i] === g);
          if (mine.length === 0) expect(bd.perGroup[g]).toBeUndefined();
          else expect(bd.perGroup[g]).toEqual(detectionMetrics(b, mine));
        }
        const unseen = s.filter((_, i) => groups[i] === 'g3');
        const seen = s.filter((_, i) => groups[i] !== 'g3');
        expect(bd.unseen).toEqual(unseen.length ? detectionMetrics(b, unseen) : null);
        expect(bd.seen).toEqual(seen.length ? detectionMetrics(b, seen) : null);
        expect(bd.overall).toEqual(detectionMetrics(b, s));
      }),
      { seed: SEED + 5, numRuns: 300 },
    );
  });
});

describe('Cllr', () => {
  it('is stable for huge scores (the naive log1p(exp) overflows at ~709)', () => {
    expect(cllr([1e6], [-1e6])).toBe(0);
    expect(cllr([-1000], [1000])).toBeCloseTo((0.5 * 2000) / Math.LN2, 9);
    expect(Number.isFinite(cllr([-1e300], [1e300]))).toBe(true);
  });
});

describe('calibration', () => {
  // coarse scores (0.01 grid): overlaps of a denormal width would put the optimum at a slope of 1e300
  const coarse = fc.array(score.map((x) => Math.round(x * 100) / 100), { minLength: 1, maxLength: 40 });
  const pair = fc.tuple(coarse, coarse).filter(([b, s]) => {
    // a finite optimum needs strictly overlapping classes (no quasi-separation)
    return Math.max(...s) > Math.min(...b) && Math.max(...b) > Math.min(...s);
  });

  it('reaches the minimum of the prior-weighted objective (500 sets)', () => {
    fc.assert(
      fc.property(pair, fc.constantFrom(0.5, ASVSPOOF5_EFFECTIVE_PRIOR, 0.1), ([b, s], prior) => {
        const cal = fitCalibration(b, s, { prior });
        expect(cal.separable).toBe(false);
        expect(cal.converged).toBe(true);
        const f0 = refCalObjective(b, s, cal.a, cal.c, prior);
        tol(cal.objective, f0, 1e-9);
        // no nearby point is better (the objective is convex)
        for (const [da, dc] of [[1e-4, 0], [-1e-4, 0], [0, 1e-4], [0, -1e-4], [1e-3, -1e-3], [-1e-3, 1e-3]]) {
          expect(refCalObjective(b, s, cal.a + da, cal.c + dc, prior)).toBeGreaterThanOrEqual(f0 - 1e-12);
        }
      }),
      { seed: SEED + 6, numRuns: 500 },
    );
  });

  it('is equivariant to affine rescaling of the input scores', () => {
    fc.assert(
      fc.property(pair, fc.double({ min: 0.01, max: 100, noNaN: true }), fc.double({ min: -50, max: 50, noNaN: true }), ([b, s], alpha, beta) => {
        const cal = fitCalibration(b, s);
        const cal2 = fitCalibration(b.map((x) => alpha * x + beta), s.map((x) => alpha * x + beta));
        // same LLRs: a' = a/α, c' = c − a·β/α
        const l1 = applyCalibration(b, cal);
        const l2 = applyCalibration(b.map((x) => alpha * x + beta), cal2);
        for (let i = 0; i < l1.length; i++) tol(l2[i], l1[i], 1e-6);
      }),
      { seed: SEED + 7, numRuns: 300 },
    );
  });

  it('calibration on dev = test never increases Cllr at π = 0.5', () => {
    fc.assert(
      fc.property(pair, ([b, s]) => {
        const cal = fitCalibration(b, s);
        const after = cllr(applyCalibration(b, cal), applyCalibration(s, cal));
        expect(after).toBeLessThanOrEqual(Math.min(1, cllr(b, s)) + 1e-9);
      }),
      { seed: SEED + 8, numRuns: 300 },
    );
  });

  it('flags separable classes instead of claiming convergence', () => {
    const cal = fitCalibration([1, 2, 3, 4], [-1, -2, -3, -4]);
    expect(cal.separable).toBe(true);
    expect(cal.converged).toBe(false);
    expect(cal.a).toBeGreaterThan(5);
    // quasi-separation: the classes only touch at a tie
    expect(fitCalibration([0.5, 0], [0]).separable).toBe(true);
    expect(fitCalibration([1, 2], [-1, -2]).separable).toBe(true);
    // all-equal scores: not separable, the optimum is c = −logit π·… with any slope
    const eq = fitCalibration([0, 0], [0, 0, 0]);
    expect(eq.separable).toBe(false);
    expect(eq.converged).toBe(true);
  });

  it('rejects empty classes and bad priors', () => {
    expect(() => fitCalibration([], [1])).toThrow(/one class is empty/);
    expect(() => fitCalibration([1], [2], { prior: 1 })).toThrow(/prior/);
  });
});

describe('tracing metrics vs the reference', () => {
  it('random truths and predictions (2000 sets)', () => {
    const K = fc.integer({ min: 1, max: 6 });
    fc.assert(
      fc.property(
        K.chain((k) => fc.tuple(fc.constant(k), fc.array(fc.tuple(fc.integer({ min: 0, max: k }), fc.integer({ min: 0, max: k })), { minLength: 1, maxLength: 60 }))),
        ([k, pairs]) => {
          const truth = pairs.map((p) => p[0]);
          const pred = pairs.map((p) => p[1]);
          const m = tracingMetrics(truth, pred, k);
          const r = refTracing(truth, pred, k);
          tol(m.accuracy, r.accuracy);
          for (let c = 0; c <= k; c++) {
            tol(m.perClass[c].precision, r.perClass[c].precision);
            tol(m.perClass[c].recall, r.perClass[c].recall);
            tol(m.perClass[c].f1, r.perClass[c].f1);
            expect(m.perClass[c].support).toBe(r.perClass[c].support);
          }
          tol(m.macro.precision, r.macro[0]);
          tol(m.macro.recall, r.macro[1]);
          tol(m.macro.f1, r.macro[2]);
          tol(m.weighted.precision, r.weighted[0]);
          tol(m.weighted.recall, r.weighted[1]);
          tol(m.weighted.f1, r.weighted[2]);
          tol(m.seen.precision, r.seen[0]);
          tol(m.seen.recall, r.seen[1]);
          tol(m.seen.f1, r.seen[2]);
          tol(m.seenFalseRejection, r.seenFalseRejection);
          expect(m.confusion.flat().reduce((a, v) => a + v, 0)).toBe(truth.length);
        },
      ),
      { seed: SEED + 9, numRuns: 2000 },
    );
  });
});
