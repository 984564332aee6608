// The hand-checkable test vectors of spec recipe-and-metrics.md §7.
import { describe, expect, it } from 'vitest';
import {
  ASVSPOOF5_EFFECTIVE_PRIOR,
  applyCalibration,
  bayesThreshold,
  cllr,
  detCurve,
  detectionMetrics,
  fitCalibration,
  openSetPredict,
  tracingMetrics,
} from '../../train/metrics/index.ts';

const ramp = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + 0.1 * i);

// case: bona fide, spoof, EER, EER threshold, ROCCH-EER, minDCF, actDCF, Cllr, min t-DCF, minDCF_u, actDCF_u
const CASES: [string, number[], number[], number, number, number, number, number, number, number | null, number, number][] = [
  ['A separated', [1, 2, 3, 4], [-1, -2, -3, -4], 0, -1, 0, 0, 0, 0.1828, 0.07793, 0, 0.125],
  ['B interleaved', [1, 3], [0, 2], 0.5, 1, 0.25, 0.5, 1, 1.1476, 0.53897, 0.25, 0.25],
  ['C all zero', [0, 0, 0, 0], [0, 0, 0, 0], 1, 0, 0.5, 1, 1, 1, null, 0.5, 0.5],
  ['D realistic', [2, 1.5, 0.5, -0.3, -1.0], [-3, -2, -0.5, 0, 1], 0.4, -0.3, 0.3, 0.6, 0.98, 0.8117, 0.63117, 0.3, 0.39],
  ['E ramp', ramp(0.45, 10), ramp(0, 10), 0.3, 0.65, 0.25, 0.5, 1, 0.9396, 0.53897, 0.25, 0.34],
  ['F tie', [0, 1], [0, -1], 0.5, 0, 0.25, 0.5, 0.5, 0.726, 0.53897, 0.25, 0.25],
];

describe('detection vectors (spec §7)', () => {
  for (const [name, b, s, eer, thr, rocch, minDcf, actDcf, cl, tdcf, minU, actU] of CASES) {
    it(name, () => {
      const m = detectionMetrics(b, s);
      expect(m.eer).toBeCloseTo(eer, 12);
      expect(m.eerThreshold).toBeCloseTo(thr, 12);
      expect(m.rocchEer).toBeCloseTo(rocch, 12);
      expect(m.minDcf).toBeCloseTo(minDcf, 12);
      expect(m.actDcf).toBeCloseTo(actDcf, 12);
      expect(m.cllr).toBeCloseTo(cl, 4);
      if (tdcf === null) expect(m.minTdcf).toBeNull();
      else expect(m.minTdcf!).toBeCloseTo(tdcf, 5);
      expect(m.minDcfMultiapi).toBeCloseTo(minU, 12);
      expect(m.actDcfMultiapi).toBeCloseTo(actU, 12);
    });
  }

  it('all-equal scores give exactly EER 100 % and Cllr exactly 1 (tie artefact of the official sweep)', () => {
    const m = detectionMetrics([0, 0, 0, 0], [0, 0, 0, 0]);
    expect(m.eer).toBe(1);
    expect(m.cllr).toBe(1);
  });

  it('case D: DET points and the worked numbers', () => {
    const { frr, far, thresholds } = detCurve([2, 1.5, 0.5, -0.3, -1.0], [-3, -2, -0.5, 0, 1]);
    expect(Array.from(frr.slice(0, 6))).toEqual([0, 0, 0, 0.2, 0.2, 0.4]);
    expect(Array.from(far.slice(0, 6))).toEqual([1, 0.8, 0.6, 0.6, 0.4, 0.4]);
    expect(thresholds[0]).toBeCloseTo(-3.001, 12);
    expect(Array.from(thresholds.slice(1))).toEqual([-3, -2, -1, -0.5, -0.3, 0, 0.5, 1, 1.5, 2]);
    const m = detectionMetrics([2, 1.5, 0.5, -0.3, -1.0], [-3, -2, -0.5, 0, 1]);
    expect(m.cllr).toBeCloseTo(0.5 * (0.85696 + 0.76634), 4);
    expect(m.minDcfThreshold).toBe(-2);
  });

  it('perfect system: minDCF 0 but MultiAPI actDCF at the EER threshold is 0.125 (case A)', () => {
    const m = detectionMetrics([1, 2, 3, 4], [-1, -2, -3, -4]);
    expect(m.minDcf).toBe(0);
    expect(m.actDcfMultiapi).toBe(0.125);
  });

  it('perfectly inverted system: EER 100 %, actDCF 2.9 on LLR-like scores', () => {
    const m = detectionMetrics([-5, -4, -3], [3, 4, 5]);
    expect(m.eer).toBe(1);
    expect(m.actDcf).toBeCloseTo(2.9, 12);
    expect(m.minDcf).toBeCloseTo(1, 12); // accept-all costs 1.0
  });

  it('accept-all costs 1.0 and reject-all 1.9 in actDCF', () => {
    expect(detectionMetrics([5, 6], [4, 7]).actDcf).toBeCloseTo(1, 12);
    expect(detectionMetrics([-5, -6], [-4, -7]).actDcf).toBeCloseTo(1.9, 12);
  });

  it('the Bayes threshold is −ln 1.9', () => {
    expect(bayesThreshold()).toBe(-Math.log(1.9));
    expect(bayesThreshold()).toBeCloseTo(-0.6418538861723947, 15);
  });
});

describe('calibration vectors (spec §7)', () => {
  const b = [2, 1.5, 0.5, -0.3, -1.0];
  const s = [-3, -2, -0.5, 0, 1];
  it('case D, π = 0.5', () => {
    const cal = fitCalibration(b, s, { prior: 0.5 });
    expect(cal.converged).toBe(true);
    expect(cal.a).toBeCloseTo(0.848327, 6);
    expect(cal.c).toBeCloseTo(0.1106, 6);
    expect(cllr(applyCalibration(b, cal), applyCalibration(s, cal))).toBeCloseTo(0.80579, 5);
    // at π = 0.5 the objective is the calibrated Cllr in nats
    expect(cal.objective / Math.LN2).toBeCloseTo(0.80579, 5);
  });
  it('case D, π = ASVspoof 5 effective prior', () => {
    expect(ASVSPOOF5_EFFECTIVE_PRIOR).toBeCloseTo(0.655172, 6);
    const cal = fitCalibration(b, s, { prior: ASVSPOOF5_EFFECTIVE_PRIOR });
    expect(cal.a).toBeCloseTo(0.876663, 6);
    expect(cal.c).toBeCloseTo(0.124876, 6);
  });
});

describe('tracing vectors (spec §7)', () => {
  const truth = [0, 0, 1, 1, 2, 3, 3, 3, 2];
  const probs = [
    [0.95, 0.03, 0.02],
    [0.4, 0.35, 0.25],
    [0.1, 0.8, 0.1],
    [0.1, 0.3, 0.6],
    [0.02, 0.03, 0.95],
    [0.45, 0.4, 0.15],
    [0.2, 0.7, 0.1],
    [0.34, 0.33, 0.33],
    [0.2, 0.1, 0.7],
  ];
  const flat = probs.flat();
  const predict = (tau: number) => probs.map((_, i) => openSetPredict(flat, i * 3, 3, tau));

  it('predictions at τ 0.5 and 0.9', () => {
    expect(predict(0.5)).toEqual([0, 3, 1, 2, 2, 3, 1, 3, 2]);
    expect(predict(0.9)).toEqual([0, 3, 3, 3, 2, 3, 3, 3, 3]);
  });

  const close = (got: number, want: number) => expect(got).toBeCloseTo(want, 5);

  it('τ = 0.5', () => {
    const m = tracingMetrics(truth, predict(0.5), 3);
    const want = [
      [1, 0.5, 0.66667],
      [0.5, 0.5, 0.5],
      [0.66667, 1, 0.8],
      [0.66667, 0.66667, 0.66667],
    ];
    want.forEach(([p, r, f], c) => {
      close(m.perClass[c].precision, p);
      close(m.perClass[c].recall, r);
      close(m.perClass[c].f1, f);
    });
    close(m.macro.precision, 0.70833);
    close(m.macro.recall, 0.66667);
    close(m.macro.f1, 0.65833);
    close(m.seen.precision, 0.72222);
    close(m.seen.recall, 0.66667);
    close(m.seen.f1, 0.65556);
    close(m.accuracy, 0.66667);
    expect(m.seenFalseRejection).toBeCloseTo(1 / 6, 12);
    expect(m.perClass.map((c) => c.support)).toEqual([2, 2, 2, 3]);
    expect(m.confusion[3]).toEqual([0, 1, 0, 2]);
  });

  it('τ = 0.9', () => {
    const m = tracingMetrics(truth, predict(0.9), 3);
    const want = [
      [1, 0.5, 0.66667],
      [0, 0, 0],
      [1, 0.5, 0.66667],
      [0.42857, 1, 0.6],
    ];
    want.forEach(([p, r, f], c) => {
      close(m.perClass[c].precision, p);
      close(m.perClass[c].recall, r);
      close(m.perClass[c].f1, f);
    });
    close(m.macro.precision, 0.60714);
    close(m.macro.recall, 0.5);
    close(m.macro.f1, 0.48333);
    close(m.seen.precision, 0.66667);
    close(m.seen.recall, 0.33333);
    close(m.seen.f1, 0.44444);
    close(m.accuracy, 0.55556);
    expect(m.seenFalseRejection).toBeCloseTo(4 / 6, 12);
    expect(m.unseenRejection).toBe(1);
  });

  it('macro F1 is the mean of per-class F1, not the F1 of macro P and R', () => {
    const m = tracingMetrics(truth, predict(0.5), 3);
    const f1OfMacro = (2 * m.macro.precision * m.macro.recall) / (m.macro.precision + m.macro.recall);
    expect(Math.abs(m.macro.f1 - f1OfMacro)).toBeGreaterThan(1e-3);
  });

  it('report macro averages absent labels as zeros; macro over L does not', () => {
    // K = 4: label 3 never occurs in truth or predictions
    const m = tracingMetrics([0, 1, 2, 4], [0, 1, 2, 4], 4);
    expect(m.labels).toEqual([0, 1, 2, 4]);
    expect(m.macro.f1).toBe(1);
    expect(m.reportMacro.f1).toBeCloseTo(4 / 5, 12);
  });
});
