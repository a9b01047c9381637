// The live hub: ingest never waits for clients (publish only queues), each record is serialized once per
// delivery whatever the number of clients, bodies are left out for clients without them, the queue and
// the per-client buffers are bounded (lost events are announced), and stream limits per owner and in all.
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventRecord } from '../core/event.js';
import type { Alert } from '../detect/types.js';
import { makeEvent } from '../test-support/events.js';
import { LiveHub } from './live.js';

/** A response that records what is written; `full` makes write() report a full socket buffer. */
class FakeResponse extends EventEmitter {
  chunks: string[] = [];
  destroyed = false;
  full = false;
  writeHead(): this {
    return this;
  }
  write(text: string): boolean {
    this.chunks.push(text);
    return !this.full;
  }
  end(): void {
    this.destroyed = true;
    this.emit('close');
  }
  messages(kind: string): string[] {
    return this.chunks.filter((c) => c.startsWith(`event: ${kind}\n`));
  }
}

const res = () => new FakeResponse();
const asRes = (r: FakeResponse) => r as unknown as ServerResponse;
const turn = () => new Promise((r) => setImmediate(r));
async function settle(hub: LiveHub): Promise<void> {
  for (let i = 0; i < 1000 && hub.pending > 0; i++) await turn();
  await turn();
}

function record(i: number, ns = 'a'): EventRecord {
  return {
    cluster: 'prod',
    event: makeEvent({
      auditID: `id-${i}`,
      objectRef: { resource: 'secrets', namespace: ns, name: `s-${i}` },
      requestObject: { kind: 'Secret', data: { password: `hunter${i}` } },
    }),
  };
}

const hubs: LiveHub[] = [];
function hub(opts: ConstructorParameters<typeof LiveHub>[0] = {}): LiveHub {
  const h = new LiveHub(opts);
  hubs.push(h);
  return h;
}

afterEach(() => {
  vi.restoreAllMocks();
  for (const h of hubs.splice(0)) h.close();
});

describe('LiveHub.publish', () => {
  it('returns before any client is sent anything, and serializes each record once, not per client', async () => {
    const h = hub();
    const withBodies = Array.from({ length: 50 }, res);
    const without = Array.from({ length: 50 }, res);
    for (const r of withBodies) void h.attach(asRes(r), () => true, { bodies: true });
    for (const r of without) void h.attach(asRes(r), () => true, { bodies: false });
    const records = Array.from({ length: 20 }, (_, i) => record(i));
    const stringify = vi.spyOn(JSON, 'stringify');
    h.publish(records);
    // Nothing delivered yet, nothing serialized on the caller's (ingest's) turn.
    expect(stringify).not.toHaveBeenCalled();
    expect([...withBodies, ...without].every((r) => r.messages('audit').length === 0)).toBe(true);
    await settle(h);
    // 20 records x 2 forms (with and without bodies), for 100 clients.
    expect(stringify).toHaveBeenCalledTimes(40);
    stringify.mockRestore();
    for (const r of withBodies) {
      expect(r.messages('audit')).toHaveLength(20);
      expect(r.messages('audit')[3]).toContain('hunter3');
    }
    for (const r of without) {
      expect(r.messages('audit')).toHaveLength(20);
      expect(r.chunks.join('')).not.toContain('hunter');
    }
    // Every client is handed the same string, not a copy.
    expect(withBodies[0]!.messages('audit')[0]).toBe(withBodies[49]!.messages('audit')[0]);
  });

  it('delivers in slices of bounded work, yielding to the event loop between them', async () => {
    const h = hub({ sliceBudget: 100 });
    const clients = Array.from({ length: 10 }, res);
    for (const r of clients) void h.attach(asRes(r), () => true);
    h.publish(Array.from({ length: 100 }, (_, i) => record(i)));
    await turn();
    // 100 checks per slice over 10 clients: 10 records in the first slice.
    expect(clients[0]!.messages('audit')).toHaveLength(10);
    expect(h.pending).toBe(90);
    await settle(h);
    expect(clients.every((r) => r.messages('audit').length === 100)).toBe(true);
  });

  it('sends each client only what its filter accepts, in order', async () => {
    const h = hub();
    const a = res();
    const b = res();
    void h.attach(asRes(a), (r) => r.event.objectRef?.namespace === 'a');
    void h.attach(asRes(b), (r) => r.event.objectRef?.namespace === 'b');
    h.publish([record(1, 'a'), record(2, 'b'), record(3, 'a')]);
    await settle(h);
    expect(a.messages('audit').map((m) => /"auditID":"([^"]+)"/.exec(m)![1])).toEqual(['id-1', 'id-3']);
    expect(b.messages('audit')).toHaveLength(1);
  });

  it('bounds the queue: the oldest undelivered records are dropped and clients told', async () => {
    const h = hub({ maxQueued: 10 });
    const a = res();
    void h.attach(asRes(a), () => true);
    for (let i = 0; i < 5; i++) h.publish(Array.from({ length: 5 }, (_, k) => record(i * 5 + k)));
    expect(h.pending).toBe(10);
    await settle(h);
    expect(a.messages('lagged')).toEqual(['event: lagged\ndata: {"dropped":15}\n\n']);
    expect(a.messages('audit').map((m) => /"auditID":"([^"]+)"/.exec(m)![1])).toEqual(
      Array.from({ length: 10 }, (_, k) => `id-${15 + k}`),
    );
  });

  it('bounds a slow client to its buffer and tells it how many it lost once it drains', async () => {
    const h = hub({ maxBuffered: 3 });
    const slow = res();
    const fast = res();
    void h.attach(asRes(slow), () => true);
    void h.attach(asRes(fast), () => true);
    slow.full = true;
    h.publish(Array.from({ length: 10 }, (_, i) => record(i)));
    await settle(h);
    expect(fast.messages('audit')).toHaveLength(10);
    // The first write filled its socket; the next 9 went to a buffer of 3.
    expect(slow.messages('audit')).toHaveLength(1);
    slow.full = false;
    slow.emit('drain');
    expect(slow.messages('lagged')).toEqual(['event: lagged\ndata: {"dropped":6}\n\n']);
    expect(slow.messages('audit')).toHaveLength(4);
  });

  it('queues alerts behind the records before them and serializes each once', async () => {
    const h = hub();
    const clients = Array.from({ length: 10 }, res);
    for (const r of clients) void h.attach(asRes(r), () => true, { alerts: () => true });
    const alert = {
      id: 'a1',
      rule: 'r',
      severity: 'high',
      cluster: 'prod',
      auditIDs: ['id-1'],
    } as unknown as Alert;
    h.publish([record(1)]);
    const stringify = vi.spyOn(JSON, 'stringify');
    h.publishAlerts([alert]);
    expect(stringify).not.toHaveBeenCalled();
    await settle(h);
    expect(stringify).toHaveBeenCalledTimes(2);
    stringify.mockRestore();
    for (const r of clients) {
      const kinds = r.chunks.filter((c) => c.startsWith('event:')).map((c) => c.split('\n')[0]);
      expect(kinds).toEqual(['event: audit', 'event: alert']);
    }
  });
});

describe('LiveHub.admit', () => {
  it('refuses a stream past the per-owner and the total limit, and counts closed streams out', () => {
    const h = hub();
    const limits = { perOwner: 2, total: 3 };
    const open = (owner: string) => {
      h.admit(owner, limits);
      const r = res();
      void h.attach(asRes(r), () => true, { owner });
      return r;
    };
    const a1 = open('alice');
    open('alice');
    expect(() => h.admit('alice', limits)).toThrow(expect.objectContaining({ code: 'KT_STREAM_LIMIT' }));
    open('bob');
    expect(() => h.admit('bob', limits)).toThrow(
      expect.objectContaining({ code: 'KT_STREAM_LIMIT', where: { path: 'api.streamsTotal' } }),
    );
    a1.end();
    expect(h.countOf('alice')).toBe(1);
    expect(() => open('bob')).not.toThrow();
    expect(h.countOf('bob')).toBe(2);
  });
});
