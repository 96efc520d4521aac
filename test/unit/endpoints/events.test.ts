import { describe, expect, it } from 'vitest';
import type { EventMessage } from '../../../src/engine/index.js';
import { jsonOf, useFixture } from '../../helpers/replay.js';

const fixture = useFixture('events');
const { docker } = fixture;
const id = jsonOf<{ Id: string }>(fixture.exchange(1).response.body).Id;
/** The recorder's since/until, normalised (fixtures/README.md). */
const SINCE = 946684800;
const UNTIL = SINCE + 60;

describe('events and wait (replayed through replayClient)', () => {
  it('wait returns the exit status', async () => {
    await expect(docker.containers.wait(id)).resolves.toEqual({ StatusCode: 0, Error: null });
    expect(fixture.request(3).path).toBe(`/v1.41/containers/${id}/wait`);
  });

  it('events sends since, until and filters, and decodes the JSON lines one at a time', async () => {
    const events: EventMessage[] = [];
    const stream = await docker.system.events({
      since: SINCE,
      until: UNTIL,
      filters: { type: ['container'], label: ['berth.fixture=events'] },
    });
    for await (const event of stream) events.push(event);
    expect(events.map((e) => [e.Type, e.Action, e.Actor.ID])).toEqual([
      ['container', 'create', id],
      ['container', 'start', id],
      ['container', 'die', id],
      ['container', 'destroy', id],
    ]);
    expect(events[2]?.Actor.Attributes.exitCode).toBe('0');
    expect(events.every((e) => e.time === SINCE && e.Actor.Attributes.name === 'berth-fixture-events')).toBe(true);
    // The replay answered, so this is what was sent.
    const query = fixture.request(5).query;
    expect(query.get('since')).toBe(String(SINCE));
    expect(query.get('until')).toBe(String(UNTIL));
    expect(JSON.parse(query.get('filters') ?? 'null')).toEqual({ type: ['container'], label: ['berth.fixture=events'] });
  });

  it('a replayed client sends any since/until: times in the query are normalised as they were when recording', async () => {
    const stream = await docker.system.events({
      since: 1_700_000_000,
      until: 1_700_000_100,
      filters: { type: ['container'], label: ['berth.fixture=events'] },
    });
    let count = 0;
    for await (const _ of stream) count++;
    expect(count).toBe(4);
  });
});
