import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor, type DockerCommandLineCodeExecutorOptions } from '../../src/index.js';
import { BUSYBOX, PYTHON, strayProcesses as strayOf, TEST_LABEL, withDeadDockerSocket } from '../helpers/engine.js';

// Run: BERTH_ROOTLESS=1 DOCKER_HOST=unix:///tmp/berth-rootless/run/docker.sock npx vitest run --project integration test/integration/rootless.test.ts
// (vitest.config.ts leaves this file out otherwise; DOCKER_HOST keeps the shared teardown on that engine).
//
// Berth against a ROOTLESS dockerd. scripts/rootless-up.sh starts one next to the main dockerd,
// as the system user berth-rootless, inside rootlesskit's user, mount and network namespaces
// (slirp4netns), with XDG_RUNTIME_DIR=/tmp/berth-rootless/run: its socket is
// /tmp/berth-rootless/run/docker.sock. scripts/rootless-down.sh stops it.
//
// In a rootless engine the container's root is the berth-rootless user on the host, and the
// container's uids 1… are that user's subordinate uids (/etc/subuid). Host root is no one in
// there: files it owns look like nobody's (65534), and its 0700 folders are closed.
const DIR = process.env.BERTH_ROOTLESS_DIR ?? '/tmp/berth-rootless';
const SOCKET = join(DIR, 'run', 'docker.sock');
const HOST = `unix://${SOCKET}`;
const ROOTLESS_USER = process.env.BERTH_ROOTLESS_USER ?? 'berth-rootless';
const DIST = new URL('../../dist/engine/index.js', import.meta.url);
const labels = { [TEST_LABEL]: 'rootless' };

async function rootlessAnswers(): Promise<boolean> {
  if (!existsSync(SOCKET)) return false;
  const client = new DockerClient({ host: HOST });
  try {
    await client.system.ping({ signal: AbortSignal.timeout(10_000) });
    return true;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

const reasons: string[] = [];
if (!(await rootlessAnswers())) reasons.push(`no rootless dockerd answers at ${HOST} (scripts/rootless-up.sh)`);
if (reasons.length > 0) console.warn(`rootless engine tests skipped: ${reasons.join('; ')}`);
const available = reasons.length === 0;

/** The host uid and gid the container's root maps to: the rootless user's. */
function rootlessIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, ROOTLESS_USER], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** The first of the rootless user's subordinate uids: container uid 1 on the host. */
function firstSubuid(): number {
  const { uid } = rootlessIds();
  const line = readFileSync('/etc/subuid', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${ROOTLESS_USER}:`) || l.startsWith(`${uid}:`));
  return Number(line?.split(':')[1]);
}

const docker = new DockerClient({ host: HOST });
const py = (code: string) => ({ language: 'python', code });
const sh = (code: string) => ({ language: 'bash', code });

function executor(options: DockerCommandLineCodeExecutorOptions = {}): DockerCommandLineCodeExecutor {
  return new DockerCommandLineCodeExecutor({ image: PYTHON, labels, docker, ...options });
}

const strayProcesses = (ex: DockerCommandLineCodeExecutor) => strayOf(docker, ex.containerId as string);

afterAll(async () => {
  if (available) {
    // The global teardown looks at the main engine only: no labelled container may stay here either.
    const strays = await docker.containers.list({ all: true, filters: { label: [TEST_LABEL] } });
    for (const c of strays) await docker.containers.remove(c.Id, { force: true }).catch(() => {});
    expect(strays.map((c) => c.Names.join(','))).toEqual([]);
  }
  await docker.close();
});

describe.runIf(available)('a rootless dockerd (scripts/rootless-up.sh)', () => {
  it('pings, reports its version, and is rootless', async () => {
    expect(docker.describe()).toEqual({ address: HOST, source: 'option' });
    expect(docker.isLocal()).toBe(true);
    expect((await docker.system.ping()).apiVersion).toMatch(/^\d+\.\d+$/);
    const version = await docker.system.version();
    expect(version.Version).toMatch(/^\d+\.\d+/);
    const info = await docker.system.info();
    // What `docker info` shows under "Security Options: … rootless".
    expect(info.SecurityOptions).toContain('name=rootless');
    // A different engine from the main one: its own data-root under /tmp/berth-rootless.
    expect(info.DockerRootDir).toBe(join(DIR, 'data'));
  });

  it('creates, starts, execs in and removes a container whose root is the rootless user', async () => {
    let id: string | undefined;
    try {
      ({ Id: id } = await docker.containers.create({
        Image: BUSYBOX,
        Cmd: ['sleep', '600'],
        Labels: labels,
        HostConfig: { Init: true },
      }));
      await docker.containers.start(id);
      const run = await docker.exec.run(id, ['sh', '-c', 'printf out; printf err >&2; exit 3']);
      expect(run).toMatchObject({ stdout: 'out', stderr: 'err', exitCode: 3 });
      // uid 0 inside is the rootless user outside; 1… are its subordinate uids.
      const map = await docker.exec.run(id, ['cat', '/proc/self/uid_map']);
      expect(map.exitCode).toBe(0);
      const rows = map.stdout
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/).map(Number));
      expect(rows[0]).toEqual([0, rootlessIds().uid, 1]);
      expect(rows[1]?.[0]).toBe(1);
      expect(rows[1]?.[1]).toBeGreaterThanOrEqual(100_000);
      // stdin through the hijacked exec stream.
      const piped = await docker.exec.run(id, ['sh', '-c', 'wc -c'], { stdin: 'x'.repeat(100_000) });
      expect(piped.stdout.trim()).toBe('100000');
      // The default bridge network exists (slirp4netns gives the daemon's namespace its network).
      const net = await docker.exec.run(id, ['sh', '-c', 'ip -4 addr show eth0']);
      expect(net.stdout).toMatch(/inet \d+\.\d+\.\d+\.\d+\//);
      expect((await docker.containers.inspect(id)).State.Running).toBe(true);
      await docker.containers.remove(id, { force: true });
      const gone = await docker.containers.list({ all: true, filters: { id: [id] } });
      expect(gone).toEqual([]);
      id = undefined;
    } finally {
      if (id) await docker.containers.remove(id, { force: true }).catch(() => {});
    }
  });
});

describe.runIf(available)('the executor on a rootless dockerd, workspace copied into the container', () => {
  it('runs a python block and a bash block', async () => {
    const ex = executor({ workspace: 'copy', timeout: 30 });
    try {
      await ex.start();
      expect(ex.workspaceMode).toBe('copy');
      const result = await ex.executeCodeBlocks([
        py('import os\nprint("py", os.getuid(), sum(range(10)))\nopen("made.txt", "w").write("from python")'),
        sh('echo "sh $(id -u) $(cat made.txt)"'),
      ]);
      expect(result.exitCode).toBe(0);
      expect(result.output).toBe('py 0 45\nsh 0 from python\n');
      expect(new TextDecoder().decode(await ex.readFile('made.txt'))).toBe('from python');
    } finally {
      await ex.stop();
    }
  });

  it('times out with exit code 124 and kills the block; stop() removes the container', async () => {
    const ex = executor({ workspace: 'copy', timeout: 1 });
    await ex.start();
    const name = ex.containerName;
    try {
      const result = await ex.executeCodeBlocks([py('import time\ntime.sleep(30)')]);
      expect(result.exitCode).toBe(124);
      expect(result.timedOut).toBe(true);
      expect(result.output.endsWith('\n Timeout')).toBe(true);
      expect(await strayProcesses(ex)).toEqual([]);
      // The container still serves the next block.
      expect((await ex.executeCodeBlocks([py('print("after")')])).output).toBe('after\n');
    } finally {
      await ex.stop();
    }
    expect(ex.isRunning).toBe(false);
    expect(await docker.containers.list({ all: true, filters: { name: [name] } })).toEqual([]);
    await ex.stop(); // idempotent
  });
});

describe.runIf(available)('resource limits on a rootless dockerd', () => {
  // A rootless dockerd can only apply cgroup limits on a cgroup v2 host with delegation. On a
  // cgroup v1 host (this VM) it runs "without cgroups": the engine accepts PidsLimit, Memory and
  // NanoCpus, says nothing in the create response, and does not apply them, so the executor's
  // pidsLimit (and the sandbox's 128, its fork-bomb guard) and memoryBytes do nothing there.
  it('applies the executor pidsLimit only when the engine has cgroups', async () => {
    const info = await docker.system.info();
    const noCgroups = info.CgroupDriver === 'none';
    if (noCgroups) {
      expect(info.Warnings ?? []).toContainEqual(expect.stringContaining('Running in rootless-mode without cgroups'));
    }
    const ex = executor({ workspace: 'copy', timeout: 30, pidsLimit: 16 });
    try {
      await ex.start();
      const result = await ex.executeCodeBlocks([
        py(
          [
            'import subprocess',
            'ps = []',
            'try:',
            '    for i in range(40): ps.append(subprocess.Popen(["sleep", "5"]))',
            'except OSError as e: print("refused", e.errno)',
            'print("started", len(ps))',
            'for p in ps: p.kill(); p.wait()',
          ].join('\n'),
        ),
      ]);
      const started = Number(/started (\d+)/.exec(result.output)?.[1]);
      if (noCgroups) expect(started).toBe(40);
      else expect(started).toBeLessThan(16);
    } finally {
      await ex.stop();
    }
  });
});

describe.runIf(available)('the executor on a rootless dockerd, workspace bind-mounted (the default for a unix socket)', () => {
  const made: string[] = [];
  const folder = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-rootless-test-'));
    made.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('works in a workDir the rootless user owns; files the code writes belong to that user on the host', async () => {
    const dir = folder();
    const { uid, gid } = rootlessIds();
    chownSync(dir, uid, gid);
    const ex = executor({ workDir: dir, timeout: 30 });
    try {
      await ex.start();
      expect(ex.workspaceMode).toBe('bind');
      const result = await ex.executeCodeBlocks([
        py('import os\nos.makedirs("sub", exist_ok=True)\nopen("sub/out.txt", "w").write("hello")\nprint("wrote")'),
        // The code file Berth wrote here (as root) is nobody's inside: host root maps to no one.
        sh('stat -c "%u:%g %a" "$0"; id -u'),
      ]);
      expect(result.exitCode).toBe(0);
      expect(result.output).toBe('wrote\n65534:65534 644\n0\n');
      expect(readFileSync(join(dir, 'sub', 'out.txt'), 'utf8')).toBe('hello');
      // What a user sees on the host: the container's root is the rootless user.
      for (const path of [join(dir, 'sub'), join(dir, 'sub', 'out.txt')]) {
        expect({ path, uid: statSync(path).uid, gid: statSync(path).gid }).toEqual({ path, uid, gid });
      }
      // A non-root user in the container may not write in the top folder (mkdtemp's 0700, the
      // rootless user's: root's inside) …
      const id = ex.containerId as string;
      const denied = await docker.exec.run(id, ['touch', '/workspace/by-1000'], { user: '1000:1000' });
      expect(denied.exitCode).not.toBe(0);
      expect(denied.stderr).toMatch(/Permission denied/);
      // … and what it writes where it may belongs to a subordinate uid on the host.
      expect((await docker.exec.run(id, ['chmod', '755', '/workspace'])).exitCode).toBe(0);
      expect((await docker.exec.run(id, ['chmod', '1777', '/workspace/sub'])).exitCode).toBe(0);
      const allowed = await docker.exec.run(id, ['touch', '/workspace/sub/by-1000'], { user: '1000:1000' });
      expect(allowed.exitCode).toBe(0);
      expect(statSync(join(dir, 'sub', 'by-1000')).uid).toBe(firstSubuid() + 999);
    } finally {
      await ex.stop();
    }
    // stop() leaves a user's workDir and what the code wrote there.
    expect(existsSync(join(dir, 'sub', 'out.txt'))).toBe(true);
  });

  it('in a root-owned 0755 workDir the code runs but cannot write: PermissionError', async () => {
    const dir = folder();
    chmodSync(dir, 0o755);
    const ex = executor({ workDir: dir, timeout: 30 });
    try {
      await ex.start();
      const result = await ex.executeCodeBlocks([py('print("runs")\nopen("out.txt", "w").write("x")')]);
      expect(result.exitCode).toBe(1);
      // (output interleaves the two streams in arrival order: look at each on its own.)
      expect(result.stdout).toBe('runs\n');
      expect(result.stderr).toContain("PermissionError: [Errno 13] Permission denied: 'out.txt'");
      expect(readdirSync(dir).filter((name) => !name.startsWith('tmp_code_'))).toEqual([]);
    } finally {
      await ex.stop();
    }
  });

  // When the process using Berth is not the rootless engine's user (here: root, talking to
  // berth-rootless's engine), the container's root is berth-rootless on the host and cannot enter
  // the 0700 temp folder this process makes; with `user: '1000:1000'`, host uid 1000 is not the
  // container's uid 1000 either (that one is a subordinate uid). So for its own temp workspace
  // Berth picks copy mode there (the engine says `name=rootless` and the socket is not ours).
  it.runIf(process.getuid?.() === 0).each([
    { what: 'no options', options: {} },
    { what: "user '1000:1000'", options: { user: '1000:1000' } },
  ])('with a temp workspace ($what) it runs in copy mode', async ({ options }) => {
    const ex = executor({ timeout: 30, ...options });
    await ex.start();
    try {
      expect(ex.workspaceMode).toBe('copy');
      const result = await ex.executeCodeBlocks([py('open("o.txt", "w").write("x")\nprint("ran")')]);
      expect(result).toMatchObject({ exitCode: 0, output: 'ran\n' });
      expect(new TextDecoder().decode(await ex.readFile('o.txt'))).toBe('x');
    } finally {
      await ex.stop();
    }
  });

  it.runIf(process.getuid?.() === 0)(
    "with workspace: 'bind' and a temp workspace, start() fails with an ExecutorError that says what to do, leaving nothing",
    async () => {
      const tempBefore = new Set(readdirSync(tmpdir()));
      const ex = executor({ timeout: 30, workspace: 'bind' });
      try {
        const error = await ex.start().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toMatchObject({
          code: 'BERTH_ERR_EXECUTOR',
          message: expect.stringMatching(/cannot enter the workspace folder .*Use workspace: 'copy'/),
        });
        expect(ex.isRunning).toBe(false);
        expect(await docker.containers.list({ all: true, filters: { name: [ex.containerName] } })).toEqual([]);
        const left = readdirSync(tmpdir()).filter((name) => /^berth-ws-\d+-[A-Za-z0-9]{6}$/.test(name) && !tempBefore.has(name));
        expect(left).toEqual([]);
      } finally {
        await ex.stop();
      }
    },
  );
});

// The usual rootless set-up: the engine's own user runs Berth. Then the temp workspace is that
// user's, which is the container's root: the defaults work in bind mode. Run as berth-rootless in
// a child process (setpriv), on the built package.
const asUserReasons = [...reasons];
if (process.getuid?.() !== 0) asUserReasons.push('not root (setpriv to the rootless user needs it)');
if (spawnSync('setpriv', ['--version']).status !== 0) asUserReasons.push('no setpriv');
if (!existsSync(DIST)) asUserReasons.push('no dist/ (npm run build)');
if (available && asUserReasons.length > 0) console.warn(`rootless "as the engine's user" test skipped: ${asUserReasons.join('; ')}`);

describe.runIf(asUserReasons.length === 0)("the executor run by the rootless engine's own user", () => {
  it('works with a temp workspace in bind mode: by default, as a code user, and sandboxed', () => {
    const { uid, gid } = rootlessIds();
    const index = new URL('../../dist/index.js', import.meta.url);
    const code = 'import os\nopen("o.txt", "w").write("x")\nprint(os.getuid())';
    const script = `
      const { DockerCommandLineCodeExecutor } = await import(${JSON.stringify(index.href)});
      const { DockerClient } = await import(${JSON.stringify(DIST.href)});
      const { statSync, existsSync } = await import('node:fs');
      const docker = new DockerClient({ host: ${JSON.stringify(HOST)} });
      const out = [];
      for (const [what, options] of [['default', {}], ['user', { user: '1000:1000' }], ['sandbox', { sandbox: true }]]) {
        const ex = new DockerCommandLineCodeExecutor({ image: ${JSON.stringify(PYTHON)}, docker, timeout: 30, labels: ${JSON.stringify(labels)}, ...options });
        await ex.start();
        try {
          const r = await ex.executeCodeBlocks([{ language: 'python', code: ${JSON.stringify(code)} }]);
          out.push({ what, mode: ex.workspaceMode, exitCode: r.exitCode, output: r.output, hostUid: statSync(ex.workDir + '/o.txt').uid });
        } finally {
          const dir = ex.workDir;
          await ex.stop();
          out[out.length - 1].removed = !existsSync(dir);
        }
      }
      await docker.close();
      console.log(JSON.stringify(out));`;
    const run = spawnSync(
      'setpriv',
      [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', process.execPath, '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(DIR, 'run'), TMPDIR: '/tmp' },
        cwd: '/',
        timeout: 120_000,
      },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const sub = firstSubuid();
    // On the host: root inside is the user; uid N inside is subuid start + N - 1.
    expect(JSON.parse(run.stdout)).toEqual([
      { what: 'default', mode: 'bind', exitCode: 0, output: '0\n', hostUid: uid, removed: true },
      { what: 'user', mode: 'bind', exitCode: 0, output: '1000\n', hostUid: sub + 999, removed: true },
      { what: 'sandbox', mode: 'bind', exitCode: 0, output: '65534\n', hostUid: sub + 65533, removed: true },
    ]);
  });
});

// Discovery: with no DOCKER_HOST, no context and no engine answering at /var/run/docker.sock,
// the client must find the rootless socket at $XDG_RUNTIME_DIR/docker.sock, the way the docker
// CLI of a rootless user does. The main dockerd answers at /var/run/docker.sock, so (as in
// discovery.test.ts) a dead socket is bind-mounted over it in a private mount namespace.
const discoveryReasons = [...reasons];
if (process.getuid?.() !== 0) discoveryReasons.push('not root (unshare -m needs it)');
if (spawnSync('unshare', ['--version']).status !== 0) discoveryReasons.push('no unshare');
if (!existsSync(DIST)) discoveryReasons.push('no dist/ (npm run build)');
if (available && discoveryReasons.length > 0) console.warn(`rootless discovery test skipped: ${discoveryReasons.join('; ')}`);

describe.runIf(discoveryReasons.length === 0)('engine discovery of a rootless dockerd', () => {
  it('finds $XDG_RUNTIME_DIR/docker.sock when /var/run/docker.sock does not answer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-rootless-discovery-'));
    try {
      mkdirSync(join(dir, 'home'));
      const script = `
        const { DockerClient } = await import(${JSON.stringify(DIST.href)});
        const docker = new DockerClient();
        const info = await docker.system.info();
        console.log(JSON.stringify({ describe: docker.describe(), security: info.SecurityOptions ?? [] }));
        await docker.close();`;
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: join(dir, 'home'),
        DOCKER_CONFIG: join(dir, 'docker-config'),
        XDG_RUNTIME_DIR: join(DIR, 'run'),
      };
      const run = withDeadDockerSocket(dir, script, env);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const seen = JSON.parse(run.stdout) as { describe: { address: string; source: string }; security: string[] };
      expect(seen.describe).toEqual({ address: HOST, source: 'default socket' });
      expect(seen.security).toContain('name=rootless');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
