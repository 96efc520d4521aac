/** The exec round trip as each contender does it. Every one returns `{ exitCode, stdout, stderr }` (bytes). */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';

/** Berth: `exec.run` (create, start, read to the end, inspect). */
export async function berthExec(docker, containerId, cmd, options = {}) {
  const r = await docker.exec.run(containerId, cmd, options);
  return { exitCode: r.exitCode, stdout: Buffer.from(r.stdoutBytes), stderr: Buffer.from(r.stderrBytes) };
}

/** The raw floor: create, start, inspect with undici's dispatch and a minimal demultiplexer. */
export function rawExec(raw, containerId, cmd, options = {}) {
  return raw.exec(containerId, cmd, options);
}

/** A Writable that collects (or only counts) what it is given. */
export function sink(collect = true) {
  const chunks = [];
  const w = new Writable({
    write(chunk, _encoding, callback) {
      w.bytes += chunk.length;
      if (collect) chunks.push(chunk);
      callback();
    },
  });
  w.bytes = 0;
  w.chunks = chunks;
  return w;
}

/**
 * dockerode, the way its README does it: exec create, hijacked start, `modem.demuxStream` into two
 * sinks, then `exec.inspect` (again while it still says Running).
 */
export async function dockerodeExec(docker, containerId, cmd, options = {}) {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    ...(options.env ? { Env: options.env } : {}),
    ...(options.workingDir ? { WorkingDir: options.workingDir } : {}),
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = options.stdoutSink ?? sink();
  const err = options.stderrSink ?? sink();
  await new Promise((resolve, reject) => {
    docker.modem.demuxStream(stream, out, err);
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  let delay = 1;
  for (;;) {
    const info = await exec.inspect();
    if (!info.Running && typeof info.ExitCode === 'number') {
      return { exitCode: info.ExitCode, stdout: Buffer.concat(out.chunks), stderr: Buffer.concat(err.chunks) };
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}

/** Runs a command, collecting its output; resolves with its exit code (never rejects on non-zero). */
export function runCommand(file, args, { collect = true, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => collect && out.push(c));
    child.stderr.on('data', (c) => collect && err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ exitCode: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: Buffer.concat(err) }),
    );
  });
}

/** The docker CLI: `docker exec <id> cmd…`. */
export function cliExec(containerId, cmd) {
  return runCommand('docker', ['exec', containerId, ...cmd]);
}
