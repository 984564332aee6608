// JSON shapes and readable tables for `spoofscan eval`. Pure TypeScript.

import type { DetectionBreakdown } from './breakdown.ts';
import type { DetectionMetrics } from './detection.ts';
import type { ClassScores, PrfAverage, TracingMetrics } from './tracing.ts';

/** Detection metrics with the snake_case keys of `spoofscan eval --json`. Rates are fractions. */
export interface DetectionJson {
  n_bonafide: number;
  n_spoof: number;
  eer: number;
  eer_threshold: number;
  rocch_eer: number;
  min_dcf: number;
  min_dcf_threshold: number;
  act_dcf: number;
  act_dcf_threshold: number;
  min_dcf_multiapi: number;
  act_dcf_multiapi: number;
  cllr: number;
  min_tdcf: number | null;
}

export function detectionJson(m: DetectionMetrics): DetectionJson {
  return {
    n_bonafide: m.nBonafide,
    n_spoof: m.nSpoof,
    eer: m.eer,
    eer_threshold: m.eerThreshold,
    rocch_eer: m.rocchEer,
    min_dcf: m.minDcf,
    min_dcf_threshold: m.minDcfThreshold,
    act_dcf: m.actDcf,
    act_dcf_threshold: m.actDcfThreshold,
    min_dcf_multiapi: m.minDcfMultiapi,
    act_dcf_multiapi: m.actDcfMultiapi,
    cllr: m.cllr,
    min_tdcf: m.minTdcf,
  };
}

/** The breakdown part of the --json object: overall keys at top level, then per_attack, seen, unseen. */
export function breakdownJson(bd: DetectionBreakdown): Record<string, unknown> {
  const perAttack: Record<string, DetectionJson> = {};
  for (const [g, m] of Object.entries(bd.perGroup)) perAttack[g] = detectionJson(m);
  return {
    ...detectionJson(bd.overall),
    per_attack: perAttack,
    seen: bd.seen ? detectionJson(bd.seen) : null,
    unseen: bd.unseen ? detectionJson(bd.unseen) : null,
    unseen_groups: bd.unseenGroups,
    unseen_groups_missing: bd.unseenMissing,
    n_spoof_ungrouped: bd.ungrouped,
  };
}

function prf(a: PrfAverage): { precision: number; recall: number; f1: number } {
  return { precision: a.precision, recall: a.recall, f1: a.f1 };
}

function cls(c: ClassScores): { precision: number; recall: number; f1: number; support: number } {
  return { precision: c.precision, recall: c.recall, f1: c.f1, support: c.support };
}

export function tracingJson(m: TracingMetrics): Record<string, unknown> {
  const perClass: Record<string, ReturnType<typeof cls>> = {};
  m.perClass.forEach((c, i) => (perClass[String(i)] = cls(c)));
  return {
    n_trials: m.nTrials,
    n_seen_classes: m.nSeen,
    unseen_label: m.nSeen,
    accuracy: m.accuracy,
    labels: m.labels,
    per_class: perClass,
    macro: prf(m.macro),
    weighted: prf(m.weighted),
    report_macro: prf(m.reportMacro),
    seen: prf(m.seen),
    unseen: cls(m.unseen),
    unseen_rejection: m.unseenRejection,
    seen_false_rejection: m.seenFalseRejection,
    confusion: m.confusion,
  };
}

/** Renders rows as an aligned text table; numeric-looking cells are right-aligned. */
export function formatTable(header: string[], rows: string[][], indent = '  '): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const numeric = (s: string) => /^[-+]?[\d.,]+\s?%?$|^n\/a$|^—$/.test(s);
  const line = (r: string[]) =>
    indent +
    r
      .map((cell, c) => {
        const s = cell ?? '';
        return c > 0 && numeric(s) ? s.padStart(widths[c]) : s.padEnd(widths[c]);
      })
      .join('  ')
      .trimEnd();
  const rule = indent + widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export const fmtPct = (x: number): string => (x * 100).toFixed(3);
export const fmt4 = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(4));
export const fmtThr = (x: number): string => (Math.abs(x) >= 1e5 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(4) : x.toFixed(4));
export const fmtInt = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export interface DetectionReportContext {
  /** lines printed above the tables (files, formats, score type) */
  header: string[];
  /** "calibrated" or "uncalibrated", shown next to actDCF and Cllr */
  llrNote: string;
}

export function detectionReport(bd: DetectionBreakdown, ctx: DetectionReportContext): string {
  const m = bd.overall;
  const out: string[] = [...ctx.header, ''];
  out.push(
    formatTable(
      ['metric', 'value', 'note'],
      [
        ['EER (ASVspoof sweep)', `${fmtPct(m.eer)} %`, `threshold ${fmtThr(m.eerThreshold)}`],
        ['ROCCH-EER', `${fmtPct(m.rocchEer)} %`, 'ROC convex hull (BOSARIS)'],
        ['minDCF (ASVspoof 5)', fmt4(m.minDcf), `normalised; threshold ${fmtThr(m.minDcfThreshold)}`],
        ['actDCF (ASVspoof 5)', fmt4(m.actDcf), `at -ln 1.9 = ${m.actDcfThreshold.toFixed(4)}; ${ctx.llrNote}`],
        ['Cllr', fmt4(m.cllr), `bits; ${ctx.llrNote}`],
        ['min t-DCF (ASVspoof 5)', fmt4(m.minTdcf), m.minTdcf === null ? 'refused: fewer than 3 unique scores' : 'fixed ASV error rates'],
        ['minDCF_u (MultiAPI)', fmt4(m.minDcfMultiapi), 'un-normalised, unique-score thresholds'],
        ['actDCF_u (MultiAPI)', fmt4(m.actDcfMultiapi), 'un-normalised, at the EER threshold'],
      ],
    ),
  );
  const groups = Object.entries(bd.perGroup);
  if (groups.length > 0 || bd.seen || bd.unseen) {
    out.push('');
    out.push(`  per attack: each group's spoof trials against all ${fmtInt(m.nBonafide)} bona fide trials`);
    const row = (name: string, g: DetectionMetrics): string[] => [
      name,
      fmtInt(g.nSpoof),
      fmtPct(g.eer),
      fmt4(g.minDcf),
      fmt4(g.actDcf),
      fmt4(g.cllr),
      fmt4(g.minDcfMultiapi),
      fmt4(g.actDcfMultiapi),
    ];
    const rows = groups.map(([g, gm]) => row(bd.unseenGroups.includes(g) ? `${g} (unseen)` : g, gm));
    if (bd.seen) rows.push(row('seen', bd.seen));
    if (bd.unseen) rows.push(row('unseen', bd.unseen));
    rows.push(row('overall', m));
    out.push(formatTable(['group', 'spoof', 'EER %', 'minDCF', 'actDCF', 'Cllr', 'minDCF_u', 'actDCF_u'], rows));
    if (bd.ungrouped > 0) out.push(`  ${fmtInt(bd.ungrouped)} spoof trial(s) have no group: counted in overall${bd.seen ? ' and seen' : ''}`);
    if (bd.unseenMissing.length > 0) out.push(`  unseen groups with no trials: ${bd.unseenMissing.join(', ')}`);
  }
  return out.join('\n');
}

export function tracingReport(m: TracingMetrics, header: string[]): string {
  const K = m.nSeen;
  const out: string[] = [...header, ''];
  const r = (name: string, a: PrfAverage, support: string): string[] => [name, fmt4(a.precision), fmt4(a.recall), fmt4(a.f1), support];
  const rows = m.perClass.map((c, i) => r(i === K ? `${i} (unseen)` : String(i), c, fmtInt(c.support)));
  out.push(formatTable(['class', 'precision', 'recall', 'F1', 'support'], rows));
  out.push('');
  out.push(
    formatTable(
      ['average', 'precision', 'recall', 'F1', 'labels'],
      [
        r('macro (labels in truth or predictions)', m.macro, String(m.labels.length)),
        r('weighted (by support)', m.weighted, String(m.labels.length)),
        r('report macro (all labels 0…K)', m.reportMacro, String(K + 1)),
        r('seen (macro over seen labels)', m.seen, String(m.labels.filter((c) => c < K).length)),
        r(`unseen (class ${K})`, m.unseen, '1'),
      ],
    ),
  );
  out.push('');
  out.push(`  accuracy             ${fmt4(m.accuracy)}`);
  out.push(`  unseen rejection     ${fmt4(m.unseenRejection)}  (unseen trials predicted unseen)`);
  out.push(`  seen false rejection ${fmt4(m.seenFalseRejection)}  (seen trials predicted unseen)`);
  out.push('');
  out.push('  confusion matrix (rows: truth, columns: prediction)');
  const labels = Array.from({ length: K + 1 }, (_, i) => String(i));
  out.push(formatTable(['truth', ...labels], m.confusion.map((row, i) => [labels[i], ...row.map((v) => String(v))])));
  return out.join('\n');
}
