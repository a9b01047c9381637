// Announces a listening server to the CLI on the same machine: creates a random local credential (held in
// memory only, never in the token file, never logged) and writes the discovery file beside the DuckDB
// store (src/store/discovery.ts) with the server's loopback URL, so that `kubetrail query` and the other
// reading commands go through the server while it holds the store's lock. The credential is good only
// for the local store endpoint (src/server/api/local.ts). The file is removed when the server stops.
import { randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  canonicalDbPath,
  discoveryFileFor,
  removeDiscovery,
  writeDiscovery,
  type Discovery,
} from '../store/discovery.js';
import type { Store } from '../store/store.js';

/** The local credential of each announced server, by the server's ApiAuth (what the API context holds). */
const credentials = new WeakMap<object, { secret: Buffer; db: string }>();

/** Whether `presented` is the local credential of the server owning `auth`; constant time. */
export function isLocalCredential(auth: object, presented: string): boolean {
  const held = credentials.get(auth);
  if (!held) return false;
  const given = Buffer.from(presented, 'utf8');
  // Compared at equal length so that the time taken says nothing about the credential.
  const padded = Buffer.alloc(held.secret.length);
  given.copy(padded, 0, 0, Math.min(given.length, padded.length));
  return timingSafeEqual(padded, held.secret) && given.length === held.secret.length;
}

/** The store the announced server owning `auth` holds (canonical path), if announced. */
export function announcedDb(auth: object): string | undefined {
  return credentials.get(auth)?.db;
}

export interface Announcement {
  file: string;
  close(): void;
}

/** The URL a local client reaches the server at: a wildcard address becomes loopback. */
export function localUrl(address: AddressInfo, tls: boolean): string {
  let host = address.address;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  if (host.startsWith('::ffff:')) host = host.slice('::ffff:'.length);
  const shown = host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${shown}:${address.port}`;
}

/**
 * Writes the discovery file of a server listening on `server` over the DuckDB store `db`. A store that
 * holds no local file locked (ClickHouse, an in-memory DuckDB: Store.lockedFile) needs none: undefined.
 * A failure to write is logged and leaves the server running without it.
 */
export function announceServer(opts: {
  db: string;
  store: Store;
  server: FastifyInstance;
  /** The server's ApiAuth: the key the local store endpoint finds the credential by. */
  auth: object;
  tls?: { cert: Buffer };
  logger: Logger;
}): Announcement | undefined {
  if (!opts.store.lockedFile) return undefined;
  const address = opts.server.server.address();
  if (!address || typeof address === 'string') return undefined;
  const credential = randomBytes(32).toString('base64url');
  const db = canonicalDbPath(opts.db);
  const file = discoveryFileFor(opts.db);
  const discovery: Discovery = {
    version: 1,
    url: localUrl(address, Boolean(opts.tls)),
    pid: process.pid,
    db,
    credential,
    ...(opts.tls ? { tlsCertSha256: new X509Certificate(opts.tls.cert).fingerprint256 } : {}),
    startedAt: new Date().toISOString(),
  };
  credentials.set(opts.auth, { secret: Buffer.from(credential, 'utf8'), db });
  try {
    writeDiscovery(file, discovery);
  } catch (err) {
    credentials.delete(opts.auth);
    opts.logger.warn(
      { file, err: (err as Error).message },
      'cannot write the discovery file; the CLI cannot read the store while the server runs',
    );
    return undefined;
  }
  let closed = false;
  return {
    file,
    close() {
      if (closed) return;
      closed = true;
      credentials.delete(opts.auth);
      removeDiscovery(file, credential);
    },
  };
}
