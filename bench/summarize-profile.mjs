/**
 * Summarises .cpuprofile files (from `node --cpu-prof`, e.g. `node bench/run.mjs --cpu-prof DIR`
 * profiles every throughput reader): self time by file and by function, per profile.
 *
 *   node bench/summarize-profile.mjs FILE.cpuprofile… [--top N]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '15' } } });
const top = Number(values.top);

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFn = new Map();
  const byFile = new Map();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = nodes.get(id).callFrame;
    if (frame.functionName === '(idle)') {
      idle += us;
      return;
    }
    total += us;
    const where = frame.url ? frame.url.replace(/^.*\/(dist|node_modules|bench)\//, '$1/') : `(${frame.functionName || 'native'})`;
    const fn = `${frame.functionName || '(anonymous)'} ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    const group = where.startsWith('node:') ? 'node: internals' : where.replace(/^(node_modules\/[^/]+|dist\/[^/]+|bench)\/.*$/, '$1');
    byFile.set(group, (byFile.get(group) ?? 0) + us);
  });
  const rows = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: +(us / 1000).toFixed(1), share: `${((100 * us) / total).toFixed(1)}%` }));
  console.log(`\n${file}: ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle`);
  console.table(rows(byFile));
  console.table(rows(byFn));
}
