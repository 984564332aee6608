// Joins score-file trials with protocol trials by id. Ids may be written differently on the two sides
// (`LA_E_1` vs `…/flac/LA_E_1.flac`, `0.wav` vs `release_in_the_wild/0.wav`), so three key modes are
// tried and the one that matches the most score lines wins:
//   exact           the ids as written
//   path-tail       the last m path components, m = the fewest components of any id on either side
//   path-tail-stem  the same, with the file extension of the last component removed
// A mode whose keys are not unique among the protocol ids, or that maps two score lines onto one
// protocol trial, is not used. Pure TypeScript.

import { MetricsInputError, quoteFirst, quoteLine } from './errors.ts';
import type { DetectionLabel, Protocol } from './protocol-labels.ts';
import type { DetectionScoreFile, TracingScoreFile } from './score-file.ts';
import { countPathParts, lastPathParts } from './text.ts';

export type MatchMode = 'exact' | 'path-tail' | 'path-tail-stem' | 'score-file-labels';

export interface IdJoin {
  mode: MatchMode;
  /** per score line: index of its protocol trial, or −1 for a line skipped because its trial is outside the subset */
  protoIndex: Int32Array;
  /** score lines skipped because their protocol trial is outside the selected subset */
  skipped: number;
  /** protocol trials outside the selected subset */
  excluded: number;
}

/**
 * The last m path components joined by `/` (`pathParts(id).slice(-m).join('/')`), optionally without the
 * extension of the last one. Scans from the end, so it costs O(length of the tail) per id; a tail with
 * plain single `/` separators (the usual case) is returned as one slice of the id.
 */
export function tailKey(id: string, m: number, stripExt: boolean): string {
  const parts = lastPathParts(id, m);
  if (parts.length === 0) return '';
  const [lastStart, lastEnd0] = parts[0];
  let lastEnd = lastEnd0;
  if (stripExt) {
    const dot = id.lastIndexOf('.', lastEnd - 1);
    if (dot > lastStart) lastEnd = dot;
  }
  // one slice when the components are separated by single '/' and nothing else lies between them
  let plain = true;
  for (let k = 1; k < parts.length && plain; k++) plain = parts[k][1] + 1 === parts[k - 1][0] && id.charCodeAt(parts[k][1]) === 47;
  if (plain) return id.slice(parts[parts.length - 1][0], lastEnd);
  const out: string[] = [];
  for (let k = parts.length - 1; k >= 1; k--) out.push(id.slice(parts[k][0], parts[k][1]));
  out.push(id.slice(lastStart, lastEnd));
  return out.join('/');
}

/** Map key → index over all ids, or null as soon as two ids share a key. */
function uniqueKeys(ids: readonly string[], m: number, stripExt: boolean): Map<string, number> | null {
  const index = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) {
    const k = tailKey(ids[i], m, stripExt);
    if (index.has(k)) return null;
    index.set(k, i);
  }
  return index;
}

/**
 * Matches score ids to protocol ids. `include(p)` says whether protocol trial p is selected (subset);
 * score lines of unselected trials are skipped. Throws a MetricsInputError naming both files, with
 * counts and the first few offending lines, unless the match is one-to-one over the selected trials.
 */
export function joinIds(
  scoreIds: readonly string[],
  scoreWhere: (i: number) => string,
  protoIds: readonly string[],
  protoWhere: (p: number) => string,
  include: (p: number) => boolean = () => true,
  hint = '',
): IdJoin {
  let exact: Int32Array;
  let exactHits = 0;
  {
    const protoMap = new Map<string, number>();
    for (let p = 0; p < protoIds.length; p++) {
      if (protoMap.has(protoIds[p])) throw new Error('protocol ids must be unique (checked by the reader)');
      protoMap.set(protoIds[p], p);
    }
    exact = new Int32Array(scoreIds.length);
    for (let i = 0; i < scoreIds.length; i++) {
      const p = protoMap.get(scoreIds[i]);
      exact[i] = p === undefined ? -2 : p;
      if (p !== undefined) exactHits++;
    }
  }
  let mode: MatchMode = 'exact';
  let idx = exact;
  let hits = exactHits;
  const complete = () => hits === scoreIds.length && hits === protoIds.length;
  if (!complete()) {
    let m = Infinity;
    for (const id of scoreIds) m = Math.min(m, Math.max(1, countPathParts(id)));
    for (const id of protoIds) m = Math.min(m, Math.max(1, countPathParts(id)));
    for (const mode2 of ['path-tail', 'path-tail-stem'] as const) {
      if (complete()) break;
      const stripExt = mode2 === 'path-tail-stem';
      const proto = uniqueKeys(protoIds, m, stripExt);
      if (!proto) continue;
      // two score lines may not collapse onto one protocol trial (e.g. one file name in two API folders)
      const claimed = new Uint8Array(protoIds.length);
      const cand = new Int32Array(scoreIds.length);
      let h = 0;
      let collapsed = false;
      for (let i = 0; i < scoreIds.length && !collapsed; i++) {
        const p = proto.get(tailKey(scoreIds[i], m, stripExt));
        cand[i] = p === undefined ? -2 : p;
        if (p === undefined) continue;
        if (claimed[p]) collapsed = true;
        claimed[p] = 1;
        h++;
      }
      if (!collapsed && h > hits) {
        hits = h;
        idx = cand;
        mode = mode2;
      }
    }
  }
  // collect mismatches over the selected trials
  const hasScore = new Uint8Array(protoIds.length);
  const extra: string[] = [];
  let nExtra = 0;
  let skipped = 0;
  for (let i = 0; i < scoreIds.length; i++) {
    const p = idx[i];
    if (p < 0) {
      nExtra++;
      if (extra.length < 5) extra.push(`${scoreWhere(i)} ${quoteLine(scoreIds[i])}`);
    } else if (!include(p)) {
      idx[i] = -1;
      skipped++;
    } else hasScore[p] = 1;
  }
  const missing: string[] = [];
  let nMissing = 0;
  let excluded = 0;
  for (let p = 0; p < protoIds.length; p++) {
    if (!include(p)) {
      excluded++;
      continue;
    }
    if (!hasScore[p]) {
      nMissing++;
      if (missing.length < 5) missing.push(`${protoWhere(p)} ${quoteLine(protoIds[p])}`);
    }
  }
  if (nExtra > 0 || nMissing > 0) {
    const parts = [`the score file and the protocol list different trials (ids matched ${mode === 'exact' ? 'exactly' : `by ${mode}`})`];
    if (nExtra > 0) parts.push(`${nExtra} of ${scoreIds.length} score line(s) have an id that is not in the protocol; first: ${quoteFirst(extra, nExtra)}`);
    if (nMissing > 0) {
      parts.push(`${nMissing} of ${protoIds.length - excluded} protocol trial(s) have no score; first: ${quoteFirst(missing, nMissing)}`);
    }
    throw new MetricsInputError(parts.join('\n  ') + hint);
  }
  return { mode, protoIndex: idx, skipped, excluded };
}

/** Bona fide and spoof scores with the group of each spoof trial, ready for the metrics. */
export interface DetectionSet {
  bonafide: Float64Array;
  spoof: Float64Array;
  /** group of each spoof trial (aligned with `spoof`); undefined when the trial has none */
  spoofGroups: (string | undefined)[];
  /** per score line: 'bonafide', 'spoof', or null if skipped (outside the subset) */
  lineLabels: (DetectionLabel | null)[];
  mode: MatchMode;
  skipped: number;
  excluded: number;
}

/**
 * Labels every score line from the protocol (or from the score file's own label column when no protocol
 * is given) and splits the scores into bona fide and spoof. `subset` keeps only protocol trials whose
 * subset column equals it (ASVspoof 2021).
 */
export function buildDetectionSet(scores: DetectionScoreFile, protocol: Protocol | null, opts: { subset?: string } = {}): DetectionSet {
  const n = scores.ids.length;
  let labels: (DetectionLabel | null)[];
  let groups: (string | undefined)[];
  let mode: MatchMode;
  let skipped = 0;
  let excluded = 0;
  if (!protocol) {
    if (!scores.labels) {
      throw new MetricsInputError(`${scores.source}: no --protocol given and the score file does not label every trial: ${scores.unlabelled}`);
    }
    if (opts.subset) throw new MetricsInputError('--subset needs a protocol with a subset column (ASVspoof 2021 keys)');
    labels = scores.labels;
    groups = scores.groups;
    mode = 'score-file-labels';
  } else {
    const trials = protocol.trials;
    const nonDetection = trials.findIndex((t) => typeof t.label === 'number');
    if (nonDetection >= 0) {
      throw new MetricsInputError(
        `${protocol.source}:${trials[nonDetection].line}: label ${trials[nonDetection].label} is a tracing class index; ` +
          'detection needs bonafide/spoof labels (use --task trace for tracing lists)',
      );
    }
    let include: (p: number) => boolean = () => true;
    if (opts.subset !== undefined) {
      if (!protocol.hasSubsets) {
        throw new MetricsInputError(`--subset ${opts.subset}: ${protocol.source} (${protocol.format}) has no subset column; subsets exist in ASVspoof 2021 keys`);
      }
      const want = opts.subset;
      if (!trials.some((t) => t.subset === want)) {
        const seen = [...new Set(trials.map((t) => t.subset))].join(', ');
        throw new MetricsInputError(`--subset ${want}: no trial of ${protocol.source} is in that subset (subsets: ${seen})`);
      }
      include = (p) => trials[p].subset === want;
    }
    const hint =
      protocol.hasSubsets && opts.subset === undefined
        ? `\n  (${protocol.source} has a subset column: papers report \`--subset eval\`; trials outside the chosen subset are then skipped)`
        : '';
    const join = joinIds(
      scores.ids,
      (i) => `${scores.source}:${scores.lines[i]}`,
      trials.map((t) => t.id),
      (p) => `${protocol.source}:${trials[p].line}`,
      include,
      hint,
    );
    mode = join.mode;
    skipped = join.skipped;
    excluded = join.excluded;
    labels = new Array(n);
    groups = new Array(n);
    for (let i = 0; i < n; i++) {
      const p = join.protoIndex[i];
      if (p < 0) {
        labels[i] = null;
        continue;
      }
      labels[i] = trials[p].label as DetectionLabel;
      groups[i] = trials[p].group;
    }
  }
  let nb = 0;
  let ns = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] === 'bonafide') nb++;
    else if (labels[i] === 'spoof') ns++;
  }
  const src = protocol ? protocol.source : scores.source;
  if (nb === 0 || ns === 0) {
    throw new MetricsInputError(
      `${src}: one class is empty (${nb} bona fide, ${ns} spoof trials${opts.subset ? ` in subset ${opts.subset}` : ''}); ` +
        'EER and DCF need both bona fide and spoof trials',
    );
  }
  const bonafide = new Float64Array(nb);
  const spoof = new Float64Array(ns);
  const spoofGroups: (string | undefined)[] = new Array(ns);
  nb = 0;
  ns = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] === 'bonafide') bonafide[nb++] = scores.scores[i];
    else if (labels[i] === 'spoof') {
      spoofGroups[ns] = groups[i];
      spoof[ns++] = scores.scores[i];
    }
  }
  return { bonafide, spoof, spoofGroups, lineLabels: labels, mode, skipped, excluded };
}

/** True labels aligned with a tracing score file. */
export interface TracingSet {
  truth: Int32Array;
  mode: MatchMode;
}

export function buildTracingSet(scores: TracingScoreFile, protocol: Protocol): TracingSet {
  const trials = protocol.trials;
  const K = scores.nSeen;
  const bad: string[] = [];
  let nBad = 0;
  for (const t of trials) {
    if (typeof t.label !== 'number' || t.label > K) {
      nBad++;
      if (bad.length < 5) bad.push(`${protocol.source}:${t.line} ${quoteLine(String(t.label))}`);
    }
  }
  if (nBad > 0) {
    throw new MetricsInputError(
      `${protocol.source}: ${nBad} trial(s) do not have a class index in 0…${K} (the score file has ${K} seen classes; ${K} = unseen); first: ${quoteFirst(bad, nBad)}`,
    );
  }
  const join = joinIds(
    scores.ids,
    (i) => `${scores.source}:${scores.lines[i]}`,
    trials.map((t) => t.id),
    (p) => `${protocol.source}:${trials[p].line}`,
  );
  const truth = new Int32Array(scores.ids.length);
  for (let i = 0; i < truth.length; i++) truth[i] = trials[join.protoIndex[i]].label as number;
  return { truth, mode: join.mode };
}
