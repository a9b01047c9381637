// Sink: the store (DuckDB or ClickHouse), the durable sink every topology has. It deduplicates (cluster,
// auditID, stage, content), so a batch sent again is stored once, and says which records were new when a
// follower sink will be told of them.
import type { Store } from '../../store/store.js';
import type { Sink } from '../contracts.js';

export function storeSink(store: Store): Sink {
  return {
    name: 'store',
    role: 'durable',
    write: (records, opts) => store.write(records, opts.fresh ? { reportNew: true } : {}),
  };
}
