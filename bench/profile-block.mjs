/**
 * CPU profile of the executor's host side: runs N python blocks through executeCodeBlocks under
 * the inspector's profiler and prints where the process's own CPU went (self time by function and
 * by file), so host-side overhead can be told apart from the engine's.
 *
 *   node bench/profile-block.mjs [blocks] [--raw]   (--raw profiles the floor's write + exec instead)
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { DockerCommandLineCodeExecutor } from '../dist/index.js';
import { check, LABELS, PYTHON_IMAGE } from './lib/common.mjs';
import { RawEngine } from './lib/raw.mjs';

const blocks = Number(process.argv[2] ?? 100);
const floor = process.argv.includes('--raw');
const CODE = "print('hello from a block')";
const raw = new RawEngine();
await raw.negotiate();
const executor = new DockerCommandLineCodeExecutor({ image: PYTHON_IMAGE, labels: LABELS });
await executor.start();
const session = new Session();
session.connect();
try {
  const one = floor
    ? async () => {
        await writeFile(join(executor.workDir, 'floor.py'), CODE);
        const r = await raw.exec(executor.containerId, ['python3', 'floor.py'], { env: ['PYTHONUNBUFFERED=1'], workingDir: '/workspace' });
        check(r.exitCode === 0, 'raw block');
      }
    : async () => {
        const r = await executor.executeCodeBlocks([{ language: 'python', code: CODE }]);
        check(r.exitCode === 0, 'executor block');
      };
  for (let i = 0; i < 10; i++) await one();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < blocks; i++) await one();
  const cpu = process.cpuUsage(cpu0);
  const { profile } = await session.post('Profiler.stop');
  const dt = profile.timeDeltas;
  const self = new Map();
  const idOf = new Map(profile.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < profile.samples.length; i++) {
    const n = idOf.get(profile.samples[i]);
    self.set(n, (self.get(n) ?? 0) + (dt[i] ?? 0));
  }
  const byFn = new Map();
  const byFile = new Map();
  for (const [n, us] of self) {
    const f = n.callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    const file = f.url ? f.url.replace(/^.*\/(dist|node_modules|bench)\//, '$1/') : `(${f.functionName || 'native'})`;
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    const fileKey = file.startsWith('node:') ? 'node: internals' : file.split(':')[0];
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  }
  const top = (m, k) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => ({ name, msPerBlock: +(us / 1000 / blocks).toFixed(3) }));
  console.log(
    `${floor ? 'raw floor' : 'executeCodeBlocks'}: ${((cpu.user + cpu.system) / 1000 / blocks).toFixed(2)} ms of process CPU per block (user ${(cpu.user / 1000 / blocks).toFixed(2)}, system ${(cpu.system / 1000 / blocks).toFixed(2)})`,
  );
  console.table(top(byFile, 12));
  console.table(top(byFn, 25));
  if (process.env.PROFILE_OUT) await writeFile(process.env.PROFILE_OUT, JSON.stringify(profile));
} finally {
  session.disconnect();
  await executor.stop();
  await raw.close();
}
