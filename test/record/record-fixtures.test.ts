/**
 * The fixture recorder. Runs every scenario against the real engine through the recording
 * transport and writes fixtures/<scenario>/ (one exchange per file, plus meta.json). It only runs
 * with RECORD=1 and its own config, so ordinary test runs never touch the engine from here:
 *
 *   RECORD=1 npx vitest run -c vitest.record.config.ts
 *
 * Set BERTH_RECORD_SOCKET to record from another socket than /var/run/docker.sock. Re-recording
 * gives the same files (see fixtures/README.md for the normalisation rules); meta.json keeps its
 * `recorded` date when no exchange file changed.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient, isDockerApiError } from '../../src/engine/index.js';
import { createNodeTransport } from '../../src/engine/transport/node.js';
import { createRecordingTransport, type RecordedExchange } from '../../src/engine/transport/recording.js';
import type { Transport } from '../../src/engine/transport/types.js';
import { dropExecPolls, exchangeFileName, FIXED_UNIX, normaliseScenario } from './normalise.js';

const RECORD = process.env.RECORD === '1';
const SOCKET = process.env.BERTH_RECORD_SOCKET ?? '/var/run/docker.sock';
const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
/** The API version every fixture is recorded with (the paths start with it). */
const API_VERSION = '1.41';
const BUSYBOX = 'berth-test/busybox:latest';
/** Every container the recorder makes has both labels; cleanup removes exactly those. */
const TEST_LABEL = 'berth.test';
const FIXTURE_LABEL = 'berth.fixture';
const IMPORTED_IMAGE = 'berth-fixture/imported';

/** The contents of the file the archive scenario puts into a container. */
const ARCHIVE_TEXT = 'hello from berth\n';

interface Scenario {
  name: string;
  description: string;
  run(docker: DockerClient): Promise<void>;
  /**
   * False when this recording shows a legal but unstable variant (the engine copies stdout and
   * stderr on separate goroutines, so two writes in a row may arrive in either order); the
   * scenario is then recorded again, so that re-recording gives the same files.
   */
  accept?(exchanges: readonly RecordedExchange[]): boolean;
}

/** True when the frames of every output stream (exec start, logs) come in the order the process wrote them. */
function framesInOrder(expected: readonly string[]) {
  return (exchanges: readonly RecordedExchange[]): boolean =>
    exchanges.every((exchange) => {
      const body = exchange.response.body;
      if (body === null || !('frames' in body)) return true;
      const streams = body.frames.map((frame) => frame.stream);
      return streams.join() === expected.join();
    });
}

/** Labels of a scenario's containers. */
function labels(scenario: string): Record<string, string> {
  return { [TEST_LABEL]: '1', [FIXTURE_LABEL]: scenario };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A tar archive of one file with fixed metadata, so that its bytes are the same on every run. */
async function fixedTar(name: string, text: string): Promise<Uint8Array> {
  const pack = tar.pack();
  const data = new TextEncoder().encode(text);
  pack.entry({ name, size: data.length, mode: 0o644, mtime: new Date(FIXED_UNIX * 1000), uid: 0, gid: 0, type: 'file' }, Buffer.from(data));
  pack.finalize();
  const chunks: Uint8Array[] = [];
  for await (const chunk of pack as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // read to the end
  }
}

async function expectApiError(promise: Promise<unknown>, status: number): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isDockerApiError(error) || error.statusCode !== status) throw new Error(`expected HTTP ${status}, got ${String(error)}`);
}

const SCENARIOS: Scenario[] = [
  {
    name: 'system',
    description: 'ping (unversioned), version and info',
    async run(docker) {
      await docker.system.ping();
      await docker.system.version();
      await docker.system.info();
    },
  },
  {
    name: 'containers',
    description:
      'container lifecycle: create (busybox, labels, name, no network), start, inspect, list with a label filter, ' +
      'logs (non-follow, multiplexed: one stdout and one stderr line), stop with timeout 0, stop again (304), remove, ' +
      'then inspect of the removed container (404)',
    accept: framesInOrder(['stdout', 'stderr']),
    async run(docker) {
      const { Id } = await docker.containers.create(
        {
          Image: BUSYBOX,
          Cmd: ['sh', '-c', 'echo hello; sleep 0.2; echo oops >&2; exec sleep 3600'],
          Labels: labels('containers'),
          HostConfig: { NetworkMode: 'none' },
        },
        { name: 'berth-fixture-containers' },
      );
      try {
        await docker.containers.start(Id);
        // Wait until both lines are in the log (the engine answers start before the process writes).
        for (let i = 0; i < 100; i++) {
          const probe = await probeClient().containers.logs(Id, { tty: false });
          let lines = 0;
          for await (const frame of probe) lines += new TextDecoder().decode(frame.data).split('\n').length - 1;
          if (lines >= 2) break;
          await sleep(20);
        }
        await docker.containers.inspect(Id);
        await docker.containers.list({ all: true, filters: { label: [`${FIXTURE_LABEL}=containers`] } });
        await drain(await docker.containers.logs(Id));
        await docker.containers.stop(Id, { timeout: 0 });
        await docker.containers.stop(Id, { timeout: 0 });
        await docker.containers.remove(Id);
        await expectApiError(docker.containers.inspect(Id), 404);
      } finally {
        await probeClient()
          .containers.remove(Id, { force: true })
          .catch(() => {});
      }
    },
  },
  {
    name: 'exec',
    description:
      "exec.run of `sh -c 'printf out; printf err >&2; exit 3'` in a running busybox container: exec create, " +
      'exec start (multiplexed frames), exec inspect (exit code 3); around it container create, start, stop and remove',
    accept: framesInOrder(['stdout', 'stderr']),
    async run(docker) {
      const { Id } = await docker.containers.create(
        { Image: BUSYBOX, Cmd: ['sleep', '3600'], Labels: labels('exec'), HostConfig: { NetworkMode: 'none' } },
        { name: 'berth-fixture-exec' },
      );
      try {
        await docker.containers.start(Id);
        const result = await docker.exec.run(Id, ['sh', '-c', 'printf out; printf err >&2; exit 3']);
        expect(result).toMatchObject({ stdout: 'out', stderr: 'err', exitCode: 3 });
        await docker.containers.stop(Id, { timeout: 0 });
        await docker.containers.remove(Id);
      } finally {
        await probeClient()
          .containers.remove(Id, { force: true })
          .catch(() => {});
      }
    },
  },
  {
    name: 'archive',
    description:
      'archives: create a busybox container (not started), putArchive of a one-file tar into /tmp, getArchive of that file ' +
      '(path-stat header and tar body, read with containers.readFile), getArchive of a missing path (404), remove',
    async run(docker) {
      const { Id } = await docker.containers.create(
        { Image: BUSYBOX, Cmd: ['sleep', '3600'], Labels: labels('archive'), HostConfig: { NetworkMode: 'none' } },
        { name: 'berth-fixture-archive' },
      );
      try {
        await docker.containers.putArchive(Id, '/tmp', await fixedTar('hello.txt', ARCHIVE_TEXT));
        const text = new TextDecoder().decode(await docker.containers.readFile(Id, '/tmp/hello.txt'));
        expect(text).toBe(ARCHIVE_TEXT);
        await expectApiError(docker.containers.getArchive(Id, '/tmp/missing.txt'), 404);
        await docker.containers.remove(Id);
      } finally {
        await probeClient()
          .containers.remove(Id, { force: true })
          .catch(() => {});
      }
    },
  },
  {
    name: 'images',
    description:
      'images: inspect of busybox, list filtered by reference, inspect of a missing image (404), a pull from an ' +
      'unreachable registry (localhost:1, refused with 500 before any progress), import of a one-file tar ' +
      '(JSON-lines progress with the new image ID) and removal of the imported image',
    async run(docker) {
      await docker.images.inspect(BUSYBOX);
      await docker.images.list({ filters: { reference: ['berth-test/busybox'] } });
      await expectApiError(docker.images.inspect('berth-test/missing:latest'), 404);
      await expectApiError(docker.images.pull('localhost:1/berth-missing:latest'), 500);
      await docker.images.import(await fixedTar('hello.txt', ARCHIVE_TEXT), { repo: IMPORTED_IMAGE, tag: 'latest' });
      await docker.images.remove(`${IMPORTED_IMAGE}:latest`);
    },
  },
  {
    name: 'events',
    description:
      'events: a busybox container running `true` (create, start, wait, remove), then GET /events with since/until ' +
      'around it and filters type=container, label=berth.fixture=events (JSON lines: create, start, die, destroy)',
    async run(docker) {
      // Start on a fresh second, so that no event of an earlier run falls inside since..until.
      const since = Math.floor(Date.now() / 1000) + 1;
      await sleep(since * 1000 - Date.now() + 20);
      const { Id } = await docker.containers.create(
        { Image: BUSYBOX, Cmd: ['true'], Labels: labels('events'), HostConfig: { NetworkMode: 'none' } },
        { name: 'berth-fixture-events' },
      );
      try {
        await docker.containers.start(Id);
        await docker.containers.wait(Id);
        await docker.containers.remove(Id);
      } finally {
        await probeClient()
          .containers.remove(Id, { force: true })
          .catch(() => {});
      }
      const until = Math.floor(Date.now() / 1000) + 1;
      await sleep(until * 1000 - Date.now() + 50);
      const events = await docker.system.events({
        since,
        until,
        filters: { type: ['container'], label: [`${FIXTURE_LABEL}=events`] },
      });
      await drain(events);
    },
  },
];

let inner: Transport;
let probe: DockerClient;
/** An unrecorded client (cleanup, probes). */
function probeClient(): DockerClient {
  return probe;
}

async function cleanup(): Promise<void> {
  const strays = await probe.containers.list({ all: true, filters: { label: [`${TEST_LABEL}=1`, FIXTURE_LABEL] } });
  for (const c of strays) await probe.containers.remove(c.Id, { force: true }).catch(() => {});
  await probe.images.remove(`${IMPORTED_IMAGE}:latest`, { force: true }).catch(() => {});
}

async function writeScenario(scenario: Scenario, exchanges: RecordedExchange[], engine: Record<string, unknown>): Promise<string[]> {
  const dir = join(FIXTURES, scenario.name);
  await mkdir(dir, { recursive: true });
  const width = Math.max(2, String(exchanges.length).length);
  const files = exchanges.map((exchange, i) => ({
    name: exchangeFileName(i, exchange, width),
    text: `${JSON.stringify(exchange, null, 2)}\n`,
  }));
  const existing = (await readdir(dir)).filter((name) => name.endsWith('.json'));
  let unchanged = existing.length === files.length + 1;
  for (const file of files) {
    const before = await readFile(join(dir, file.name), 'utf8').catch(() => undefined);
    if (before !== file.text) unchanged = false;
  }
  let recorded = new Date().toISOString().slice(0, 10);
  if (unchanged) {
    const before = await readFile(join(dir, 'meta.json'), 'utf8')
      .then((text) => JSON.parse(text) as { recorded?: string })
      .catch(() => undefined);
    if (before?.recorded) recorded = before.recorded;
  }
  for (const name of existing) if (name !== 'meta.json' && !files.some((f) => f.name === name)) await rm(join(dir, name));
  for (const file of files) await writeFile(join(dir, file.name), file.text);
  const meta = {
    format: 'berth-fixtures/1',
    scenario: scenario.name,
    description: scenario.description,
    apiVersion: API_VERSION,
    engine,
    recorded,
    recordedWith: 'RECORD=1 npx vitest run -c vitest.record.config.ts (test/record/record-fixtures.test.ts)',
    exchanges: files.map((f) => f.name),
  };
  await writeFile(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  return files.map((f) => f.name);
}

/** Runs a scenario through a recording transport; returns its exchanges in request order, exec polls dropped. */
async function record(scenario: Scenario): Promise<RecordedExchange[]> {
  const recorded: Array<{ exchange: RecordedExchange; sequence: number }> = [];
  const transport = createRecordingTransport(
    inner,
    (exchange, sequence) => {
      recorded.push({ exchange, sequence });
    },
    { onHijack: (request) => console.warn(`not recorded (hijacked): ${request.method} ${request.path}`) },
  );
  // Not closed: closing it would close the shared inner transport.
  const docker = new DockerClient({ transport, apiVersion: API_VERSION });
  await scenario.run(docker);
  return dropExecPolls(recorded.sort((a, b) => a.sequence - b.sequence).map((r) => r.exchange));
}

describe.runIf(RECORD)('record fixtures from the real engine', () => {
  let engine: Record<string, unknown> = {};

  beforeAll(async () => {
    inner = createNodeTransport({ kind: 'unix', socketPath: SOCKET });
    probe = new DockerClient({ transport: inner, apiVersion: API_VERSION });
    await cleanup();
    const version = await probe.system.version();
    engine = {
      version: version.Version,
      apiVersion: version.ApiVersion,
      minApiVersion: version.MinAPIVersion,
      os: version.Os,
      arch: version.Arch,
    };
  });

  afterAll(async () => {
    try {
      await cleanup();
      const left = await probe.containers.list({ all: true, filters: { label: [FIXTURE_LABEL] } });
      expect(left).toEqual([]);
    } finally {
      await inner.close();
    }
  });

  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      let exchanges: RecordedExchange[] = [];
      for (let attempt = 1; ; attempt++) {
        exchanges = await record(scenario);
        if (scenario.accept?.(exchanges) !== false) break;
        if (attempt === 10) throw new Error(`${scenario.name}: no stable recording in 10 attempts`);
        console.warn(`${scenario.name}: attempt ${attempt} gave an unstable variant; recording again`);
        await cleanup();
      }
      const files = await writeScenario(scenario, normaliseScenario(exchanges), engine);
      console.log(`${scenario.name}: ${files.length} exchanges\n  ${files.join('\n  ')}`);
    });
  }
});
