/** 4. Lifecycle: executor start/restart/stop vs the raw floor and the docker CLI; autogen's stop re-enacted. */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, LABELS, log, PYTHON_IMAGE } from '../lib/common.mjs';
import { runCommand } from '../lib/contenders.mjs';
import { paired, summarize } from '../lib/stats.mjs';

/** The container the executor creates (src/executor/container-spec.ts buildContainerSpec), for the floor and the CLI. */
function executorLikeBody(dir) {
  return {
    Image: PYTHON_IMAGE,
    Entrypoint: ['/bin/sh'],
    Tty: true,
    OpenStdin: false,
    WorkingDir: '/workspace',
    Env: ['PYTHONUNBUFFERED=1'],
    Labels: LABELS,
    HostConfig: { Binds: [`${dir}:/workspace:rw`], AutoRemove: false, Init: true, PidsLimit: 4096, SecurityOpt: ['no-new-privileges'] },
  };
}

const labelArgs = () => Object.entries(LABELS).flatMap(([k, v]) => ['--label', `${k}=${v}`]);

/** What the engine says when its restart race removed an auto-remove container under the restart. */
const RESTART_RACE = /No such container|marked for removal|removal .*in progress|already been removed/i;

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function run(ctx) {
  const { raw, Executor, config } = ctx;
  const cfg = config.lifecycle;
  const contenders = {
    berth: async () => {
      const executor = new Executor({ image: PYTHON_IMAGE, labels: LABELS });
      ctx.onCleanup(() => executor.stop());
      const start = await timed(() => executor.start());
      check(executor.isRunning && executor.containerId, 'executor not running after start()');
      const id = executor.containerId;
      const restart = await timed(() => executor.restart());
      check(executor.isRunning, 'executor not running after restart()');
      const after = executor.containerId;
      const stop = await timed(() => executor.stop());
      check(!executor.isRunning, 'executor still running after stop()');
      return { start, restart, stop, id, ids: [id, after] };
    },
    raw: async () => {
      let dir;
      let id;
      const start = await timed(async () => {
        dir = await realpath(await mkdtemp(join(tmpdir(), 'berth-bench-')));
        id = await raw.run(executorLikeBody(dir));
      });
      ctx.onCleanup(() => raw.removeForce(id).finally(() => rm(dir, { recursive: true, force: true })));
      const restart = await timed(() => raw.restart(id));
      const stop = await timed(async () => {
        await raw.removeForce(id);
        await rm(dir, { recursive: true, force: true });
      });
      return { start, restart, stop, id };
    },
    docker: async () => {
      let dir;
      let id;
      const start = await timed(async () => {
        dir = await realpath(await mkdtemp(join(tmpdir(), 'berth-bench-')));
        const r = await runCommand('docker', [
          'run',
          '-d',
          '-t',
          '--init',
          '--entrypoint',
          '/bin/sh',
          '-w',
          '/workspace',
          '-e',
          'PYTHONUNBUFFERED=1',
          '--pids-limit',
          '4096',
          '--security-opt',
          'no-new-privileges',
          '-v',
          `${dir}:/workspace:rw`,
          ...labelArgs(),
          PYTHON_IMAGE,
        ]);
        check(r.exitCode === 0, `docker run -d failed: ${r.stderr}`);
        id = r.stdout.toString().trim();
      });
      ctx.onCleanup(() => raw.removeForce(id).finally(() => rm(dir, { recursive: true, force: true })));
      const restart = await timed(async () => {
        const r = await runCommand('docker', ['restart', '-t', '0', id]);
        check(r.exitCode === 0, `docker restart failed: ${r.stderr}`);
      });
      const stop = await timed(async () => {
        const r = await runCommand('docker', ['rm', '-f', id]);
        check(r.exitCode === 0, `docker rm -f failed: ${r.stderr}`);
        await rm(dir, { recursive: true, force: true });
      });
      return { start, restart, stop, id };
    },
  };
  const names = Object.keys(contenders);
  const restartRaces = {};
  const samples = Object.fromEntries(names.map((n) => [n, { start: [], restart: [], stop: [] }]));
  log(`  lifecycle: ${cfg.iterations} iterations`);
  for (let i = -cfg.warmup; i < cfg.iterations; i++) {
    const first = ((i % names.length) + names.length) % names.length;
    for (let k = 0; k < names.length; k++) {
      const name = names[(first + k) % names.length];
      let r;
      for (let attempt = 1; !r; attempt++) {
        try {
          r = await contenders[name]();
        } catch (error) {
          // dockerd 20.10 raced its own restart of an auto-remove container: the exit of the old
          // process could remove it before the start half ran. No contender uses AutoRemove any
          // more (the executor removes its container in stop()), so this should stay at zero;
          // should it happen, the iteration is run again, and counted.
          if (attempt >= 3 || !RESTART_RACE.test(String(error?.message ?? error))) throw error;
          restartRaces[name] = (restartRaces[name] ?? 0) + 1;
          log(`  lifecycle: ${name}: the engine removed the container during its restart; iteration run again`);
        }
      }
      // Verification: every container of the iteration is gone, or going (AutoRemove) and no
      // longer running, within 3 s of stop (a loaded machine is slow to reap).
      const ids = r.ids ?? [r.id];
      let left = [];
      for (let waited = 0; waited <= 3_000; waited += 50) {
        left = await raw.json('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ id: ids }))}`);
        if (left.every((c) => c.State !== 'running')) break;
        await new Promise((done) => setTimeout(done, 50));
      }
      check(
        left.every((c) => c.State !== 'running'),
        `${name}: container still running 3 s after stop`,
      );
      if (i >= 0) for (const phase of ['start', 'restart', 'stop']) samples[name][phase].push(r[phase]);
    }
  }
  const labels = {
    berth: { start: 'executor start()', restart: 'executor restart()', stop: 'executor stop()' },
    raw: { start: 'raw create + start + running', restart: 'raw restart?t=0 + running', stop: 'raw DELETE ?force=1 (kill + remove)' },
    docker: { start: 'docker run -d', restart: 'docker restart -t 0', stop: 'docker rm -f' },
  };
  const cases = ['start', 'restart', 'stop'].map((phase) => ({
    name: phase,
    unit: 'ms',
    rows: names.map((n) => ({
      contender: labels[n][phase],
      ...summarize(samples[n][phase]),
      ...(n === 'raw' ? {} : { vsFloor: paired(samples[n][phase], samples.raw[phase]) }),
    })),
    samples: Object.fromEntries(names.map((n) => [n, samples[n][phase]])),
  }));

  // autogen's stop: a shell as PID 1 ignores SIGTERM, so `docker stop` waits out the grace period.
  const grace = cfg.autogenGrace;
  log(`  lifecycle: autogen stop re-enacted (${cfg.autogenRuns} run(s), ${grace ?? 'default 10'} s grace)`);
  const autogen = [];
  for (let i = 0; i < cfg.autogenRuns; i++) {
    const { Id } = await raw.json('POST', '/containers/create', {
      Image: PYTHON_IMAGE,
      Entrypoint: ['/bin/sh'],
      Tty: true,
      WorkingDir: '/workspace',
      Labels: LABELS,
      HostConfig: { AutoRemove: true },
    });
    ctx.onCleanup(() => raw.removeForce(Id));
    await raw.json('POST', `/containers/${Id}/start`);
    autogen.push(await timed(() => raw.json('POST', `/containers/${Id}/stop${grace === undefined ? '' : `?t=${grace}`}`)));
  }
  cases.push({
    name: `autogen stop (container.stop(): SIGTERM to /bin/sh as PID 1, ${grace === undefined ? 'default 10 s' : `${grace} s (quick mode)`} grace)`,
    unit: 'ms',
    rows: [{ contender: 'POST /containers/{id}/stop', ...summarize(autogen) }],
    samples: { autogen },
  });

  const med = (phase) => summarize(samples.berth[phase]).median;
  return {
    title: '4. Lifecycle',
    cases,
    restartRaces,
    targets: [
      {
        id: 'lifecycle.stop',
        label: 'executor stop() ≤ 0.5 s median',
        value: med('stop'),
        limit: 500,
        unit: 'ms',
        met: med('stop') <= 500,
      },
      {
        id: 'lifecycle.restart',
        label: 'executor restart() ≤ 1.5 s median',
        value: med('restart'),
        limit: 1500,
        unit: 'ms',
        met: med('restart') <= 1500,
      },
    ],
  };
}
