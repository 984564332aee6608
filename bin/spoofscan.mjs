#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so there is no build step for users.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../cli/main.ts');
const { printError, reportError } = await import('../common/errors.ts');
// Errors that escape the command's promise (a stray callback, a worker thread) get the same one-line treatment.
const last = (e) => {
  const r = reportError(e, 'spoofscan');
  printError(r);
  process.exit(r.exitCode);
};
process.on('uncaughtException', last);
process.on('unhandledRejection', last);
process.exitCode = await main(process.argv.slice(2));
