// Encryption at rest of stored rows (docs/security.md, "Encryption at rest"), shared by every back end:
// which columns stay in clear, sealing a row before it reaches a back end's writer, opening a stored
// event again, and the rules for opening a store with or without a data key.
//
// A sealed row keeps in clear only the index columns (INDEX_COLUMNS); `event` and `annotations` hold
// sealed text (AES-256-GCM, src/crypto/cipher.ts) bound to the row's cluster and content hash, so that
// a sealed value moved to another row does not open; every other column is empty. The content hash is
// an HMAC under a key derived from the data key: equal events still deduplicate, and the hash reveals
// nothing about the event without the key.
import type { EventRecord } from '../core/event.js';
import { KubetrailError } from '../core/errors.js';
import { type DataKey, isSealed, sealedKeyId } from '../crypto/cipher.js';
import { EVENT_COLUMNS, toRow, type ColumnName, type EventRow } from './columns.js';

/** The columns a sealed row keeps in clear: what SQL may filter, group and page on. */
export const INDEX_COLUMNS: ReadonlySet<string> = new Set<ColumnName>([
  'ts',
  'cluster',
  'audit_id',
  'stage',
  'content_hash',
  'level',
  'verb',
  'username',
  'resource',
  'subresource',
  'namespace',
  'name',
  'api_group',
  'code',
]);

/** HKDF purpose of the content-hash key. */
const CONTENT_HASH_PURPOSE = 'content hash v1';

/** The content hash of a sealed row: HMAC-SHA256 of cluster, NUL and the event JSON, 32 hex digits. */
export function sealedContentHash(key: DataKey, cluster: string, eventJson: string): string {
  return key.mac(CONTENT_HASH_PURPOSE, `${cluster}\0${eventJson}`).slice(0, 32);
}

/** The additional authenticated data of a sealed column: the column and the row's identity. */
const aad = (column: 'event' | 'annotations', cluster: string, hash: string) =>
  `${column}\0${cluster}\0${hash}`;

/** Columns that are neither in clear nor sealed text: emptied in a sealed row. */
const EMPTIED = EVENT_COLUMNS.filter(([c]) => !INDEX_COLUMNS.has(c) && c !== 'event' && c !== 'annotations');

/** Seals a row built by toRow: index columns in clear, event and annotations sealed, the rest empty. */
export function sealRow(row: EventRow, key: DataKey): EventRow {
  const hash = sealedContentHash(key, row.cluster, row.event);
  const out = { ...row } as Record<ColumnName, unknown>;
  for (const [c, type] of EMPTIED) out[c] = type === 'varchar[]' ? [] : null;
  out.content_hash = hash;
  out.event = key.sealText(row.event, aad('event', row.cluster, hash));
  out.annotations =
    row.annotations === null ? null : key.sealText(row.annotations, aad('annotations', row.cluster, hash));
  return out as unknown as EventRow;
}

/** The row a store writes for a record: sealed with the store's key, when it has one. */
export function rowOf(record: EventRecord, key: DataKey | undefined): EventRow {
  const row = toRow(record);
  return key ? sealRow(row, key) : row;
}

/** A stored row as read back for a record: its cluster, content hash and event text. */
export interface StoredEvent {
  cluster: string;
  hash: string;
  event: string;
}

/**
 * The record of a stored row. A plain store's event is JSON; an encrypted store's is sealed text that
 * opens only with its key and only in its own row (KT_KEY_MISMATCH otherwise, as for a row not sealed).
 */
export function openStored(row: StoredEvent, key: DataKey | undefined): EventRecord {
  if (!key) {
    if (isSealed(row.event))
      throw new KubetrailError(
        'KT_KEY_REQUIRED',
        `the stored events are encrypted with key ${sealedKeyId(row.event)}`,
      );
    return { cluster: row.cluster, event: JSON.parse(row.event) as EventRecord['event'] };
  }
  if (!isSealed(row.event))
    throw new KubetrailError(
      'KT_KEY_MISMATCH',
      `a stored event (cluster ${JSON.stringify(row.cluster)}, content hash ${row.hash}) is not encrypted in an encrypted store: it was written behind kubetrail's back`,
      { hint: 'run `kubetrail verify` to see what was changed' },
    );
  const json = key.openText(row.event, aad('event', row.cluster, row.hash));
  return { cluster: row.cluster, event: JSON.parse(json) as EventRecord['event'] };
}

// ------------------------------------------------------------------ the store's encryption state

/** What a store records about its encryption (a small meta table in each back end). */
export interface EncryptionState {
  /** Id of the key the store's events are sealed with; absent for a plain store. */
  keyId?: string;
  /** Set while `kubetrail key rotate` re-seals the events under this key. */
  rotatingTo?: string;
  /**
   * With rotatingTo: when the rotation began (epoch µs). The digest records made before it name the rows
   * the rotation replaces (src/store/integrity.ts, the rekey record).
   */
  rotationStartedAt?: number;
}

/** Meta keys of the state. */
export const META_KEY_ID = 'encryption.key_id';
export const META_ROTATING_TO = 'encryption.rotating_to';
export const META_ROTATION_STARTED = 'encryption.rotation_started_us';

/** The state as meta values (absent ones as ''), and back. */
export function stateToMeta(state: EncryptionState): [string, string][] {
  return [
    [META_KEY_ID, state.keyId ?? ''],
    [META_ROTATING_TO, state.rotatingTo ?? ''],
    [META_ROTATION_STARTED, state.rotationStartedAt !== undefined ? String(state.rotationStartedAt) : ''],
  ];
}

export function stateFromMeta(get: (key: string) => string | undefined): EncryptionState {
  const keyId = get(META_KEY_ID) || undefined;
  const rotatingTo = get(META_ROTATING_TO) || undefined;
  const started = Number(get(META_ROTATION_STARTED) || NaN);
  return {
    ...(keyId ? { keyId } : {}),
    ...(rotatingTo ? { rotatingTo } : {}),
    ...(rotatingTo && Number.isSafeInteger(started) ? { rotationStartedAt: started } : {}),
  };
}

/** What opening a store with a key (or none) does once the checks pass. */
export type KeyDecision =
  /** Open as it is. */
  | 'open'
  /** An empty plain store opened with a key: record the key id (a writer does), then open. */
  | 'adopt'
  /** A rotation: the store is (being) re-sealed under the new key. */
  | 'rotate'
  /** A rotation whose new key is already the store's key: nothing to do. */
  | 'rotated';

const rotateAgain = (to: string) =>
  `run \`kubetrail key rotate\` again with the same --key-file and --new-key-file (new key ${to}) to finish it`;

/**
 * Checks the key a store is opened with against what the store records, before anything is changed.
 * `hasEvents`: whether the store holds events (a plain store with events refuses a key). With
 * `rotateTo`, the checks of `kubetrail key rotate` (`key` is then the old key, absent for a plain store).
 */
export function decideKey(
  state: EncryptionState,
  key: DataKey | undefined,
  opts: { hasEvents: boolean; where: string; rotateTo?: DataKey; withoutKey?: boolean },
): KeyDecision {
  const where = { where: { file: opts.where } };
  if (opts.rotateTo) {
    const next = opts.rotateTo;
    if (state.keyId === next.id && state.rotatingTo === undefined) return 'rotated';
    if (state.rotatingTo !== undefined && state.rotatingTo !== next.id)
      throw new KubetrailError(
        'KT_KEY_MISMATCH',
        `${opts.where} is part way through a rotation to key ${state.rotatingTo}, not to the new key given (${next.id})`,
        { ...where, hint: 'give the key that rotation was started with as --new-key-file' },
      );
    if (state.keyId === undefined && key)
      throw new KubetrailError(
        'KT_KEY_UNEXPECTED',
        `${opts.where} is not encrypted; --key-file names an old key it does not have`,
        {
          ...where,
          hint: 'leave out --key-file to encrypt the store with --new-key-file',
        },
      );
    if (state.keyId !== undefined && !key)
      throw new KubetrailError('KT_KEY_REQUIRED', `${opts.where} is encrypted with key ${state.keyId}`, {
        ...where,
        hint: 'give its key as --key-file and the new one as --new-key-file',
      });
    if (state.keyId !== undefined && key && key.id !== state.keyId)
      throw new KubetrailError(
        'KT_KEY_MISMATCH',
        `${opts.where} is encrypted with key ${state.keyId}; --key-file is key ${key.id}`,
        where,
      );
    return 'rotate';
  }
  if (state.rotatingTo !== undefined)
    throw new KubetrailError(
      'KT_STORE_OPEN',
      `a key rotation of ${opts.where} to key ${state.rotatingTo} did not finish: its events are sealed under two keys`,
      { ...where, hint: rotateAgain(state.rotatingTo) },
    );
  if (state.keyId !== undefined) {
    if (!key && opts.withoutKey) return 'open';
    if (!key)
      throw new KubetrailError(
        'KT_KEY_REQUIRED',
        `${opts.where} is encrypted with key ${state.keyId}`,
        where,
      );
    if (key.id !== state.keyId)
      throw new KubetrailError(
        'KT_KEY_MISMATCH',
        `${opts.where} is encrypted with key ${state.keyId}; the key given is ${key.id}`,
        where,
      );
    return 'open';
  }
  if (!key) return 'open';
  if (opts.hasEvents)
    throw new KubetrailError('KT_KEY_UNEXPECTED', `${opts.where} holds events that are not encrypted`, where);
  return 'adopt';
}

/** What `kubetrail key rotate` needs of a back end (src/store/rotate.ts runs the rotation). */
export interface KeyRotationStorage {
  /** The store, for messages (never a password). */
  readonly where: string;
  state(): Promise<EncryptionState>;
  setState(state: EncryptionState): Promise<void>;
  /** Up to `limit` rows sealed under `keyId` (plain when undefined), in (ts, content_hash) order after `after`. */
  rowsUnder(
    keyId: string | undefined,
    after: { t: number; hash: string } | undefined,
    limit: number,
  ): Promise<(StoredEvent & { t: number })[]>;
  /** Writes sealed rows as any write does (deduplicated by content hash, so a rerun adds nothing twice). */
  writeRows(rows: readonly EventRow[]): Promise<unknown>;
  /** Removes every row sealed under `keyId` (plain rows when undefined). */
  /**
   * Removes the rows sealed under `keyId` (plain when undefined) and, with them, appends the signed
   * `rekey` digest record that says so (the rows were written again under `rekey.keyId` since
   * `rekey.startedAt`), so that the removal is not taken for tampering.
   */
  deleteUnder(keyId: string | undefined, rekey: { keyId: string; startedAt: number }): Promise<void>;
  /**
   * Seals the other tables the store keeps with event text (detection's alerts, outbox and state in a
   * DuckDB file) again under `to`; idempotent. Absent when the store keeps none.
   */
  resealTables?(from: DataKey | undefined, to: DataKey): Promise<void>;
}
