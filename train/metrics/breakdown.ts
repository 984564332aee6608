// Per-attack / per-API breakdown (spec recipe-and-metrics.md §5.8): each spoof group against ALL bona
// fide trials, seen and unseen pools, and the overall figures. Bona fide scores are sorted once.
// Pure TypeScript.

import { detectionMetricsSorted, sortedScores, type DcfCosts, type DetectionMetrics } from './detection.ts';

/** MultiAPI-Spoof's hard-coded unseen API directories for detection metrics. */
export const MULTIAPI_UNSEEN_GROUPS: readonly string[] = Object.freeze([
  'soundful_10s',
  'tor',
  'udio_10s',
  'voc',
  'wild-ai',
  'beatoven_10s',
  'xttsv2',
  'yaya',
  'zijie',
  'C7',
]);

export interface DetectionBreakdown {
  overall: DetectionMetrics;
  /** group name → metrics of that group's spoof trials against all bona fide trials (sorted by name) */
  perGroup: Record<string, DetectionMetrics>;
  /** spoof trials outside the unseen set (ungrouped ones included); null without an unseen set or if empty */
  seen: DetectionMetrics | null;
  /** spoof trials of the unseen groups; null without an unseen set or if none is present */
  unseen: DetectionMetrics | null;
  /** the unseen set as given, sorted */
  unseenGroups: string[];
  /** unseen groups that have no spoof trial in the data */
  unseenMissing: string[];
  /** spoof trials without a group (they count in overall and in seen) */
  ungrouped: number;
}

export interface BreakdownOptions {
  costs?: DcfCosts;
  /** the unseen group names; omit for no seen/unseen split */
  unseen?: Iterable<string>;
  /** calibrated LLRs aligned with the score arrays (same order), used for actDCF and Cllr */
  llr?: { bonafide: ArrayLike<number>; spoof: ArrayLike<number> };
  /** compute the ASVspoof 5 min t-DCF (default true) */
  tdcf?: boolean;
}

/** Merges two ascending arrays. */
function merge2(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i] <= b[j] ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/** Merges sorted arrays pairwise: O(N log G) for G arrays, cheaper than sorting the union again. */
function mergeSorted(parts: Float64Array[]): Float64Array {
  if (parts.length === 0) return new Float64Array(0);
  let level = parts;
  while (level.length > 1) {
    const next: Float64Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? merge2(level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return level[0];
}

/**
 * Overall, per-group and seen/unseen detection metrics. Each group is sorted once; the overall, seen
 * and unseen pools are merged from the sorted groups.
 * @param spoofGroups the group of each spoof trial (aligned with `spoof`), undefined if none
 */
export function detectionBreakdown(
  bonafide: ArrayLike<number>,
  spoof: ArrayLike<number>,
  spoofGroups: readonly (string | undefined)[],
  opts: BreakdownOptions = {},
): DetectionBreakdown {
  if (spoofGroups.length !== spoof.length) throw new Error('spoofGroups must be aligned with spoof');
  const b = sortedScores(bonafide, 'bona fide scores');
  const lb = opts.llr ? sortedScores(opts.llr.bonafide, 'bona fide LLRs') : null;
  const bonafideCache = {};

  // split the spoof trials by group ('' = no group), then sort each part
  const index = new Map<string, number>();
  const groupOf = new Int32Array(spoof.length);
  const counts: number[] = [];
  const names: string[] = [];
  for (let i = 0; i < spoofGroups.length; i++) {
    const g = spoofGroups[i] ?? '';
    let k = index.get(g);
    if (k === undefined) {
      k = names.length;
      index.set(g, k);
      names.push(g);
      counts.push(0);
    }
    groupOf[i] = k;
    counts[k]++;
  }
  const split = (x: ArrayLike<number>, what: string): Float64Array[] => {
    const parts = counts.map((c) => new Float64Array(c));
    const fill = new Array<number>(counts.length).fill(0);
    for (let i = 0; i < x.length; i++) parts[groupOf[i]][fill[groupOf[i]]++] = x[i];
    return parts.map((p) => sortedScores(p, what));
  };
  const parts = split(spoof, 'spoof scores');
  const llrParts = opts.llr ? split(opts.llr.spoof, 'spoof LLRs') : null;
  const metricsOf = (ks: number[]): DetectionMetrics => {
    const s = mergeSorted(ks.map((k) => parts[k]));
    const llr = llrParts && lb ? { bonafide: lb, spoof: mergeSorted(ks.map((k) => llrParts[k])) } : undefined;
    return detectionMetricsSorted(b, s, { costs: opts.costs, llr, tdcf: opts.tdcf, bonafideCache });
  };

  const ungroupedK = index.get('');
  const ungrouped = ungroupedK === undefined ? 0 : counts[ungroupedK];
  const perGroup: Record<string, DetectionMetrics> = {};
  for (const g of names.filter((x) => x !== '').sort()) perGroup[g] = metricsOf([index.get(g)!]);

  let seen: DetectionMetrics | null = null;
  let unseen: DetectionMetrics | null = null;
  let unseenGroups: string[] = [];
  let unseenMissing: string[] = [];
  if (opts.unseen) {
    const set = new Set(opts.unseen);
    unseenGroups = [...set].sort();
    unseenMissing = unseenGroups.filter((g) => !index.has(g) || g === '');
    const all = names.map((_, k) => k);
    const seenKs = all.filter((k) => names[k] === '' || !set.has(names[k]));
    const unseenKs = all.filter((k) => names[k] !== '' && set.has(names[k]));
    if (seenKs.length > 0) seen = metricsOf(seenKs);
    if (unseenKs.length > 0) unseen = metricsOf(unseenKs);
  }
  return { overall: metricsOf(names.map((_, k) => k)), perGroup, seen, unseen, unseenGroups, unseenMissing, ungrouped };
}
