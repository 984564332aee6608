// Errors raised by the data pipeline. They name the file (and line, for protocols) and the
// problem; `userFacing` makes the CLI print the message without a stack (see cli/main.ts).

export class DataError extends Error {
  readonly userFacing = true;
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'DataError';
  }
}

/** A decoding problem: unsupported or malformed audio. `reason` is the message without the file. */
export class AudioError extends DataError {
  constructor(
    readonly reason: string,
    file?: string,
  ) {
    super(reason, file);
    this.name = 'AudioError';
  }
}

export interface ProtocolIssue {
  file: string;
  line: number; // 1-based; 0 when the issue concerns the whole file
  reason: string;
}

/** One or more problems in protocol/list files, reported all at once. */
export class ProtocolError extends DataError {
  constructor(readonly issues: ProtocolIssue[]) {
    super(ProtocolError.format(issues));
    this.name = 'ProtocolError';
  }

  static format(issues: ProtocolIssue[], max = 20): string {
    const lines = issues.slice(0, max).map((i) => `${i.file}${i.line > 0 ? `:${i.line}` : ''}: ${i.reason}`);
    if (issues.length > max) lines.push(`… and ${issues.length - max} more`);
    return `${issues.length} problem${issues.length === 1 ? '' : 's'} in protocol data:\n  ${lines.join('\n  ')}`;
  }
}
