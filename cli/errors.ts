/** An error caused by the user's input (file, flag, data): the CLI prints its message without a stack. */
export class UserError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
