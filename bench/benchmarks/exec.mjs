/** 1. Exec round trip in a running container. */
import { check, LABELS, log, PYTHON_IMAGE, sameBytes } from '../lib/common.mjs';
import { berthExec, cliExec, dockerodeExec, rawExec } from '../lib/contenders.mjs';
import { interleave, paired, summarize } from '../lib/stats.mjs';

export const COMMANDS = [
  { name: 'sh -c true', cmd: ['sh', '-c', 'true'], stdout: '', exitCode: 0 },
  { name: "python3 -c 'print(1)'", cmd: ['python3', '-c', 'print(1)'], stdout: '1\n', exitCode: 0 },
];

/** Bytes on both streams, a NUL, and a non-zero exit: what every contender must get right. */
const PROBE = {
  cmd: ['sh', '-c', 'printf "a\\000b\\n"; printf "err\\377" >&2; exit 7'],
  stdout: 'a\0b\n',
  stderr: Buffer.from('err\xff', 'latin1'),
  exitCode: 7,
};

export async function run(ctx) {
  const { raw, berth, dockerode, config } = ctx;
  const id = await ctx.container({ Image: PYTHON_IMAGE, Cmd: ['sleep', 'infinity'], Labels: LABELS, HostConfig: { Init: true } });
  const contenders = {
    raw: (cmd) => rawExec(raw, id, cmd),
    berth: (cmd) => berthExec(berth, id, cmd),
    dockerode: (cmd) => dockerodeExec(dockerode, id, cmd),
    'docker exec': (cmd) => cliExec(id, cmd),
  };
  // Verify every contender before timing it.
  const verified = {};
  for (const [name, exec] of Object.entries(contenders)) {
    const r = await exec(PROBE.cmd);
    check(r.exitCode === PROBE.exitCode, `${name}: probe exit code ${r.exitCode}, expected ${PROBE.exitCode}`);
    check(sameBytes(r.stdout, PROBE.stdout), `${name}: probe stdout ${JSON.stringify(r.stdout.toString('latin1'))}`);
    check(sameBytes(r.stderr, PROBE.stderr), `${name}: probe stderr ${JSON.stringify(r.stderr.toString('latin1'))}`);
    for (const c of COMMANDS) {
      const o = await exec(c.cmd);
      check(
        o.exitCode === c.exitCode && o.stdout.toString() === c.stdout && o.stderr.length === 0,
        `${name}: ${c.name} gave ${o.exitCode} ${JSON.stringify(o.stdout.toString())} ${JSON.stringify(o.stderr.toString())}`,
      );
    }
    verified[name] = true;
  }
  const cases = [];
  const targets = [];
  for (const c of COMMANDS) {
    log(`  exec: ${c.name} (${config.exec.iterations} iterations)`);
    const timed = Object.fromEntries(
      Object.entries(contenders).map(([name, exec]) => [
        name,
        async () => {
          const o = await exec(c.cmd);
          check(
            o.exitCode === c.exitCode && o.stdout.toString() === c.stdout,
            `${name}: ${c.name} gave ${o.exitCode} ${JSON.stringify(o.stdout.toString())} ${JSON.stringify(o.stderr.toString())}`,
          );
        },
      ]),
    );
    const samples = await interleave(timed, config.exec);
    const rows = Object.entries(samples).map(([name, ms]) => ({
      contender: name,
      ...summarize(ms),
      ...(name === 'raw' ? {} : { vsFloor: paired(ms, samples.raw) }),
    }));
    cases.push({ name: c.name, unit: 'ms', rows, samples });
    const ratio = paired(samples.berth, samples.raw).ratio.median;
    targets.push({
      id: `exec.${c.cmd[0]}`,
      label: `exec.run ${c.name} ≤ 1.05× raw floor (paired median ratio)`,
      value: ratio,
      limit: 1.05,
      unit: '×',
      met: ratio <= 1.05,
    });
  }
  return { title: '1. Exec round trip', verified, cases, targets };
}
