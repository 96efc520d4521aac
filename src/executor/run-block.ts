import type { DockerClient } from '../engine/index.js';
import { DockerError, isDockerApiError, isDockerError } from '../engine/index.js';

/**
 * The exec wrapper. It records its own start time (field 22 of /proc/self/stat, in clock ticks)
 * so the killer can find every process the block started, children, grandchildren and daemons
 * that re-parented themselves alike, with nothing but the shell's builtins (the default image
 * has no procps). Then it picks the interpreter inside the image and execs it.
 */
const WRAPPER = [
  'interp=$1; file=$2',
  'read -r st < /proc/$$/stat; st=${st##*) }; set -- $st; echo "${20}" > /tmp/.berth-block-start 2>/dev/null',
  'case $interp in',
  '  python) command -v python >/dev/null 2>&1 || interp=python3 ;;',
  '  pwsh) if ! command -v pwsh >/dev/null 2>&1; then if command -v powershell >/dev/null 2>&1; then interp=powershell; else echo "Powershell or pwsh is not installed. Please install one of them." >&2; exit 1; fi; fi ;;',
  'esac',
  'exec "$interp" "$file"',
].join('\n');

/**
 * The killer: signals every process that started at or after the block's start (except PID 1
 * and itself). For SIGKILL it first stops them all, so that nothing forks away mid-sweep.
 */
const KILLER = [
  'sig=$1; me=$$',
  'read -r t0 < /tmp/.berth-block-start 2>/dev/null || exit 0',
  'sweep() { list=""; for d in /proc/[0-9]*; do p=${d#/proc/}; { [ "$p" = 1 ] || [ "$p" = "$me" ]; } && continue; read -r st < "$d/stat" 2>/dev/null || continue; st=${st##*) }; set -- $st; [ "$2" = "$me" ] && continue; [ "${20}" -ge "$t0" ] 2>/dev/null && list="$list $p"; done; }',
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
}

/** Milliseconds between SIGTERM and SIGKILL on timeout. */
const TERM_GRACE_MS = 500;
/** Milliseconds the killer exec may take; a loaded engine can be slow to start one. */
const KILL_TIMEOUT_MS = 10_000;
/** Milliseconds to wait for the output to end after the kill before giving up on the stream. */
const BACKSTOP_MS = 2000;

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
  const startedAt = Date.now();
  const { Id: execId } = await docker.exec.create(containerId, {
    Cmd: ['sh', '-c', WRAPPER, 'berth', interpreter, file],
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Env: ctx.env,
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
  const kills: Promise<void>[] = [];
  const kill = (sig: 'TERM' | 'KILL'): Promise<void> => {
    const done = sweep(sig);
    kills.push(done);
    return done;
  };
  const sweep = (sig: 'TERM' | 'KILL') =>
    docker.exec
      .run(containerId, ['sh', '-c', KILLER, 'berth-kill', sig], {
        ...(ctx.user !== undefined ? { user: ctx.user } : {}),
        signal: AbortSignal.timeout(KILL_TIMEOUT_MS),
      })
      .then(
        (result) => {
          // 126: the engine could not start the killer inside the container (no process slot).
          if (result.exitCode !== 0) killFailed = true;
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

  const emit = (name: 'stdout' | 'stderr', text: string) => {
    if (!text) return;
    parts.push(text);
    texts[name].push(text);
    ctx.onOutput?.({ stream: name, text });
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

  let exitCode = 1;
  if (failure === undefined && !streamAbort.signal.aborted) {
    try {
      // The engine may report Running for a moment after the output ends: poll briefly.
      let info = await docker.exec.inspect(execId, { signal: AbortSignal.timeout(BACKSTOP_MS * 2) });
      for (let delay = 2; info.Running && delay < 200; delay *= 2) {
        await new Promise((done) => setTimeout(done, delay));
        info = await docker.exec.inspect(execId, { signal: AbortSignal.timeout(BACKSTOP_MS * 2) });
      }
      exitCode = info.ExitCode ?? (timedOut || cancelled ? 137 : 1);
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
        parts.push(
          `${parts.length && !parts[parts.length - 1]?.endsWith('\n') ? '\n' : ''}The process was killed: out of memory (OOM, the container's memory limit).\n`,
        );
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

/** True when the engine reported an OOM kill in the container since `sinceMs` (epoch milliseconds). */
async function oomKilledSince(docker: DockerClient, containerId: string, sinceMs: number): Promise<boolean> {
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
async function stoppedWithin(docker: DockerClient, containerId: string, ms: number): Promise<boolean> {
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
