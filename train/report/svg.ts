// Small SVG/HTML building blocks for the report: escaping, number formatting, linear and probit scales,
// axes, legends, a colour palette. Pure TypeScript (no Node imports): the report renders in the browser too.

/** Escapes text for HTML/SVG element content and attribute values (both quote kinds). */
export function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A coordinate with one decimal (SVG output stays small and diff-stable). */
export function px(v: number): string {
  const r = Math.round(v * 10) / 10;
  return String(Object.is(r, -0) ? 0 : r);
}

/** A rate (fraction) as a percentage with two decimals: 0.01234 → "1.23 %". */
export function pct(v: number, digits = 2): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(digits)} %` : '–';
}

/** A number with a fixed number of significant-looking decimals, or "–" when not finite. */
export function num(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

/** Short tick label: at most 3 significant digits, no trailing zeros. */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** Colours: a colour-blind-safe palette (Okabe–Ito), plus the two roles used throughout. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];
export const BONAFIDE_COLOUR = '#009E73';
export const SPOOF_COLOUR = '#D55E00';
export const SEEN_COLOUR = '#0072B2';
export const UNSEEN_COLOUR = '#E69F00';
export const GRID_COLOUR = '#e3e6ea';
export const AXIS_COLOUR = '#5b6470';

export interface Scale {
  (v: number): number;
  domain: [number, number];
  range: [number, number];
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = ((v: number) => r0 + (v - d0) * k) as Scale;
  f.domain = domain;
  f.range = range;
  return f;
}

/** "Nice" ticks (1, 2, 5 × 10^k steps) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

/** Domain [lo, hi] widened to nice tick boundaries (and never empty). */
export function niceDomain(lo: number, hi: number, count = 5): [number, number] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi === lo) return [lo - 1, hi + 1];
  const t = niceTicks(lo, hi, count);
  const step = t.length > 1 ? t[1] - t[0] : 1;
  return [Math.min(t[0], Math.floor(lo / step) * step), Math.max(t[t.length - 1], Math.ceil(hi / step) * step)];
}

/**
 * The standard normal quantile Φ⁻¹(p) (probit) by Acklam's rational approximation (relative error below
 * 1.2e-9: far below a pixel). ±Infinity at 0 and 1.
 */
export function probit(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p <= 1 - pl) {
    const q = p - 0.5;
    const r = q * q;
    return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const q = Math.sqrt(-2 * Math.log(1 - p));
  return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
}

/** The plot area of a chart: outer size and margins. */
export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export function inner(f: Frame): { x0: number; x1: number; y0: number; y1: number } {
  return { x0: f.left, x1: f.width - f.right, y0: f.top, y1: f.height - f.bottom };
}

/** An `<svg>` element with a viewBox (scales to its container), an accessible title and a white background. */
export function svgDoc(f: Pick<Frame, 'width' | 'height'>, title: string, body: string, cls = 'chart'): string {
  return (
    `<svg class="${esc(cls)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f.width} ${f.height}" ` +
    `width="${f.width}" height="${f.height}" role="img" aria-label="${esc(title)}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="12">` +
    `<title>${esc(title)}</title>${body}</svg>`
  );
}

export function text(x: number, y: number, content: string, attrs: Record<string, string | number> = {}): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join('');
  return `<text x="${px(x)}" y="${px(y)}"${a}>${esc(content)}</text>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ''): string {
  return `<line x1="${px(x1)}" y1="${px(y1)}" x2="${px(x2)}" y2="${px(y2)}" stroke="${esc(stroke)}"${extra ? ' ' + extra : ''}/>`;
}

export function polyline(points: readonly [number, number][], stroke: string, extra = ''): string {
  if (points.length === 0) return '';
  return `<polyline fill="none" stroke="${esc(stroke)}" points="${points.map(([x, y]) => `${px(x)},${px(y)}`).join(' ')}"${extra ? ' ' + extra : ''}/>`;
}

export interface AxisTick {
  at: number;
  label: string;
}

/**
 * Grid lines, ticks and labels for both axes of a plot area, plus the axis titles. Tick positions are
 * already in pixels.
 */
export function axes(f: Frame, xTicks: AxisTick[], yTicks: AxisTick[], xTitle: string, yTitle: string): string {
  const { x0, x1, y0, y1 } = inner(f);
  const parts: string[] = [];
  for (const t of xTicks) parts.push(line(t.at, y0, t.at, y1, GRID_COLOUR));
  for (const t of yTicks) parts.push(line(x0, t.at, x1, t.at, GRID_COLOUR));
  parts.push(`<rect x="${px(x0)}" y="${px(y0)}" width="${px(x1 - x0)}" height="${px(y1 - y0)}" fill="none" stroke="${AXIS_COLOUR}"/>`);
  for (const t of xTicks) {
    parts.push(line(t.at, y1, t.at, y1 + 4, AXIS_COLOUR));
    parts.push(text(t.at, y1 + 16, t.label, { 'text-anchor': 'middle', fill: '#333' }));
  }
  for (const t of yTicks) {
    parts.push(line(x0 - 4, t.at, x0, t.at, AXIS_COLOUR));
    parts.push(text(x0 - 7, t.at + 4, t.label, { 'text-anchor': 'end', fill: '#333' }));
  }
  if (xTitle) parts.push(text((x0 + x1) / 2, y1 + 36, xTitle, { 'text-anchor': 'middle', fill: '#222', 'font-weight': 600 }));
  if (yTitle) {
    const cy = (y0 + y1) / 2;
    parts.push(`<text x="0" y="0" transform="translate(14 ${px(cy)}) rotate(-90)" text-anchor="middle" fill="#222" font-weight="600">${esc(yTitle)}</text>`);
  }
  return `<g class="axes">${parts.join('')}</g>`;
}

export interface LegendItem {
  label: string;
  colour: string;
  /** 'line' (default), 'dash', 'box', 'dot' */
  kind?: 'line' | 'dash' | 'box' | 'dot';
}

/** A legend box with one row per item, anchored at its top-left corner (x, y). */
export function legend(x: number, y: number, items: LegendItem[], width = 170): string {
  if (items.length === 0) return '';
  const rowH = 17;
  const parts: string[] = [
    `<rect x="${px(x)}" y="${px(y)}" width="${width}" height="${items.length * rowH + 8}" rx="3" fill="#ffffff" fill-opacity="0.92" stroke="#cfd4da"/>`,
  ];
  items.forEach((it, i) => {
    const cy = y + 4 + rowH * i + rowH / 2;
    const sx = x + 8;
    if (it.kind === 'box') parts.push(`<rect x="${px(sx)}" y="${px(cy - 5)}" width="18" height="10" fill="${esc(it.colour)}" fill-opacity="0.55" stroke="${esc(it.colour)}"/>`);
    else if (it.kind === 'dot') parts.push(`<circle cx="${px(sx + 9)}" cy="${px(cy)}" r="4" fill="${esc(it.colour)}"/>`);
    else parts.push(line(sx, cy, sx + 18, cy, it.colour, `stroke-width="2.2"${it.kind === 'dash' ? ' stroke-dasharray="5 3"' : ''}`));
    parts.push(text(sx + 25, cy + 4, it.label, { fill: '#222' }));
  });
  return `<g class="legend">${parts.join('')}</g>`;
}

/** A one-row legend (swatch, label, swatch, label, …) starting at (x, y) = left end of the row's middle. */
export function legendRow(x: number, y: number, items: LegendItem[]): string {
  const parts: string[] = [];
  let cx = x;
  for (const it of items) {
    if (it.kind === 'box') parts.push(`<rect x="${px(cx)}" y="${px(y - 5)}" width="14" height="10" fill="${esc(it.colour)}" fill-opacity="0.55" stroke="${esc(it.colour)}"/>`);
    else if (it.kind === 'dot') parts.push(`<circle cx="${px(cx + 7)}" cy="${px(y)}" r="4" fill="${esc(it.colour)}"/>`);
    else parts.push(line(cx, y, cx + 16, y, it.colour, `stroke-width="2.2"${it.kind === 'dash' ? ' stroke-dasharray="5 3"' : ''}`));
    parts.push(text(cx + 20, y + 4, it.label, { fill: '#222' }));
    cx += 20 + textWidth(it.label) + 16;
  }
  return `<g class="legend">${parts.join('')}</g>`;
}

/** Width in px that `s` takes at 12 px system-ui (a rough estimate for layout: 6.6 px per character). */
export function textWidth(s: string, size = 12): number {
  return s.length * size * 0.55;
}
