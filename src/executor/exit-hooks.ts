/**
 * One process-wide hook that stops live executors when the process is interrupted (SIGINT,
 * SIGTERM) or runs out of work (`beforeExit`). Registered on the first executor that asks and
 * removed with the last, so an idle process keeps Node's default signal behaviour.
 */
type Stopper = () => Promise<void>;

const live = new Set<Stopper>();
let installed = false;

const proc = (globalThis as { process?: NodeJS.Process }).process;

async function stopAll(): Promise<void> {
  const stoppers = [...live];
  live.clear();
  await Promise.allSettled(stoppers.map((stop) => stop()));
}

function onSignal(signal: NodeJS.Signals): void {
  uninstall();
  void stopAll().finally(() => {
    // Re-raise with the default behaviour, unless someone else handles the signal.
    if (proc && proc.listenerCount(signal) === 0) proc.kill(proc.pid, signal);
  });
}

function onBeforeExit(): void {
  if (live.size > 0) void stopAll();
}

function install(): void {
  if (installed || !proc?.on) return;
  installed = true;
  proc.once('SIGINT', onSignal);
  proc.once('SIGTERM', onSignal);
  proc.on('beforeExit', onBeforeExit);
}

function uninstall(): void {
  if (!installed || !proc) return;
  installed = false;
  proc.off('SIGINT', onSignal);
  proc.off('SIGTERM', onSignal);
  proc.off('beforeExit', onBeforeExit);
}

/** Registers a stopper to run on interruption; returns a function that unregisters it. */
export function registerExitHook(stop: Stopper): () => void {
  live.add(stop);
  install();
  return () => {
    live.delete(stop);
    if (live.size === 0) uninstall();
  };
}
