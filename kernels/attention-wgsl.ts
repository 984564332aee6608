// WGSL for the fused full attention (FlashAttention-style, online softmax). One thread owns one
// query row (forward, dQ) or one key row (dK/dV) and keeps it in private arrays; the other side is
// streamed in tiles of `tk` rows, staged in workgroup memory ('shared') or read from storage
// ('direct'). No N×M matrix exists anywhere: backward recomputes P = exp(α·q·k − LSE).
import { uniformStruct, type UField } from './util.ts';
import { dropoutWgsl } from './attention-common.ts';

export type MaskType = 'none' | 'f32' | 'i32' | 'u32';

export interface AttnShaderCfg {
  dk: number;
  dv: number;
  /** Threads (rows) per workgroup. */
  tq: number;
  /** Rows per streamed tile. */
  tk: number;
  shared: boolean;
  mask: MaskType;
  drop: boolean;
}

export const ATTN_FIELDS: UField[] = [
  ['N', 'u32'],
  ['M', 'u32'],
  ['H', 'u32'],
  ['scale', 'f32'],
  ['seed', 'u32'],
  ['thr', 'u32'],
  ['dscale', 'f32'],
  ['negInf', 'u32'],
  ['lseOff', 'u32'],
];

function decls(c: AttnShaderCfg, inputs: string[], outputs: string[]): string {
  const lines: string[] = [];
  let b = 0;
  for (const n of inputs) {
    const type = n === 'kpm' ? (c.mask === 'none' ? 'f32' : c.mask) : 'f32';
    lines.push(`@group(0) @binding(${b++}) var<storage, read> ${n}: array<${type}>;`);
  }
  for (const n of outputs) lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${n}: array<f32>;`);
  lines.push(uniformStruct(ATTN_FIELDS).replace('BINDING', String(b)));
  lines.push(`const DK = ${c.dk}u;\nconst DV = ${c.dv}u;\nconst TQ = ${c.tq}u;\nconst TK = ${c.tk}u;`);
  lines.push(dropoutWgsl(c.drop));
  // keyOk(b, m): false for a padded key.
  lines.push(
    c.mask === 'none'
      ? 'fn keyOk(b: u32, m: u32) -> bool { return true; }'
      : `fn keyOk(b: u32, m: u32) -> bool { return kpm[b * u.M + m] == ${c.mask === 'f32' ? '0.0' : `${c.mask}(0)`}; }`,
  );
  return lines.join('\n') + '\n';
}

const ENTRY = `@compute @workgroup_size(TQ)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = wid.z;
  let bh = wid.z * u.H + wid.y;`;

/**
 * Staging of `rows` streamed rows starting at row t0 of each listed array (name, row length, base
 * expression). Returns [workgroup declarations, load statements, element accessor].
 */
function stager(c: AttnShaderCfg, arrays: { src: string; len: string; base: string; total: string }[]) {
  if (!c.shared) {
    return {
      decl: '',
      load: '',
      at: (src: string, row: string, col: string) => {
        const a = arrays.find((x) => x.src === src)!;
        return `${src}[${a.base} + (t0 + ${row}) * ${a.len} + ${col}]`;
      },
    };
  }
  const decl = arrays.map((a) => `var<workgroup> sh_${a.src}: array<f32, ${c.tk} * ${a.len}>;`).join('\n');
  const load = arrays
    .map(
      (a) => `    for (var i = lid.x; i < TK * ${a.len}; i += TQ) {
      let gi = t0 * ${a.len} + i;
      sh_${a.src}[i] = select(0.0, ${a.src}[${a.base} + min(gi, ${a.total} - 1u)], gi < ${a.total});
    }`,
    )
    .join('\n');
  return { decl, load, at: (src: string, row: string, col: string) => `sh_${src}[${row} * ${arrays.find((x) => x.src === src)!.len} + ${col}]` };
}

const BARRIER = (c: AttnShaderCfg) => (c.shared ? '    workgroupBarrier();' : '');

/** Forward: O = softmax(α·Q·Kᵀ, padded keys excluded) (dropout) · V, then LSE per row at u.lseOff (one buffer: storage-binding budget). */
export function forwardSource(c: AttnShaderCfg): string {
  const ins = ['q', 'k', 'v', ...(c.mask === 'none' ? [] : ['kpm'])];
  const st = stager(c, [
    { src: 'k', len: 'DK', base: 'kb', total: 'u.M * DK' },
    { src: 'v', len: 'DV', base: 'vb', total: 'u.M * DV' },
  ]);
  return `${decls(c, ins, ['ol'])}
${st.decl}
${ENTRY}
  let n = wid.x * TQ + lid.x;
  let live = n < u.N;
  let nn = min(n, u.N - 1u);
  let kb = bh * u.M * DK;
  let vb = bh * u.M * DV;
  var qr: array<f32, DK>;
  for (var c = 0u; c < DK; c++) { qr[c] = q[(bh * u.N + nn) * DK + c] * u.scale; }
  var acc: array<f32, DV>;
  var s: array<f32, TK>;
  var mx = -3.0e38;
  var l = 0.0;
  for (var t0 = 0u; t0 < u.M; t0 += TK) {
    let cnt = min(TK, u.M - t0);
${st.load}
${BARRIER(c)}
    var tmax = mx;
    for (var j = 0u; j < cnt; j++) {
      var sj = -3.0e38;
      if (keyOk(b, t0 + j)) {
        var dot = 0.0;
        for (var c = 0u; c < DK; c++) { dot += qr[c] * ${st.at('k', 'j', 'c')}; }
        sj = dot;
      }
      s[j] = sj;
      tmax = max(tmax, sj);
    }
    let corr = exp(mx - tmax);
    l *= corr;
    for (var c = 0u; c < DV; c++) { acc[c] *= corr; }
    for (var j = 0u; j < cnt; j++) {
      if (s[j] > -1.0e38) {
        let p = exp(s[j] - tmax);
        l += p;
        let pd = p * dropf(bh, nn, t0 + j);
        if (pd != 0.0) {
          for (var c = 0u; c < DV; c++) { acc[c] += pd * ${st.at('v', 'j', 'c')}; }
        }
      }
    }
    mx = tmax;
${BARRIER(c)}
  }
  if (live) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var c = 0u; c < DV; c++) { ol[(bh * u.N + n) * DV + c] = acc[c] * inv; }
    ol[u.lseOff + bh * u.N + n] = select(bitcast<f32>(u.negInf), mx + log(l), l > 0.0);
  }
}
`;
}

/** Backward, query side: dQ = α·Σ_m dS·k_m with dS = P ⊙ (dP − D); also writes stats = (LSE, D = rowsum(dO ⊙ O)) per row. */
export function backwardQSource(c: AttnShaderCfg): string {
  const ins = ['q', 'k', 'v', 'ol', 'gout', ...(c.mask === 'none' ? [] : ['kpm'])];
  const st = stager(c, [
    { src: 'k', len: 'DK', base: 'kb', total: 'u.M * DK' },
    { src: 'v', len: 'DV', base: 'vb', total: 'u.M * DV' },
  ]);
  return `${decls(c, ins, ['dq', 'stats'])}
${st.decl}
${ENTRY}
  let n = wid.x * TQ + lid.x;
  let live = n < u.N;
  let row = bh * u.N + min(n, u.N - 1u);
  let kb = bh * u.M * DK;
  let vb = bh * u.M * DV;
  var qr: array<f32, DK>;
  for (var c = 0u; c < DK; c++) { qr[c] = q[row * DK + c] * u.scale; }
  var gr: array<f32, DV>;
  var dd = 0.0;
  for (var c = 0u; c < DV; c++) { gr[c] = gout[row * DV + c]; dd += gr[c] * ol[row * DV + c]; }
  let ls = ol[u.lseOff + row];
  var acc: array<f32, DK>;
  for (var t0 = 0u; t0 < u.M; t0 += TK) {
    let cnt = min(TK, u.M - t0);
${st.load}
${BARRIER(c)}
    for (var j = 0u; j < cnt; j++) {
      if (keyOk(b, t0 + j)) {
        var sj = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < DK; c++) { sj += qr[c] * ${st.at('k', 'j', 'c')}; }
        for (var c = 0u; c < DV; c++) { dp += gr[c] * ${st.at('v', 'j', 'c')}; }
        let p = exp(sj - ls);
        let ds = p * (dp * dropf(bh, row - bh * u.N, t0 + j) - dd);
        for (var c = 0u; c < DK; c++) { acc[c] += ds * ${st.at('k', 'j', 'c')}; }
      }
    }
${BARRIER(c)}
  }
  if (live) {
    for (var c = 0u; c < DK; c++) { dq[row * DK + c] = acc[c] * u.scale; }
    stats[2u * row] = ls;
    stats[2u * row + 1u] = dd;
  }
}
`;
}

/** Backward, key side: per key m, dV = Σ_n P·drop·dO_n and dK = α·Σ_n dS·q_n (a gather: no atomics). */
export function backwardKVSource(c: AttnShaderCfg): string {
  const ins = ['q', 'k', 'v', 'stats', 'gout', ...(c.mask === 'none' ? [] : ['kpm'])];
  const st = stager(c, [
    { src: 'q', len: 'DK', base: 'qb', total: 'u.N * DK' },
    { src: 'gout', len: 'DV', base: 'gb', total: 'u.N * DV' },
    { src: 'stats', len: '2u', base: '2u * rb', total: '2u * u.N' },
  ]);
  return `${decls(c, ins, ['dk', 'dv'])}
${st.decl}
${ENTRY}
  let m = wid.x * TQ + lid.x;
  let mm = min(m, u.M - 1u);
  let live = m < u.M && keyOk(b, mm);
  let qb = bh * u.N * DK;
  let gb = bh * u.N * DV;
  let rb = bh * u.N;
  var kr: array<f32, DK>;
  var vr: array<f32, DV>;
  for (var c = 0u; c < DK; c++) { kr[c] = k[(bh * u.M + mm) * DK + c] * u.scale; }
  for (var c = 0u; c < DV; c++) { vr[c] = v[(bh * u.M + mm) * DV + c]; }
  var ak: array<f32, DK>;
  var av: array<f32, DV>;
  for (var t0 = 0u; t0 < u.N; t0 += TK) {
    let cnt = min(TK, u.N - t0);
${st.load}
${BARRIER(c)}
    if (live) {
      for (var i = 0u; i < cnt; i++) {
        var sj = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < DK; c++) { sj += kr[c] * ${st.at('q', 'i', 'c')}; }
        for (var c = 0u; c < DV; c++) { dp += vr[c] * ${st.at('gout', 'i', 'c')}; }
        let p = exp(sj - ${st.at('stats', 'i', '0u')});
        let f = dropf(bh, t0 + i, mm);
        let pf = p * f;
        let ds = p * (dp * f - ${st.at('stats', 'i', '1u')});
        for (var c = 0u; c < DV; c++) { av[c] += pf * ${st.at('gout', 'i', 'c')}; }
        for (var c = 0u; c < DK; c++) { ak[c] += ds * ${st.at('q', 'i', 'c')}; }
      }
    }
${BARRIER(c)}
  }
  if (m < u.M) {
    for (var c = 0u; c < DK; c++) { dk[(bh * u.M + m) * DK + c] = ak[c] * u.scale; }
    for (var c = 0u; c < DV; c++) { dv[(bh * u.M + m) * DV + c] = av[c]; }
  }
}
`;
}
