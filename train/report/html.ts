// One self-contained HTML report (inline CSS and SVG, no script, no network) from plain data: raw detection
// scores, tracing labels, training logs, example clips. Metrics are computed here with train/metrics/, so the
// numbers in the tables and the marks in the charts are the ones `spoofscan eval` prints. Pure TypeScript.

import { detectionBreakdown, tracingMetrics, type DetectionBreakdown, type DetectionMetrics, type TracingMetrics } from '../metrics/index.ts';
import type { EpochRecord, LogRecord } from '../trainer.ts';
import { confusionChart, devMetricChart, lossChart, perAttackBars, scoreHistograms } from './charts.ts';
import { detChart, type DetSeries } from './det.ts';
import { SEEN_COLOUR, UNSEEN_COLOUR, esc, num, pct } from './svg.ts';

export interface DetectionInput {
  name: string;
  /** raw scores, higher = more bona fide */
  bonafide: ArrayLike<number>;
  spoof: ArrayLike<number>;
  /** the attack / API of each spoof trial (aligned with `spoof`); omit or leave entries undefined for none */
  spoofGroups?: readonly (string | undefined)[];
  /** unseen group names: seen/unseen pools, curves and colours */
  unseen?: readonly string[];
  /** calibrated LLRs of the same trials (same order), for actDCF and Cllr */
  llr?: { bonafide: ArrayLike<number>; spoof: ArrayLike<number> };
}

export interface TracingInput {
  name: string;
  /** the K seen class names; label K is "unseen" */
  classNames: readonly string[];
  truth: ArrayLike<number>;
  predicted: ArrayLike<number>;
  /** computed from truth and predicted when absent */
  metrics?: TracingMetrics;
  /** τ of the open-set rule, when known */
  threshold?: number | null;
}

export interface TrainingInput {
  name: string;
  log: readonly LogRecord[];
}

export interface ExampleClip {
  file: string;
  verdict: string;
  score: number;
  detail?: string;
}

export interface ReportInput {
  title: string;
  subtitle?: string;
  /** shown prominently under the title (e.g. "toy corpus: these numbers say nothing about real data") */
  notes?: readonly string[];
  detection?: readonly DetectionInput[];
  tracing?: readonly TracingInput[];
  training?: readonly TrainingInput[];
  examples?: readonly ExampleClip[];
  /** free text for the footer (e.g. a date or a command line); nothing time-dependent is added otherwise */
  footer?: string;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f4f6f8;color:#1b2430;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 24px 40px}
h1{font-size:26px;margin:0 0 2px}
h2{font-size:19px;margin:34px 0 10px;padding-bottom:5px;border-bottom:2px solid #d7dde3}
h3{font-size:15px;margin:20px 0 8px;color:#34404d}
.subtitle{color:#56616d;margin:0 0 12px}
.notes{background:#fff7e0;border:1px solid #f0d48a;border-left:5px solid #e6a700;border-radius:4px;padding:8px 14px;margin:12px 0}
.notes p{margin:3px 0}
.card{background:#fff;border:1px solid #dfe4e9;border-radius:6px;padding:14px 16px;margin:12px 0}
.figs{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure{margin:0;background:#fff;border:1px solid #dfe4e9;border-radius:6px;padding:8px}
figcaption{font-size:12.5px;color:#56616d;max-width:480px;padding:4px 4px 0}
svg.chart{display:block;max-width:100%;height:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;background:#fff}
th,td{padding:4px 10px;border-bottom:1px solid #e6eaee;text-align:right;white-space:nowrap}
th{background:#eef1f4;font-weight:600}
td.l,th.l{text-align:left;white-space:normal;word-break:break-all}
tr.sub td{color:#34404d}
tr.main td{font-weight:600}
.tag{display:inline-block;font-size:11px;padding:0 6px;border-radius:8px;color:#fff}
.seen{background:${SEEN_COLOUR}}.unseen{background:${UNSEEN_COLOUR}}
.verdict-spoof{color:#b03a00;font-weight:600}.verdict-bonafide{color:#00704f;font-weight:600}
.card.narrow{max-width:520px;margin:0}
.muted{color:#6b7580;font-size:12.5px}
footer{margin-top:36px;color:#6b7580;font-size:12px}
`;

function row(cells: string[], cls = ''): string {
  return `<tr${cls ? ` class="${cls}"` : ''}>${cells.join('')}</tr>`;
}
const td = (v: string, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${v}</td>`;
const th = (v: string, cls = '') => `<th${cls ? ` class="${cls}"` : ''}>${v}</th>`;

function metricCells(m: DetectionMetrics): string[] {
  return [td(String(m.nBonafide)), td(String(m.nSpoof)), td(pct(m.eer)), td(num(m.minDcf, 4)), td(num(m.actDcf, 4)), td(num(m.cllr, 4))];
}

function detectionTable(bd: DetectionBreakdown, calibrated: boolean): string {
  const unseen = new Set(bd.unseenGroups);
  const head = row([th('trials', 'l'), th('bona fide'), th('spoof'), th('EER'), th('minDCF'), th('actDCF'), th('Cllr (bits)')]);
  const rows = [row([td('overall', 'l'), ...metricCells(bd.overall)], 'main')];
  if (bd.seen) rows.push(row([td('seen attacks', 'l'), ...metricCells(bd.seen)]));
  if (bd.unseen) rows.push(row([td('unseen attacks', 'l'), ...metricCells(bd.unseen)]));
  for (const [g, m] of Object.entries(bd.perGroup)) {
    const tag = unseen.size > 0 ? ` <span class="tag ${unseen.has(g) ? 'unseen' : 'seen'}">${unseen.has(g) ? 'unseen' : 'seen'}</span>` : '';
    rows.push(row([td(`&nbsp;&nbsp;${esc(g)}${tag}`, 'l'), ...metricCells(m)], 'sub'));
  }
  const note =
    `EER of the official ASVspoof sweep (threshold ${num(bd.overall.eerThreshold, 4)}); minDCF and actDCF normalised, ASVspoof 5 costs ` +
    `(P<sub>spoof</sub> 0.05, C<sub>miss</sub> 1, C<sub>fa</sub> 10); actDCF and Cllr on ${calibrated ? 'calibrated LLRs' : 'the raw (uncalibrated) scores'}. ` +
    'Per-attack rows: that attack’s spoof trials against all bona fide trials.';
  return `<table class="metrics detection"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table><p class="muted">${note}</p>`;
}

function splitSpoof(d: DetectionInput, unseen: ReadonlySet<string>): { seen: number[]; unseen: number[] } {
  const out = { seen: [] as number[], unseen: [] as number[] };
  for (let i = 0; i < d.spoof.length; i++) {
    const g = d.spoofGroups?.[i];
    (g !== undefined && g !== '' && unseen.has(g) ? out.unseen : out.seen).push(d.spoof[i]);
  }
  return out;
}

function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${caption}</figcaption></figure>`;
}

/** The section of one detection set: metric table, DET curve, per-attack bars, histograms. */
export function detectionSection(d: DetectionInput, index = 0): string {
  const groups = d.spoofGroups ?? new Array<string | undefined>(d.spoof.length).fill(undefined);
  const bd = detectionBreakdown(d.bonafide, d.spoof, groups, { unseen: d.unseen, llr: d.llr });
  const unseenSet = new Set(d.unseen ?? []);
  const series: DetSeries[] = [{ label: 'overall', bonafide: d.bonafide, spoof: d.spoof, metrics: bd.overall, colour: '#1b2430' }];
  if (bd.seen && bd.unseen) {
    const s = splitSpoof(d, unseenSet);
    series.push({ label: 'seen', bonafide: d.bonafide, spoof: s.seen, metrics: bd.seen, colour: SEEN_COLOUR });
    series.push({ label: 'unseen', bonafide: d.bonafide, spoof: s.unseen, metrics: bd.unseen, colour: UNSEEN_COLOUR });
  }
  const figs = [
    figure(
      detChart(series, `DET curve: ${d.name}`, `det${index}`),
      'DET curve on normal-deviate axes. Each point is one threshold; the ring marks the EER (where the curve meets the dotted FAR = FRR line). Down and left is better.',
    ),
  ];
  if (Object.keys(bd.perGroup).length > 0) {
    figs.push(figure(perAttackBars(bd, `EER per attack: ${d.name}`), 'EER of each attack’s spoof trials against all bona fide trials; the dashed line is the overall EER.'));
  }
  const hists = scoreHistograms(d.bonafide, d.spoof, groups, bd.overall.eerThreshold, unseenSet);
  const histFigs = hists.map((h) => `<figure>${h}</figure>`).join('');
  return (
    `<section class="detection" data-name="${esc(d.name)}"><h2>Detection: ${esc(d.name)}</h2>` +
    `<div class="card">${detectionTable(bd, d.llr !== undefined)}</div>` +
    `<div class="figs">${figs.join('')}</div>` +
    `<h3>Score distributions</h3><p class="muted">Share of each class’s trials per score bin (bins shared by all panels); the dashed line is the overall EER threshold (${num(bd.overall.eerThreshold, 4)}). Trials to its right are accepted as bona fide.</p>` +
    `<div class="figs">${histFigs}</div></section>`
  );
}

/** The section of one tracing set: summary, confusion matrix, per-class precision/recall/F1. */
export function tracingSection(t: TracingInput, _index = 0): string {
  const K = t.classNames.length;
  const m = t.metrics ?? tracingMetrics(t.truth, t.predicted, K);
  const name = (c: number) => (c < K ? t.classNames[c] : 'unseen');
  const summary = [
    row([th('trials', 'l'), th('accuracy'), th('macro P'), th('macro R'), th('macro F1'), th('seen F1'), th('unseen F1'), th('unseen rejected'), th('seen rejected'), th('τ')]),
    row(
      [
        td(String(m.nTrials), 'l'),
        td(pct(m.accuracy, 1)),
        td(num(m.macro.precision)),
        td(num(m.macro.recall)),
        td(num(m.macro.f1)),
        td(num(m.seen.f1)),
        td(num(m.unseen.f1)),
        td(pct(m.unseenRejection, 1)),
        td(pct(m.seenFalseRejection, 1)),
        td(t.threshold === undefined || t.threshold === null ? '–' : num(t.threshold, 3)),
      ],
      'main',
    ),
  ];
  const perClass = m.perClass.map((c, i) =>
    row([td(esc(name(i)) + (i === K ? ' <span class="tag unseen">open set</span>' : ''), 'l'), td(String(c.support)), td(num(c.precision)), td(num(c.recall)), td(num(c.f1))], i === K ? 'sub' : ''),
  );
  const table =
    `<table class="per-class"><thead>${row([th('class', 'l'), th('support'), th('precision'), th('recall'), th('F1')])}</thead><tbody>${perClass.join('')}</tbody></table>` +
    '<p class="muted">Macro averages are over the labels present in truth or prediction (scikit-learn); “unseen” is the open-set label: a clip is predicted unseen when its top probability is below τ.</p>';
  return (
    `<section class="tracing" data-name="${esc(t.name)}"><h2>API tracing: ${esc(t.name)}</h2>` +
    `<div class="card"><table class="metrics tracing"><thead>${summary[0]}</thead><tbody>${summary[1]}</tbody></table></div>` +
    `<div class="figs">${figure(confusionChart(m.confusion, t.classNames, `Confusion matrix: ${t.name}`), 'Rows: true API, columns: predicted; the last row and column are “unseen”. Colour: share of the row.')}` +
    `<div class="card narrow">${table}</div></div></section>`
  );
}

function epochTable(log: readonly LogRecord[]): string {
  const epochs = log.filter((r): r is EpochRecord => r.type === 'epoch');
  if (epochs.length === 0) return '';
  const rows = epochs.map((e) => {
    const metric = e.metricName === 'eer' ? pct(e.metric) : num(e.metric);
    const extra = e.metricName === 'eer' ? num(e.dev.minDcf, 4) : num(e.dev.accuracy);
    return row([td(String(e.epoch)), td(String(e.step)), td(num(e.trainLoss, 4)), td(metric), td(extra), td(e.best ? '★' : ''), td(num(e.elapsed, 0))], e.best ? 'main' : '');
  });
  const isEer = epochs[0].metricName === 'eer';
  const head = row([th('epoch'), th('step'), th('train loss'), th(isEer ? 'dev EER' : 'dev macro-F1'), th(isEer ? 'dev minDCF' : 'dev accuracy'), th('best'), th('elapsed (s)')]);
  return `<table class="epochs"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Training curves (loss per step, dev metric per epoch) and each run's epoch table. */
export function trainingSection(runs: readonly TrainingInput[]): string {
  const tables = runs.map((r) => `<h3>${esc(r.name)}</h3>${epochTable(r.log) || '<p class="muted">no epoch records</p>'}`).join('');
  return (
    '<section class="training"><h2>Training</h2>' +
    `<div class="figs">${figure(lossChart(runs), 'Cross-entropy per optimizer step (thin) and its epoch mean (dots).')}` +
    `${figure(devMetricChart(runs), 'The dev metric used for model selection; ringed epochs improved on every earlier one.')}</div>` +
    `<div class="card">${tables}</div></section>`
  );
}

function examplesSection(ex: readonly ExampleClip[]): string {
  const rows = ex.map((e) => {
    const v = e.verdict.toLowerCase();
    const cls = v.includes('spoof') || v.includes('fake') ? 'verdict-spoof' : v.includes('bona') || v.includes('real') ? 'verdict-bonafide' : '';
    return row([td(esc(e.file), 'l'), td(esc(e.verdict), cls), td(num(e.score, 3)), td(esc(e.detail ?? ''), 'l')]);
  });
  return (
    '<section class="examples"><h2>Example clips</h2><div class="card">' +
    `<table><thead>${row([th('file', 'l'), th('verdict'), th('score'), th('detail', 'l')])}</thead><tbody>${rows.join('')}</tbody></table></div></section>`
  );
}

/**
 * The whole report as one HTML document: title, notes, then for each part given (in this order) example
 * clips, detection sets, tracing sets, training runs. All text is escaped; the output has no script and
 * fetches nothing.
 */
export function renderReport(input: ReportInput): string {
  const parts: string[] = [];
  parts.push(`<h1>${esc(input.title)}</h1>`);
  if (input.subtitle) parts.push(`<p class="subtitle">${esc(input.subtitle)}</p>`);
  if (input.notes && input.notes.length > 0) parts.push(`<div class="notes">${input.notes.map((n) => `<p>${esc(n)}</p>`).join('')}</div>`);
  if (input.examples && input.examples.length > 0) parts.push(examplesSection(input.examples));
  (input.detection ?? []).forEach((d, i) => parts.push(detectionSection(d, i)));
  (input.tracing ?? []).forEach((t, i) => parts.push(tracingSection(t, i)));
  if (input.training && input.training.length > 0) parts.push(trainingSection(input.training));
  if (!input.detection?.length && !input.tracing?.length && !input.training?.length && !input.examples?.length) {
    parts.push('<p class="muted">Nothing to show: no scores, labels or training records were given.</p>');
  }
  parts.push(`<footer>Made by spoofscan.${input.footer ? ' ' + esc(input.footer) : ''} Self-contained: no scripts, nothing loaded from the network.</footer>`);
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<title>${esc(input.title)}</title><style>${CSS}</style></head>\n<body><main>\n${parts.join('\n')}\n</main></body></html>\n`
  );
}
