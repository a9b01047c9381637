// Sink: the live stream (`kubetrail tail`, the UI's live view). A follower: it hears only records newly
// stored, after the store has them, and never waits for its clients (the hub queues and drops slow ones).
import type { EventRecord } from '../../core/event.js';
import type { Sink } from '../contracts.js';

/** What the live stream offers the pipeline (src/server/live.ts). */
export interface LiveStream {
  publish(records: readonly EventRecord[]): void;
}

export function liveSink(live: LiveStream): Sink {
  return {
    name: 'live',
    role: 'follower',
    write: (records) => {
      if (records.length > 0) live.publish(records);
    },
  };
}
