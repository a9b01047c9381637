// Opens the store named by a location: a file path (or `duckdb:PATH`) for the embedded DuckDB store, or
// `clickhouse://USER:PASSWORD@HOST:8123/DATABASE` (`clickhouses://` for HTTPS) for the ClickHouse store.
//
// A DuckDB file held by a running kubetrail server (found by its discovery file, src/store/discovery.ts)
// is read through that server (src/store/remote.ts): the server holds the file's lock, so the file itself
// cannot be opened. Opening it for writing then fails with an error that names the server.
import { isKubetrailError, KubetrailError } from '../core/errors.js';
import { canonicalDbPath, pidAlive, readDiscovery, type DiscoveryRead } from './discovery.js';
import type { LocalClient } from './remote.js';
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
  const file = location.replace(/^duckdb:/, '');
  const found = file === ':memory:' ? undefined : readDiscovery(file);
  const server = found ? await liveServer(found, file) : undefined;
  if (server) {
    if (!opts.readOnly) {
      server.close();
      throw new KubetrailError(
        'KT_STORE_OPEN',
        `the kubetrail server at ${server.url} (pid ${server.discovery.pid}) holds this store`,
        {
          where: { file },
          hint: 'this command writes to the store: stop the server first (reading commands such as query, stats and alerts go through it)',
        },
      );
    }
    const { RemoteStore } = await import('./remote.js');
    return new RemoteStore(server, file);
  }
  // Loaded on first use: the native DuckDB binding is the slowest part of the CLI's start-up.
  const { openDuckDBStore } = await import('./duckdb/store.js');
  try {
    return await openDuckDBStore(file, opts);
  } catch (err) {
    throw withDiscoveryHint(err, found);
  }
}

/** The server a discovery file names, when its process lives and it answers for this store. */
async function liveServer(found: DiscoveryRead, file: string): Promise<LocalClient | undefined> {
  if (found.kind !== 'found' || !pidAlive(found.discovery.pid)) return undefined;
  const { connectLocal } = await import('./remote.js');
  return connectLocal(found.discovery, canonicalDbPath(file));
}

/** A lock conflict, explained by what the discovery file beside the store says. */
function withDiscoveryHint(err: unknown, found: DiscoveryRead | undefined): unknown {
  if (!found || found.kind === 'absent' || !isKubetrailError(err) || err.code !== 'KT_STORE_OPEN') return err;
  if (!/lock|already open/i.test(String(err.cause))) return err;
  const why =
    found.kind === 'unusable'
      ? `the server discovery file ${found.file} was not used: ${found.reason}`
      : pidAlive(found.discovery.pid)
        ? `the server discovery file ${found.file} names ${found.discovery.url} (pid ${found.discovery.pid}), which does not answer for this store`
        : `the server discovery file ${found.file} is stale (pid ${found.discovery.pid} is gone)`;
  return new KubetrailError('KT_STORE_OPEN', err.message, {
    ...(err.where ? { where: err.where } : {}),
    hint: `${why}; another process holds the store: stop it, or wait for it to finish`,
    cause: err.cause,
  });
}
