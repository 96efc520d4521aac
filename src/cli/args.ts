import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import type { PullPolicy } from '../executor/types.js';

/** The image `run` and `doctor` use when `--image` is not given (the executor's default). */
export const DEFAULT_IMAGE = 'python:3-slim';
/** Seconds a block may run when `--timeout` is not given (the executor's default). */
export const DEFAULT_TIMEOUT = 60;

/** `berth run`: run a code file, or the fenced blocks of a markdown message. */
export interface RunCommand {
  command: 'run';
  /** A file path, or `-` for standard input. */
  source: string;
  /** The source is a markdown message whose fenced code blocks are run. */
  markdown: boolean;
  /** The language of a plain code source (lower case); undefined for markdown. */
  language: string | undefined;
  image: string;
  /** Seconds each block may run. */
  timeout: number;
  workDir: string | undefined;
  sandbox: boolean;
  pull: PullPolicy;
  quiet: boolean;
  /** Most bytes of output kept per block and stream (the executor's `maxOutputBytes`); undefined for its default. */
  maxOutput: number | undefined;
}

/** `berth doctor`: report how the engine is found and whether it answers. */
export interface DoctorCommand {
  command: 'doctor';
  image: string;
  json: boolean;
}

/** `berth prune`: remove containers Berth left behind. */
export interface PruneCommand {
  command: 'prune';
  all: boolean;
  dryRun: boolean;
}

/** `berth mcp`: an MCP server on stdio whose tools run code in one sandbox. */
export interface McpCommand {
  command: 'mcp';
  image: string;
  /** Seconds each block may run (and the most a `run_code` call may ask for). */
  timeout: number;
  workDir: string | undefined;
  /** Keep interpreter state between blocks (the executor's `persistent`). */
  persistent: boolean;
  /** Most bytes of output kept per block and stream; undefined for the executor's default. */
  maxOutput: number | undefined;
  /** The sandbox preset (default on; `--no-sandbox` turns it off). */
  sandbox: boolean;
  /** Network mode; undefined for the sandbox's `none` (or the engine's default without the sandbox). */
  network: string | undefined;
  /** Extra labels on the sandbox container. */
  labels: Record<string, string>;
  pull: PullPolicy;
}

/** `berth --help`, `berth help [COMMAND]` or `berth COMMAND --help`. */
export interface HelpCommand {
  command: 'help';
  /** The command whose help was asked for, if any. */
  topic: 'run' | 'doctor' | 'prune' | 'mcp' | undefined;
}

/** `berth --version`. */
export interface VersionCommand {
  command: 'version';
}

/** A parsed command line. */
export type CliCommand = RunCommand | DoctorCommand | PruneCommand | McpCommand | HelpCommand | VersionCommand;

/** A command line that makes no sense: the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command whose usage applies, if known. */
  readonly topic: HelpCommand['topic'];
  constructor(message: string, topic?: HelpCommand['topic']) {
    super(message);
    this.topic = topic;
  }
}

/** Languages `--lang` accepts (those the executor runs), lower case. */
export const LANGUAGES: readonly string[] = ['python', 'py', 'python3', 'sh', 'shell', 'bash', 'pwsh', 'powershell', 'ps1'];

const EXTENSIONS: Readonly<Record<string, string>> = {
  '.py': 'python',
  '.sh': 'sh',
  '.bash': 'bash',
  '.ps1': 'pwsh',
};
const MARKDOWN_EXTENSIONS = new Set(['.md', '.markdown']);

/** The language a file's extension implies (`.py` → `python`, `.sh` → `sh`, `.bash` → `bash`, `.ps1` → `pwsh`), or undefined. */
export function languageFromPath(path: string): string | undefined {
  return EXTENSIONS[extname(path).toLowerCase()];
}

const COMMANDS = ['run', 'doctor', 'prune', 'mcp', 'help'] as const;

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

const COMMON = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } } satisfies OptionSpec;
const RUN_OPTIONS = {
  ...COMMON,
  lang: { type: 'string' },
  markdown: { type: 'boolean' },
  image: { type: 'string' },
  timeout: { type: 'string' },
  'work-dir': { type: 'string' },
  sandbox: { type: 'boolean' },
  pull: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  'max-output': { type: 'string' },
} satisfies OptionSpec;
const DOCTOR_OPTIONS = { ...COMMON, image: { type: 'string' }, json: { type: 'boolean' } } satisfies OptionSpec;
const PRUNE_OPTIONS = { ...COMMON, all: { type: 'boolean' }, 'dry-run': { type: 'boolean' } } satisfies OptionSpec;
const MCP_OPTIONS = {
  ...COMMON,
  image: { type: 'string' },
  timeout: { type: 'string' },
  'work-dir': { type: 'string' },
  persistent: { type: 'boolean' },
  'max-output': { type: 'string' },
  sandbox: { type: 'boolean' },
  'no-sandbox': { type: 'boolean' },
  network: { type: 'string' },
  label: { type: 'string', multiple: true },
  pull: { type: 'string' },
} satisfies OptionSpec;

function parse<T extends OptionSpec>(args: readonly string[], options: T, topic: HelpCommand['topic']) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    // parseArgs explains unknown options and missing values well; drop its advice about `--`.
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(message, topic);
  }
}

function nonEmpty(value: string | undefined, option: string, topic: HelpCommand['topic']): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`${option} needs a value`, topic);
  return value;
}

/**
 * Parses the arguments after `berth` (`process.argv.slice(2)`).
 * @throws UsageError for an unknown command or option, a missing or bad value, or a missing or extra argument.
 */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('no command given');
  if (first === '-h' || first === '--help') return { command: 'help', topic: undefined };
  if (first === '--version' || first === '-v') return { command: 'version' };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(first.startsWith('-') ? `unknown option ${first}` : `unknown command ${JSON.stringify(first)}`);
  }
  const command = first as (typeof COMMANDS)[number];

  if (command === 'help') {
    const [topic, ...extra] = rest;
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    if (topic === undefined) return { command: 'help', topic: undefined };
    if (topic === 'run' || topic === 'doctor' || topic === 'prune' || topic === 'mcp') return { command: 'help', topic };
    throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
  }

  if (command === 'doctor') {
    const { values, positionals } = parse(rest, DOCTOR_OPTIONS, 'doctor');
    if (values.help) return { command: 'help', topic: 'doctor' };
    if (values.version) return { command: 'version' };
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'doctor');
    return { command: 'doctor', image: nonEmpty(values.image, '--image', 'doctor') ?? DEFAULT_IMAGE, json: values.json ?? false };
  }

  if (command === 'prune') {
    const { values, positionals } = parse(rest, PRUNE_OPTIONS, 'prune');
    if (values.help) return { command: 'help', topic: 'prune' };
    if (values.version) return { command: 'version' };
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'prune');
    return { command: 'prune', all: values.all ?? false, dryRun: values['dry-run'] ?? false };
  }

  if (command === 'mcp') return parseMcpArgs(rest);

  const { values, positionals } = parse(rest, RUN_OPTIONS, 'run');
  if (values.help) return { command: 'help', topic: 'run' };
  if (values.version) return { command: 'version' };
  const [source, ...extra] = positionals;
  if (source === undefined) throw new UsageError('run needs a FILE (or - to read standard input)', 'run');
  if (extra.length > 0) throw new UsageError(`run takes one FILE; unexpected argument ${JSON.stringify(extra[0])}`, 'run');
  if (source === '') throw new UsageError('FILE must not be empty', 'run');

  const lang = nonEmpty(values.lang, '--lang', 'run')?.trim().toLowerCase();
  const markdown = values.markdown ?? (source !== '-' && MARKDOWN_EXTENSIONS.has(extname(source).toLowerCase()) && lang === undefined);
  if (markdown && lang !== undefined) {
    throw new UsageError('--lang does not go with --markdown: each block names its own language', 'run');
  }
  if (lang !== undefined && !LANGUAGES.includes(lang)) {
    throw new UsageError(`unsupported language ${JSON.stringify(lang)}; use one of ${LANGUAGES.join(', ')}`, 'run');
  }
  let language: string | undefined;
  if (!markdown) {
    language = lang ?? (source === '-' ? 'python' : languageFromPath(source));
    if (language === undefined) {
      throw new UsageError(`cannot tell the language of ${source} from its extension; give --lang (python, sh, bash or pwsh)`, 'run');
    }
  }

  let timeout = DEFAULT_TIMEOUT;
  if (values.timeout !== undefined) {
    const text = values.timeout.trim();
    timeout = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(timeout) || timeout < 1) {
      throw new UsageError(`--timeout must be a whole number of seconds, at least 1; got ${JSON.stringify(values.timeout)}`, 'run');
    }
  }
  let maxOutput: number | undefined;
  if (values['max-output'] !== undefined) {
    const text = values['max-output'].trim();
    maxOutput = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(maxOutput)) {
      throw new UsageError(`--max-output must be a whole number of bytes; got ${JSON.stringify(values['max-output'])}`, 'run');
    }
  }
  const pull = values.pull ?? 'missing';
  if (pull !== 'missing' && pull !== 'always' && pull !== 'never') {
    throw new UsageError(`--pull must be missing, always or never; got ${JSON.stringify(pull)}`, 'run');
  }

  return {
    command: 'run',
    source,
    markdown,
    language,
    image: nonEmpty(values.image, '--image', 'run') ?? DEFAULT_IMAGE,
    timeout,
    workDir: nonEmpty(values['work-dir'], '--work-dir', 'run'),
    sandbox: values.sandbox ?? false,
    pull,
    quiet: values.quiet ?? false,
    maxOutput,
  };
}

/** `berth mcp [options]`. */
function parseMcpArgs(rest: readonly string[]): McpCommand | HelpCommand | VersionCommand {
  const { values, positionals } = parse(rest, MCP_OPTIONS, 'mcp');
  if (values.help) return { command: 'help', topic: 'mcp' };
  if (values.version) return { command: 'version' };
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'mcp');
  if (values.sandbox && values['no-sandbox']) throw new UsageError('--sandbox and --no-sandbox contradict each other', 'mcp');
  const whole = (option: string, text: string | undefined, least: number): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text.trim());
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < least) {
      throw new UsageError(`${option} must be a whole number, at least ${least}; got ${JSON.stringify(text)}`, 'mcp');
    }
    return value;
  };
  const labels: Record<string, string> = {};
  for (const label of values.label ?? []) {
    const at = label.indexOf('=');
    const key = at < 0 ? label : label.slice(0, at);
    if (key.trim() === '') throw new UsageError(`--label must be KEY=VALUE (or KEY); got ${JSON.stringify(label)}`, 'mcp');
    labels[key] = at < 0 ? '' : label.slice(at + 1);
  }
  const pull = values.pull ?? 'missing';
  if (pull !== 'missing' && pull !== 'always' && pull !== 'never') {
    throw new UsageError(`--pull must be missing, always or never; got ${JSON.stringify(pull)}`, 'mcp');
  }
  return {
    command: 'mcp',
    image: nonEmpty(values.image, '--image', 'mcp') ?? DEFAULT_IMAGE,
    timeout: whole('--timeout', values.timeout, 1) ?? DEFAULT_TIMEOUT,
    workDir: nonEmpty(values['work-dir'], '--work-dir', 'mcp'),
    persistent: values.persistent ?? false,
    maxOutput: whole('--max-output', values['max-output'], 0),
    sandbox: !values['no-sandbox'],
    network: nonEmpty(values.network, '--network', 'mcp'),
    labels,
    pull,
  };
}

const GENERAL_USAGE = `Usage: berth <command> [options]

Run code in a Docker container, as an agent's code executor does.

Commands:
  run FILE|-              Run a code file; the language comes from the extension
                          (.py, .sh, .bash, .ps1) or --lang; - reads the code from stdin
  run --markdown FILE|-   Run the fenced code blocks of a markdown message, in order
  doctor                  Check the Docker engine, the image and the runtime
  prune                   Remove containers Berth left behind
  mcp                     Serve MCP on stdio: tools that run code in a sandbox
  help [COMMAND]          Show help

Options:
  -h, --help              Show help
  --version               Print Berth's version

Examples:
  berth run hello.py
  berth run --markdown reply.md
  echo 'echo hi; uname -a' | berth run --lang sh -
  berth doctor

Run \`berth help COMMAND\` for a command's options.`;

const RUN_USAGE = `Usage: berth run [options] FILE|-
       berth run --markdown [options] FILE|-

Runs a code file, or the fenced code blocks of a markdown message (stopping at the first that
fails), in a fresh container, printing the output as it comes. Exits with the code's exit status:
124 when it timed out, 130 when interrupted (Ctrl-C stops the code and the container), 125 when
the engine or Berth itself failed (as docker run does).

Options:
  --lang LANG          python, sh, bash or pwsh (default: from FILE's extension; python for -)
  --markdown           FILE is a markdown message (implied by .md and .markdown)
  --image IMAGE        Image to run the code in (default ${DEFAULT_IMAGE})
  --timeout SECONDS    Seconds each block may run (default ${DEFAULT_TIMEOUT})
  --work-dir DIR       Host folder mounted at /workspace (default: a temporary folder, removed after)
  --sandbox            No network, no capabilities, read-only root filesystem, memory, CPU and
                       process limits, a non-root user
  --pull POLICY        missing (default): pull the image when absent; always; never
  --max-output BYTES   Most bytes of output kept per block and stream (default 1048576); the
                       rest is dropped and the run says so
  -q, --quiet          No progress messages
  -h, --help           Show this help`;

const MCP_USAGE = `Usage: berth mcp [options]

Serves the Model Context Protocol on standard input and output (one JSON-RPC message per line;
logs go to standard error), with the tools run_code, write_file, read_file, list_files and
restart_sandbox. One sandbox container is started on the first tool call and removed when
standard input closes or on SIGINT/SIGTERM. MCP client config:
  { "command": "npx", "args": ["berth", "mcp"] }

Options:
  --image IMAGE        Image to run the code in (default ${DEFAULT_IMAGE})
  --timeout SECONDS    Seconds each block may run (default ${DEFAULT_TIMEOUT}); run_code may ask for less
  --work-dir DIR       Host folder mounted at /workspace (default: a temporary folder, removed after)
  --persistent         Keep interpreter state between blocks (needs the in-container runner)
  --max-output BYTES   Most bytes of output kept per block and stream (default 1 MiB); also
                       the largest file read_file returns
  --no-sandbox         Run without the sandbox preset (default: no network, no capabilities,
                       read-only root filesystem, memory, CPU and process limits, a non-root user)
  --network MODE       Network mode for the code (e.g. bridge); the sandbox's is none
  --label KEY=VALUE    Extra label on the sandbox container (repeatable)
  --pull POLICY        missing (default): pull the image when absent; always; never
  -h, --help           Show this help`;

const DOCTOR_USAGE = `Usage: berth doctor [--image IMAGE] [--json]

Reports where the Docker engine was found and how, its version and API version, whether the
image is present, containers Berth left behind, and the runtime. Exits 1 when no engine answers.

Options:
  --image IMAGE        Image to look for (default ${DEFAULT_IMAGE})
  --json               Print a JSON object
  -h, --help           Show this help`;

const PRUNE_USAGE = `Usage: berth prune [--all] [--dry-run]

Removes containers Berth left behind (label berth.executor): by default only those whose
creating process, on this host, is gone.

Options:
  --all                Remove every Berth container, also those of running processes and other hosts
  --dry-run            List what would be removed; remove nothing
  -h, --help           Show this help`;

/** The help text of a command, or the general one. */
export function usage(topic: HelpCommand['topic']): string {
  switch (topic) {
    case 'run':
      return RUN_USAGE;
    case 'doctor':
      return DOCTOR_USAGE;
    case 'prune':
      return PRUNE_USAGE;
    case 'mcp':
      return MCP_USAGE;
    default:
      return GENERAL_USAGE;
  }
}
