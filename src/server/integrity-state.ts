// What the integrity routes read of the store's tamper evidence (src/server/api/integrity.ts): the last
// verification the store keeps, and the digest chain's state (records, this writer's head, the last
// signature and the key that made it). The chain's state is one pass over the stored records, kept for
// a minute so that a dashboard refreshing does not read them again each time. Also the collector's
// writer identity on a shared store (ClickHouse): kept in its data directory, so that its digest chain
// goes on across restarts, and the server's verification task as the configuration asks for it.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { parseDuration } from '../core/duration.js';
import { defaultDigestsFile, signerFor } from '../integrity/setup.js';
import { verifyStore, type SignedThrough, type VerifyOptions } from '../integrity/verify.js';
import type { DigestRecord, IntegrityStorage } from '../store/integrity.js';
import type { Store } from '../store/store.js';
import type { ChainState, IntegrityApi } from './api/common.js';
import { VerificationTask } from './integrity-task.js';

/** How long a chain state is reused, ms. */
const STATE_TTL_MS = 60_000;

/** The chain's state from its records: every writer's records counted, the newest signature. */
export async function chainStateOf(storage: IntegrityStorage): Promise<ChainState> {
  let records = 0;
  let lastSign: Extract<DigestRecord, { kind: 'sign' }> | undefined;
  for await (const r of storage.records()) {
    records++;
    if (r.kind === 'sign' && (!lastSign || r.signedAt > lastSign.signedAt)) lastSign = r;
  }
  const head = await storage.head();
  return {
    records,
    ...(head ? { headSeq: head.seq } : {}),
    ...(lastSign
      ? {
          lastSigned: new Date(Math.floor(lastSign.signedAt / 1000)).toISOString(),
          publicKeyFingerprint: lastSign.keyId,
        }
      : {}),
  };
}

/** The integrity routes' view of a store and the server's verification task. */
export function integrityApi(store: Store, task: VerificationTask, now = Date.now): IntegrityApi {
  let cached: { at: number; state: Promise<ChainState> } | undefined;
  return {
    task,
    lastVerification: async () => (await store.integrity()).lastVerification(),
    chainState: () => {
      if (!cached || now() - cached.at > STATE_TTL_MS) {
        const state = store.integrity().then(chainStateOf);
        state.catch(() => (cached = undefined));
        cached = { at: now(), state };
      }
      return cached.state;
    },
  };
}

/**
 * The collector's writer identity on a shared store: DATADIR/integrity/writer, made on first use (the
 * host name and random hex). A data directory belongs to one collector, so no two processes share it.
 */
export function collectorWriter(dataDir: string): string {
  const file = path.join(dataDir, 'integrity', 'writer');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[\x21-\x7e]{1,128}$/.test(id)) return id;
  } catch {
    // made below
  }
  const id = `${hostname().replace(/[^\x21-\x7e]/g, '') || 'host'}-${randomBytes(4).toString('hex')}`;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

/** `integrity.verifyInterval` in ms; 0 when the server does not verify on its own. */
export function verifyIntervalMs(config: Config): number {
  const text = config.integrity.verifyInterval.trim();
  return text === '0' ? 0 : (parseDuration(text) ?? 0);
}

/**
 * What the server verifies with: the public key of the configured signer (every signature is checked)
 * and the digest file the server appends to. Without a usable key (the keeper has said why at start),
 * signatures are not checked, the rest is.
 */
export function serverVerifyOptions(
  config: Config,
  location: string,
  dataDir: string,
  logger: Logger,
): VerifyOptions {
  const digestsFile = config.integrity.digestsFile ?? defaultDigestsFile(location, dataDir);
  try {
    return { publicKey: signerFor(config.integrity, location, dataDir).publicKey, digestsFile };
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'integrity verification runs without checking signatures');
    return { digestsFile };
  }
}

/** The server's verification task: the whole store, on `integrity.verifyInterval`, logged and recorded. */
export function serverVerification(opts: {
  store: Store;
  config: Config;
  location: string;
  dataDir: string;
  logger: Logger;
  /**
   * Run before each verification: signs this server's own chain now (the integrity keeper's signNow), so
   * that the records written since the last signature are not reported unsigned; resolves with the
   * record it signed through.
   */
  signNow?: () => Promise<SignedThrough>;
}): VerificationTask {
  const { store, logger } = opts;
  let verifyOpts: VerifyOptions | undefined;
  return new VerificationTask({
    intervalMs: verifyIntervalMs(opts.config),
    verify: async () => {
      // Batches committed after this signature (a write under way while it was made included) are newer
      // than the verification, not unsigned (VerifyOptions.signedThrough).
      const signedThrough = await opts.signNow?.();
      return verifyStore(store, {
        ...(verifyOpts ??= serverVerifyOptions(opts.config, opts.location, opts.dataDir, logger)),
        ...(signedThrough ? { signedThrough } : {}),
      });
    },
    record: async (r) => (await store.integrity()).saveVerification(r),
    onResult: (r) => {
      const fields = { events: r.verified.events, findings: r.findings.length, ms: r.durationMs };
      if (r.ok) logger.info(fields, 'integrity verified: clean');
      else logger.warn(fields, 'integrity verified: findings (GET /api/v1/integrity, or `kubetrail verify`)');
    },
    onError: (err) =>
      logger.error(
        { err: (err as Error).message },
        'integrity verification failed; tried again at the next interval',
      ),
  });
}
