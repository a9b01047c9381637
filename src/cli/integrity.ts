// Tamper evidence for the commands that write to a store (import, prune): the options that say which key
// signs the store's digests and where its digest file is, and starting the keeper that signs the chain
// and copies it to the file while the command writes (src/integrity/keeper.ts). `serve` takes the same
// from the configuration's `integrity` section.
import { Option } from 'commander';
import type { IntegrityKeeper } from '../integrity/keeper.js';
import { openIntegrity } from '../integrity/setup.js';
import type { Store } from '../store/store.js';
import type { Io } from './common.js';
import { safeText } from './terminal.js';

export interface IntegrityFlags {
  signingKey?: string;
  digests?: string;
}

export const signingKeyOption = () =>
  new Option(
    '--signing-key <file>',
    "Ed25519 private key (PEM) that signs the store's digests (default: integrity/signing.key beside a DuckDB store, made on first use)",
  );

export const digestsOption = () =>
  new Option(
    '--digests <file>',
    'the digest file to append to (default: STORE.digests.ndjson beside a DuckDB store)',
  );

/** Starts signing and copying the store's digests; undefined for a store that keeps none. */
export function keepIntegrity(
  store: Store,
  location: string,
  flags: IntegrityFlags,
  io: Io,
): Promise<IntegrityKeeper | undefined> {
  return openIntegrity(store, {
    location,
    dataDir: 'data',
    settings: {
      ...(flags.signingKey ? { signingKey: flags.signingKey } : {}),
      ...(flags.digests ? { digestsFile: flags.digests } : {}),
    },
    onError: (message) => io.err(`warning: ${safeText(message)}\n`),
  });
}
