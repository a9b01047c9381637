// Verifying a store that is written meanwhile (the server's background verification): rows stored after
// the digest records were read are named by records appended since, and are not reported as inserted;
// a row inserted behind kubetrail's back still is.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent, rec } from '../test-support/events.js';
import type { DigestEntry, DigestRange, IntegrityStorage } from '../store/integrity.js';
import { openDuckDBStore } from '../store/duckdb/store.js';
import type { Store } from '../store/store.js';
import { IntegrityKeeper } from './keeper.js';
import { keyFileSigner } from './signer.js';
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

  it('does not report unsigned the batches committed after the writer signed for the verification', async () => {
    const store = await openDuckDBStore(path.join(dir, 'signed.duckdb'));
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyFile = path.join(dir, 'signing.key');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const keeper = await IntegrityKeeper.open(store, {
      signer: keyFileSigner(keyFile),
      signIntervalMs: 3_600_000,
    });
    try {
      await store.write([ev('a', 1)]);
      // As the server verifies: its own signature, then the records are read. One write was already
      // under way when it signed (its record was made before the signature, committed after it), and
      // one more came after.
      const underWay = store.write([ev('b', 2)]);
      const signedThrough = await keeper.signNow();
      await underWay;
      await store.write([ev('c', 3)]);
      expect(signedThrough).toEqual({ writer: (await store.integrity()).writer, seq: 1 });
      expect((await verifyStore(store, { publicKey, signedThrough })).findings).toEqual([]);
      // Without it, or for another writer's chain, they are unsigned.
      for (const opts of [
        { publicKey },
        { publicKey, signedThrough: { ...signedThrough, writer: 'other' } },
      ]) {
        const report = await verifyStore(store, opts);
        expect(report.findings.map((f) => f.detail)).toEqual([
          expect.stringMatching(/records 2-4 not signed/),
        ]);
      }
      // Signed since: clean without it.
      await keeper.signNow();
      expect((await verifyStore(store, { publicKey })).findings).toEqual([]);
    } finally {
      await keeper.close();
      await store.close();
    }
  });

  it('signs a record committed after the signature that was being made, even when a signature is the head', async () => {
    const file = path.join(dir, 'under-way.duckdb');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyFile = path.join(dir, 'under-way.key');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const open = async () => {
      const store = await openDuckDBStore(file);
      const keeper = await IntegrityKeeper.open(store, {
        signer: keyFileSigner(keyFile),
        signIntervalMs: 3_600_000,
      });
      return { store, keeper };
    };
    let { store, keeper } = await open();
    try {
      await store.write([ev('a', 1)]);
      // Record 2 is under way while record 1 is signed; the signature (record 3) is committed last.
      const underWay = store.write([ev('b', 2)]);
      await keeper.signNow();
      await underWay;
      expect(keeper.unsigned()).toBe(true);
      await keeper.close();
      await store.close();
      expect((await verifyStore((store = await openDuckDBStore(file)), { publicKey })).findings).toEqual([]);
      await store.close();

      // The same at open: a store left with a signature at its head that does not cover the record
      // before it is signed when its writer starts.
      ({ store, keeper } = await open());
      await store.write([ev('c', 3)]);
      const again = store.write([ev('d', 4)]);
      await keeper.signNow();
      await again;
      // Stopped without closing the keeper: the tail stays unsigned...
      await store.close();
      expect((await verifyStore((store = await openDuckDBStore(file)), { publicKey })).findings).toEqual([
        expect.objectContaining({ detail: expect.stringMatching(/record 6 not signed/) }),
      ]);
      await store.close();
      // ...until the writer starts again.
      ({ store, keeper } = await open());
      expect((await verifyStore(store, { publicKey })).findings).toEqual([]);
    } finally {
      await keeper.close();
      await store.close();
    }
  });

  it('does not report a record committed between its reads of the store and of the digest file', async () => {
    const store = await openDuckDBStore(path.join(dir, 'file-race.duckdb'));
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyFile = path.join(dir, 'file-race.key');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const digestsFile = path.join(dir, 'file-race.digests.ndjson');
    const keeper = await IntegrityKeeper.open(store, {
      signer: keyFileSigner(keyFile),
      digestsFile,
      signIntervalMs: 3_600_000,
    });
    try {
      await store.write([ev('a', 1)]);
      const signedThrough = await keeper.signNow();
      // The store's records are read, then a batch is committed (and copied to the file), then the
      // file is read.
      const integ = await store.integrity();
      const view = Object.create(integ) as IntegrityStorage;
      view.records = async function* () {
        yield* integ.records();
        await store.write([ev('b', 2)]);
      };
      const racingStore = { integrity: () => Promise.resolve(view) } as unknown as Store;
      const report = await verifyStore(racingStore, { publicKey, digestsFile, signedThrough });
      expect(report.findings).toEqual([]);
      // Without the signature's place, the same read reports the record the store did not show.
      view.records = async function* () {
        const all = [];
        for await (const r of integ.records()) all.push(r);
        yield* all.slice(0, -1);
      };
      const stale = await verifyStore(racingStore, { publicKey, digestsFile });
      expect(stale.findings.map((f) => f.detail)).toContainEqual(
        expect.stringMatching(/record 3 of .* missing from the store/),
      );
    } finally {
      await keeper.close();
      await store.close();
    }
  });
});
