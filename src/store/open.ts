// The registry of store back ends, and opening the store a location names. Each back end (a folder of
// src/store/ exporting a StoreBackend, src/store/backend.ts) owns everything of its dialect: events,
// alerts, detection state, explain. A location belongs to the first back end that recognizes it:
// `clickhouse://USER:PASSWORD@HOST:8123/DATABASE` (`clickhouses://` for HTTPS) for ClickHouse, any file
// path (or `duckdb:PATH`) for the embedded DuckDB store. Adding a back end is its folder and one line in
// BACKENDS.
import { KubetrailError } from '../core/errors.js';
import type { Reseal } from '../crypto/sealed-records.js';
import type { OpenOptions, StoreBackend } from './backend.js';
import { clickhouseBackend } from './clickhouse/backend.js';
import { duckdbBackend } from './duckdb/backend.js';
import type { Store } from './store.js';

/** The back ends, in the order they are asked; DuckDB, which takes any file path, comes last. */
const BACKENDS: readonly StoreBackend[] = [clickhouseBackend, duckdbBackend];

export function defaultDbPath(): string {
  return process.env.KUBETRAIL_DB ?? './data/kubetrail.duckdb';
}

/** The back end a location names; KT_STORE_OPEN when none does. */
export function backendFor(location: string): StoreBackend {
  const found = BACKENDS.find((b) => b.recognizes(location));
  if (found) return found;
  throw new KubetrailError(
    'KT_STORE_OPEN',
    `unsupported store location ${JSON.stringify(location.replace(/\/\/[^@/]*@/, '//…@'))}`,
    { hint: `give ${BACKENDS.map((b) => b.locations).join(', or ')}` },
  );
}

export async function openStore(location: string, opts: OpenOptions = {}): Promise<Store> {
  return backendFor(location).open(location, opts);
}

/**
 * The directory files that belong with the store (the quarantine) go to by default: beside a store
 * file, or `fallback` for a store on a server (never a path made of its location, which may hold a
 * password).
 */
export function storeDirectory(location: string, fallback: string): string {
  return backendFor(location).directory(location) ?? fallback;
}

/**
 * Rewrites a closed store so that rows removed on purpose (a key rotation) leave no bytes in its files
 * (StoreBackend.rewrite); false when its back end has nothing to rewrite.
 */
export async function rewriteStore(location: string): Promise<boolean> {
  const b = backendFor(location);
  return b.rewrite ? b.rewrite(location) : false;
}

/**
 * Seals detection's local state file (a collector's DATADIR/detect.duckdb, beside a ClickHouse store)
 * again with another data key, for `kubetrail key rotate`; 0 when there is no such file.
 */
export async function resealDetectionStateFile(file: string, r: Reseal): Promise<number> {
  // Loaded on first use: the native DuckDB binding.
  const m = await import('./duckdb/detection-reseal.js');
  return m.resealDetectionStateFile(file, r);
}
