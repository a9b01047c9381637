// Opens the store named by a location: a file path (or `duckdb:PATH`) for the embedded DuckDB store.
import { KubetrailError } from '../core/errors.js';
import type { Store } from './store.js';

export function defaultDbPath(): string {
  return process.env.KUBETRAIL_DB ?? './data/kubetrail.duckdb';
}

export async function openStore(location: string, opts: { readOnly?: boolean } = {}): Promise<Store> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && !location.startsWith('duckdb:')) {
    throw new KubetrailError(
      'KT_STORE_OPEN',
      `unsupported store location ${JSON.stringify(location.replace(/\/\/[^@/]*@/, '//…@'))}`,
      {
        hint: 'give a DuckDB file path (or duckdb:PATH)',
      },
    );
  }
  // Loaded on first use: the native DuckDB binding is the slowest part of the CLI's start-up.
  const { openDuckDBStore } = await import('./duckdb/store.js');
  return openDuckDBStore(location.replace(/^duckdb:/, ''), opts);
}
