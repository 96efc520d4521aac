/**
 * Imports the package (`index` and `engine/index`) in a fresh Bun or Deno process with the
 * Node-only globals (`process`, `Buffer`, `global`, `setImmediate`, `clearImmediate`) hidden, so
 * that any use of them while Berth's own modules load fails. Third-party packages and `node:`
 * built-ins are imported first, with the globals in place: some need them (tar-stream uses
 * `Buffer` as it loads), and the runtimes' own built-ins do too. Prints one JSON line.
 *
 * Spawned by `suite.ts`; `BERTH_TARGET` is `dist` (default) or `src`.
 *
 * @module
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_ONLY = ['process', 'Buffer', 'global', 'setImmediate', 'clearImmediate'] as const;

const target = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.BERTH_TARGET ?? 'dist';
const ext = target === 'src' ? '.ts' : '.js';
const root = fileURLToPath(new URL(`../../${target}/`, import.meta.url));

/** Bare specifiers imported statically anywhere in the target, undici excepted (it must never load). */
function externalSpecifiers(dir: string): Set<string> {
  const found = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      for (const s of externalSpecifiers(path)) found.add(s);
    } else if (entry.name.endsWith(ext) && !entry.name.endsWith('.d.ts')) {
      for (const match of readFileSync(path, 'utf8').matchAll(/^(?:import|export)(?! type)[^;]*? from '([^'.][^']*)';/gms)) {
        const specifier = match[1] as string;
        if (specifier !== 'undici') found.add(specifier);
      }
    }
  }
  return found;
}

const result: { ok: boolean; error?: string; preloaded: string[] } = { ok: false, preloaded: [] };
const saved = new Map<string, PropertyDescriptor>();
try {
  for (const specifier of externalSpecifiers(root)) {
    await import(specifier);
    result.preloaded.push(specifier);
  }
  for (const name of NODE_ONLY) {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, name);
    if (!descriptor) continue;
    saved.set(name, descriptor);
    Object.defineProperty(globalThis, name, { value: undefined, configurable: true, writable: true });
  }
  const main = await import(new URL(`../../${target}/index${ext}`, import.meta.url).href);
  const engine = await import(new URL(`../../${target}/engine/index${ext}`, import.meta.url).href);
  if (typeof main.DockerCommandLineCodeExecutor !== 'function') throw new Error('index exports no DockerCommandLineCodeExecutor');
  if (typeof engine.DockerClient !== 'function') throw new Error('engine/index exports no DockerClient');
  // Constructing a client does no I/O and must not need them either.
  new engine.DockerClient({ socketPath: '/var/run/docker.sock' });
  result.ok = true;
} catch (error) {
  result.error = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
} finally {
  for (const [name, descriptor] of saved) Object.defineProperty(globalThis, name, descriptor);
}
console.log(JSON.stringify(result));
