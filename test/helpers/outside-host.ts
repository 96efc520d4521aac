import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

/** A machine beyond the engine's host, as far as containers can tell: a network namespace behind a veth pair. */
export interface OutsideHost {
  /** Its address, reached from the host through routing (so containers reach it only if forwarded). */
  address: string;
  /** An HTTP listener there that answers `outside answered`. */
  port: number;
  /** Stops the listener and removes the namespace and the veth pair. */
  stop(): Promise<void>;
}

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.stderr.trim()}`);
}

/**
 * Makes a stand-in for "the internet" on a machine that has none: a network namespace with an
 * HTTP listener, behind a veth pair on a private /30. Traffic from a container to it must be
 * forwarded by the host, exactly like traffic to any outside address. Needs root and `ip`.
 */
export async function startOutsideHost(): Promise<OutsideHost> {
  const tag = Math.floor(Math.random() * 0xffff)
    .toString(16)
    .padStart(4, '0');
  const ns = `berth-test-out-${tag}`;
  const hostSide = `bto${tag}h`;
  const nsSide = `bto${tag}n`;
  const octet = 1 + (Number.parseInt(tag, 16) % 250);
  const gateway = `10.251.${octet}.1`;
  const address = `10.251.${octet}.2`;
  const port = 8080;
  let listener: ChildProcess | undefined;
  const cleanup = () => {
    listener?.kill('SIGKILL');
    spawnSync('ip', ['link', 'del', hostSide]);
    spawnSync('ip', ['netns', 'del', ns]);
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', nsSide);
    ip('link', 'set', nsSide, 'netns', ns);
    ip('addr', 'add', `${gateway}/30`, 'dev', hostSide);
    ip('link', 'set', hostSide, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${address}/30`, 'dev', nsSide);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', nsSide, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    ip('netns', 'exec', ns, 'ip', 'route', 'add', 'default', 'via', gateway);
    const script = `require('http').createServer((q, r) => r.end('outside answered')).listen(${port}, '0.0.0.0', () => console.log('ready'))`;
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    listener = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the listener in ${ns} exited (${code})`)));
    });
  } catch (error) {
    cleanup();
    throw error;
  }
  return {
    address,
    port,
    async stop() {
      cleanup();
    },
  };
}
