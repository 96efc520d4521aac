/** The executor's exec command, to measure its in-container cost on its own. */

// Copied from src/executor/run-block.ts (WRAPPER), which does not export it.
export const WRAPPER = [
  'interp=$1; file=$2',
  'read -r st < /proc/$$/stat; st=${st##*) }; set -- $st; echo "${20}" > /tmp/.berth-block-start 2>/dev/null',
  'case $interp in',
  '  python) command -v python >/dev/null 2>&1 || interp=python3 ;;',
  '  pwsh) if ! command -v pwsh >/dev/null 2>&1; then if command -v powershell >/dev/null 2>&1; then interp=powershell; else echo "Powershell or pwsh is not installed. Please install one of them." >&2; exit 1; fi; fi ;;',
  'esac',
  'exec "$interp" "$file"',
].join('\n');
