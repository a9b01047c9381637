// Where the policy commands read events from: audit log files (or standard input) through the ingest
// reader, or every event in the store, page by page in time order.
import type { EventRecord } from '../core/event.js';
import { createMemoryQuarantine, readEvents, type Quarantine } from '../ingest/index.js';
import { openStore } from '../store/open.js';

/** Batches of events from files, directories, .gz or `-` (standard input). */
export function fileBatches(
  paths: readonly string[],
  opts: { cluster?: string; quarantine?: Quarantine; stdin?: NodeJS.ReadableStream } = {},
): AsyncIterable<EventRecord[]> {
  return readEvents([...paths], {
    cluster: opts.cluster ?? 'default',
    quarantine: opts.quarantine ?? createMemoryQuarantine(),
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
  });
}

/** Every stored event, oldest first, in pages; the store is opened read-only and closed at the end. */
export async function* storeBatches(location: string, pageSize = 5000): AsyncGenerator<EventRecord[]> {
  const store = await openStore(location, { readOnly: true });
  try {
    let cursor: string | undefined;
    do {
      const page = await store.query({
        filter: { type: 'all' },
        limit: pageSize,
        order: 'asc',
        ...(cursor ? { cursor } : {}),
      });
      if (page.records.length > 0) yield page.records;
      cursor = page.nextCursor;
    } while (cursor);
  } finally {
    await store.close();
  }
}
