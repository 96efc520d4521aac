/**
 * The raw floor: the fewest requests a task needs, sent with undici's lowest-level API
 * (`Pool#dispatch`, no body streams) straight to the engine's unix socket, and a minimal
 * demultiplexer. Nothing here validates, retries or maps errors beyond what correctness needs:
 * it is the yardstick Berth is measured against, not a client.
 */
import { Pool } from 'undici';

/** Minimal decoder of Docker's multiplexed stream: 8-byte header (type, 0, 0, 0, uint32 BE size), then payload. */
export class MiniDemux {
  /** @param {(stream: 1 | 2, data: Buffer) => void} onFrame */
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.header = Buffer.alloc(8);
    this.filled = 0;
    this.remaining = 0;
    this.kind = 1;
  }

  /** @param {Buffer} chunk */
  push(chunk) {
    let pos = 0;
    const length = chunk.length;
    while (pos < length) {
      if (this.remaining === 0) {
        const take = Math.min(8 - this.filled, length - pos);
        chunk.copy(this.header, this.filled, pos, pos + take);
        this.filled += take;
        pos += take;
        if (this.filled < 8) return;
        this.filled = 0;
        this.kind = this.header[0] === 2 ? 2 : 1;
        this.remaining = this.header.readUInt32BE(4);
        continue;
      }
      const take = Math.min(this.remaining, length - pos);
      this.onFrame(this.kind, chunk.subarray(pos, pos + take));
      this.remaining -= take;
      pos += take;
    }
  }
}

/**
 * Sends one request through `pool.dispatch`; `onData` receives the body chunks as they arrive
 * (default: collected and returned). Resolves with the status and, when collected, the body.
 * @param {Pool} pool
 * @param {{ method: string, path: string, body?: string, onData?: (chunk: Buffer) => void, headersTimeout?: number }} req
 * @returns {Promise<{ status: number, body: Buffer }>}
 */
export function dispatch(pool, req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let status = 0;
    pool.dispatch(
      {
        method: req.method,
        path: req.path,
        headers: req.body === undefined ? {} : { 'content-type': 'application/json' },
        body: req.body ?? null,
        headersTimeout: req.headersTimeout ?? 60_000,
        bodyTimeout: 0,
      },
      {
        onRequestStart() {},
        onResponseStart(_controller, statusCode) {
          status = statusCode;
        },
        onResponseData(_controller, chunk) {
          if (req.onData && status < 300) req.onData(chunk);
          else chunks.push(chunk);
        },
        onResponseEnd() {
          resolve({ status, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) });
        },
        onResponseError(_controller, error) {
          reject(error);
        },
      },
    );
  });
}

export class RawEngine {
  /** @param {string} socketPath */
  constructor(socketPath = '/var/run/docker.sock') {
    this.pool = new Pool('http://localhost', { socketPath, connections: 64, pipelining: 1, keepAliveTimeout: 10_000 });
    this.prefix = '/v1.41';
  }

  /** One `GET /version` to learn the API version (done once, outside any timing). */
  async negotiate() {
    const info = await this.json('GET', '/version', undefined, true);
    this.prefix = `/v${info.ApiVersion}`;
    return info;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {boolean} [unversioned]
   */
  async json(method, path, body, unversioned = false) {
    const res = await dispatch(this.pool, {
      method,
      path: unversioned ? path : this.prefix + path,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status >= 300) throw new Error(`raw: ${method} ${path} -> ${res.status} ${res.body.toString()}`);
    if (res.body.length === 0) return undefined;
    const text = res.body.toString();
    return text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text;
  }

  /**
   * Exec round trip: create, start (the body is the multiplexed output, closed when the process
   * ends), inspect (again only while the engine still reports Running). Three requests.
   * @param {string} containerId
   * @param {string[]} cmd
   * @param {{ env?: string[], workingDir?: string, onFrame?: (stream: 1 | 2, data: Buffer) => void }} [opts]
   * @returns {Promise<{ exitCode: number, stdout: Buffer, stderr: Buffer }>}
   */
  async exec(containerId, cmd, opts = {}) {
    const create = { Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false };
    if (opts.env) create.Env = opts.env;
    if (opts.workingDir) create.WorkingDir = opts.workingDir;
    const { Id } = await this.json('POST', `/containers/${containerId}/exec`, create);
    const out = [];
    const err = [];
    const demux = new MiniDemux(opts.onFrame ?? ((stream, data) => (stream === 1 ? out : err).push(data)));
    const res = await dispatch(this.pool, {
      method: 'POST',
      path: `${this.prefix}/exec/${Id}/start`,
      body: '{"Detach":false,"Tty":false}',
      headersTimeout: 0,
      onData: (chunk) => demux.push(chunk),
    });
    if (res.status >= 300) throw new Error(`raw: exec start -> ${res.status} ${res.body.toString()}`);
    let delay = 1;
    for (;;) {
      const info = await this.json('GET', `/exec/${Id}/json`);
      if (!info.Running && typeof info.ExitCode === 'number') {
        return { exitCode: info.ExitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 50);
    }
  }

  /** Create + start + inspect until running. Three requests (more only if not yet running). */
  async run(body) {
    const { Id } = await this.json('POST', '/containers/create', body);
    await this.json('POST', `/containers/${Id}/start`);
    let delay = 2;
    for (;;) {
      const info = await this.json('GET', `/containers/${Id}/json`);
      if (info.State.Status === 'running') return Id;
      if (info.State.Status === 'exited' || info.State.Status === 'dead') throw new Error(`raw: container ${Id} exited`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 50);
    }
  }

  /** Kill + remove in one request (`DELETE ?force=1`). */
  async removeForce(id) {
    const res = await dispatch(this.pool, { method: 'DELETE', path: `${this.prefix}/containers/${id}?force=1` });
    // 404: an auto-removed container is already gone.
    if (res.status === 409) return this.#endPendingRemoval(id);
    if (res.status >= 300 && res.status !== 404) throw new Error(`raw: remove -> ${res.status} ${res.body}`);
  }

  /**
   * 409 "removal already in progress": after dockerd 20.10's restart race on an auto-remove
   * container, its own removal waits ~10 s on a kill that went to the old process while the
   * container runs on (see `removeContainer` in src/executor/executor.ts). A kill ends the wait.
   */
  async #endPendingRemoval(id) {
    await dispatch(this.pool, { method: 'POST', path: `${this.prefix}/containers/${id}/kill` });
    for (let waited = 0; waited < 10_000; waited += 20) {
      const res = await dispatch(this.pool, { method: 'GET', path: `${this.prefix}/containers/${id}/json` });
      if (res.status === 404) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Restart with no grace + inspect until running. */
  async restart(id) {
    await this.json('POST', `/containers/${id}/restart?t=0`);
    let delay = 2;
    for (;;) {
      const info = await this.json('GET', `/containers/${id}/json`);
      if (info.State.Status === 'running') return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 50);
    }
  }

  async close() {
    await this.pool.close();
  }
}
