// DET curve on normal-deviate (probit) axes: FAR (spoof accepted) against FRR (bona fide rejected), from the
// official sweep `detCurve`, with each curve's EER point placed at (EER, EER) as `detectionMetrics` computes it.
// Pure TypeScript.

import { detCurve, type DetectionMetrics } from '../metrics/index.ts';
import { AXIS_COLOUR, PALETTE, axes, esc, inner, legend, line, pct, polyline, probit, px, svgDoc, text, textWidth, type Frame } from './svg.ts';

export interface DetSeries {
  label: string;
  bonafide: ArrayLike<number>;
  spoof: ArrayLike<number>;
  /** metrics of exactly these scores (the EER marker is drawn at metrics.eer) */
  metrics: DetectionMetrics;
  colour?: string;
}

/** Candidate tick rates; the axes show the ones inside [DET_MIN, upper bound]. */
export const DET_TICKS = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99];
/** Lowest rate on the axes (0.1 %). */
export const DET_MIN = 0.001;

/** The upper end of both axes: 40 %, widened (60 … 99 %) when an EER would not fit comfortably. */
export function detUpper(eers: readonly number[]): number {
  const worst = Math.max(0, ...eers.filter(Number.isFinite));
  for (const u of [0.4, 0.6, 0.8, 0.9, 0.95, 0.99]) if (worst * 1.2 <= u) return u;
  return 0.99;
}

export const DET_FRAME: Frame = { width: 480, height: 440, left: 62, right: 16, top: 14, bottom: 50 };

/** Pixel mapping of the DET axes: rates are clamped just outside the plot so that 0 and 1 run off its edge. */
export function detScales(upper: number, f: Frame = DET_FRAME): { x: (far: number) => number; y: (frr: number) => number; lo: number; hi: number } {
  const { x0, x1, y0, y1 } = inner(f);
  const lo = probit(DET_MIN);
  const hi = probit(upper);
  const pad = 0.35 * (hi - lo);
  const z = (r: number) => Math.min(hi + pad, Math.max(lo - pad, probit(r)));
  return {
    x: (far) => x0 + ((z(far) - lo) / (hi - lo)) * (x1 - x0),
    y: (frr) => y1 - ((z(frr) - lo) / (hi - lo)) * (y1 - y0),
    lo,
    hi,
  };
}

function tickText(r: number): string {
  return `${Number((r * 100).toPrecision(3))}`;
}

/**
 * The curve's points in pixels, dropping points closer than 0.6 px to the last kept one, and the inner points
 * of runs that lie beyond one side of the plot area (they are clipped anyway).
 */
function curvePoints(s: DetSeries, sx: (v: number) => number, sy: (v: number) => number, f: Frame): [number, number][] {
  const { frr, far } = detCurve(s.bonafide, s.spoof);
  const { x0, x1, y0, y1 } = inner(f);
  // which sides of the plot area a point lies beyond (bit mask): a segment between two points beyond the same
  // side stays beyond it (a half-plane is convex), so it never shows
  const beyond = (x: number, y: number) => (x < x0 ? 1 : 0) | (x > x1 ? 2 : 0) | (y < y0 ? 4 : 0) | (y > y1 ? 8 : 0);
  const pts: [number, number][] = [];
  let lx = NaN;
  let ly = NaN;
  for (let k = 0; k < frr.length; k++) {
    const x = sx(far[k]);
    const y = sy(frr[k]);
    const last = k === frr.length - 1;
    if (!last && Math.abs(x - lx) < 0.6 && Math.abs(y - ly) < 0.6) continue;
    const n = pts.length;
    // three points beyond one side: the middle one adds nothing visible
    // (or on one horizontal or vertical line): the middle one adds nothing visible
    const merge =
      n >= 2 &&
      ((beyond(x, y) & beyond(...pts[n - 1]) & beyond(...pts[n - 2])) !== 0 ||
        (y === pts[n - 1][1] && y === pts[n - 2][1]) ||
        (x === pts[n - 1][0] && x === pts[n - 2][0]));
    if (merge) pts[n - 1] = [x, y];
    else pts.push([x, y]);
    lx = x;
    ly = y;
  }
  return pts;
}

/** The DET chart as an SVG element. Each series gets a curve and an EER marker (class `eer-marker`). */
export function detChart(series: readonly DetSeries[], title = 'DET curve', id = 'det'): string {
  const legendH = series.length * 17 + 8;
  const f: Frame = { ...DET_FRAME, height: DET_FRAME.height + legendH + 8, bottom: DET_FRAME.bottom + legendH + 8 };
  const upper = detUpper(series.map((s) => s.metrics.eer));
  const { x: sx, y: sy } = detScales(upper, f);
  const { x0, x1, y0, y1 } = inner(f);
  const ticks = DET_TICKS.filter((t) => t <= upper + 1e-12);
  const xTicks = ticks.map((t) => ({ at: sx(t), label: tickText(t) }));
  const yTicks = ticks.map((t) => ({ at: sy(t), label: tickText(t) }));
  const parts: string[] = [axes(f, xTicks, yTicks, 'False acceptance rate: spoof accepted (%)', 'False rejection rate: bona fide rejected (%)')];
  // tick positions for readers of the SVG (tests): rate → pixel
  parts.push(`<g class="det-ticks" data-x="${xTicks.map((t, i) => `${ticks[i]}:${px(t.at)}`).join(' ')}" data-y="${yTicks.map((t, i) => `${ticks[i]}:${px(t.at)}`).join(' ')}"/>`);
  parts.push(`<clipPath id="${esc(id)}-clip"><rect x="${px(x0)}" y="${px(y0)}" width="${px(x1 - x0)}" height="${px(y1 - y0)}"/></clipPath>`);
  // FAR = FRR diagonal
  parts.push(line(sx(DET_MIN), sy(DET_MIN), sx(upper), sy(upper), '#9aa3ad', `stroke-dasharray="2 4" clip-path="url(#${esc(id)}-clip)"`));
  const markers: string[] = [];
  series.forEach((s, i) => {
    const colour = s.colour ?? PALETTE[i % PALETTE.length];
    parts.push(polyline(curvePoints(s, sx, sy, f), colour, `stroke-width="2" stroke-linejoin="round" clip-path="url(#${esc(id)}-clip)" class="det-curve" data-series="${esc(s.label)}"`));
    const e = s.metrics.eer;
    const cx = sx(e);
    const cy = sy(e);
    markers.push(
      `<circle class="eer-marker" data-series="${esc(s.label)}" data-eer="${e}" cx="${px(cx)}" cy="${px(cy)}" r="5" fill="#fff" stroke="${esc(colour)}" stroke-width="2.5"/>`,
    );
    const label = `EER ${pct(e)}`;
    const right = cx + 8 + textWidth(label) <= x1 - 2;
    markers.push(text(right ? cx + 8 : cx - 8, cy - 7, label, { 'text-anchor': right ? 'start' : 'end', fill: colour, 'font-weight': 600, stroke: '#fff', 'stroke-width': 3, 'paint-order': 'stroke' }));
  });
  parts.push(...markers);
  parts.push(
    legend(
      x0,
      y1 + 50,
      series.map((s, i) => ({ label: `${s.label}: EER ${pct(s.metrics.eer)}`, colour: s.colour ?? PALETTE[i % PALETTE.length] })),
      230,
    ),
  );
  parts.push(text(x0 + 6, y1 - 8, 'better ↙', { fill: AXIS_COLOUR, 'font-size': 11 }));
  return svgDoc(f, title, parts.join(''), 'chart det');
}
