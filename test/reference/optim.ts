// Float64 references of PyTorch's Adam, AdamW and SGD update rules (single tensor, amsgrad off).
export interface RefState {
  p: number[];
  m: number[];
  v: number[];
  step: number;
}

export function adamRef(s: RefState, g: number[], lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean): void {
  s.step++;
  const bc1 = 1 - b1 ** s.step;
  const bc2 = 1 - b2 ** s.step;
  for (let i = 0; i < s.p.length; i++) {
    let gi = g[i];
    if (decoupled) s.p[i] *= 1 - lr * wd;
    else gi += wd * s.p[i];
    s.m[i] = b1 * s.m[i] + (1 - b1) * gi;
    s.v[i] = b2 * s.v[i] + (1 - b2) * gi * gi;
    s.p[i] -= (lr / bc1) * (s.m[i] / (Math.sqrt(s.v[i]) / Math.sqrt(bc2) + eps));
  }
}

export function sgdRef(s: RefState, g: number[], lr: number, momentum: number, dampening: number, wd: number, nesterov: boolean): void {
  s.step++;
  for (let i = 0; i < s.p.length; i++) {
    let d = g[i] + wd * s.p[i];
    if (momentum !== 0) {
      s.m[i] = s.step === 1 ? d : momentum * s.m[i] + (1 - dampening) * d;
      d = nesterov ? d + momentum * s.m[i] : s.m[i];
    }
    s.p[i] -= lr * d;
  }
}
