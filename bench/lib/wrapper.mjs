/** The executor's exec command, to measure its in-container cost on its own. */
import { randomBytes } from 'node:crypto';

/**
 * The exec the executor sends for one python block (src/executor/run-block.ts, runBlock): the
 * interpreter it resolved once per container (`python` in python:3-slim, which has both `python`
 * and `python3`), exec'd directly, with the block's marker `BERTH_BLOCK=<nonce>` in its
 * environment. Copied here because run-block.ts does not export it: keep the two in step.
 */
export function blockExec(file, env = ['PYTHONUNBUFFERED=1']) {
  return { cmd: ['python', file], env: [...env, `BERTH_BLOCK=${randomBytes(12).toString('hex')}`] };
}

/**
 * The executor's previous exec command (before the interpreter was resolved once per container):
 * `sh -c OLD_WRAPPER berth python FILE`. Kept for bench/diagnose-block.mjs, which measures what
 * dropping the shell saved.
 */
export const OLD_WRAPPER = [
  'interp=$1; file=$2',
  'read -r st < /proc/$$/stat; st=${st##*) }; set -- $st; echo "${20}" > /tmp/.berth-block-start 2>/dev/null',
  'case $interp in',
  '  python) command -v python >/dev/null 2>&1 || interp=python3 ;;',
  '  pwsh) if ! command -v pwsh >/dev/null 2>&1; then if command -v powershell >/dev/null 2>&1; then interp=powershell; else echo "Powershell or pwsh is not installed. Please install one of them." >&2; exit 1; fi; fi ;;',
  'esac',
  'exec "$interp" "$file"',
].join('\n');
