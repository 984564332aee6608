// Progress of a training run on the terminal: one redrawn line on a TTY (epoch, step, loss, clips/s, ETA), and
// plain log lines otherwise (every 10 % of an epoch, every dev evaluation), so CI logs and `tee` stay readable.
import type { EpochRecord, StepRecord, TrainEvents } from '../train/trainer.ts';

const fmtTime = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);

export function percent(x: number): string {
  return `${(100 * x).toFixed(2)} %`;
}

/** One line for an epoch's dev result. */
export function formatEpoch(r: EpochRecord, epochs: number): string {
  const m = r.metricName === 'eer' ? `dev EER ${percent(r.metric)}, minDCF ${r.dev.minDcf.toFixed(4)}, actDCF ${r.dev.actDcf.toFixed(4)}, Cllr ${r.dev.cllr.toFixed(3)}` : `dev macro-F1 ${r.metric.toFixed(4)}, accuracy ${percent(r.dev.accuracy)}, τ ${r.dev.threshold.toFixed(3)}`;
  return `epoch ${r.epoch}/${epochs}: train loss ${r.trainLoss.toFixed(4)}, ${m}${r.best ? '  (best so far)' : ''}`;
}

export function trainProgress(label: string, epochs: number, totalSteps: number, out: NodeJS.WriteStream = process.stderr): TrainEvents & { end(): void } {
  const tty = Boolean(out.isTTY);
  let lastPct = -1;
  let firstStep: { step: number; t: number } | null = null;
  let lastLine = '';
  const clear = () => {
    if (tty && lastLine) out.write('\r' + ' '.repeat(Math.min(lastLine.length, 160)) + '\r');
    lastLine = '';
  };
  return {
    step(r: StepRecord, p) {
      const t = Date.now() / 1000;
      firstStep ??= { step: r.step - 1, t: t - 1 / Math.max(r.clipsPerSec, 1e-9) };
      const rate = (r.step - firstStep.step) / Math.max(t - firstStep.t, 1e-9);
      const eta = totalSteps > r.step ? ` eta ${fmtTime((totalSteps - r.step) / rate)}` : '';
      const frac = p.done / p.total;
      const line = `${label} epoch ${r.epoch}/${epochs} [${'#'.repeat(Math.round(frac * 20)).padEnd(20, '-')}] step ${r.step}/${totalSteps} loss ${r.loss.toFixed(4)} ${r.clipsPerSec.toFixed(1)} clips/s${eta}`;
      if (tty) {
        out.write('\r' + line.padEnd(lastLine.length));
        lastLine = line;
      } else {
        const pct = Math.floor(frac * 10) * 10;
        if (pct !== lastPct) {
          lastPct = pct;
          out.write(line + '\n');
        }
      }
    },
    devProgress(done, total) {
      if (tty) {
        const line = `${label} scoring dev ${done}/${total}`;
        out.write('\r' + line.padEnd(lastLine.length));
        lastLine = line;
      }
    },
    epoch(r) {
      clear();
      lastPct = -1;
      out.write(`${label} ${formatEpoch(r, epochs)}\n`);
    },
    end: clear,
  };
}
