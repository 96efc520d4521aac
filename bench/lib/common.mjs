/** Shared pieces: configuration, labels, the engine, machine facts, assertions. */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Label on every container the benchmarks create (`BENCH_LABEL` overrides the key). */
export const LABEL = process.env.BENCH_LABEL ?? 'berth.test';
/** A second label with this run's ID, so the run (and its CI test) can find exactly its own containers. */
export const RUN_LABEL = 'berth.bench.run';
export const RUN_ID = process.env.BENCH_RUN_ID ?? randomUUID();
export const LABELS = { [LABEL]: '1', [RUN_LABEL]: RUN_ID };

export const PYTHON_IMAGE = process.env.BERTH_PYTHON_IMAGE ?? 'berth-test/python:3.11';
export const SOCKET = process.env.BENCH_SOCKET ?? '/var/run/docker.sock';

/** Throws when `cond` is false: a contender gave a wrong answer. */
export function check(cond, message) {
  if (!cond) throw new Error(`verification failed: ${message}`);
}

/** @param {Uint8Array | Buffer | string} a @param {Uint8Array | Buffer | string} b */
export function sameBytes(a, b) {
  return Buffer.from(a).equals(Buffer.from(b));
}

export function machine() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1].trim();
  } catch {}
  return {
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

/** Busy and total CPU jiffies of the whole machine, from /proc/stat. */
export function cpuTimes() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Milliseconds of CPU the whole machine spent between two `cpuTimes()` samples (USER_HZ = 100). */
export function busyMs(before, after) {
  return (after.busy - before.busy) * 10;
}

export const MB = 1e6;
export const MiB = 1024 * 1024;

/** Console progress on stderr, so that stdout carries only the tables. */
export function log(...args) {
  process.stderr.write(`${args.join(' ')}\n`);
}

/** utime + stime + cutime + cstime of a process, in ms (USER_HZ = 100); 0 when it is gone. */
function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return 0;
  }
}

/**
 * The engine's side of the work, as CPU ms: dockerd, containerd, and the container's shim (which
 * also collects the CPU of the exec'd processes it reaps). Null when /proc does not show them
 * (a remote engine).
 */
export function engineCpuMs(containerId) {
  let total = 0;
  let found = false;
  let entries = [];
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  for (const pid of entries) {
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const argv0 = cmdline.split('\0')[0] ?? '';
    const isEngine = /(^|\/)(dockerd|containerd)$/.test(argv0);
    const isShim = /containerd-shim/.test(argv0) && containerId !== undefined && cmdline.includes(containerId);
    if (isEngine || isShim) {
      found = true;
      total += processCpuMs(pid);
    }
  }
  return found ? total : null;
}
