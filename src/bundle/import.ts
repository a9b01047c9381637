// Loading an evidence bundle into a store: the bundle is verified first (nothing is written from a
// bundle with any finding), then its events are read again line by line and written in batches. Events
// are written as the bundle holds them (already redacted by the store they came from), so the store's
// deduplication (cluster, auditID, stage, content) makes importing the same bundle twice harmless.
import { createHash, type KeyObject } from 'node:crypto';
import { SEVERITIES, type Alert } from '../core/alert.js';
import type { EventRecord } from '../core/event.js';
import { z } from 'zod';
import { KubetrailError } from '../core/errors.js';
import { LineSplitter } from '../ingest/line-splitter.js';
import { parseJsonDocument } from '../ingest/json-text.js';
import { normalizeEvent } from '../ingest/normalize.js';
import type { Store } from '../store/store.js';
import { ALERTS, EVENTS, MANIFEST, type Manifest } from './manifest.js';
import { firstMemberName, readTarGz } from './tar.js';
import { assertVerified, verifyBundle, type VerifyResult } from './verify.js';

export interface BundleImport {
  manifest: Manifest;
  verify: VerifyResult;
  read: number;
  stored: number;
  duplicates: number;
  /** Alerts of the bundle newly stored in the store's alert tables (undefined: the store keeps none here). */
  alertsStored?: number;
}

const alertSchema = z.strictObject({
  id: z.string().min(1).max(200),
  rule: z.string().max(200),
  title: z.string().max(1000),
  severity: z.enum(SEVERITIES),
  time: z.string().max(64),
  cluster: z.string().max(1000),
  auditIDs: z.array(z.string().max(200)).max(1000),
  message: z.string().max(100_000),
  references: z.array(z.string().max(1000)).max(1000),
  key: z.string().max(10_000),
  count: z.number().int().min(0),
});

/** One line of alerts.ndjson as an alert, or a coded error naming the line. */
export function alertOfLine(text: string, line: number, file: string): Alert {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new KubetrailError(
      'KT_BUNDLE_READ',
      `${ALERTS} line ${line}: not JSON: ${(err as Error).message}`,
      {
        where: { file, line },
      },
    );
  }
  const r = alertSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new KubetrailError(
      'KT_BUNDLE_READ',
      `${ALERTS} line ${line}: not an alert: ${issue.path.map(String).join('.')}: ${issue.message}`,
      { where: { file, line } },
    );
  }
  return r.data;
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
  const alerts: Alert[] = [];
  await readTarGz(file, (name) => {
    if (name === ALERTS) {
      const splitter = new LineSplitter(0, 0, MAX_BUNDLE_LINE);
      const take = (lines: { text: string; line: number }[]) => {
        for (const l of lines) if (l.text.trim() !== '') alerts.push(alertOfLine(l.text, l.line, file));
      };
      return {
        data: (chunk) => take(splitter.push(Buffer.from(chunk)).lines),
        end: () => take(splitter.finish().lines),
      };
    }
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
  // The alerts go where the store keeps its own (not into a shared store's per-collector state).
  let alertsStored: number | undefined;
  if (alerts.length > 0) {
    const det = await store.detection();
    try {
      if (det.targets.length === 0) alertsStored = (await det.state.save(alerts)).length;
    } finally {
      await det.close();
    }
  }
  return {
    manifest,
    verify,
    read,
    stored,
    duplicates,
    ...(alertsStored !== undefined ? { alertsStored } : {}),
  };
}

/** Whether a path is an evidence bundle (a gzip-compressed tar whose first member is the manifest). */
export async function isBundleFile(file: string): Promise<boolean> {
  return (await firstMemberName(file)) === MANIFEST;
}
