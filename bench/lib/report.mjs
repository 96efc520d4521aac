/** Markdown rendering of a results object (the same text goes to stdout and bench/RESULTS.md). */
import { MiB } from './common.mjs';

const f = (v, digits = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');
const ratio = (r) => (r ? `${f(r.median, 3)}× (p95 ${f(r.p95, 2)}×)` : '');
const mark = (met) => (met === true ? '✅ met' : met === false ? '❌ missed' : '➖ n/a');

function table(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

function formatValue(t) {
  if (t.value === null || t.value === undefined) return '–';
  const digits = t.unit === '×' ? 3 : t.unit === 'packages' ? 0 : t.unit === 'MB' ? 2 : 1;
  return `${f(t.value, digits)} ${t.unit}`;
}

function formatLimit(t) {
  const op = t.op ?? '≤';
  const digits = t.unit === '×' ? 2 : t.unit === 'packages' ? 0 : 1;
  return `${op === '>=' ? '≥' : op} ${f(t.limit, digits)} ${t.unit}`;
}

function renderCase(c) {
  const out = [`### ${c.name}`, ''];
  if (c.footprint) {
    out.push(
      table(
        ['Package', 'Packages', 'MB', 'Install s'],
        c.rows.map((r) =>
          r.error
            ? [r.contender, 'install failed', '–', r.error.replace(/\|/g, '\\|').replace(/\n/g, ' ')]
            : [r.contender, String(r.packages), f(r.megabytes, 2), f(r.installSeconds, 1)],
        ),
      ),
    );
    const berth = c.rows.find((r) => r.names && r.contender.startsWith('berth'));
    if (berth)
      out.push(
        '',
        `Berth installs: ${berth.names.map((n) => `\`${n.replace(/(^|\/)node_modules\//g, '$1').replace(/^\//, '')}\``).join(', ')}`,
      );
    return out.join('\n');
  }
  if (c.unit === 'MB/s') {
    out.push(
      table(
        [
          'Contender',
          'MB/s median',
          'MB/s min',
          'peak RSS median',
          'peak heap / Buffers',
          'reader CPU ms/MB',
          'engine CPU ms/MB',
          'vs raw floor (paired)',
          'vs dockerode (paired)',
        ],
        c.rows.map((r) => [
          r.contender,
          f(r.median, 0),
          f(r.min, 0),
          `${f(r.peakRss.median / MiB, 1)} MiB`,
          r.peakHeapUsed && r.contender !== 'docker exec' ? `${f(r.peakHeapUsed / MiB, 1)} / ${f(r.peakArrayBuffers / MiB, 1)} MiB` : '–',
          f(r.readerCpuMsPerMB, 2),
          f(r.engineCpuMsPerMB, 2),
          ratio(r.vsFloor?.ratio),
          ratio(r.vsDockerode?.ratio),
        ]),
      ),
    );
    return out.join('\n');
  }
  if (c.rows.some((r) => r.executors !== undefined)) {
    out.push(
      table(
        ['Contender', 'median ms', 'p95 ms', '× median of one', 'blocks/s', 'machine-wide CPU ms/block'],
        c.rows.map((r) => [r.contender, f(r.median), f(r.p95), f(r.vsOne, 2), f(r.blocksPerSecond, 1), f(r.cpuMsPerBlock, 1)]),
      ),
    );
    return out.join('\n');
  }
  const hasFloor = c.rows.some((r) => r.vsFloor);
  const hasProcess = c.rows.some((r) => r.processMedian !== undefined);
  out.push(
    table(
      [
        'Contender',
        'median ms',
        'p95 ms',
        ...(hasFloor ? ['vs floor: ratio (paired)', 'vs floor: +ms (paired median)'] : []),
        ...(hasProcess ? ['whole process ms'] : []),
      ],
      c.rows.map((r) => [
        r.contender,
        f(r.median),
        f(r.p95),
        ...(hasFloor ? [ratio(r.vsFloor?.ratio), r.vsFloor ? f(r.vsFloor.diff.median, 2) : ''] : []),
        ...(hasProcess ? [f(r.processMedian)] : []),
      ]),
    ),
  );
  return out.join('\n');
}

/**
 * The run's facts (date, machine, engine, versions, method) and the targets table: the head of
 * bench/RESULTS.md, and what a full run writes into the README between its bench markers.
 */
export function renderSummary(results, headingLevel = 2) {
  const m = results.meta;
  return [
    `Latest \`npm run bench\`${m.mode === 'quick' ? ' **(quick mode: tiny sizes, not representative)**' : ''}: ${m.date}.`,
    '',
    `- Machine: ${m.machine.cpus} × ${m.machine.cpuModel}, ${f(m.machine.memoryBytes / 1024 ** 3, 1)} GiB RAM, ${m.machine.os}`,
    `- Node ${m.machine.node}; engine: Docker ${m.engine.Version} (API ${m.engine.ApiVersion}, ${m.engine.Os}/${m.engine.Arch}, kernel ${m.engine.KernelVersion})`,
    `- Versions: berth ${m.versions.berth}, dockerode ${m.versions.dockerode}, undici ${m.versions.undici}, docker CLI ${m.versions.dockerCli}`,
    `- Run: ${m.mode} mode, ${f(m.durationSeconds, 0)} s; load average at start ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')}${m.loadAverageAtEnd ? `, at end (the run's own load included) ${m.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' ')}` : ''}`,
    // The load at the end includes the run's own (16 executors, 256 MiB streams): only the load
    // found at the start says that something else was busy.
    ...(m.loadAverage[0] > m.machine.cpus
      ? [
          `- **Warning:** other processes kept the machine busy during this run (load average above its ${m.machine.cpus} cores): absolute times are inflated and the spread is wide; paired ratios are the numbers to read.`,
        ]
      : []),
    "- Method: contenders interleaved per iteration (rotating order) after warm-up; ratios are paired (per-iteration ratio to the raw floor, then the median). Every contender's bytes and exit codes are verified before it is timed.",
    '',
    `${'#'.repeat(headingLevel)} Targets`,
    '',
    table(
      ['Target', 'Measured', 'Target', 'Status'],
      results.targets.map((t) => [t.label, formatValue(t), formatLimit(t), `${mark(t.met)}${t.note ? ` (${t.note})` : ''}`]),
    ),
  ].join('\n');
}

/** The whole Markdown report of a run (bench/RESULTS.md). */
export function render(results) {
  const out = ['# Berth benchmarks', '', renderSummary(results)];
  if (results.history?.length > 1) {
    const runs = results.history;
    out.push(
      '',
      '### Targets across the last full runs',
      '',
      'The same targets in every complete full run kept in `bench/results/` (oldest first; 1-minute load average at the start in brackets). A target that flips between runs is within the noise of the machine.',
      '',
      table(
        ['Target', ...runs.map((r) => `${r.date.slice(5, 16).replace('T', ' ')} (${f(r.load, 1)})`)],
        results.targets.map((t) => [
          t.label,
          ...runs.map((r) => {
            const h = r.targets[t.id];
            if (!h) return '–';
            return `${formatValue(h)} ${h.met === true ? '✅' : h.met === false ? '❌' : '➖'}`;
          }),
        ]),
      ),
    );
  }
  for (const section of Object.values(results.benchmarks)) {
    out.push('', `## ${section.title}`, '');
    if (section.error) {
      out.push(`**Failed:** ${section.error}`);
      continue;
    }
    out.push(section.cases.map(renderCase).join('\n\n'));
    if (section.capacity) {
      const c = section.capacity;
      out.push(
        '',
        `The most blocks per second the engine completed in any phase (raw floor included): ${f(c.blocksPerSecond, 1)} on ${c.cores} cores. By Little's law, ${c.executors} blocks always in flight cannot take less than ${c.executors} / ${f(c.blocksPerSecond, 1)} s = ${f(c.lowerBoundMs, 0)} ms each: ${f(c.lowerBoundRatio, 2)}× the single-executor median, whatever the client (the raw floor measured ${f(c.floorRatio, 2)}×).`,
      );
    }
  }
  if (results.findings) out.push('', results.findings.trim());
  return `${out.join('\n')}\n`;
}
