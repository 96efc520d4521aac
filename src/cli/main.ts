#!/usr/bin/env node
/**
 * The `berth` command: `berth run FILE`, `berth run --markdown FILE`, `berth doctor`, `berth prune`.
 * See `berth --help`.
 * @module
 */
import { constants } from 'node:os';
import { runCli } from './cli.js';
import { messageOf } from './io.js';

const interruption = new AbortController();

// The first SIGINT or SIGTERM cancels what runs (the code is killed, the container removed) and
// the command exits with 128 + the signal's number; a second one exits at once. The handlers stay
// installed to the end, so the executor's own exit hook does not re-raise the signal.
function onSignal(signal: NodeJS.Signals): void {
  if (interruption.signal.aborted) process.exit(128 + (constants.signals[signal] ?? 2));
  interruption.abort(signal);
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// A closed pipe on stdout (`berth run x.py | head -1`): stop the code as for SIGPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') {
    if (!interruption.signal.aborted) interruption.abort('SIGPIPE');
    return;
  }
  process.stderr.write(`berth: cannot write the output: ${error.message}\n`);
  if (!interruption.signal.aborted) interruption.abort('SIGPIPE');
});

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    // Only touched by `berth run -`: an opened stdin may keep the process from ending.
    get stdin() {
      return process.stdin;
    },
    signal: interruption.signal,
    env: process.env,
  });
} catch (error) {
  process.stderr.write(`berth: ${messageOf(error)}\n`);
  process.exitCode = 1;
}
