// spoofscan calibrate: fits an affine calibration llr = a·score + c by prior-weighted logistic regression
// on dev scores (BOSARIS/pyllr style), writes it as JSON, and/or writes calibrated score files.

import { writeFileAtomicSync } from '../../models/io/atomic-write.node.ts';
import { UserError } from '../../common/errors.ts';
import {
  MetricsInputError,
  actDcf,
  applyCalibration,
  buildDetectionSet,
  calibrationToJson,
  cllr,
  fitCalibration,
  parseDetectionScores,
  parsePrior,
  sortedScores,
  type DetectionScoreFile,
} from '../../train/metrics/index.ts';
import { flagString, scoreLines, parseFlags, readCalibration, readProtocol, warnIfLarge } from './eval.ts';

export const summary = 'fit a logistic-regression score calibration on dev scores; write it and/or calibrated scores';

const HELP = `usage: spoofscan calibrate --scores DEV --protocol DEV_PROTOCOL [--out CAL.json] [options]
       spoofscan calibrate --calibration CAL.json --apply SCORES --write-scores OUT

Fits llr = a·score + c on dev scores by prior-weighted logistic regression (Newton's method; BOSARIS
train_llr_fusion / pyllr objective), then writes the two numbers and/or calibrated score files.

  --scores FILE        dev score file to fit on (same formats as spoofscan eval, detection)
  --protocol FILE      labels for the dev scores (any format spoofscan eval reads); optional when the
                       score file labels every trial (\`id score label\`)
  --subset NAME        ASVspoof 2021 keys: fit on this subset only
  --prior P            target prior π of the objective, in (0, 1); default 0.5. \`asvspoof5\` = the
                       ASVspoof 5 effective prior 0.95/(0.95+0.5) = 0.655172
  --out FILE           write the calibration as JSON: {"a": …, "c": …, "prior": …, …}
  --calibration FILE   use this calibration instead of fitting one (no --scores/--protocol needed)
  --apply FILE         score file to calibrate (default: the --scores file)
  --write-scores FILE  write the calibrated scores of --apply: \`id<TAB>llr[<TAB>other columns]\`, with a
                       \`# score_type=llr\` line (or the input's own column header, e.g. ASVspoof 5's)
  --json               print the fit as one JSON object instead of text
  -h, --help           this help

Use the calibration with \`spoofscan eval --calibration FILE\`, or evaluate a file written by
--write-scores directly (its score_type=llr marks actDCF and Cllr as calibrated).`;

function* calibratedLines(file: DetectionScoreFile, a: number, c: number, prior: number | null): Generator<string> {
  if (file.header !== null) yield `${file.header}\n`;
  else {
    yield '# score_type=llr\n';
    yield `# calibration: llr = a * score + c, a=${a} c=${c}${prior !== null ? ` prior=${prior}` : ''}\n`;
  }
  const rest = file.rest!;
  for (let i = 0; i < file.ids.length; i++) {
    const llr = a * file.scores[i] + c;
    yield rest[i] ? `${file.ids[i]}\t${llr}\t${rest[i]}\n` : `${file.ids[i]}\t${llr}\n`;
  }
}

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(
    argv,
    { values: ['scores', 'protocol', 'subset', 'prior', 'out', 'calibration', 'apply', 'write-scores'], booleans: ['json'] },
    'calibrate',
  );
  if (flags.get('help')) {
    console.log(HELP);
    return 0;
  }
  try {
    return calibrate(flags);
  } catch (e) {
    if (e instanceof MetricsInputError) throw new UserError(e.message);
    throw e;
  }
}

function calibrate(flags: Map<string, string | true>): number {
  const scoresPath = flagString(flags, 'scores');
  const protocolPath = flagString(flags, 'protocol');
  const calPath = flagString(flags, 'calibration');
  const applyPath = flagString(flags, 'apply') ?? scoresPath;
  const writePath = flagString(flags, 'write-scores');
  const outPath = flagString(flags, 'out');
  const json = Boolean(flags.get('json'));

  let a: number;
  let c: number;
  let prior: number | null;
  let report: Record<string, unknown>;
  if (calPath) {
    for (const f of ['protocol', 'subset', 'prior', 'out']) {
      if (flags.has(f)) throw new UserError(`--${f} is for fitting; it cannot be combined with --calibration`);
    }
    if (!applyPath || !writePath) throw new UserError('--calibration needs --apply FILE and --write-scores FILE');
    const cal = readCalibration(calPath);
    a = cal.a;
    c = cal.c;
    prior = Number.isFinite(cal.prior) ? cal.prior : null;
    report = { calibration: calPath, a, c, prior };
  } else {
    if (!scoresPath) throw new UserError('--scores FILE is required to fit (see spoofscan calibrate --help)');
    if (flags.has('apply') && !writePath) throw new UserError('--apply needs --write-scores FILE');
    const pri = parsePrior(flagString(flags, 'prior') ?? '0.5');
    warnIfLarge(scoresPath);
    const scores = parseDetectionScores(scoreLines(scoresPath), scoresPath);
    const protocol = protocolPath ? readProtocol(protocolPath) : null;
    const set = buildDetectionSet(scores, protocol, { subset: flagString(flags, 'subset') });
    let cal;
    try {
      cal = fitCalibration(set.bonafide, set.spoof, { prior: pri });
    } catch (e) {
      // name the dev score file the fit failed on
      if (e instanceof MetricsInputError) throw new UserError(`${scoresPath}: ${e.message}`);
      throw e;
    }
    a = cal.a;
    c = cal.c;
    prior = cal.prior;
    const rb = sortedScores(set.bonafide);
    const rs = sortedScores(set.spoof);
    const lb = sortedScores(applyCalibration(set.bonafide, cal));
    const ls = sortedScores(applyCalibration(set.spoof, cal));
    const dev = {
      n_bonafide: set.bonafide.length,
      n_spoof: set.spoof.length,
      cllr_raw: cllr(rb, rs),
      cllr_calibrated: cllr(lb, ls),
      act_dcf_raw: actDcf(rb, rs).actDcf,
      act_dcf_calibrated: actDcf(lb, ls).actDcf,
    };
    const doc = calibrationToJson(cal, {
      fitted_on: { scores: scoresPath, protocol: protocolPath ?? null, subset: flagString(flags, 'subset') ?? null, ...dev },
      score_type_in: scores.scoreType,
      created: new Date().toISOString(),
    });
    if (outPath) writeFileAtomicSync(outPath, [JSON.stringify(doc, null, 2) + '\n']);
    report = { ...doc, out: outPath ?? null };
    if (cal.separable || !cal.converged) {
      console.error(
        cal.separable
          ? 'spoofscan calibrate: warning: the dev classes are perfectly separated; the slope has no finite optimum ' +
              `(stopped at a = ${a} after ${cal.iterations} iterations). Use more (or harder) dev data.`
          : `spoofscan calibrate: warning: Newton's method did not converge in ${cal.iterations} iterations (|gradient| ${cal.gradient})`,
      );
    }
  }

  if (writePath) {
    const file = parseDetectionScores(scoreLines(applyPath!), applyPath!, { keepRest: true });
    writeFileAtomicSync(writePath, calibratedLines(file, a, c, prior));
    report.applied_to = applyPath;
    report.written = writePath;
    report.n_written = file.ids.length;
  }

  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    const lines = [`calibration: llr = a * score + c`, `  a = ${a}`, `  c = ${c}`];
    if (prior !== null) lines.push(`  prior = ${prior}`);
    if (!calPath) {
      const d = (report.fitted_on as Record<string, number>) ?? {};
      lines.push(
        `  fitted on ${d.n_bonafide} bona fide + ${d.n_spoof} spoof dev trials; ${report.iterations} Newton iterations` +
          `${report.converged ? '' : ' (not converged)'}`,
      );
      lines.push(`  dev Cllr   ${d.cllr_raw.toFixed(4)} raw → ${d.cllr_calibrated.toFixed(4)} calibrated (bits)`);
      lines.push(`  dev actDCF ${d.act_dcf_raw.toFixed(4)} raw → ${d.act_dcf_calibrated.toFixed(4)} calibrated (ASVspoof 5)`);
      lines.push(outPath ? `  written to ${outPath}` : '  (not saved: pass --out FILE to write it)');
    }
    if (writePath) lines.push(`calibrated scores of ${applyPath} (${report.n_written} trials) written to ${writePath}`);
    console.log(lines.join('\n'));
  }
  return 0;
}
