import { describe, expect, it } from 'vitest';
import { formatBytes, PullProgress } from '../../../src/cli/progress.js';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, write: (text: string) => writes.push(text), isTTY };
}

const messages = [
  { status: 'Pulling from library/python', id: '3-slim' },
  { status: 'Pulling fs layer', id: 'aaa' },
  { status: 'Pulling fs layer', id: 'bbb' },
  { status: 'Downloading', id: 'aaa', progressDetail: { current: 500_000, total: 1_000_000 } },
  { status: 'Downloading', id: 'bbb', progressDetail: { current: 1_000_000, total: 3_000_000 } },
  { status: 'Download complete', id: 'aaa' },
  { status: 'Pull complete', id: 'aaa' },
  { status: 'Digest: sha256:abc' },
];

describe('formatBytes', () => {
  it('uses decimal units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(120_100_000)).toBe('120.1 MB');
    expect(formatBytes(2_000_000_000)).toBe('2.0 GB');
  });
});

describe('PullProgress', () => {
  it('sums the layers into one line', () => {
    const out = sink(false);
    const progress = new PullProgress('python:3-slim', out);
    for (const message of messages) progress.update(message);
    expect(progress.line()).toBe('berth: pulling python:3-slim: 1/2 layers, 2.0 MB of 4.0 MB');
  });

  it('writes a start and an end line when not on a terminal', () => {
    const out = sink(false);
    const progress = new PullProgress('python:3-slim', out);
    for (const message of messages) progress.update(message);
    progress.update({ status: 'Pull complete', id: 'bbb' });
    progress.update({ status: 'Status: Downloaded newer image for python:3-slim' });
    progress.finish();
    progress.finish();
    expect(out.writes).toEqual([
      'berth: pulling python:3-slim…\n',
      'berth: pulled python:3-slim (2 layers, 4.0 MB): Downloaded newer image for python:3-slim\n',
    ]);
  });

  it('rewrites one line on a terminal, at most every 100 ms', () => {
    const out = sink(true);
    let now = 0;
    const progress = new PullProgress('img', out, () => now);
    progress.update(messages[1] ?? {});
    progress.update(messages[2] ?? {});
    now = 150;
    progress.update(messages[3] ?? {});
    progress.finish();
    expect(out.writes).toEqual([
      '\rberth: pulling img: 0/1 layers\x1b[K',
      '\rberth: pulling img: 0/2 layers, 500.0 kB of 1.0 MB\x1b[K',
      '\rberth: pulled img (2 layers, 1.0 MB)\x1b[K\n',
    ]);
  });

  it('says nothing when no message arrived, and reports a failure', () => {
    const quiet = sink(false);
    new PullProgress('img', quiet).finish();
    expect(quiet.writes).toEqual([]);
    const out = sink(false);
    const progress = new PullProgress('img', out);
    progress.update({ error: 'denied', errorDetail: { message: 'pull access denied' } });
    progress.finish(false);
    expect(out.writes.at(-1)).toBe('berth: pull of img failed: pull access denied\n');
  });
});
