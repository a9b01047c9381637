// The DuckDB back end as the store registry (src/store/open.ts) knows it: a file path, or `duckdb:PATH`.
//
// A DuckDB file held by a running kubetrail server (found by its discovery file, src/store/discovery.ts)
// is read through that server (src/store/remote.ts): the server holds the file's lock, so the file itself
// cannot be opened. Opening it for writing then fails with an error that names the server.
import path from 'node:path';
import { isKubetrailError, KubetrailError } from '../../core/errors.js';
import type { OpenOptions, StoreBackend } from '../backend.js';
import { canonicalDbPath, pidAlive, readDiscovery, type DiscoveryRead } from '../discovery.js';
import type { LocalClient } from '../remote.js';
import type { Store } from '../store.js';
import { explainDuckDB } from './explain.js';

/** The file a DuckDB location names. */
function fileOf(location: string): string {
  return location.replace(/^duckdb:/, '');
}

export const duckdbBackend: StoreBackend = {
  name: 'duckdb',
  locations: 'a DuckDB file path (or duckdb:PATH)',
  // Any location that is not a URL is a file path.
  recognizes: (location) => location.startsWith('duckdb:') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(location),
  open: (location, opts) => openDuckDBFile(fileOf(location), opts),
  explain: (_location, filter, range, now, encrypted) => explainDuckDB(filter, range, now, encrypted),
  directory(location) {
    const file = fileOf(location);
    return file === ':memory:' ? undefined : path.dirname(path.resolve(file));
  },
  async rewrite(location) {
    const file = fileOf(location);
    if (file === ':memory:') return false;
    // Loaded on first use: the native DuckDB binding.
    const { rewriteDuckDBFile } = await import('./rewrite.js');
    return rewriteDuckDBFile(file);
  },
};

async function openDuckDBFile(file: string, opts: OpenOptions): Promise<Store> {
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
    const { RemoteStore } = await import('../remote.js');
    return new RemoteStore(server, file);
  }
  // Loaded on first use: the native DuckDB binding is the slowest part of the CLI's start-up.
  const { openDuckDBStore } = await import('./store.js');
  try {
    return await openDuckDBStore(file, opts);
  } catch (err) {
    throw withDiscoveryHint(err, found);
  }
}

/** The server a discovery file names, when its process lives and it answers for this store. */
async function liveServer(found: DiscoveryRead, file: string): Promise<LocalClient | undefined> {
  if (found.kind !== 'found' || !pidAlive(found.discovery.pid)) return undefined;
  const { connectLocal } = await import('../remote.js');
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
