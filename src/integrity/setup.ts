// Where a store's tamper evidence lives by default and how a writer starts keeping it: the default
// signing key (DIR/integrity/signing.key, DIR being the store file's directory, or the data directory for
// a store on a server), the default digest file (beside a DuckDB store file, else
// DATADIR/integrity/digests.ndjson), and opening the keeper from the `integrity` settings. Every command
// that writes to a store (serve, import, prune) opens it through openIntegrity().
import path from 'node:path';
import { parseDuration } from '../core/duration.js';
import { KubetrailError } from '../core/errors.js';
import type { Config } from '../config/schema.js';
import { storeDirectory } from '../store/open.js';
import type { Store } from '../store/store.js';
import { IntegrityKeeper } from './keeper.js';
import { commandSigner, defaultKeySigner, keyFileSigner, type Signer } from './signer.js';

export type IntegritySettings = Config['integrity'];

/** The directory of the default signing key: DIR/integrity. */
export function integrityDirectory(location: string, dataDir: string): string {
  return path.join(storeDirectory(location, path.resolve(dataDir)), 'integrity');
}

/** The default signing key of a store. */
export function defaultSigningKey(location: string, dataDir: string): string {
  return path.join(integrityDirectory(location, dataDir), 'signing.key');
}

/** The public key beside the default signing key. */
export function defaultPublicKey(location: string, dataDir: string): string {
  return `${defaultSigningKey(location, dataDir)}.pub`;
}

/** The default digest file of a store: beside its file, or DATADIR/integrity/digests.ndjson. */
export function defaultDigestsFile(location: string, dataDir: string): string {
  const dir = storeDirectory(location, '');
  if (dir) {
    const file = location.replace(/^duckdb:/, '');
    return `${path.resolve(file)}.digests.ndjson`;
  }
  return path.join(path.resolve(dataDir), 'integrity', 'digests.ndjson');
}

/** The signer the settings name: a key file, a command, or the default key (made on first use). */
export function signerFor(settings: IntegritySettings, location: string, dataDir: string): Signer {
  if (settings.signCommand) return commandSigner(settings.signCommand, settings.publicKey!);
  if (settings.signingKey) return keyFileSigner(settings.signingKey);
  return defaultKeySigner(defaultSigningKey(location, dataDir));
}

export interface OpenIntegrityOptions {
  /** The store's location (a DuckDB file or a ClickHouse URL). */
  location: string;
  dataDir: string;
  settings?: Partial<IntegritySettings>;
  onError?: (message: string, err: unknown) => void;
}

/**
 * Starts keeping the store's digest chain signed and copied to its digest file; undefined (after telling
 * onError) for a store that keeps no digests.
 */
export async function openIntegrity(
  store: Store,
  opts: OpenIntegrityOptions,
): Promise<IntegrityKeeper | undefined> {
  try {
    await store.integrity();
  } catch (err) {
    if (!(err instanceof KubetrailError) || err.code !== 'KT_INTEGRITY_UNAVAILABLE') throw err;
    opts.onError?.(`tamper evidence is off: ${err.message}`, err);
    return undefined;
  }
  const settings: IntegritySettings = { signInterval: '1m', verifyInterval: '24h', ...opts.settings };
  const signer = signerFor(settings, opts.location, opts.dataDir);
  return IntegrityKeeper.open(store, {
    signer,
    digestsFile: settings.digestsFile ?? defaultDigestsFile(opts.location, opts.dataDir),
    signIntervalMs: parseDuration(settings.signInterval) ?? 60_000,
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}
