import { spawn } from 'node:child_process';
import { inject } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Unique per run of the fault suite: the value of {@link FAULTS_LABEL} on every container it makes. */
    faultsRun: string;
  }
}

/** The socket of the second daemon (scripts/second-daemon.sh). */
export const SECOND_SOCKET = `${process.env.BERTH_FAULTS_DIR ?? '/run/berth-faults'}/docker.sock`;
/** Label with this run's ID on every container the fault suite creates, so teardown removes exactly those. */
export const FAULTS_LABEL = 'berth.faults.run';

/**
 * Labels for every container the fault tests create: this run's ID, which the global teardown
 * removes on both engines. Not `berth.test`: the main engine may be shared, and another run's
 * teardown removes every `berth.test` container, which would kill these tests' executors mid-test.
 */
export function faultLabels(): Record<string, string> {
  return { [FAULTS_LABEL]: inject('faultsRun') };
}

/** A client of the second daemon. */
export function secondClient(): DockerClient {
  return new DockerClient({ socketPath: SECOND_SOCKET });
}

/** Runs `scripts/second-daemon.sh COMMAND` without blocking the event loop; rejects if it fails. */
export function secondDaemon(command: 'up' | 'kill' | 'restart' | 'down' | 'status'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/second-daemon.sh', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`second-daemon.sh ${command} exited with ${code}:\n${output}`));
    });
  });
}

/**
 * Settles `promise` and returns its rejection reason, or fails when it resolves or does not
 * settle within `ms` (a hang is what these tests are about, so they never wait forever).
 */
export async function rejectionOf(promise: Promise<unknown>, ms: number, what: string): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} neither resolved nor rejected within ${ms} ms: it hangs`)), ms);
  });
  try {
    const value = await Promise.race([
      promise.then(
        (v) => ({ resolved: v }),
        (error: unknown) => ({ error }),
      ),
      hang,
    ]);
    if ('resolved' in value) throw new Error(`${what} resolved (${JSON.stringify(value.resolved)?.slice(0, 500)}) instead of rejecting`);
    return value.error;
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `check()` is true, polling every 20 ms; fails after `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Decodes bytes as UTF-8 (undefined as ''). */
export function text(bytes: Uint8Array | undefined): string {
  return bytes ? new TextDecoder().decode(bytes) : '';
}
