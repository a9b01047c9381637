// The ClickHouse back end as the store registry (src/store/open.ts) knows it.
import type { StoreBackend } from '../backend.js';
import { explainClickHouse } from './explain.js';
import { isClickHouseLocation } from './location.js';

export const clickhouseBackend: StoreBackend = {
  name: 'clickhouse',
  locations: 'clickhouse://USER:PASSWORD@HOST:8123/DATABASE (clickhouses:// for HTTPS)',
  recognizes: isClickHouseLocation,
  async open(location, opts) {
    // Loaded on first use: most commands never need the HTTP client.
    const { openClickHouseStore } = await import('./store.js');
    return openClickHouseStore(location, opts);
  },
  explain: (_location, filter, range, now, encrypted) => explainClickHouse(filter, range, now, encrypted),
  // The location names a server: nothing of it is on this machine.
  directory: () => undefined,
};
