// Independent float64 reference implementations, written straight from the definitions in
// spec recipe-and-metrics.md §5–§6, deliberately naive (O(N²)) and sharing no code with
// train/metrics/. The property tests compare the fast implementation against these.

export interface RefDetection {
  eer: number;
  eerThreshold: number;
  rocchEer: number;
  minDcf: number;
  actDcf: number;
  minDcfMultiapi: number;
  actDcfMultiapi: number;
  cllr: number;
  minTdcf: number | null;
}

/** The official DET sweep: stable ascending sort of b ++ s, N + 1 points. */
export function refDetCurve(b: number[], s: number[]): { frr: number[]; far: number[]; thr: number[] } {
  const all = [...b, ...s].map((v) => v + 0);
  const lab = [...b.map(() => 1), ...s.map(() => 0)];
  const order = all.map((_, i) => i).sort((x, y) => all[x] - all[y]); // Array.prototype.sort is stable
  const nb = b.length;
  const ns = s.length;
  const frr = [0];
  const far = [1];
  const thr = [all[order[0]] - 0.001];
  for (let k = 1; k <= all.length; k++) {
    let t = 0;
    for (let q = 0; q < k; q++) t += lab[order[q]];
    frr.push(t / nb);
    far.push((ns - (k - t)) / ns);
    thr.push(all[order[k - 1]]);
  }
  return { frr, far, thr };
}

/** ROCCH-EER from the lower convex hull of the achievable ROC points (one per distinct threshold). */
export function refRocchEer(b: number[], s: number[]): number {
  const ts = [...new Set([...b, ...s].map((v) => v + 0))].sort((x, y) => x - y);
  ts.push(Infinity);
  // (Pfa, Pmiss) at threshold t: accept iff score ≥ t
  const pts = ts.map((t) => [s.filter((v) => v >= t).length / s.length, b.filter((v) => v < t).length / b.length]);
  // pts go from (1, 0) to (0, 1); sort by Pfa ascending for a monotone-chain lower hull
  pts.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  const hull: number[][] = [];
  const cross = (o: number[], a: number[], c: number[]) => (a[0] - o[0]) * (c[1] - o[1]) - (a[1] - o[1]) * (c[0] - o[0]);
  for (const p of pts) {
    while (hull.length >= 2 && cross(hull[hull.length - 2], hull[hull.length - 1], p) <= 0) hull.pop();
    hull.push(p);
  }
  // the hull crosses the diagonal Pmiss = Pfa once
  for (let i = 0; i + 1 < hull.length; i++) {
    const [x1, y1] = hull[i];
    const [x2, y2] = hull[i + 1];
    const d1 = y1 - x1;
    const d2 = y2 - x2;
    if (d1 >= 0 && d2 <= 0) {
      if (d1 === d2) return x1;
      const f = d1 / (d1 - d2);
      return x1 + f * (x2 - x1);
    }
  }
  throw new Error('hull does not cross the diagonal');
}

export function refDetection(b: number[], s: number[]): RefDetection {
  const { frr, far, thr } = refDetCurve(b, s);
  let best = 0;
  for (let k = 1; k < frr.length; k++) if (Math.abs(frr[k] - far[k]) < Math.abs(frr[best] - far[best])) best = k;
  // ASVspoof 5 costs: P_spoof 0.05, C_miss 1, C_fa 10; normalised by min(0.95, 0.5)
  let minDcf = Infinity;
  for (let k = 0; k < frr.length; k++) minDcf = Math.min(minDcf, (0.95 * frr[k] + 0.5 * far[k]) / 0.5);
  const tau = -Math.log(1.9);
  const pMiss = b.filter((v) => v < tau).length / b.length;
  const pFa = s.filter((v) => v >= tau).length / s.length;
  const dcfU = (t: number) => 0.95 * (b.filter((v) => v < t).length / b.length) + 0.5 * (s.filter((v) => v >= t).length / s.length);
  const uniq = [...new Set([...b, ...s])];
  const cllr = 0.5 * (b.reduce((a, v) => a + Math.log2(1 + Math.exp(-v)), 0) / b.length + s.reduce((a, v) => a + Math.log2(1 + Math.exp(v)), 0) / s.length);
  // min t-DCF with ASVspoof 5's fixed ASV error rates
  const pTar = 0.95 * 0.99;
  const pNon = 0.95 * 0.01;
  const c0 = pTar * 0.01880141010575793 + pNon * 10 * 0.01881016557566423;
  const c1 = pTar - c0;
  const c2 = 0.05 * 10 * 0.4607082907604729;
  let minTdcf = Infinity;
  for (let k = 0; k < frr.length; k++) minTdcf = Math.min(minTdcf, (c0 + c1 * frr[k] + c2 * far[k]) / (c0 + Math.min(c1, c2)));
  return {
    eer: (frr[best] + far[best]) / 2,
    eerThreshold: thr[best],
    rocchEer: refRocchEer(b, s),
    minDcf,
    actDcf: (0.95 * pMiss + 0.5 * pFa) / 0.5,
    minDcfMultiapi: Math.min(...uniq.map(dcfU)),
    actDcfMultiapi: dcfU(thr[best]),
    cllr,
    minTdcf: uniq.length >= 3 ? minTdcf : null,
  };
}

/** Prior-weighted logistic calibration objective, naive. */
export function refCalObjective(b: number[], s: number[], a: number, c: number, prior: number): number {
  const off = Math.log(prior / (1 - prior));
  const fb = b.reduce((acc, x) => acc + Math.log(1 + Math.exp(-(a * x + c + off))), 0) / b.length;
  const fs = s.reduce((acc, x) => acc + Math.log(1 + Math.exp(a * x + c + off)), 0) / s.length;
  return prior * fb + (1 - prior) * fs;
}

export interface RefTracing {
  accuracy: number;
  perClass: { precision: number; recall: number; f1: number; support: number }[];
  macro: [number, number, number];
  weighted: [number, number, number];
  seen: [number, number, number];
  seenFalseRejection: number;
}

/** Tracing metrics from the definitions (sklearn macro/weighted over labels present in truth ∪ pred). */
export function refTracing(truth: number[], pred: number[], K: number): RefTracing {
  const perClass: RefTracing['perClass'] = [];
  for (let c = 0; c <= K; c++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < truth.length; i++) {
      if (pred[i] === c && truth[i] === c) tp++;
      else if (pred[i] === c) fp++;
      else if (truth[i] === c) fn++;
    }
    const p = tp + fp === 0 ? 0 : tp / (tp + fp);
    const r = tp + fn === 0 ? 0 : tp / (tp + fn);
    const f = p + r === 0 ? 0 : (2 * p * r) / (p + r);
    perClass.push({ precision: p, recall: r, f1: f, support: tp + fn });
  }
  const L = [...new Set([...truth, ...pred])].sort((x, y) => x - y);
  const avg = (ls: number[]): [number, number, number] =>
    ls.length === 0
      ? [0, 0, 0]
      : [
          ls.reduce((a, c) => a + perClass[c].precision, 0) / ls.length,
          ls.reduce((a, c) => a + perClass[c].recall, 0) / ls.length,
          ls.reduce((a, c) => a + perClass[c].f1, 0) / ls.length,
        ];
  const total = L.reduce((a, c) => a + perClass[c].support, 0);
  const wavg = (key: 'precision' | 'recall' | 'f1') => (total === 0 ? 0 : L.reduce((a, c) => a + perClass[c].support * perClass[c][key], 0) / total);
  const seenIdx = truth.map((t, i) => i).filter((i) => truth[i] < K);
  return {
    accuracy: truth.filter((t, i) => t === pred[i]).length / truth.length,
    perClass,
    macro: avg(L),
    weighted: [wavg('precision'), wavg('recall'), wavg('f1')],
    seen: avg(L.filter((c) => c < K)),
    seenFalseRejection: seenIdx.length === 0 ? 0 : seenIdx.filter((i) => pred[i] === K).length / seenIdx.length,
  };
}
