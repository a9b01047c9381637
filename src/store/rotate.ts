// `kubetrail key rotate`: re-seals every stored event under a new data key without losing one, on any
// back end that offers Store.keyRotation(). Also encrypts a plain store (no old key).
//
// Crash-safe and resumable: the store first records that it is rotating to the new key (from then on,
// a normal open refuses it until the rotation is finished). Rows still sealed under the old key (or
// plain) are read in (ts, content_hash) order, opened, sealed under the new key and written as any write
// is (deduplicated by content hash, so a rerun after a crash adds nothing twice); only when every row
// has its new copy are the old rows removed, and then the store records the new key. A crash at any
// point leaves every event readable under one key or the other, and running the same rotation again
// finishes it.
import { KubetrailError } from '../core/errors.js';
import type { DataKey } from '../crypto/cipher.js';
import { toRow } from './columns.js';
import { openStored, sealRow } from './sealing.js';
import type { Store } from './store.js';

export interface RotationResult {
  /** Events re-sealed under the new key. */
  events: number;
  /** True when the store was already under the new key (nothing done). */
  already: boolean;
}

/** Rows read and re-sealed at once, by default. */
const BATCH = 2000;

/**
 * Re-seals the events of a store opened with OpenOptions.rotateTo = `next` (and `key` = `old`, absent
 * for a plain store). `progress` is called after each batch with the events re-sealed so far.
 */
export async function rotateStoreKey(
  store: Store,
  old: DataKey | undefined,
  next: DataKey,
  progress: (events: number) => void = () => undefined,
  batch = BATCH,
): Promise<RotationResult> {
  if (!store.keyRotation)
    throw new KubetrailError('KT_STORE_OPEN', 'this store cannot be re-keyed from here', {
      hint: 'a DuckDB store held by a running server: stop the server first',
    });
  const r = store.keyRotation();
  const state = await r.state();
  if (state.keyId === next.id && state.rotatingTo === undefined) return { events: 0, already: true };
  if (old?.id === next.id)
    throw new KubetrailError('KT_USAGE', 'the new key is the key the store already has', {
      where: { path: '--new-key-file' },
      hint: 'make a new key with `kubetrail key create --out FILE`',
    });
  // A rotation that was interrupted keeps the time it began: the digest records made before it name the
  // rows it replaces (the rekey record, src/store/integrity.ts).
  const startedAt =
    state.rotatingTo === next.id && state.rotationStartedAt !== undefined
      ? state.rotationStartedAt
      : Date.now() * 1000;
  await r.setState({ ...(old ? { keyId: old.id } : {}), rotatingTo: next.id, rotationStartedAt: startedAt });
  let events = 0;
  let after: { t: number; hash: string } | undefined;
  for (;;) {
    const rows = await r.rowsUnder(old?.id, after, batch);
    if (rows.length === 0) break;
    await r.writeRows(rows.map((row) => sealRow(toRow(openStored(row, old)), next)));
    events += rows.length;
    progress(events);
    const last = rows[rows.length - 1]!;
    after = { t: last.t, hash: last.hash };
  }
  // Detection's tables in the same file (alert messages, engine state) follow the events.
  await r.resealTables?.(old, next);
  await r.deleteUnder(old?.id, { keyId: next.id, startedAt });
  // Nothing may be left under the old key (a row written by another process meanwhile, say).
  const left = await r.rowsUnder(old?.id, undefined, 1);
  if (left.length > 0)
    throw new KubetrailError(
      'KT_STORE_WRITE',
      `events under the old key remain in ${r.where} after the rotation (was another process writing?)`,
      { hint: 'stop every writer and run the same `kubetrail key rotate` again to finish' },
    );
  await r.setState({ keyId: next.id });
  return { events, already: false };
}
