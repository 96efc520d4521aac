import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerApiError, DockerClient, DockerConnectionError } from '../../src/engine/index.js';
import { copyModeSuite } from '../helpers/copy-mode-suite.js';
import { loopbackListening } from '../helpers/engine.js';

// scripts/engine-up.sh starts dockerd with a TLS listener (client certificates required) when it
// starts the daemon itself, as in CI. An engine it did not start has none: then say so, loudly.
const STATE = process.env.BERTH_STATE_DIR ?? '/tmp/berth-engine';
const CERTS = join(STATE, 'tls');
const PORT = Number(process.env.BERTH_TLS_PORT ?? 2376);
const HOST = `tcp://127.0.0.1:${PORT}`;

const available = await loopbackListening(PORT, join(CERTS, 'cert.pem'));
if (!available) {
  console.warn(
    `remote TLS tests skipped: no TLS listener at ${HOST} with certificates in ${CERTS} (engine-up starts one only when it starts dockerd itself)`,
  );
}

describe.runIf(available)('a remote engine over TCP with TLS', () => {
  it('connects through DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', async () => {
    const docker = new DockerClient({ env: { DOCKER_HOST: HOST, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: CERTS } });
    try {
      const ping = await docker.system.ping();
      expect(ping.apiVersion).toMatch(/^\d+\.\d+$/);
      expect(docker.describe()).toEqual({ address: HOST, source: 'DOCKER_HOST' });
      expect(docker.isLocal()).toBe(false);
      const run = await docker.exec.run(await someContainer(docker), ['sh', '-c', 'printf out; printf err >&2; exit 3']).catch((e) => e);
      expect(run).toMatchObject({ stdout: 'out', stderr: 'err', exitCode: 3 });
    } finally {
      await cleanup(docker);
      await docker.close();
    }
  });

  it('connects with host and tls options (contents or a folder)', async () => {
    const fromFolder = new DockerClient({ host: HOST, tls: CERTS });
    const fromContents = new DockerClient({
      host: HOST,
      tls: {
        ca: readFileSync(join(CERTS, 'ca.pem'), 'utf8'),
        cert: readFileSync(join(CERTS, 'cert.pem'), 'utf8'),
        key: readFileSync(join(CERTS, 'key.pem'), 'utf8'),
      },
    });
    try {
      expect((await fromFolder.system.version()).ApiVersion).toMatch(/^\d/);
      expect((await fromContents.system.version()).ApiVersion).toMatch(/^\d/);
    } finally {
      await fromFolder.close();
      await fromContents.close();
    }
  });

  it('gives a typed error for a wrong CA', async () => {
    const other = mkdtempSync(join(tmpdir(), 'berth-ca-'));
    try {
      // Any other self-signed certificate serves as the wrong CA: the client certificate itself.
      writeFileSync(join(other, 'ca.pem'), readFileSync(join(CERTS, 'cert.pem')));
      const docker = new DockerClient({
        host: HOST,
        tls: {
          ca: readFileSync(join(other, 'ca.pem'), 'utf8'),
          cert: readFileSync(join(CERTS, 'cert.pem'), 'utf8'),
          key: readFileSync(join(CERTS, 'key.pem'), 'utf8'),
        },
      });
      const error = await docker.system.ping().catch((e: unknown) => e);
      await docker.close();
      expect(error).toBeInstanceOf(DockerConnectionError);
      expect((error as Error).message).toMatch(/TLS|certificate/i);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('says the engine closed the TLS connection and may need a client certificate, when none is given', async () => {
    const docker = new DockerClient({ host: HOST, tls: { ca: readFileSync(join(CERTS, 'ca.pem'), 'utf8') } });
    const error = await docker.system.ping().catch((e: unknown) => e);
    // Over a hijacked connection (its own socket) too: the version is pinned so that it is the first request.
    const pinned = new DockerClient({ host: HOST, apiVersion: '1.41', tls: { ca: readFileSync(join(CERTS, 'ca.pem'), 'utf8') } });
    const hijacked = await pinned.exec.start('a'.repeat(64), { stdin: true }).catch((e: unknown) => e);
    await docker.close();
    await pinned.close();
    for (const failure of [error, hijacked]) {
      expect(failure).toBeInstanceOf(DockerConnectionError);
      expect((failure as DockerConnectionError).tried).toEqual([HOST]);
      expect((failure as Error).message).toMatch(
        new RegExp(
          `^the engine at ${HOST} closed the TLS connection during or right after the handshake( \\(TLS alert: [a-z ]+\\))?; ` +
            'it may require a client certificate, and none was given',
        ),
      );
    }
    // Node's own TLS socket (the hijack) reports the engine's alert.
    expect((hijacked as Error).message).toContain('(TLS alert: bad certificate)');
  });

  it('gives a typed error for a plain-HTTP client against the TLS port', async () => {
    const docker = new DockerClient({ host: HOST, timeouts: { headers: 10_000 } });
    const error = await docker.system.ping().catch((e: unknown) => e);
    await docker.close();
    // Go's TLS server answers plain HTTP with 400 "Client sent an HTTP request to an HTTPS server".
    expect(error instanceof DockerApiError || error instanceof DockerConnectionError).toBe(true);
    expect((error as Error).message).toMatch(/HTTPS|TLS|HTTP/);
  });
});

if (available) {
  copyModeSuite(
    'the executor in copy mode against the TLS listener (chosen automatically)',
    () => new DockerClient({ host: HOST, tls: CERTS }),
  );
}

async function someContainer(docker: DockerClient): Promise<string> {
  const { Id } = await docker.containers.create({
    Image: 'berth-test/busybox:latest',
    Cmd: ['sleep', '300'],
    Labels: { 'berth.test': '1', 'berth.case': 'tls' },
    HostConfig: { Init: true },
  });
  await docker.containers.start(Id);
  return Id;
}

async function cleanup(docker: DockerClient): Promise<void> {
  for (const c of await docker.containers.list({ all: true, filters: { label: ['berth.case=tls'] } })) {
    await docker.containers.remove(c.Id, { force: true }).catch(() => {});
  }
}
