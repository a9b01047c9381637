// Verifying a store that is written meanwhile (the server's background verification): rows stored after
// the digest records were read are named by records appended since, and are not reported as inserted;
// a row inserted behind kubetrail's back still is.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent, rec } from '../test-support/events.js';
import type { DigestEntry, DigestRange, IntegrityStorage } from '../store/integrity.js';
import { openDuckDBStore } from '../store/duckdb/store.js';
import type { Store } from '../store/store.js';
import { verifyStore } from './verify.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kt-verify-live-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ev = (id: string, minute: number) => {
  const t = `2024-05-01T10:${String(minute).padStart(2, '0')}:00.000000Z`;
  return rec(makeEvent({ auditID: id, requestReceivedTimestamp: t, stageTimestamp: t }));
};

/** The store as verifyStore sees it, with `during` run once the scan of rows begins. */
function racing(store: Store, integ: IntegrityStorage, during: () => Promise<void>): Store {
  const view = Object.create(integ) as IntegrityStorage;
  view.scan = async function* (range: DigestRange): AsyncIterable<DigestEntry[]> {
    await during();
    yield* integ.scan(range);
  };
  return { integrity: () => Promise.resolve(view) } as unknown as Store;
}

describe('verifying a store in use', () => {
  it('does not report rows written during the verification', async () => {
    const store = await openDuckDBStore(path.join(dir, 'live.duckdb'));
    try {
      await store.write([ev('a', 1), ev('b', 2)]);
      const integ = await store.integrity();
      const report = await verifyStore(
        racing(store, integ, () => store.write([ev('c', 3), ev('d', 4)]).then(() => undefined)),
      );
      expect(report.findings.filter((f) => f.kind !== 'chain')).toEqual([]);
      expect(report.verified.events).toBe(2);
      // The next verification sees them all, named.
      const next = await verifyStore(store);
      expect(next.findings.filter((f) => f.kind !== 'chain')).toEqual([]);
      expect(next.verified.events).toBe(4);
    } finally {
      await store.close();
    }
  });
});
