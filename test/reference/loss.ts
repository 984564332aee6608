// Float64 references: weighted cross-entropy (PyTorch reduction) and attentive statistics pooling.
import { nd, type Nd } from './nd.ts';

export function crossEntropyRef(logits: Nd, labels: number[], weights: number[] | null, reduction: 'mean' | 'sum'): number {
  const [N, C] = logits.shape;
  let num = 0;
  let den = 0;
  for (let i = 0; i < N; i++) {
    const row = Array.from(logits.data.slice(i * C, (i + 1) * C));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    const w = weights ? weights[labels[i]] : 1;
    num += w * (lse - row[labels[i]]);
    den += w;
  }
  return reduction === 'sum' ? num : num / den;
}

export function astpRef(x: Nd, logits: Nd, eps: number): Nd {
  const [B, C, T] = x.shape;
  const Ca = logits.shape[1];
  const out = new Float64Array(B * 2 * C);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const lrow = Array.from({ length: T }, (_, t) => logits.data[(b * Ca + (Ca === 1 ? 0 : c)) * T + t]);
      const m = Math.max(...lrow);
      const e = lrow.map((v) => Math.exp(v - m));
      const z = e.reduce((a, v) => a + v, 0);
      let mu = 0;
      let m2 = 0;
      for (let t = 0; t < T; t++) {
        const a = e[t] / z;
        const v = x.data[(b * C + c) * T + t];
        mu += a * v;
        m2 += a * v * v;
      }
      out[b * 2 * C + c] = mu;
      out[b * 2 * C + C + c] = Math.sqrt(Math.max(m2 - mu * mu, eps));
    }
  }
  return nd([B, 2 * C], out);
}
