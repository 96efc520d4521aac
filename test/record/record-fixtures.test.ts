/**
 * The fixture recorder. Runs every scenario against the real engine through `recordingClient` of
 * `berth/testing` (the public API users record with) and writes fixtures/<scenario>/ (one
 * exchange per file, plus meta.json with a description and the engine). It only runs
 * with RECORD=1 and its own config, so ordinary test runs never touch the engine from here:
 *
 *   RECORD=1 npx vitest run -c vitest.record.config.ts
 *
 * Set BERTH_RECORD_SOCKET to record from another socket than /var/run/docker.sock. Re-recording
 * gives the same files (see fixtures/README.md for the normalisation rules); meta.json keeps its
 * `recorded` date when no exchange file changed.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient, isDockerApiError } from '../../src/engine/index.js';
import type { RecordedExchange } from '../../src/testing/format.js';
import { recordingClient } from '../../src/testing/index.js';
import { FIXED_UNIX } from '../../src/testing/normalise.js';
import { readRecording } from '../../src/testing/store.js';

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

/** The exchange files of a scenario folder and their text (empty when it does not exist yet). */
async function exchangeFiles(dir: string): Promise<Map<string, string>> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out = new Map<string, string>();
  for (const name of names.filter((n) => n.endsWith('.json') && n !== 'meta.json').sort())
    out.set(name, await readFile(join(dir, name), 'utf8'));
  return out;
}

/** Runs a scenario through recordingClient, which writes its folder; returns the exchanges written. */
async function record(scenario: Scenario): Promise<RecordedExchange[]> {
  const dir = join(FIXTURES, scenario.name);
  const docker = recordingClient(dir, { socketPath: SOCKET, apiVersion: API_VERSION });
  try {
    await scenario.run(docker);
  } finally {
    await docker.close();
  }
  return readRecording(dir).exchanges;
}

/** Adds what recordingClient does not know to meta.json: the description, the engine, the date the exchanges last changed. */
async function completeMeta(
  scenario: Scenario,
  engine: Record<string, unknown>,
  before: Map<string, string>,
  previousDate: string | undefined,
) {
  const dir = join(FIXTURES, scenario.name);
  const after = await exchangeFiles(dir);
  const unchanged = before.size === after.size && [...after].every(([name, text]) => before.get(name) === text);
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
  const complete = {
    format: meta.format,
    scenario: meta.scenario,
    description: scenario.description,
    apiVersion: meta.apiVersion,
    engine,
    recorded: unchanged && previousDate ? previousDate : new Date().toISOString().slice(0, 10),
    recordedWith: 'RECORD=1 npx vitest run -c vitest.record.config.ts (test/record/record-fixtures.test.ts, through recordingClient)',
    exchanges: meta.exchanges,
  };
  await writeFile(join(dir, 'meta.json'), `${JSON.stringify(complete, null, 2)}\n`);
  return meta.exchanges as string[];
}

describe.runIf(RECORD)('record fixtures from the real engine', () => {
  let engine: Record<string, unknown> = {};

  beforeAll(async () => {
    probe = new DockerClient({ socketPath: SOCKET, apiVersion: API_VERSION });
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
      await probe.close();
    }
  });

  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      const dir = join(FIXTURES, scenario.name);
      const before = await exchangeFiles(dir);
      const previousDate = await readFile(join(dir, 'meta.json'), 'utf8')
        .then((text) => (JSON.parse(text) as { recorded?: string }).recorded)
        .catch(() => undefined);
      for (let attempt = 1; ; attempt++) {
        const exchanges = await record(scenario);
        if (scenario.accept?.(exchanges) !== false) break;
        if (attempt === 10) throw new Error(`${scenario.name}: no stable recording in 10 attempts`);
        console.warn(`${scenario.name}: attempt ${attempt} gave an unstable variant; recording again`);
        await cleanup();
      }
      const files = await completeMeta(scenario, engine, before, previousDate);
      console.log(`${scenario.name}: ${files.length} exchanges\n  ${files.join('\n  ')}`);
    });
  }
});
