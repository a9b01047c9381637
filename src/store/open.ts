// Opens the store named by a location: a file path (or `duckdb:PATH`) for the embedded DuckDB store, or
// `clickhouse://USER:PASSWORD@HOST:8123/DATABASE` (`clickhouses://` for HTTPS) for the ClickHouse store.
import { KubetrailError } from '../core/errors.js';
import type { Store } from './store.js';

export function defaultDbPath(): string {
  return process.env.KUBETRAIL_DB ?? './data/kubetrail.duckdb';
}

/** True when the location names a ClickHouse store. */
export function isClickHouseLocation(location: string): boolean {
  return /^clickhouses?:\/\//i.test(location);
}

export async function openStore(location: string, opts: { readOnly?: boolean } = {}): Promise<Store> {
  if (isClickHouseLocation(location)) {
    // Loaded on first use, like the DuckDB store: most commands never need the HTTP client.
    const { openClickHouseStore } = await import('./clickhouse/store.js');
    return openClickHouseStore(location, opts);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && !location.startsWith('duckdb:')) {
    throw new KubetrailError(
      'KT_STORE_OPEN',
      `unsupported store location ${JSON.stringify(location.replace(/\/\/[^@/]*@/, '//…@'))}`,
      {
        hint: 'give a DuckDB file path (or duckdb:PATH), or clickhouse://USER:PASSWORD@HOST:8123/DATABASE',
      },
    );
  }
  // Loaded on first use: the native DuckDB binding is the slowest part of the CLI's start-up.
  const { openDuckDBStore } = await import('./duckdb/store.js');
  return openDuckDBStore(location.replace(/^duckdb:/, ''), opts);
}
