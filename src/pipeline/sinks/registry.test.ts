// Adding a sink is one more factory in the registry: an in-memory sink added to SINKS receives what the
// store receives, in the live topology (webhook → segment log → ingest queue) and in an import; a durable
// sink that fails fails the batch (not acknowledged, sent again), a follower that fails does not; a
// follower hears only the records newly stored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import type { EventRecord } from '../../core/event.js';
import { parseQuery } from '../../query/index.js';
import { startCollector } from '../../server/collector.js';
import { openStore } from '../../store/open.js';
import { makeEvent, rec } from '../../test-support/events.js';
import type { Sink } from '../contracts.js';
import { runImport } from '../import.js';
import { SINKS, type SinkFactory } from './index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-sinks-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A sink that keeps every record it is given, by auditID, and can be told to fail its next writes. */
class CollectingSink implements Sink {
  readonly name = 'collect';
  readonly ids: string[] = [];
  failures = 0;
  constructor(readonly role: 'durable' | 'follower') {}
  write(records: readonly EventRecord[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error('collecting sink is down'));
    }
    for (const r of records) this.ids.push(r.event.auditID);
    return Promise.resolve();
  }
}

const registryWith = (sink: Sink): SinkFactory[] => [...SINKS, { name: sink.name, create: () => sink }];

async function* batches(records: EventRecord[], size: number): AsyncGenerator<EventRecord[]> {
  for (let i = 0; i < records.length; i += size) yield records.slice(i, i + size);
}

describe('the sink registry', () => {
  it('delivers an import to a sink added to the registry, as it delivers it to the store', async () => {
    const store = await openStore(path.join(tempDir(), 'events.duckdb'));
    cleanups.push(() => store.close());
    const sink = new CollectingSink('durable');
    const records = Array.from({ length: 250 }, (_, i) => rec(makeEvent({ auditID: `id-${i}` })));
    const summary = await runImport({
      source: batches(records, 40),
      store,
      writeBatch: 100,
      sinkFactories: registryWith(sink),
    });
    expect(summary).toMatchObject({ read: 250, stored: 250 });
    expect(sink.ids).toEqual(records.map((r) => r.event.auditID));
    expect(await store.count(parseQuery('*'))).toBe(250);
  });

  it('fails the import when a durable sink fails', async () => {
    const store = await openStore(path.join(tempDir(), 'events.duckdb'));
    cleanups.push(() => store.close());
    const sink = new CollectingSink('durable');
    sink.failures = 1;
    await expect(
      runImport({
        source: batches([rec(makeEvent())], 1),
        store,
        sinkFactories: registryWith(sink),
      }),
    ).rejects.toThrow('collecting sink is down');
  });

  for (const role of ['durable', 'follower'] as const) {
    it(`delivers webhook batches to a ${role} sink added to the registry, each event once`, async () => {
      const dir = tempDir();
      const sink = new CollectingSink(role);
      // The first write fails: a durable sink makes the feeder send the batch again; a follower's
      // failure is its own (the store has the batch, nothing is sent again, the follower misses it).
      sink.failures = 1;
      const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false });
      const c = await startCollector({
        config,
        logger: pino({ level: 'silent' }),
        sinkFactories: registryWith(sink),
        feederRetryMs: 50,
      });
      cleanups.push(() => c.close());
      const first = [makeEvent({ auditID: 'a' }), makeEvent({ auditID: 'b' })];
      const second = [makeEvent({ auditID: 'c' }), ...first];
      for (const items of [first, second]) {
        const res = await fetch(`${c.url}/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items }),
        });
        expect(res.status).toBe(200);
        await c.settled();
      }
      expect(await c.store.count(parseQuery('*'))).toBe(3);
      // Durable: a, b after the retry, then c; the duplicates of the second batch are written again
      // (the sink is told the whole batch). Follower: only new records, and the failed first write lost.
      expect(sink.ids).toEqual(role === 'durable' ? ['a', 'b', 'c', 'a', 'b'] : ['c']);
    });
  }
});
