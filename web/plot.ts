// Small inline-SVG line plots for the spoofscan page (per-window scores over time, the fine-tuning loss curve).
// Pure string building: the numbers are formatted here and labels escaped, so the result can go in innerHTML.

export interface PlotOptions {
  width?: number;
  height?: number;
  /** Horizontal reference line (e.g. score 0). */
  refY?: number;
  xLabel?: string;
  yLabel?: string;
  /** Class of the polyline (colour in CSS). */
  cls?: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const f = (v: number) => (Math.round(v * 10) / 10).toString();
const tick = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));

/** A line plot of (x, y) points with axes, min/max ticks and optional reference line. */
export function linePlot(points: readonly { x: number; y: number }[], o: PlotOptions = {}): string {
  const W = o.width ?? 320;
  const H = o.height ?? 110;
  const L = 44, R = 8, T = 8, B = 22;
  if (!points.length) return `<svg class="plot" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"></svg>`;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y).concat(o.refY !== undefined ? [o.refY] : []);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.08;
  y0 -= pad;
  y1 += pad;
  const px = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const line = points.map((p) => `${f(px(p.x))},${f(py(p.y))}`).join(' ');
  const dots = points.length <= 40 ? points.map((p) => `<circle cx="${f(px(p.x))}" cy="${f(py(p.y))}" r="2.5"/>`).join('') : '';
  const ref = o.refY !== undefined ? `<line class="ref" x1="${L}" x2="${W - R}" y1="${f(py(o.refY))}" y2="${f(py(o.refY))}"/>` : '';
  const xmin = Math.min(...xs), xmax = Math.max(...xs);
  // Tick the extremes of what is drawn (data and reference line), dropping the lower one when they would overlap.
  const ymin = Math.min(...ys), ymax = Math.max(...ys);
  return (
    `<svg class="plot ${o.cls ?? ''}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">` +
    `<line class="axis" x1="${L}" x2="${L}" y1="${T}" y2="${H - B}"/><line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>` +
    ref +
    `<text x="${L - 4}" y="${f(py(ymax) + 4)}" text-anchor="end">${tick(ymax)}</text>` +
    (py(ymin) - py(ymax) >= 12 ? `<text x="${L - 4}" y="${f(py(ymin) + 4)}" text-anchor="end">${tick(ymin)}</text>` : '') +
    `<text x="${f(px(xmin))}" y="${H - 6}" text-anchor="start">${tick(xmin)}</text>` +
    (xmax !== xmin ? `<text x="${f(px(xmax))}" y="${H - 6}" text-anchor="end">${tick(xmax)}</text>` : '') +
    (o.xLabel ? `<text x="${f((L + W - R) / 2)}" y="${H - 6}" text-anchor="middle">${escapeHtml(o.xLabel)}</text>` : '') +
    (o.yLabel ? `<text x="4" y="${T + 8}" text-anchor="start">${escapeHtml(o.yLabel)}</text>` : '') +
    `<polyline points="${line}"/>${dots}</svg>`
  );
}
