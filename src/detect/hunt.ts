// Batch hunting: runs the engine over events already stored (oldest first, read with the store's
// allEvents) or over audit log files, the same evaluation the live pipeline does, so hunting over history
// raises the alerts the stream would have.
import type { EventRecord } from '../core/event.js';
import type { TimeRange } from '../store/store.js';
import { eventTime, timeToMicros } from '../core/time.js';
import type { DetectionEngine } from './engine.js';
import type { Alert } from './types.js';

/** Keeps the events of a time range (epoch µs) from a source. */
export async function* inRange(
  source: AsyncIterable<EventRecord[]>,
  range: TimeRange,
): AsyncGenerator<EventRecord[]> {
  if (range.since === undefined && range.until === undefined) {
    yield* source;
    return;
  }
  for await (const batch of source) {
    const kept = batch.filter((r) => {
      const t = timeToMicros(eventTime(r.event));
      if (t === undefined) return false;
      return (
        (range.since === undefined || t >= range.since) && (range.until === undefined || t < range.until)
      );
    });
    if (kept.length > 0) yield kept;
  }
}

/** Runs the engine over a source; `onAlerts` hears each batch's alerts. Returns the number of events seen. */
export async function hunt(
  source: AsyncIterable<EventRecord[]>,
  engine: DetectionEngine,
  onAlerts: (alerts: Alert[]) => void | Promise<void>,
): Promise<number> {
  let events = 0;
  for await (const batch of source) {
    events += batch.length;
    const alerts = engine.processBatch(batch);
    if (alerts.length > 0) await onAlerts(alerts);
  }
  return events;
}
