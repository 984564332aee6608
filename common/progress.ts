// A small progress bar for long CLI work. Draws on stderr only when it is a terminal,
// otherwise prints a line every 10 % so logs stay readable.
export class Progress {
  private done = 0;
  private lastPct = -1;
  private readonly start = Date.now();
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly label: string, private readonly total: number, private readonly unit = '') {}

  tick(n = 1, note = ''): void {
    this.done = Math.min(this.total, this.done + n);
    this.draw(note);
  }

  private draw(note: string): void {
    const frac = this.total > 0 ? this.done / this.total : 1;
    const pct = Math.floor(frac * 100);
    const secs = (Date.now() - this.start) / 1000;
    const eta = frac > 0 && frac < 1 ? ` eta ${((secs / frac) * (1 - frac)).toFixed(0)}s` : '';
    const counts = `${this.done}/${this.total}${this.unit ? ' ' + this.unit : ''}`;
    if (this.tty) {
      const width = 30;
      const fill = Math.round(frac * width);
      const bar = '#'.repeat(fill) + '-'.repeat(width - fill);
      process.stderr.write(`\r${this.label} [${bar}] ${pct}% ${counts} ${secs.toFixed(1)}s${eta} ${note}`.padEnd(100));
      if (this.done === this.total) process.stderr.write('\n');
    } else if (pct >= this.lastPct + 10 || this.done === this.total) {
      this.lastPct = pct - (pct % 10);
      process.stderr.write(`${this.label}: ${pct}% ${counts} ${secs.toFixed(1)}s${eta} ${note}\n`);
    }
  }
}
