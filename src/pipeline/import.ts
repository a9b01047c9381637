// Runs an import: batches from a source go through the transforms (the per-event size cap of
// src/ingest/truncate.ts, then policy, redaction, detection) into the store. Reading the next batch overlaps with writing the previous one; at most one write is in
// flight, so memory stays bounded by two batches whatever the input size.
import type { EventRecord } from '../core/event.js';
import { DEFAULT_MAX_EVENT_BYTES, truncateTransform } from '../ingest/truncate.js';
import { runTransforms, type Transform } from '../core/transform.js';
import type { Store } from '../store/store.js';

export interface ImportSummary {
  /** Events decoded from the source. */
  read: number;
  /** Events newly stored. */
  stored: number;
  /** Events already in the store. */
  duplicates: number;
  /** Events the transforms dropped (policy level None, omitted stages). */
  dropped: number;
  /** Records set aside as not being events. */
  quarantined: number;
  /** Events larger than the cap, stored without their bodies (annotation audit.k8s.io/truncated). */
  truncated: number;
  seconds: number;
  /** Events read per second. */
  rate: number;
}

export interface ImportRun {
  source: AsyncIterable<EventRecord[]>;
  store: Store;
  transforms?: readonly Transform[];
  /** Current count of quarantined records (read at the end). */
  quarantined?: () => number;
  onBatch?: (progress: { read: number; stored: number; duplicates: number }) => void;
  /** Events gathered into one store write (larger writes are much cheaper per event). */
  writeBatch?: number;
  /** Largest event stored whole, in bytes (default DEFAULT_MAX_EVENT_BYTES). */
  maxEventBytes?: number;
}

export async function runImport(run: ImportRun): Promise<ImportSummary> {
  const started = performance.now();
  const truncate = truncateTransform(run.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES);
  const transforms = [truncate, ...(run.transforms ?? [])];
  let read = 0;
  let stored = 0;
  let duplicates = 0;
  let dropped = 0;
  let pending: Promise<void> | undefined;

  const write = async (batch: EventRecord[]) => {
    const result = await run.store.write(batch);
    stored += result.stored;
    duplicates += result.duplicates;
    run.onBatch?.({ read, stored, duplicates });
  };

  const writeBatch = run.writeBatch ?? 10_000;
  let gathered: EventRecord[] = [];
  const flush = async () => {
    if (pending) await pending;
    const out = gathered;
    gathered = [];
    pending = out.length > 0 ? write(out) : undefined;
    // Marked handled now; the error is raised by the next await of `pending`, in order.
    pending?.catch(() => undefined);
  };
  for await (const batch of run.source) {
    read += batch.length;
    const out = await runTransforms(transforms, batch);
    dropped += batch.length - out.length;
    for (const r of out) gathered.push(r);
    if (gathered.length >= writeBatch) await flush();
  }
  await flush();
  if (pending) await pending;
  for (const t of transforms) await t.close?.();

  const seconds = (performance.now() - started) / 1000;
  return {
    read,
    stored,
    duplicates,
    dropped,
    quarantined: run.quarantined?.() ?? 0,
    truncated: truncate.stats.truncated,
    seconds,
    rate: seconds > 0 ? read / seconds : read,
  };
}
