import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Packs the built package (`npm pack`, as it would be published) and installs the tarball into a
 * fresh folder, as a user's project would: what `npx berth` runs there is the published command.
 * Needs `npm run build` first. Returns the project folder (remove it when done).
 */
export function installPackedBerth(): string {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (the packed package is what these tests run)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'berth-packed-'));
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
  ) as { filename: string }[];
  const tarball = join(dir, (packed[0] as { filename: string }).filename);
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "private": true, "type": "module" }\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--silent', tarball], { cwd: app, stdio: 'pipe' });
  return app;
}
