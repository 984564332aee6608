// Errors for weight files. Every message starts with the file name so a user knows which input is at fault.

/** A weight file is unreadable, corrupt, unsupported or does not fit the model. `userFacing` makes the CLI print
 *  the message without a stack. */
export class CheckpointError extends Error {
  readonly userFacing = true;
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

/** Lists at most `max` items, then says how many more there are. */
export function listSome(items: readonly string[], max = 20): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown}, … and ${items.length - max} more` : shown;
}
