// Sealing the records of kubetrail's own files under the data directory (the quarantine, dead letters,
// the access log, the webhook's segment log, forwarder queues, detection's state and alerts) with the
// data key, and opening them again. Each file keeps its framing; only what carries event content is
// sealed:
// - a JSON record keeps its bookkeeping fields (time, file, line, names) in clear and holds everything
//   else in one field `sealed` (text form, src/crypto/cipher.ts); a record without `sealed` is a record
//   written without a key, read as it is;
// - a binary payload is sealed whole (binary form, starting "KT1"); a payload without that header was
//   written without a key (every plain payload kubetrail writes starts with `{`);
// - a text value is sealed whole (text form).
// Without a key nothing is sealed (the files are byte for byte as they were). Reading a sealed record
// without the key fails with KT_KEY_REQUIRED; with another key, or after a change, with KT_KEY_MISMATCH.
// The AAD of each record names its place (the file kind, and a row's id where there is one), so a sealed
// value cannot be moved to another place unnoticed.
import { readFile } from 'node:fs/promises';
import { KubetrailError } from '../core/errors.js';
import { writeFileAtomic } from '../core/state-file.js';
import { isSealed, isSealedBytes, sealedKeyId, type DataKey } from './cipher.js';

/** The error for sealed data met without a key; `what` names the file or table. */
export function keyRequired(what: string): KubetrailError {
  return new KubetrailError('KT_KEY_REQUIRED', `${what} is encrypted and no data key was given`, {
    hint: 'give the key with --key-file FILE, KUBETRAIL_KEY_FILE or encryption.keyFile in the configuration',
  });
}

/** The field holding a record's sealed part. */
export const SEALED_FIELD = 'sealed';

/**
 * The record with every field not in `clear` sealed into one `sealed` field (clear fields first, in
 * their order); the record itself when there is no key.
 */
export function sealFields(
  record: Record<string, unknown>,
  clear: readonly string[],
  key: DataKey | undefined,
  aad: string,
): Record<string, unknown> {
  if (!key) return record;
  const out: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (clear.includes(k)) out[k] = v;
    else rest[k] = v;
  }
  out[SEALED_FIELD] = key.sealText(JSON.stringify(rest), aad);
  return out;
}

/** A record as sealFields wrote it, opened (its sealed fields back in place); a plain record as it is. */
export function openFields(
  record: Record<string, unknown>,
  key: DataKey | undefined,
  aad: string,
  what: string,
): Record<string, unknown> {
  const sealed = record[SEALED_FIELD];
  if (typeof sealed !== 'string') return record;
  if (!key) throw keyRequired(what);
  const { [SEALED_FIELD]: _, ...clear } = record;
  return { ...clear, ...(JSON.parse(key.openText(sealed, aad)) as Record<string, unknown>) };
}

/** A payload sealed whole (binary form); the payload itself when there is no key. */
export function sealPayload(payload: Buffer, key: DataKey | undefined, aad: string): Buffer {
  return key ? key.sealBytes(payload, aad) : payload;
}

/** Whether a payload is sealed (starts with the binary header). */
export function isSealedPayload(payload: Buffer): boolean {
  return isSealedBytes(payload);
}

/** A payload as sealPayload wrote it, opened; a plain payload as it is. */
export function openPayload(payload: Buffer, key: DataKey | undefined, aad: string, what: string): Buffer {
  if (!isSealedBytes(payload)) return payload;
  if (!key) throw keyRequired(what);
  return key.openBytes(payload, aad);
}

/** A text value sealed whole (text form); the value itself when there is no key. */
export function sealValue(value: string, key: DataKey | undefined, aad: string): string {
  return key ? key.sealText(value, aad) : value;
}

/**
 * A value as sealValue wrote it, opened with the key. Without a key the value is returned as it is: a
 * caller whose plain values may look sealed (text from events) tells sealed places apart by a marker of
 * its own (see src/store/duckdb/detection-state.ts) and refuses them without a key before reading.
 */
export function openValue(value: string, key: DataKey | undefined, aad: string): string {
  return key && isSealed(value) ? key.openText(value, aad) : value;
}

/** The keys a re-seal reads with: the old one, and the new one for what an earlier run re-sealed already. */
export interface Reseal {
  /** The key the data is sealed with now (undefined: it is plain). */
  from: DataKey | undefined;
  /** The key to seal with. */
  to: DataKey;
}

/** The key that opens a sealed text: `to` when it sealed it (an interrupted re-seal), else `from`. */
function keyFor(sealedBy: string | undefined, r: Reseal, what: string): DataKey {
  if (sealedBy === r.to.id) return r.to;
  if (!r.from) throw keyRequired(what);
  return r.from;
}

/** A record as sealFields wrote it (or plain), sealed again with `r.to`. */
export function resealFields(
  record: Record<string, unknown>,
  clear: readonly string[],
  aad: string,
  r: Reseal,
  what: string,
): Record<string, unknown> {
  const sealed = record[SEALED_FIELD];
  // A plain record with nothing to seal (an access log line without a filter) stays as it is.
  if (typeof sealed !== 'string' && Object.keys(record).every((k) => clear.includes(k))) return record;
  const key = typeof sealed === 'string' ? keyFor(sealedKeyId(sealed), r, what) : undefined;
  return sealFields(openFields(record, key, aad, what), clear, r.to, aad);
}

/** A sealed payload sealed again with `r.to` (same length); a plain payload is left as it is. */
export function resealPayload(payload: Buffer, aad: string, r: Reseal, what: string): Buffer {
  if (!isSealedBytes(payload)) return payload;
  const by = payload.subarray(3, 11).toString('hex');
  return r.to.sealBytes(keyFor(by, r, what).openBytes(payload, aad), aad);
}

/** A value as sealValue wrote it sealed again with `r.to`; `plain` says the value is not sealed yet. */
export function resealValue(value: string, aad: string, r: Reseal, plain: boolean, what: string): string {
  if (plain) return r.to.sealText(value, aad);
  return r.to.sealText(keyFor(sealedKeyId(value), r, what).openText(value, aad), aad);
}

/**
 * Re-seals a JSON-lines file of records as sealFields writes them (plain lines get sealed) and replaces it
 * atomically; returns the number of records. A file that does not exist is left alone (0).
 */
export async function resealJsonLinesFile(
  file: string,
  clear: readonly string[],
  aad: string,
  r: Reseal,
): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const lines = text.split('\n').filter((l) => l !== '');
  const out = lines.map((l) =>
    JSON.stringify(resealFields(JSON.parse(l) as Record<string, unknown>, clear, aad, r, file)),
  );
  await writeFileAtomic(file, out.map((l) => `${l}\n`).join(''));
  return lines.length;
}
