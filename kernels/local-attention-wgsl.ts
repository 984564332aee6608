// WGSL for local-window attention (spec model-nes2net-la.md §11). One thread per query row walks its W
// slots with an online softmax (chunks of SC slots); memory is O(N·W) at most (the backward
// scratch). Slot j of query n reads key n + δ·(j − left), resolved by the edge policy.
import { uniformStruct, type UField } from './util.ts';
import { dropoutWgsl } from './attention-common.ts';

export type EdgePolicy = 'clamp' | 'mask' | 'zero';

export interface LocalShaderCfg {
  dk: number;
  dv: number;
  tq: number;
  policy: EdgePolicy;
  bias: boolean;
  drop: boolean;
  /** 4 when d_k and d_v are multiples of 4: rows are read and accumulated as vec4 (fewer, wider memory ops). */
  vw: 1 | 4;
}

/** Slots scored per online-softmax rescale. */
const SC = 8;

export const LOCAL_FIELDS: UField[] = [
  ['N', 'u32'],
  ['H', 'u32'],
  ['W', 'u32'],
  ['dil', 'u32'],
  ['left', 'u32'],
  ['scale', 'f32'],
  ['seed', 'u32'],
  ['thr', 'u32'],
  ['dscale', 'f32'],
  ['pfOff', 'u32'],
];

const OUT_OF_RANGE: Record<EdgePolicy, string> = {
  clamp: 'return clamp(m, 0, i32(u.N) - 1);',
  mask: 'return -2;',
  zero: 'return -1;',
};

function header(c: LocalShaderCfg, inputs: [string, string][], outputs: [string, string][]): string {
  const lines: string[] = [];
  let b = 0;
  const vt = c.vw === 4 ? 'vec4<f32>' : 'f32';
  for (const [n, t] of inputs) lines.push(`@group(0) @binding(${b++}) var<storage, read> ${n}: array<${t === 'T' ? vt : t}>;`);
  for (const [n, t] of outputs) lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${n}: array<${t === 'T' ? vt : t}>;`);
  lines.push(uniformStruct(LOCAL_FIELDS).replace('BINDING', String(b)));
  // DK, DV count vectors of width vw; dotv is their inner product.
  lines.push(`alias T = ${vt};
const DK = ${c.dk / c.vw}u;\nconst DV = ${c.dv / c.vw}u;\nconst TQ = ${c.tq}u;\nconst SC = ${SC}u;
fn dotv(a: T, b: T) -> f32 { return ${c.vw === 4 ? 'dot(a, b)' : 'a * b'}; }`);
  lines.push(dropoutWgsl(c.drop));
  lines.push(`// The key row slot j of query n reads: ≥ 0 a row, −1 the zero vector, −2 excluded.
fn slotKey(n: u32, j: u32) -> i32 {
  let m = i32(n) + i32(u.dil) * (i32(j) - i32(u.left));
  if (m >= 0 && m < i32(u.N)) { return m; }
  ${OUT_OF_RANGE[c.policy]}
}
fn biasAt(h: u32, j: u32) -> f32 { return ${c.bias ? 'bias[h * u.W + j]' : '0.0'}; }`);
  return lines.join('\n') + '\n';
}

const ENTRY = `@compute @workgroup_size(TQ)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let h = wid.y;
  let bh = wid.z * u.H + wid.y;
  let kvb = bh * u.N;`;

function withBias(c: LocalShaderCfg, names: [string, string][]): [string, string][] {
  return c.bias ? [...names.slice(0, 3), ['bias', 'f32'], ...names.slice(3)] : names;
}

/** Forward: O and LSE (both policies' logits: α·⟨q, k⟩ + β, or β alone for a zero slot). */
export function localForwardSource(c: LocalShaderCfg): string {
  return `${header(c, withBias(c, [['q', 'T'], ['k', 'T'], ['v', 'T']]), [['o', 'T'], ['lse', 'f32']])}
${ENTRY}
  let n = wid.x * TQ + lid.x;
  if (n >= u.N) { return; }
  let row = kvb + n;
  var qr: array<T, DK>;
  for (var c = 0u; c < DK; c++) { qr[c] = q[row * DK + c] * u.scale; }
  var acc: array<T, DV>;
  var s: array<f32, SC>;
  var km: array<i32, SC>;
  var mx = -3.0e38;
  var l = 0.0;
  for (var j0 = 0u; j0 < u.W; j0 += SC) {
    let cnt = min(SC, u.W - j0);
    var tmax = mx;
    for (var jj = 0u; jj < cnt; jj++) {
      let key = slotKey(n, j0 + jj);
      var sj = -3.0e38;
      if (key >= -1) {
        sj = biasAt(h, j0 + jj);
        if (key >= 0) {
          let kb = (kvb + u32(key)) * DK;
          var dot = 0.0;
          for (var c = 0u; c < DK; c++) { dot += dotv(qr[c], k[kb + c]); }
          sj += dot;
        }
      }
      s[jj] = sj;
      km[jj] = key;
      tmax = max(tmax, sj);
    }
    let corr = exp(mx - tmax);
    l *= corr;
    for (var c = 0u; c < DV; c++) { acc[c] *= corr; }
    for (var jj = 0u; jj < cnt; jj++) {
      if (s[jj] > -1.0e38) {
        let p = exp(s[jj] - tmax);
        l += p;
        if (km[jj] >= 0) {
          let pd = p * dropf(bh, n, j0 + jj);
          if (pd != 0.0) {
            let vb = (kvb + u32(km[jj])) * DV;
            for (var c = 0u; c < DV; c++) { acc[c] += pd * v[vb + c]; }
          }
        }
      }
    }
    mx = tmax;
  }
  for (var c = 0u; c < DV; c++) { o[row * DV + c] = acc[c] / l; }
  lse[row] = mx + log(l);
}
`;
}

/**
 * Backward, query side. Pass 1 recomputes p = exp(s − LSE) and f·dP per slot (stashed in the
 * scratch) and accumulates D = ⟨dO, O⟩ = Σ p·f·dP, so O itself is not needed. Pass 2 writes
 * dS = p·(f·dP − D) and p·f to the scratch ([dS | p·f], each [rows, W]) and accumulates dQ.
 */
export function localBackwardQSource(c: LocalShaderCfg): string {
  return `${header(c, withBias(c, [['q', 'T'], ['k', 'T'], ['v', 'T'], ['lse', 'f32'], ['gout', 'T']]), [['dq', 'T'], ['scratch', 'f32']])}
${ENTRY}
  let n = wid.x * TQ + lid.x;
  if (n >= u.N) { return; }
  let row = kvb + n;
  var qr: array<T, DK>;
  for (var c = 0u; c < DK; c++) { qr[c] = q[row * DK + c] * u.scale; }
  var gr: array<T, DV>;
  for (var c = 0u; c < DV; c++) { gr[c] = gout[row * DV + c]; }
  let ls = lse[row];
  var dd = 0.0;
  for (var j = 0u; j < u.W; j++) {
    let at = row * u.W + j;
    let key = slotKey(n, j);
    var p = 0.0;
    var fdp = 0.0;
    if (key >= -1) {
      var sj = biasAt(h, j);
      if (key >= 0) {
        let kb = (kvb + u32(key)) * DK;
        let vb = (kvb + u32(key)) * DV;
        var dot = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < DK; c++) { dot += dotv(qr[c], k[kb + c]); }
        for (var c = 0u; c < DV; c++) { dp += dotv(gr[c], v[vb + c]); }
        sj += dot;
        fdp = dp * dropf(bh, n, j);
      }
      p = exp(sj - ls);
    }
    scratch[at] = fdp;
    scratch[u.pfOff + at] = p;
    dd += p * fdp;
  }
  var acc: array<T, DK>;
  for (var j = 0u; j < u.W; j++) {
    let at = row * u.W + j;
    let key = slotKey(n, j);
    let p = scratch[u.pfOff + at];
    let ds = p * (scratch[at] - dd);
    scratch[at] = ds;
    if (key >= 0) {
      scratch[u.pfOff + at] = p * dropf(bh, n, j);
      let kb = (kvb + u32(key)) * DK;
      for (var c = 0u; c < DK; c++) { acc[c] += ds * k[kb + c]; }
    } else {
      scratch[u.pfOff + at] = 0.0;
    }
  }
  for (var c = 0u; c < DK; c++) { dq[row * DK + c] = acc[c] * u.scale; }
}
`;
}

/**
 * Backward, key side: key m gathers, over the (n, j) pairs that read it (the inverse table:
 * offsets [N + 1] then entries n·W + j), dK = α·Σ dS·q_n and dV = Σ p·f·dO_n. No atomics.
 */
export function localBackwardKVSource(c: LocalShaderCfg): string {
  return `${header(c, [['q', 'T'], ['gout', 'T'], ['scratch', 'f32'], ['table', 'u32']], [['dk', 'T'], ['dv', 'T']])}
${ENTRY}
  let m = wid.x * TQ + lid.x;
  if (m >= u.N) { return; }
  var ak: array<T, DK>;
  var av: array<T, DV>;
  let e1 = table[m + 1u];
  for (var e = table[m]; e < e1; e++) {
    let ent = table[u.N + 1u + e];
    let r = kvb + ent / u.W;
    let at = r * u.W + ent % u.W;
    let ds = scratch[at];
    let pf = scratch[u.pfOff + at];
    for (var c = 0u; c < DK; c++) { ak[c] += ds * q[r * DK + c]; }
    for (var c = 0u; c < DV; c++) { av[c] += pf * gout[r * DV + c]; }
  }
  let row = kvb + m;
  for (var c = 0u; c < DK; c++) { dk[row * DK + c] = ak[c] * u.scale; }
  for (var c = 0u; c < DV; c++) { dv[row * DV + c] = av[c]; }
}
`;
}
