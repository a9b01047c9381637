// Where the policy commands read events from when they read files: audit log files (or standard input)
// through the ingest reader. Stored events come from a store the caller opened, page by page in time
// order (allEvents in src/store/paging.ts), so that a server holding the store can answer for it.
import type { EventRecord } from '../core/event.js';
import { createMemoryQuarantine, readEvents, type Quarantine } from '../ingest/index.js';

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
