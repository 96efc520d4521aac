/**
 * One throughput measurement in a process of its own: runs the producer in the container through
 * one contender, counts (and with `verify`, checks) every byte, and prints one JSON line with the
 * rate and the peak RSS of the process that did the reading.
 *
 *   node bench/throughput-reader.mjs '{"contender":"berth","containerId":"…","mode":"stdout","chunks":4096,"verify":false}'
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const CHUNK = 64 * 1024;

/** The producer: `chunks` writes of 64 KiB of `o` to stdout, each followed (alternate) by 64 KiB of `e` to stderr. */
export function producer(chunks, mode) {
  const script = [
    'import os, sys',
    "o = b'o' * 65536; e = b'e' * 65536",
    'def w(fd, b):',
    '    m = memoryview(b)',
    '    while m:',
    '        m = m[os.write(fd, m):]',
    'for _ in range(int(sys.argv[1])):',
    '    w(1, o)',
    "    if sys.argv[2] == 'alternate': w(2, e)",
  ].join('\n');
  return ['python3', '-c', script, String(chunks), mode];
}

function vmHwm(pid = 'self') {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Counts bytes per stream; in verify mode also checks that every stdout byte is `o` and every stderr byte `e`. */
function counter(verify) {
  const refs = { 1: Buffer.alloc(CHUNK, 'o'), 2: Buffer.alloc(CHUNK, 'e') };
  const counts = { 1: 0, 2: 0 };
  let bad = 0;
  return {
    counts,
    get bad() {
      return bad;
    },
    /** @param {1 | 2} stream @param {Uint8Array} data */
    add(stream, data) {
      counts[stream] += data.length;
      if (!verify) return;
      const ref = refs[stream];
      for (let p = 0; p < data.length; p += CHUNK) {
        const piece = data.subarray(p, Math.min(p + CHUNK, data.length));
        if (!Buffer.from(piece.buffer, piece.byteOffset, piece.length).equals(ref.subarray(0, piece.length))) bad++;
      }
    },
  };
}

async function main() {
  const job = JSON.parse(process.argv[2]);
  const cmd = producer(job.chunks, job.mode);
  const socketPath = job.socketPath ?? '/var/run/docker.sock';
  const count = counter(job.verify);
  let exitCode;
  let childPeak = 0;
  let t0;
  const baselineRss = process.memoryUsage().rss;
  let cpu0;
  // What the RSS is made of at its worst: V8 heap vs Buffers (socket chunks live outside the heap).
  const peak = { heapUsed: 0, arrayBuffers: 0 };
  const memorySampler = setInterval(() => {
    const m = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  }, 20);
  switch (job.contender) {
    case 'raw': {
      const { RawEngine } = await import('./lib/raw.mjs');
      const raw = new RawEngine(socketPath);
      await raw.negotiate();
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      const r = await raw.exec(job.containerId, cmd, { onFrame: (s, d) => count.add(s, d) });
      exitCode = r.exitCode;
      await raw.close();
      break;
    }
    case 'berth': {
      const { DockerClient } = await import('../dist/engine/index.js');
      const docker = new DockerClient({ socketPath });
      await docker.apiVersion();
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      // The streaming API (exec.run would keep all 256 MiB, by design): create, start, iterate, inspect.
      const { Id } = await docker.exec.create(job.containerId, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const stream = await docker.exec.start(Id);
      for await (const frame of stream) count.add(frame.stream === 'stdout' ? 1 : 2, frame.data);
      for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
        const info = await docker.exec.inspect(Id);
        if (!info.Running && typeof info.ExitCode === 'number') {
          exitCode = info.ExitCode;
          break;
        }
        await new Promise((r) => setTimeout(r, delay));
      }
      await docker.close();
      break;
    }
    case 'dockerode': {
      const { default: Docker } = await import('dockerode');
      const { Writable } = await import('node:stream');
      const docker = new Docker({ socketPath });
      await docker.version();
      const sinkOf = (stream) =>
        new Writable({
          write(chunk, _encoding, callback) {
            count.add(stream, chunk);
            callback();
          },
        });
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      const exec = await docker.getContainer(job.containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      await new Promise((resolve, reject) => {
        docker.modem.demuxStream(stream, sinkOf(1), sinkOf(2));
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
      for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
        const info = await exec.inspect();
        if (!info.Running && typeof info.ExitCode === 'number') {
          exitCode = info.ExitCode;
          break;
        }
        await new Promise((r) => setTimeout(r, delay));
      }
      break;
    }
    case 'docker exec': {
      // The reading process is the CLI itself: its VmHWM is sampled while it runs.
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      const child = spawn('docker', ['exec', job.containerId, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d) => count.add(1, d));
      child.stderr.on('data', (d) => count.add(2, d));
      const sampler = setInterval(() => {
        try {
          childPeak = Math.max(childPeak, vmHwm(child.pid));
        } catch {}
      }, 10);
      child.on('exit', () => clearInterval(sampler));
      exitCode = await new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => resolve(code));
      });
      break;
    }
    default:
      throw new Error(`unknown contender ${job.contender}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(memorySampler);
  const bytes = count.counts[1] + count.counts[2];
  process.stdout.write(
    `${JSON.stringify({
      contender: job.contender,
      mode: job.mode,
      exitCode,
      stdoutBytes: count.counts[1],
      stderrBytes: count.counts[2],
      badPieces: count.bad,
      seconds,
      mbPerSecond: bytes / 1e6 / seconds,
      peakRssBytes: job.contender === 'docker exec' ? childPeak : vmHwm(),
      readerPeakRssBytes: vmHwm(),
      baselineRssBytes: baselineRss,
      peakHeapUsedBytes: peak.heapUsed,
      peakArrayBuffersBytes: peak.arrayBuffers,
      // CPU of this process while it read (for the CLI: only the node process counting its pipes).
      readerCpuMs: (cpu.user + cpu.system) / 1000,
    })}\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  });
}
