/** 6. Footprint: what `npm install` adds (from a packed tarball for Berth), and cold import times. */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, log, MB } from '../lib/common.mjs';
import { runCommand } from '../lib/contenders.mjs';
import { interleave, summarize } from '../lib/stats.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every package under a node_modules tree (nested ones too) and the bytes of all its files. */
async function measureTree(dir) {
  let packages = 0;
  let bytes = 0;
  const names = [];
  async function walk(d, inNodeModules) {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (inNodeModules && !e.name.startsWith('.') && !e.name.startsWith('@')) {
          try {
            await stat(join(p, 'package.json'));
            packages++;
            names.push(p.slice(dir.length + 1));
          } catch {}
        }
        await walk(p, e.name === 'node_modules' || (inNodeModules && e.name.startsWith('@')));
      } else if (e.isFile()) {
        bytes += (await stat(p)).size;
      }
    }
  }
  await walk(join(dir, 'node_modules'), true);
  return { packages, bytes, names: names.sort() };
}

async function install(spec, label, extra = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'berth-footprint-'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'footprint-probe', private: true, type: 'module', ...extra }));
  const t0 = performance.now();
  const r = await runCommand('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', spec], { cwd: dir });
  const seconds = (performance.now() - t0) / 1000;
  if (r.exitCode !== 0)
    return { label, spec, dir, error: `npm install failed (${r.exitCode}): ${r.stderr.toString().trim().slice(0, 500)}` };
  return { label, spec, dir, seconds, ...(await measureTree(dir)) };
}

function importOnce(specifier, cwd) {
  const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`import(${specifier}) failed: ${err}`));
      resolve({ importMs: Number(out), processMs: performance.now() - t0 });
    });
  });
}

export async function run(ctx) {
  const { config } = ctx;
  const installs = [];
  const dirs = [];
  let tarball;
  if (config.footprint.install) {
    const packDir = await mkdtemp(join(tmpdir(), 'berth-pack-'));
    dirs.push(packDir);
    log('  footprint: npm pack');
    const packed = await runCommand('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT });
    check(packed.exitCode === 0, `npm pack failed: ${packed.stderr}`);
    const info = JSON.parse(packed.stdout.toString())[0];
    tarball = { file: info.filename, size: info.size, unpackedSize: info.unpackedSize, entryCount: info.entryCount };
    for (const [label, spec, extra] of [
      ['berth (packed tarball)', join(packDir, info.filename)],
      ['dockerode@5', 'dockerode@5'],
      ['@docker/node-sdk', '@docker/node-sdk'],
    ]) {
      log(`  footprint: npm install ${label}`);
      const r = await install(spec, label, extra);
      dirs.push(r.dir);
      installs.push(r);
    }
  }
  const where = (name) => installs.find((i) => i.label.startsWith(name) && !i.error)?.dir;
  // Cold imports: a fresh node process each time; from the fresh installs when there are any.
  const imports = {
    berth: { specifier: 'berth', cwd: where('berth') ?? ROOT },
    'berth/engine': { specifier: 'berth/engine', cwd: where('berth') ?? ROOT },
    dockerode: { specifier: 'dockerode', cwd: where('dockerode') ?? ROOT },
  };
  if (where('@docker/node-sdk')) imports['@docker/node-sdk'] = { specifier: '@docker/node-sdk', cwd: where('@docker/node-sdk') };
  const processMs = {};
  const timedImports = Object.fromEntries(
    Object.entries(imports).map(([name, { specifier, cwd }]) => [
      name,
      async () => {
        const r = await importOnce(specifier, cwd);
        (processMs[name] ??= []).push(r.processMs);
        return { ms: r.importMs };
      },
    ]),
  );
  log(`  footprint: cold imports (${config.footprint.importRuns} runs each)`);
  const samples = await interleave(timedImports, { warmup: 1, iterations: config.footprint.importRuns });
  for (const d of dirs) await rm(d, { recursive: true, force: true }).catch(() => {});

  const berth = installs.find((i) => i.label.startsWith('berth'));
  const importBerth = summarize(samples['berth/engine']).median;
  const importDockerode = summarize(samples.dockerode).median;
  const skipped = !config.footprint.install;
  return {
    title: '6. Footprint',
    tarball: tarball ?? 'skipped in quick mode',
    installs: skipped ? 'skipped in quick mode' : installs.map(({ dir: _dir, ...rest }) => rest),
    cases: [
      ...(skipped
        ? []
        : [
            {
              name: 'npm install (packages in node_modules incl. the package itself; bytes = sum of file sizes)',
              unit: 'packages / MB',
              footprint: true,
              rows: installs.map((i) => ({
                contender: i.label,
                ...(i.error
                  ? { error: i.error }
                  : { packages: i.packages, megabytes: i.bytes / MB, installSeconds: i.seconds, names: i.names }),
              })),
            },
          ]),
      {
        name: `cold import (time of \`await import()\` in a fresh node process${skipped ? ', from the working tree' : ', from the fresh installs'})`,
        unit: 'ms',
        rows: Object.entries(samples).map(([name, ms]) => ({
          contender: name,
          ...summarize(ms),
          processMedian: summarize(processMs[name]).median,
        })),
        samples,
      },
    ],
    targets: [
      {
        id: 'footprint.packages',
        label: 'npm install berth ≤ 10 packages',
        value: berth?.packages ?? null,
        limit: 10,
        unit: 'packages',
        met: berth && !berth.error ? berth.packages <= 10 : null,
        ...(skipped ? { note: 'skipped in quick mode' } : {}),
      },
      {
        id: 'footprint.bytes',
        label: 'npm install berth ≤ 4 MB',
        value: berth?.bytes !== undefined ? berth.bytes / MB : null,
        limit: 4,
        unit: 'MB',
        met: berth && !berth.error ? berth.bytes <= 4 * MB : null,
        ...(skipped ? { note: 'skipped in quick mode' } : {}),
      },
      {
        id: 'footprint.import',
        label: 'import of berth/engine faster than dockerode',
        value: importBerth,
        limit: importDockerode,
        unit: 'ms',
        op: '<',
        met: importBerth < importDockerode,
      },
    ],
  };
}
