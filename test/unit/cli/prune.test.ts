import { describe, expect, it } from 'vitest';
import { decidePrune, isProcessAlive, type PruneContext } from '../../../src/cli/prune.js';

const context = (over: Partial<PruneContext> = {}): PruneContext => ({
  all: false,
  hostName: 'here',
  selfPid: 1000,
  isAlive: (pid) => pid === 42,
  ...over,
});
const labels = (pid: string, host: string) => ({ 'berth.executor': '1', 'berth.host.pid': pid, 'berth.host.name': host });

describe('decidePrune', () => {
  it('removes a container whose creating process on this host is gone', () => {
    expect(decidePrune(labels('7', 'here'), context())).toEqual({ remove: true, reason: 'process 7 on here is gone' });
  });

  it('keeps containers of live processes, of this process, of other hosts and without owner labels', () => {
    expect(decidePrune(labels('42', 'here'), context())).toMatchObject({ remove: false, reason: 'process 42 on here is running' });
    expect(decidePrune(labels('1000', 'here'), context())).toMatchObject({ remove: false });
    expect(decidePrune(labels('7', 'there'), context())).toMatchObject({ remove: false, reason: expect.stringMatching(/another host/) });
    expect(decidePrune({ 'berth.executor': '1' }, context())).toMatchObject({ remove: false });
    expect(decidePrune(labels('x', 'here'), context())).toMatchObject({ remove: false });
    expect(decidePrune(labels('0', 'here'), context())).toMatchObject({ remove: false });
  });

  it('removes everything with all', () => {
    expect(decidePrune(labels('42', 'there'), context({ all: true }))).toMatchObject({ remove: true });
    expect(decidePrune({ 'berth.executor': '1' }, context({ all: true }))).toEqual({ remove: true, reason: '--all' });
  });
});

describe('isProcessAlive', () => {
  it('sees this process and not a process ID that cannot exist', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(2 ** 22 + 12345)).toBe(false);
  });
});
