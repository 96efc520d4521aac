/** 2. Executor block: one python block through executeCodeBlocks vs the raw floor doing the same file write and exec. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { check, LABELS, log, PYTHON_IMAGE } from '../lib/common.mjs';
import { interleave, paired, summarize } from '../lib/stats.mjs';
import { blockExec } from '../lib/wrapper.mjs';

const signed = (v) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;

const CODE = "print('hello from a block')";
const EXPECTED = 'hello from a block\n';

export async function run(ctx) {
  const { raw, Executor, config } = ctx;
  // The exec path (one exec per block); the runner has its own section (runner.mjs).
  const executor = new Executor({ image: PYTHON_IMAGE, labels: LABELS, timeout: 60, runner: 'off' });
  await executor.start();
  ctx.onCleanup(() => executor.stop());
  try {
    const id = executor.containerId;
    const floorFile = 'floor_block.py';
    const contenders = {
      raw: async () => {
        // The same work the executor does: write the file into the bound workspace, run it there.
        await writeFile(join(executor.workDir, floorFile), CODE, 'utf8');
        const r = await raw.exec(id, ['python3', floorFile], { env: ['PYTHONUNBUFFERED=1'], workingDir: '/workspace' });
        check(r.exitCode === 0 && r.stdout.toString() === EXPECTED && r.stderr.length === 0, `raw block gave ${r.exitCode} ${r.stdout}`);
      },
      // Diagnostic: the floor running the executor's own exec command (`python FILE` with the
      // block's BERTH_BLOCK marker), which separates the in-container cost of that command from
      // Berth's host-side cost.
      'raw + executor command': async () => {
        await writeFile(join(executor.workDir, floorFile), CODE, 'utf8');
        const { cmd, env } = blockExec(floorFile);
        const r = await raw.exec(id, cmd, { env, workingDir: '/workspace' });
        check(
          r.exitCode === 0 && r.stdout.toString() === EXPECTED && r.stderr.length === 0,
          `raw + executor command block gave ${r.exitCode} ${r.stdout}`,
        );
      },
      berth: async () => {
        const r = await executor.executeCodeBlocks([{ language: 'python', code: CODE }]);
        check(r.exitCode === 0 && r.output === EXPECTED, `executor block gave ${r.exitCode} ${JSON.stringify(r.output)}`);
      },
    };
    // Verification: one of each, checked (the same checks run on every timed call).
    for (const f of Object.values(contenders)) await f();
    const failing = await executor.executeCodeBlocks([{ language: 'python', code: 'import sys\nprint("x")\nsys.exit(3)' }]);
    check(failing.exitCode === 3 && failing.output === 'x\n', `executor exit code ${failing.exitCode}`);
    const rawFailing = await raw.exec(id, ['python3', '-c', 'import sys; print("x"); sys.exit(3)']);
    check(rawFailing.exitCode === 3 && rawFailing.stdout.toString() === 'x\n', `raw exit code ${rawFailing.exitCode}`);

    log(`  block: ${config.block.iterations} iterations`);
    const samples = await interleave(contenders, config.block);
    const rows = Object.entries(samples).map(([name, ms]) => ({
      contender: {
        berth: 'berth executeCodeBlocks',
        raw: 'raw (write + exec python3)',
        'raw + executor command': "raw (write + exec the executor's command: python FILE, BERTH_BLOCK env)",
      }[name],
      ...summarize(ms),
      ...(name === 'raw' ? {} : { vsFloor: paired(ms, samples.raw) }),
    }));
    const over = paired(samples.berth, samples.raw).diff.median;
    return {
      title: '2. Executor block',
      cases: [{ name: 'one python block', unit: 'ms', rows, samples }],
      targets: [
        {
          id: 'block.overhead',
          label: 'executeCodeBlocks ≤ 5 ms over the floor (paired median difference)',
          value: over,
          limit: 5,
          unit: 'ms',
          met: over <= 5,
          note: `the executor's exec command alone, sent raw: ${signed(paired(samples['raw + executor command'], samples.raw).diff.median)} ms`,
        },
      ],
    };
  } finally {
    await executor.stop();
  }
}
