// Loading an evidence bundle into a store: the bundle is verified first (nothing is written from a
// bundle with any finding), then its events are read again line by line and written in batches. Events
// are written as the bundle holds them (already redacted by the store they came from), so the store's
// deduplication (cluster, auditID, stage, content) makes importing the same bundle twice harmless.
import { createHash, type KeyObject } from 'node:crypto';
import type { EventRecord } from '../core/event.js';
import { KubetrailError } from '../core/errors.js';
import { LineSplitter } from '../ingest/line-splitter.js';
import { parseJsonDocument } from '../ingest/json-text.js';
import { normalizeEvent } from '../ingest/normalize.js';
import type { Store } from '../store/store.js';
import { EVENTS, type Manifest } from './manifest.js';
import { readTarGz } from './tar.js';
import { assertVerified, verifyBundle, type VerifyResult } from './verify.js';

export interface BundleImport {
  manifest: Manifest;
  verify: VerifyResult;
  read: number;
  stored: number;
  duplicates: number;
}

/** The most bytes one event line of a bundle may have. */
export const MAX_BUNDLE_LINE = 16 * 1024 * 1024;

function lineError(file: string, line: number, message: string): KubetrailError {
  return new KubetrailError('KT_BUNDLE_READ', `${EVENTS} line ${line}: ${message}`, {
    where: { file, line },
  });
}

/** One line of events.ndjson as a record, or a coded error naming the line. */
export function recordOfLine(text: string, line: number, file: string): EventRecord {
  let value: unknown;
  try {
    value = parseJsonDocument(text);
  } catch (err) {
    throw lineError(file, line, `not JSON: ${(err as Error).message}`);
  }
  const v = value as { cluster?: unknown; event?: unknown };
  if (typeof v !== 'object' || v === null || typeof v.cluster !== 'string' || v.cluster === '')
    throw lineError(file, line, 'a record needs a non-empty "cluster" and an "event"');
  const n = normalizeEvent(v.event);
  if ('error' in n) throw lineError(file, line, n.error);
  return { cluster: v.cluster, event: n.event };
}

/** Verifies the bundle, then writes its events to the store. */
export async function importBundle(
  file: string,
  store: Store,
  opts: { publicKey?: KeyObject; batchSize?: number; onBatch?: (read: number) => void } = {},
): Promise<BundleImport> {
  const verify = await verifyBundle(file, opts.publicKey);
  assertVerified(file, verify);
  const manifest = verify.manifest;
  const expected = manifest.members.find((m) => m.name === EVENTS)!;
  const batchSize = opts.batchSize ?? 2000;
  let read = 0;
  let stored = 0;
  let duplicates = 0;
  let batch: EventRecord[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const r = await store.write(batch);
    stored += r.stored;
    duplicates += r.duplicates;
    batch = [];
    opts.onBatch?.(read);
  };
  const hash = createHash('sha256');
  await readTarGz(file, (name) => {
    if (name !== EVENTS) return { data() {}, end() {} };
    const splitter = new LineSplitter(0, 0, MAX_BUNDLE_LINE);
    const take = async (lines: { text: string; line: number }[]) => {
      for (const l of lines) {
        if (l.text.trim() === '') continue;
        batch.push(recordOfLine(l.text, l.line, file));
        read++;
        if (batch.length >= batchSize) await flush();
      }
    };
    return {
      async data(chunk) {
        hash.update(chunk);
        const r = splitter.push(Buffer.from(chunk));
        if (r.oversized.length > 0)
          throw lineError(file, r.oversized[0]!.line, `longer than ${MAX_BUNDLE_LINE} bytes`);
        await take(r.lines);
      },
      async end() {
        await take(splitter.finish().lines);
        await flush();
      },
    };
  });
  if (hash.digest('hex') !== expected.sha256)
    throw new KubetrailError('KT_BUNDLE_INVALID', `${EVENTS} changed while it was imported`, {
      where: { file },
    });
  return { manifest, verify, read, stored, duplicates };
}
