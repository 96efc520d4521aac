import { randomBytes } from 'node:crypto';
import type { DockerClient } from '../engine/index.js';
import { DockerError, isDockerApiError, isDockerError } from '../engine/index.js';

/**
 * How a block's processes are found again: the exec that runs the interpreter carries
 * `BERTH_BLOCK=<nonce>` in its environment, and every descendant inherits it, daemons that
 * re-parented themselves included. The interpreter is exec'd directly (no shell in between, which
 * would be one more process image on every block's critical path).
 */
const MARKER = 'BERTH_BLOCK';

/**
 * Finds the interpreter inside the image: prints the first of its arguments that `command -v`
 * knows, or nothing. Run once per container and language (see {@link BlockContext.interpreters}).
 */
const RESOLVER = 'for i in "$@"; do command -v "$i" >/dev/null 2>&1 && { echo "$i"; exit 0; }; done; exit 0';

/** The candidates for each interpreter, in order of preference. */
const CANDIDATES: Record<string, readonly string[]> = {
  python: ['python', 'python3'],
  pwsh: ['pwsh', 'powershell'],
};

const PWSH_MISSING = 'Powershell or pwsh is not installed. Please install one of them.\n';

/**
 * The killer, run with `sh -c` (it is off the critical path), with nothing but the shell's
 * builtins on the paths that matter (the default image has no procps):
 *
 * 1. The block's processes are those whose /proc/PID/environ carries `BERTH_BLOCK=<nonce>`: one
 *    `grep -z -x -F` over all of them when grep exists and the pids cgroup has room for it (a
 *    failed fork aborts a `sh -c` script), otherwise the shell reads each environ itself (`read`
 *    drops the NULs, so the entries run together: a substring match is enough for a random nonce).
 * 2. t0 is the earliest start time (field 22 of /proc/PID/stat, clock ticks) among them, or the
 *    t0 an earlier sweep of the same block found ($3), whichever is earlier: while the interpreter
 *    lives, its own start. The killer prints it (`t0=…`) for the next sweep.
 * 3. Every process other than PID 1, the killer, its parent and its children that started at or
 *    after t0, or carries the nonce, is signalled: children that cleared their environment
 *    (`env -i`, `subprocess` with `env={}`) are caught by their start time. For SIGKILL they are
 *    all stopped first, then swept again, so that nothing forks away mid-sweep.
 *
 * The gap: a sweep that finds no process carrying the nonce, and has no t0 from an earlier sweep
 * of the block, signals nothing; one that finds only late ones starts from the earliest of those.
 * So a process that cleared its environment escapes when every nonce-carrying ancestor had exited
 * before the block's first sweep (typically the sandbox's reap after a block that ended normally:
 * `(env -i setsid sleep 1000 &)`). Within one block's TERM, KILL and reap sweeps t0 is carried
 * over, so killing the interpreter first does not open the gap. The previous design (the block's
 * start time recorded in a file) caught that process too, at the price of a shell on every block.
 */
export const KILLER = [
  `sig=$1; mark="${MARKER}=$2"; t0=$3; me=$$`,
  // Room for one more process in the pids cgroup (v2, then v1), or no limit that we can see.
  'room() { for c in /sys/fs/cgroup /sys/fs/cgroup/pids; do read -r max 2>/dev/null < "$c/pids.max" || continue; [ "$max" = max ] && return 0; read -r cur 2>/dev/null < "$c/pids.current" || return 0; [ $((max - cur)) -ge 4 ]; return; done; return 0; }',
  'marked=" "',
  'if command -v grep >/dev/null 2>&1 && room; then',
  '  for f in $(grep -l -s -a -z -x -F "$mark" /proc/[0-9]*/environ); do f=${f#/proc/}; marked="$marked${f%/environ} "; done',
  'else',
  '  for d in /proc/[0-9]*; do',
  '    while IFS= read -r l || [ -n "$l" ]; do case $l in *"$mark"*) marked="$marked${d#/proc/} "; break ;; esac; done 2>/dev/null < "$d/environ"',
  '  done',
  'fi',
  'for p in $marked; do read -r st 2>/dev/null < "/proc/$p/stat" || continue; st=${st##*) }; set -- $st; { [ -z "$t0" ] || [ "${20}" -lt "$t0" ]; } && t0=${20}; done',
  '[ -n "$t0" ] || exit 0',
  'echo "t0=$t0"',
  'sweep() { list=""; for d in /proc/[0-9]*; do p=${d#/proc/}; { [ "$p" = 1 ] || [ "$p" = "$me" ] || [ "$p" = "$PPID" ]; } && continue; read -r st 2>/dev/null < "$d/stat" || continue; st=${st##*) }; set -- $st; [ "$2" = "$me" ] && continue; case $marked in *" $p "*) list="$list $p"; continue ;; esac; [ "${20}" -ge "$t0" ] 2>/dev/null && list="$list $p"; done; }',
  'if [ "$sig" = KILL ]; then sweep; [ -n "$list" ] && kill -STOP $list 2>/dev/null; fi',
  'sweep; [ -n "$list" ] && kill -s "$sig" $list 2>/dev/null',
  'exit 0',
].join('\n');

/** Where and how one block runs. */
export interface BlockContext {
  docker: DockerClient;
  containerId: string;
  /** Environment for the process, `KEY=value`. */
  env: string[];
  user: string | undefined;
  /** Seconds. */
  timeout: number;
  /** Bytes of each stream still allowed in the result. */
  budget: { stdout: number; stderr: number };
  onOutput: ((chunk: { stream: 'stdout' | 'stderr'; text: string }) => void) | undefined;
  /** Kill whatever the block left running when it ends (the sandbox does). */
  reapAfterBlock: boolean;
  /**
   * The interpreters found in this container (`python` → `python` or `python3`), filled on first
   * use of each language. The backend owns it: a new one with each container (re)start.
   */
  interpreters?: Map<string, string>;
}

/** What one block produced. */
export interface BlockOutcome {
  exitCode: number;
  /** stdout and stderr interleaved in arrival order. */
  output: string;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  truncated: boolean;
  /** The engine or the container went away mid-block. */
  failure: unknown;
  /** The block's processes could not be killed from inside (no process slot left): restart the container. */
  needsReset: boolean;
  /** Figures the block showed (the runner backend). */
  images?: { mimeType: 'image/png'; data: Uint8Array }[];
  /** The backend lost the interpreter state of earlier blocks (the runner backend). */
  stateLost?: boolean;
}

/** What a block's output gets when the kernel's OOM killer ended its process. */
export const OOM_NOTE = "The process was killed: out of memory (OOM, the container's memory limit).\n";

/** Milliseconds between SIGTERM and SIGKILL on timeout. */
const TERM_GRACE_MS = 500;
/** Milliseconds the killer exec may take; a loaded engine can be slow to start one. */
const KILL_TIMEOUT_MS = 10_000;
/** Milliseconds to wait for the output to end after the kill before giving up on the stream. */
export const BACKSTOP_MS = 2000;

/** An outcome for a block that never started a process. */
function notStarted(ctx: BlockContext, fields: Partial<BlockOutcome>): BlockOutcome {
  const stderr = fields.stderr ?? '';
  if (stderr) ctx.onOutput?.({ stream: 'stderr', text: stderr });
  return {
    exitCode: 1,
    output: stderr,
    stdout: '',
    stderr,
    timedOut: false,
    cancelled: false,
    truncated: false,
    failure: undefined,
    needsReset: false,
    ...fields,
  };
}

/**
 * The program that runs `interpreter` in this container: `python` if the image has it, else
 * `python3`; `pwsh`, else `powershell`, else undefined; anything else as is. Asked of the
 * container once (an exec of `sh -c`, as the code's user and with its environment) and cached.
 */
async function resolveInterpreter(ctx: BlockContext, interpreter: string, signal: AbortSignal | undefined): Promise<string | undefined> {
  const candidates = CANDIDATES[interpreter];
  if (!candidates) return interpreter;
  const known = ctx.interpreters?.get(interpreter);
  if (known !== undefined) return known;
  const result = await ctx.docker.exec.run(ctx.containerId, ['sh', '-c', RESOLVER, 'berth-which', ...candidates], {
    env: ctx.env,
    workingDir: '/workspace',
    ...(ctx.user !== undefined ? { user: ctx.user } : {}),
    ...(signal ? { signal } : {}),
  });
  // The lookup itself could not run (no process slot left, no sh): run the first candidate
  // uncached, and let its own exec report what the engine says.
  if (result.exitCode !== 0) return candidates[0];
  const found = result.stdout.trim();
  if (candidates.includes(found)) {
    ctx.interpreters?.set(interpreter, found);
    return found;
  }
  // Not cached: a later block may install one. Python falls back to python3, which then fails
  // with the engine's "executable file not found" (exit 126).
  return interpreter === 'python' ? 'python3' : undefined;
}

/**
 * Runs `interpreter file` in the container, streaming output, and enforces the timeout and the
 * cancellation from the host: the process tree is killed inside the container, and if the engine
 * does not close the stream soon after, the call returns anyway (the backstop).
 */
export async function runBlock(
  ctx: BlockContext,
  interpreter: string,
  file: string,
  signal: AbortSignal | undefined,
): Promise<BlockOutcome> {
  const { docker, containerId } = ctx;
  let program: string | undefined;
  try {
    program = await resolveInterpreter(ctx, interpreter, signal);
  } catch (error) {
    if (signal?.aborted) return notStarted(ctx, { cancelled: true });
    throw error;
  }
  if (program === undefined) return notStarted(ctx, { stderr: PWSH_MISSING });
  const startedAt = Date.now();
  const nonce = randomBytes(12).toString('hex');
  const { Id: execId } = await docker.exec.create(containerId, {
    Cmd: [program, file],
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Env: [...ctx.env, `${MARKER}=${nonce}`],
    WorkingDir: '/workspace',
    ...(ctx.user !== undefined ? { User: ctx.user } : {}),
  });
  const streamAbort = new AbortController();
  const stream = await docker.exec.start(execId, { signal: streamAbort.signal });

  const parts: string[] = [];
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const texts = { stdout: [] as string[], stderr: [] as string[] };
  let truncated = false;
  let timedOut = false;
  let cancelled = false;
  let failure: unknown;
  const timers: ReturnType<typeof setTimeout>[] = [];

  // The killer is itself an exec: when the container cannot start one more process (a fork bomb
  // at its pids limit), it fails, and the executor must restart the container instead.
  let killFailed = false;
  // The block's start as the first sweep found it (see KILLER), for the sweeps after it.
  let t0: number | undefined;
  const kills: Promise<void>[] = [];
  // One sweep at a time: a sweep signals every process that started after t0, so a second killer
  // running beside it would kill the first (seen under load, where a TERM sweep outlasts the
  // 500 ms grace: its exit 137 read as a full container, and a restart cost 15 to 37 s).
  let sweeping: Promise<void> = Promise.resolve();
  const kill = (sig: 'TERM' | 'KILL'): Promise<void> => {
    const done = sweeping.then(() => sweep(sig));
    sweeping = done;
    kills.push(done);
    return done;
  };
  const sweep = (sig: 'TERM' | 'KILL') =>
    docker.exec
      .run(containerId, ['sh', '-c', KILLER, 'berth-kill', sig, nonce, t0 === undefined ? '' : String(t0)], {
        ...(ctx.user !== undefined ? { user: ctx.user } : {}),
        signal: AbortSignal.timeout(KILL_TIMEOUT_MS),
      })
      .then(
        (result) => {
          // 126: the engine could not start the killer inside the container (no process slot).
          if (result.exitCode !== 0) killFailed = true;
          const found = /^t0=(\d+)$/m.exec(result.stdout);
          if (found) t0 = Math.min(t0 ?? Number.POSITIVE_INFINITY, Number(found[1]));
        },
        (error: unknown) => {
          // A slow engine (a timeout of our own) is not a full container; a refusal is.
          if (isDockerApiError(error)) killFailed = true;
        },
      );
  const backstop = () => timers.push(setTimeout(() => streamAbort.abort(new Error('backstop')), BACKSTOP_MS));

  const onTimeout = () => {
    if (cancelled) return;
    timedOut = true;
    void kill('TERM');
    timers.push(
      setTimeout(() => {
        void kill('KILL');
        backstop();
      }, TERM_GRACE_MS),
    );
  };
  const onCancel = () => {
    if (timedOut || cancelled) return;
    cancelled = true;
    void kill('KILL');
    backstop();
  };
  timers.push(setTimeout(onTimeout, ctx.timeout * 1000));
  if (signal?.aborted) onCancel();
  signal?.addEventListener('abort', onCancel, { once: true });

  // An onOutput that throws: the block is killed, and the call rejects with its error.
  let callbackFailure: { error: unknown } | undefined;
  const emit = (name: 'stdout' | 'stderr', text: string) => {
    if (!text) return;
    parts.push(text);
    texts[name].push(text);
    if (callbackFailure || !ctx.onOutput) return;
    try {
      ctx.onOutput({ stream: name, text });
    } catch (error) {
      callbackFailure = { error };
      onCancel();
    }
  };
  try {
    for await (const frame of stream) {
      const room = ctx.budget[frame.stream];
      if (room <= 0) {
        truncated = true;
        continue;
      }
      const data = frame.data.length > room ? frame.data.subarray(0, room) : frame.data;
      if (data.length < frame.data.length) truncated = true;
      ctx.budget[frame.stream] -= data.length;
      emit(frame.stream, decoders[frame.stream].decode(data, { stream: true }));
    }
  } catch (error) {
    // The backstop aborting our own stream is expected; anything else is a real failure.
    if (!streamAbort.signal.aborted) failure = error;
  } finally {
    signal?.removeEventListener('abort', onCancel);
    for (const timer of timers) clearTimeout(timer);
    await stream.cancel().catch(() => {});
  }
  if (timedOut || cancelled) {
    // One last sweep once the output has ended (the TERM-to-KILL timer may not have fired, and a
    // child that let go of the output could outlive its parent), and wait for every sweep, so the
    // block's processes are gone when the call returns: within the backstop, never longer.
    void kill('KILL');
    let capTimer: ReturnType<typeof setTimeout> | undefined;
    const cap = new Promise<void>((done) => {
      capTimer = setTimeout(done, BACKSTOP_MS);
    });
    await Promise.race([Promise.allSettled(kills), cap]);
    clearTimeout(capTimer);
  }
  emit('stdout', decoders.stdout.decode());
  emit('stderr', decoders.stderr.decode());
  if (callbackFailure) throw callbackFailure.error;
  // A killer that could not start: a full pids cgroup (a fork bomb), or only a slow engine?
  if (killFailed) killFailed = !(await hasProcessRoom(ctx));

  let exitCode = 1;
  // A block we killed gets 124 or 1 whatever its exit code was, and the sweeps above already
  // waited for its processes: asking the engine (and polling while it still says Running) would
  // only add to a timeout's latency.
  if (failure === undefined && !streamAbort.signal.aborted && !timedOut && !cancelled) {
    try {
      // The engine may report Running for a moment after the output ends: poll briefly.
      let info = await docker.exec.inspect(execId, { signal: AbortSignal.timeout(BACKSTOP_MS * 2) });
      for (let delay = 2; info.Running && delay < 200; delay *= 2) {
        await new Promise((done) => setTimeout(done, delay));
        info = await docker.exec.inspect(execId, { signal: AbortSignal.timeout(BACKSTOP_MS * 2) });
      }
      exitCode = info.ExitCode ?? 1;
      if (info.Running) {
        // Output ended but the process runs on (it closed its outputs): treat as hung and kill it.
        await kill('KILL');
      }
    } catch (error) {
      if (!isDockerError(error)) throw error;
      failure = error;
    }
  }
  // A SIGKILL (137) we did not send: the container died under the block, or the kernel's OOM
  // killer chose the block's process. Find out which, and say so.
  if (failure === undefined && exitCode === 137 && !timedOut && !cancelled) {
    try {
      if (await oomKilledSince(docker, containerId, startedAt)) {
        parts.push(`${parts.length && !parts[parts.length - 1]?.endsWith('\n') ? '\n' : ''}${OOM_NOTE}`);
      } else if (await stoppedWithin(docker, containerId, BACKSTOP_MS)) {
        failure = new DockerError('the container stopped while the block ran');
      }
    } catch (error) {
      if (!isDockerError(error)) throw error;
      failure = error;
    }
  }
  // In the sandbox nothing a block started outlives it (a fork bomb's survivors, stray daemons).
  if (ctx.reapAfterBlock && failure === undefined) await kill('KILL');
  if (timedOut) exitCode = 124;
  else if (cancelled) exitCode = 1;
  return {
    exitCode,
    output: parts.join(''),
    stdout: texts.stdout.join(''),
    stderr: texts.stderr.join(''),
    timedOut,
    cancelled,
    truncated,
    failure,
    needsReset: killFailed,
  };
}

/**
 * Whether the container can start a process now, and its pids cgroup has room (`pids.current`
 * against `pids.max`, v2 then v1): a killer exec that failed under load is not by itself a full
 * container. False when the probe itself cannot start.
 */
async function hasProcessRoom(ctx: BlockContext): Promise<boolean> {
  const script =
    'for c in /sys/fs/cgroup /sys/fs/cgroup/pids; do read -r max 2>/dev/null < "$c/pids.max" || continue; [ "$max" = max ] && exit 0; read -r cur < "$c/pids.current" || exit 0; [ $((max - cur)) -ge 4 ]; exit; done; exit 0';
  try {
    const result = await ctx.docker.exec.run(ctx.containerId, ['sh', '-c', script], {
      ...(ctx.user !== undefined ? { user: ctx.user } : {}),
      signal: AbortSignal.timeout(KILL_TIMEOUT_MS),
    });
    return result.exitCode === 0;
  } catch (error) {
    // Refused by the engine (no slot to start it): full. Our own timeout: a slow engine.
    return !isDockerApiError(error);
  }
}

/** True when the engine reported an OOM kill in the container since `sinceMs` (epoch milliseconds). */
export async function oomKilledSince(docker: DockerClient, containerId: string, sinceMs: number): Promise<boolean> {
  const signal = AbortSignal.timeout(BACKSTOP_MS * 2);
  try {
    const events = await docker.system.events({
      since: (Math.floor(sinceMs / 1000) - 1).toString(),
      until: (Date.now() / 1000).toFixed(3),
      filters: { type: ['container'], container: [containerId], event: ['oom'] },
      signal,
    });
    for await (const event of events) {
      if ((event.timeNano ?? 0) >= sinceMs * 1e6) return true;
    }
    return false;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}

/** True when the container stops (or is gone) within `ms`: the engine may note its death a moment after the exec's. */
export async function stoppedWithin(docker: DockerClient, containerId: string, ms: number): Promise<boolean> {
  const signal = AbortSignal.timeout(ms);
  try {
    await docker.containers.wait(containerId, { condition: 'not-running', signal });
    return true;
  } catch (error) {
    if (isDockerApiError(error) && error.reason === 'notFound') return true;
    if (signal.aborted) return false;
    throw error;
  }
}
