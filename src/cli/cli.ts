import { DockerClient } from '../engine/index.js';
import { type CliCommand, type DoctorCommand, type PruneCommand, parseCliArgs, UsageError, usage } from './args.js';
import { doctorFailure, formatDoctorReport, runDoctor } from './doctor.js';
import { berthVersion, type CliIo, interruptedExitCode, messageOf } from './io.js';
import { serveMcp } from './mcp.js';
import { pruneContainers, pruneTempWorkspaces } from './prune.js';
import { runCode } from './run.js';

async function doctor(command: DoctorCommand, io: CliIo): Promise<number> {
  let report: Awaited<ReturnType<typeof runDoctor>>;
  try {
    report = await runDoctor({ image: command.image, version: berthVersion(), signal: io.signal, env: io.env });
  } catch (error) {
    if (io.signal.aborted) return interruptedExitCode(io.signal);
    io.stderr.write(`berth: ${messageOf(error)}\n`);
    return 1;
  }
  if (command.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    io.stdout.write(formatDoctorReport(report));
    io.stderr.write(doctorFailure(report));
  }
  return report.ok ? 0 : 1;
}

async function prune(command: PruneCommand, io: CliIo): Promise<number> {
  const docker = new DockerClient({ env: io.env });
  try {
    const result = await pruneContainers(docker, { all: command.all, dryRun: command.dryRun, signal: io.signal });
    const verb = command.dryRun ? 'would remove' : 'removed';
    const width = verb.length;
    const folders = await pruneTempWorkspaces({ all: command.all, dryRun: command.dryRun });
    for (const folder of folders) {
      if (folder.action === 'failed') io.stderr.write(`berth: could not remove ${folder.path}: ${folder.reason}\n`);
      else if (folder.action === 'remove') io.stdout.write(`${verb.padEnd(width)}  ${folder.path}  (${folder.reason})\n`);
    }
    if (result.decisions.length === 0) {
      io.stdout.write('No Berth containers found.\n');
      return folders.some((f) => f.action === 'failed') ? 1 : 0;
    }
    for (const decision of result.decisions) {
      const what = `${decision.id.slice(0, 12)}  ${decision.name}`;
      if (decision.action === 'failed') io.stderr.write(`berth: could not remove ${what}: ${decision.reason}\n`);
      else io.stdout.write(`${(decision.action === 'remove' ? verb : 'kept').padEnd(width)}  ${what}  (${decision.reason})\n`);
    }
    const plural = (n: number) => `${n} container${n === 1 ? '' : 's'}`;
    const failed = result.failed.length > 0 ? `; failed to remove ${result.failed.length}` : '';
    io.stdout.write(
      `${command.dryRun ? 'Would remove' : 'Removed'} ${plural(result.removed.length)}; kept ${result.kept.length}${failed}.\n`,
    );
    return result.failed.length > 0 ? 1 : 0;
  } catch (error) {
    if (io.signal.aborted) return interruptedExitCode(io.signal);
    io.stderr.write(`berth: ${messageOf(error)}\n`);
    return 1;
  } finally {
    await docker.close().catch(() => {});
  }
}

/**
 * Runs the `berth` command line (the arguments after `berth`) and returns the exit status:
 * the code's for `run`, 0 or 1 for `doctor` and `prune`, 2 for bad usage.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: CliCommand;
  try {
    command = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`berth: ${error.message}\n\n${usage(error.topic)}\n`);
    return 2;
  }
  switch (command.command) {
    case 'help':
      io.stdout.write(`${usage(command.topic)}\n`);
      return 0;
    case 'version':
      io.stdout.write(`${berthVersion()}\n`);
      return 0;
    case 'doctor':
      return doctor(command, io);
    case 'prune':
      return prune(command, io);
    case 'run':
      return runCode(command, io);
    case 'mcp':
      return serveMcp(command, io);
  }
}
