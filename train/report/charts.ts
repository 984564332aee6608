// The report's other charts: score histograms (bona fide vs each attack), per-attack EER bars, the tracing
// confusion matrix, training curves. Each returns one `<svg>` element. Pure TypeScript.

import type { DetectionBreakdown } from '../metrics/index.ts';
import type { EpochRecord, LogRecord, StepRecord } from '../trainer.ts';
import {
  AXIS_COLOUR,
  BONAFIDE_COLOUR,
  PALETTE,
  SEEN_COLOUR,
  SPOOF_COLOUR,
  UNSEEN_COLOUR,
  axes,
  esc,
  inner,
  legend,
  legendRow,
  line,
  linearScale,
  niceDomain,
  niceTicks,
  pct,
  polyline,
  px,
  svgDoc,
  text,
  textWidth,
  tickLabel,
  type Frame,
} from './svg.ts';

// ---------------------------------------------------------------------------------------------
// histograms

export interface Bins {
  lo: number;
  hi: number;
  n: number;
}

/** Shared bins over all scores: about √N of them, 12 … 40, spanning the finite min … max. */
export function scoreBins(all: ArrayLike<number>): Bins {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < all.length; i++) {
    const v = all[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return { lo: 0, hi: 1, n: 12 };
  if (hi === lo) return { lo: lo - 0.5, hi: hi + 0.5, n: 12 };
  return { lo, hi, n: Math.max(12, Math.min(40, Math.round(Math.sqrt(all.length)))) };
}

/** Counts per bin (the last bin is closed on the right). */
export function histogram(x: ArrayLike<number>, b: Bins): number[] {
  const counts = new Array<number>(b.n).fill(0);
  const w = (b.hi - b.lo) / b.n;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) continue;
    const k = Math.min(b.n - 1, Math.max(0, Math.floor((v - b.lo) / w)));
    counts[k]++;
  }
  return counts;
}

export interface HistClass {
  label: string;
  scores: ArrayLike<number>;
  colour: string;
}

export const HIST_FRAME: Frame = { width: 340, height: 220, left: 48, right: 12, top: 46, bottom: 40 };

/**
 * One histogram panel: each class as a filled step outline of its fraction per bin (classes of very
 * different sizes stay comparable), a dashed vertical line at the threshold. Each class's group carries
 * `data-label`, `data-n` and `data-counts` (comma-separated counts per bin).
 */
export function histogramPanel(title: string, classes: readonly HistClass[], b: Bins, threshold: number | null, thresholdLabel = 'EER threshold'): string {
  const f = HIST_FRAME;
  const { x0, x1, y0, y1 } = inner(f);
  const w = (b.hi - b.lo) / b.n;
  const counts = classes.map((c) => histogram(c.scores, b));
  const fracs = counts.map((cs, i) => cs.map((v) => v / Math.max(1, classes[i].scores.length)));
  const ymax = Math.max(0.05, ...fracs.flat());
  const [d0, d1] = niceDomain(b.lo, b.hi, 6);
  const sx = linearScale([d0, d1], [x0, x1]);
  const [, yTop] = niceDomain(0, ymax, 4);
  const sy = linearScale([0, yTop], [y1, y0]);
  const xTicks = niceTicks(d0, d1, 6).map((t) => ({ at: sx(t), label: tickLabel(t) }));
  const yTicks = niceTicks(0, yTop, 4).map((t) => ({ at: sy(t), label: `${Number((t * 100).toPrecision(3))}` }));
  const parts: string[] = [axes(f, xTicks, yTicks, 'score (higher = more bona fide)', '% of class')];
  classes.forEach((c, i) => {
    const pts: [number, number][] = [[sx(b.lo), sy(0)]];
    fracs[i].forEach((v, k) => {
      pts.push([sx(b.lo + k * w), sy(v)]);
      pts.push([sx(b.lo + (k + 1) * w), sy(v)]);
    });
    pts.push([sx(b.hi), sy(0)]);
    const d = 'M' + pts.map(([x, y]) => `${px(x)} ${px(y)}`).join('L') + 'Z';
    parts.push(
      `<g class="hist-class" data-label="${esc(c.label)}" data-n="${c.scores.length}" data-counts="${counts[i].join(',')}">` +
        `<path d="${d}" fill="${esc(c.colour)}" fill-opacity="0.28" stroke="${esc(c.colour)}" stroke-width="1.6" stroke-linejoin="round"/></g>`,
    );
  });
  if (threshold !== null && Number.isFinite(threshold) && threshold >= d0 && threshold <= d1) {
    const tx = sx(threshold);
    parts.push(`<g class="threshold" data-threshold="${threshold}">${line(tx, y0, tx, y1, '#333', 'stroke-width="1.4" stroke-dasharray="5 3"')}</g>`);
    parts.push(text(tx + 3, y0 + 11, thresholdLabel, { fill: '#333', 'font-size': 10 }));
  }
  parts.push(text(x0, 16, shorten(title, 44), { 'font-weight': 600, fill: '#222', 'font-size': 13 }));
  parts.push(legendRow(x0, 34, classes.map((c) => ({ label: `${shorten(c.label, 18)} (n=${c.scores.length})`, colour: c.colour, kind: 'box' as const }))));
  return svgDoc(f, `${title}: score histogram`, parts.join(''), 'chart hist');
}

/**
 * Histogram panels: bona fide against all spoof trials, then against each spoof group (sorted by name),
 * with the EER threshold of the overall metrics.
 */
export function scoreHistograms(bonafide: ArrayLike<number>, spoof: ArrayLike<number>, spoofGroups: readonly (string | undefined)[], threshold: number, unseen?: ReadonlySet<string>): string[] {
  const all = new Float64Array(bonafide.length + spoof.length);
  for (let i = 0; i < bonafide.length; i++) all[i] = bonafide[i];
  for (let i = 0; i < spoof.length; i++) all[bonafide.length + i] = spoof[i];
  const b = scoreBins(all);
  const bona: HistClass = { label: 'bona fide', scores: bonafide, colour: BONAFIDE_COLOUR };
  const panels = [histogramPanel('bona fide vs all spoof', [bona, { label: 'spoof', scores: spoof, colour: SPOOF_COLOUR }], b, threshold)];
  const byGroup = new Map<string, number[]>();
  spoofGroups.forEach((g, i) => {
    if (g === undefined || g === '') return;
    let a = byGroup.get(g);
    if (!a) byGroup.set(g, (a = []));
    a.push(spoof[i]);
  });
  if (byGroup.size > 1) {
    for (const g of [...byGroup.keys()].sort()) {
      const tag = unseen && unseen.size > 0 ? (unseen.has(g) ? ' (unseen)' : ' (seen)') : '';
      const colour = unseen?.has(g) ? UNSEEN_COLOUR : SPOOF_COLOUR;
      panels.push(histogramPanel(`bona fide vs ${g}${tag}`, [bona, { label: g, scores: byGroup.get(g)!, colour }], b, threshold));
    }
  }
  return panels;
}

// ---------------------------------------------------------------------------------------------
// per-attack EER bars

function shorten(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

/** Horizontal bars of each spoof group's EER (against all bona fide), seen and unseen groups coloured apart. */
export function perAttackBars(bd: DetectionBreakdown, title = 'EER per attack'): string {
  const groups = Object.keys(bd.perGroup).sort();
  const unseen = new Set(bd.unseenGroups);
  const split = unseen.size > 0;
  const names = groups.map((g) => shorten(g, 30));
  const left = Math.max(80, Math.min(220, 16 + Math.max(0, ...names.map((n) => textWidth(n)))));
  const rowH = 22;
  const f: Frame = { width: 540, height: 0, left, right: 56, top: 30, bottom: 44 };
  f.height = f.top + f.bottom + Math.max(1, groups.length) * rowH;
  const { x0, x1, y0, y1 } = inner(f);
  const eers = groups.map((g) => bd.perGroup[g].eer);
  const [, top] = niceDomain(0, Math.max(0.01, bd.overall.eer, ...eers) * 100, 5);
  const sx = linearScale([0, top], [x0, x1]);
  const xTicks = niceTicks(0, top, 5).map((t) => ({ at: sx(t), label: tickLabel(t) }));
  const parts: string[] = [axes(f, xTicks, [], 'EER (%) of the attack’s spoof trials against all bona fide trials', '')];
  groups.forEach((g, i) => {
    const m = bd.perGroup[g];
    const y = y0 + i * rowH + 4;
    const colour = split ? (unseen.has(g) ? UNSEEN_COLOUR : SEEN_COLOUR) : SEEN_COLOUR;
    const w = Math.max(0, sx(m.eer * 100) - x0);
    parts.push(
      `<g class="bar" data-group="${esc(g)}" data-eer="${m.eer}" data-unseen="${unseen.has(g)}"><title>${esc(g)}: EER ${pct(m.eer)} (${m.nSpoof} spoof trials)</title>` +
        `<rect x="${px(x0)}" y="${px(y)}" width="${px(w)}" height="${rowH - 8}" fill="${colour}" rx="2"/></g>`,
    );
    parts.push(text(x0 - 6, y + rowH / 2, names[i], { 'text-anchor': 'end', fill: '#222' }));
    parts.push(text(x0 + w + 5, y + rowH / 2, pct(m.eer, 1), { fill: '#333', 'font-size': 11 }));
  });
  const ox = sx(bd.overall.eer * 100);
  parts.push(line(ox, y0, ox, y1, '#222', 'stroke-width="1.3" stroke-dasharray="5 3" class="overall-eer"'));
  parts.push(text(ox, y0 - 6, `overall ${pct(bd.overall.eer, 1)}`, { 'text-anchor': 'middle', fill: '#222', 'font-size': 11 }));
  if (split) {
    const ly = 12;
    parts.push(`<rect x="${px(x0)}" y="${ly - 9}" width="12" height="10" fill="${SEEN_COLOUR}"/>`, text(x0 + 16, ly, 'seen', { fill: '#222' }));
    parts.push(`<rect x="${px(x0 + 60)}" y="${ly - 9}" width="12" height="10" fill="${UNSEEN_COLOUR}"/>`, text(x0 + 76, ly, 'unseen', { fill: '#222' }));
  }
  return svgDoc(f, title, parts.join(''), 'chart bars');
}

// ---------------------------------------------------------------------------------------------
// confusion matrix

/** Blues: white → dark blue at t ∈ [0, 1]. */
export function heat(t: number): string {
  const a = [247, 251, 255];
  const b = [8, 48, 107];
  const u = Math.max(0, Math.min(1, t)) ** 0.8;
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * u));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * The (K + 1) × (K + 1) confusion matrix (rows: truth, columns: prediction, last = unseen) with counts in the
 * cells, coloured by the row fraction. Each cell: `<g class="cell" data-row data-col data-count>`.
 */
export function confusionChart(confusion: readonly (readonly number[])[], classNames: readonly string[], title = 'Tracing confusion matrix'): string {
  const n = confusion.length;
  const labels = Array.from({ length: n }, (_, i) => shorten(i < classNames.length ? classNames[i] : 'unseen', 22));
  const labelW = Math.max(60, Math.min(170, 14 + Math.max(...labels.map((l) => textWidth(l)))));
  const cell = n <= 8 ? 46 : n <= 16 ? 34 : 24;
  const topW = Math.min(150, labelW * 0.75 + 10);
  const f: Frame = { width: labelW + 30 + n * cell + 20, height: topW + 30 + n * cell + 16, left: labelW + 30, right: 20, top: topW + 30, bottom: 16 };
  const { x0, y0 } = inner(f);
  const parts: string[] = [];
  for (let r = 0; r < n; r++) {
    const total = confusion[r].reduce((a, b) => a + b, 0);
    for (let c = 0; c < n; c++) {
      const v = confusion[r][c];
      const t = total > 0 ? v / total : 0;
      const x = x0 + c * cell;
      const y = y0 + r * cell;
      const fg = t > 0.5 ? '#fff' : '#1b2430';
      parts.push(
        `<g class="cell" data-row="${r}" data-col="${c}" data-count="${v}"><title>true ${esc(labels[r])}, predicted ${esc(labels[c])}: ${v} (${pct(t, 1)} of row)</title>` +
          `<rect x="${px(x)}" y="${px(y)}" width="${cell}" height="${cell}" fill="${heat(t)}" stroke="#fff"/>` +
          (v > 0 || cell >= 30 ? text(x + cell / 2, y + cell / 2 + 4, String(v), { 'text-anchor': 'middle', fill: fg, 'font-size': cell >= 34 ? 12 : 10, 'font-weight': r === c ? 700 : 400 }) : '') +
          '</g>',
      );
    }
  }
  // the unseen row/column set apart
  const u = x0 + (n - 1) * cell;
  parts.push(line(u, y0, u, y0 + n * cell, '#333', 'stroke-width="1.5"'), line(x0, y0 + (n - 1) * cell, x0 + n * cell, y0 + (n - 1) * cell, '#333', 'stroke-width="1.5"'));
  parts.push(`<rect x="${px(x0)}" y="${px(y0)}" width="${n * cell}" height="${n * cell}" fill="none" stroke="${AXIS_COLOUR}"/>`);
  labels.forEach((l, i) => {
    const bold: Record<string, string> = i === n - 1 ? { 'font-style': 'italic' } : {};
    parts.push(text(x0 - 6, y0 + i * cell + cell / 2 + 4, l, { 'text-anchor': 'end', fill: '#222', ...bold }));
    const cx = x0 + i * cell + cell / 2 + 4;
    parts.push(`<text x="0" y="0" transform="translate(${px(cx)} ${px(y0 - 6)}) rotate(-45)" fill="#222"${i === n - 1 ? ' font-style="italic"' : ''}>${esc(l)}</text>`);
  });
  parts.push(text(x0 + (n * cell) / 2, 14, 'predicted', { 'text-anchor': 'middle', 'font-weight': 600, fill: '#222' }));
  parts.push(`<text x="0" y="0" transform="translate(14 ${px(y0 + (n * cell) / 2)}) rotate(-90)" text-anchor="middle" font-weight="600" fill="#222">true</text>`);
  return svgDoc(f, title, parts.join(''), 'chart confusion');
}

// ---------------------------------------------------------------------------------------------
// training curves

export const CURVE_FRAME: Frame = { width: 480, height: 280, left: 56, right: 16, top: 28, bottom: 44 };

/** Training loss per optimizer step (and the epoch mean), one line per run. */
export function lossChart(runs: readonly { name: string; log: readonly LogRecord[] }[]): string {
  const f = CURVE_FRAME;
  const { x0, x1, y0, y1 } = inner(f);
  const steps = runs.map((r) => r.log.filter((x): x is StepRecord => x.type === 'step' && Number.isFinite(x.loss)));
  const epochs = runs.map((r) => r.log.filter((x): x is EpochRecord => x.type === 'epoch' && Number.isFinite(x.trainLoss)));
  const xs = [...steps.flat().map((s) => s.step), ...epochs.flat().map((e) => e.step)];
  const ys = [...steps.flat().map((s) => s.loss), ...epochs.flat().map((e) => e.trainLoss)];
  const [a, b] = niceDomain(Math.min(0, ...xs), Math.max(1, ...xs), 6);
  const [, top] = niceDomain(0, Math.max(0.1, ...ys), 5);
  const sx = linearScale([a, b], [x0, x1]);
  const sy = linearScale([0, top], [y1, y0]);
  const parts: string[] = [
    axes(
      f,
      niceTicks(a, b, 6).map((t) => ({ at: sx(t), label: tickLabel(t) })),
      niceTicks(0, top, 5).map((t) => ({ at: sy(t), label: tickLabel(t) })),
      'optimizer step',
      'training loss',
    ),
  ];
  const items: { label: string; colour: string; kind?: 'line' | 'dot' }[] = [];
  runs.forEach((r, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const pts = steps[i].map((s) => [sx(s.step), sy(s.loss)] as [number, number]);
    parts.push(polyline(pts, colour, `stroke-width="1.2" stroke-opacity="0.55" class="loss-steps" data-run="${esc(r.name)}" data-n="${pts.length}"`));
    parts.push(polyline(epochs[i].map((e) => [sx(e.step), sy(e.trainLoss)]), colour, 'stroke-width="2.2"'));
    for (const e of epochs[i]) parts.push(`<circle cx="${px(sx(e.step))}" cy="${px(sy(e.trainLoss))}" r="3.5" fill="${colour}"/>`);
    items.push({ label: `${r.name}: per step`, colour }, { label: `${r.name}: epoch mean`, colour, kind: 'dot' });
  });
  if (steps.flat().length === 0 && epochs.flat().length === 0) parts.push(text((x0 + x1) / 2, (y0 + y1) / 2, 'no training records', { 'text-anchor': 'middle', fill: AXIS_COLOUR }));
  parts.push(text(x0, 18, 'Training loss', { 'font-weight': 600, fill: '#222', 'font-size': 13 }));
  parts.push(legend(x1 - 178, y0 + 8, items, 172));
  return svgDoc(f, 'Training loss', parts.join(''), 'chart loss');
}

/** The dev selection metric per epoch (EER in %, or macro-F1), best epochs ringed. */
export function devMetricChart(runs: readonly { name: string; log: readonly LogRecord[] }[]): string {
  const f = CURVE_FRAME;
  const { x0, x1, y0, y1 } = inner(f);
  const epochs = runs.map((r) => r.log.filter((x): x is EpochRecord => x.type === 'epoch' && Number.isFinite(x.metric)));
  const names = new Set(epochs.flat().map((e) => e.metricName));
  const isEer = names.size === 1 && names.has('eer');
  const isF1 = names.size === 1 && names.has('macroF1');
  const scale = isEer ? 100 : 1;
  const yTitle = isEer ? 'dev EER (%) ↓' : isF1 ? 'dev macro-F1 ↑' : 'dev metric';
  const vals = epochs.flat().map((e) => e.metric * scale);
  const maxEpoch = Math.max(1, ...epochs.flat().map((e) => e.epoch));
  const minEpoch = Math.min(maxEpoch, ...epochs.flat().map((e) => e.epoch));
  const [a, b] = minEpoch === maxEpoch ? [minEpoch - 1, maxEpoch + 1] : [minEpoch, maxEpoch];
  const [lo, hi] = isF1 ? [0, 1] : niceDomain(0, Math.max(isEer ? 1 : 0.1, ...vals), 5);
  const sx = linearScale([a, b], [x0 + 10, x1 - 10]);
  const sy = linearScale([lo, hi], [y1, y0]);
  const xTicks = niceTicks(a, b, Math.min(8, b - a))
    .filter((t) => Number.isInteger(t))
    .map((t) => ({ at: sx(t), label: String(t) }));
  const parts: string[] = [axes(f, xTicks, niceTicks(lo, hi, 5).map((t) => ({ at: sy(t), label: tickLabel(t) })), 'epoch', yTitle)];
  const items: { label: string; colour: string; kind?: 'line' | 'dot' }[] = [];
  runs.forEach((r, i) => {
    const colour = PALETTE[i % PALETTE.length];
    parts.push(polyline(epochs[i].map((e) => [sx(e.epoch), sy(e.metric * scale)]), colour, `stroke-width="2.2" class="dev-metric" data-run="${esc(r.name)}" data-n="${epochs[i].length}"`));
    for (const e of epochs[i]) {
      const cx = sx(e.epoch);
      const cy = sy(e.metric * scale);
      parts.push(`<circle cx="${px(cx)}" cy="${px(cy)}" r="3.5" fill="${colour}"><title>epoch ${e.epoch}: ${e.metricName} ${isEer ? pct(e.metric) : e.metric.toFixed(3)}${e.best ? ' (best so far)' : ''}</title></circle>`);
      if (e.best) parts.push(`<circle class="best" cx="${px(cx)}" cy="${px(cy)}" r="7" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
    }
    items.push({ label: r.name, colour });
  });
  if (epochs.flat().length === 0) parts.push(text((x0 + x1) / 2, (y0 + y1) / 2, 'no epoch records', { 'text-anchor': 'middle', fill: AXIS_COLOUR }));
  if (epochs.flat().some((e) => e.best)) items.push({ label: 'ringed: best so far', colour: '#555', kind: 'dot' });
  parts.push(text(x0, 18, isEer ? 'Dev EER per epoch' : isF1 ? 'Dev macro-F1 per epoch' : 'Dev metric per epoch', { 'font-weight': 600, fill: '#222', 'font-size': 13 }));
  parts.push(legend(x1 - 160, y0 + 8, items, 154));
  return svgDoc(f, 'Dev metric per epoch', parts.join(''), 'chart dev');
}
