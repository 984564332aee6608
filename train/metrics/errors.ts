/**
 * An error in the data handed to the metrics (bad score line, empty class, trial mismatch). It carries
 * `userFacing = true`, so the CLI prints its message without a stack (see cli/main.ts).
 */
export class MetricsInputError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'MetricsInputError';
  }
}

/** How many offending lines an error message quotes before it says "…". */
export const MAX_QUOTED = 5;

/** `label: 12 lines; first: f:3 "x", f:9 "y", …` — a count plus the first few offending places. */
export function quoteFirst(items: readonly string[], total = items.length, max = MAX_QUOTED): string {
  const shown = items.slice(0, max).join(', ');
  return total > max ? `${shown}, … (${total - max} more)` : shown;
}

/** Quotes one line of input for an error message, shortened if it is long. */
export function quoteLine(text: string, max = 80): string {
  const t = text.length > max ? text.slice(0, max - 1) + '…' : text;
  return JSON.stringify(t);
}
