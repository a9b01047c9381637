// `kubetrail key`: keys. `key create --out FILE` writes a new random 256-bit data key for encryption at
// rest (mode 0600, never over an existing file); `key create --ed25519 --out FILE` an Ed25519 key pair
// for signing evidence bundles and digests; `key rotate` re-encrypts every stored event under a new
// data key (or encrypts a plain store), crash-safe and resumable (src/store/rotate.ts).
import path from 'node:path';
import type { Command } from 'commander';
import { createKeyFiles } from '../../bundle/keys.js';
import { createDataKeyFile, loadDataKey } from '../../crypto/key-file.js';
import { resealDataDir } from '../../server/reseal.js';
import { openStore, rewriteStore, storeDirectory } from '../../store/open.js';
import { rotateStoreKey } from '../../store/rotate.js';
import { dataKey, dbLocation, dbOption, keyFileOption, n, processIo, type Io } from '../common.js';
import { digestsOption, keepIntegrity, signingKeyOption } from '../integrity.js';
import { KubetrailError } from '../../core/errors.js';
import { verifyStore } from '../../integrity/verify.js';
import { safeText } from '../terminal.js';

interface RotateOpts {
  db?: string;
  keyFile?: string;
  newKeyFile: string;
  signingKey?: string;
  digests?: string;
  force?: boolean;
}

export function registerKeyCommands(program: Command, io: Io = processIo()): void {
  const key = program.command('key').description('data keys for encryption at rest, and signing keys');
  key
    .command('create')
    .description(
      'make a new random 256-bit data key FILE (mode 0600) for --key-file; with --ed25519, an Ed25519 signing key pair FILE and FILE.pub for bundles and digests',
    )
    .option(
      '--ed25519',
      'make an Ed25519 signing key pair instead: FILE (private, PEM, mode 0600) and FILE.pub (public); same as `openssl genpkey -algorithm ed25519 -out FILE`',
    )
    .requiredOption('--out <file>', 'where to write the key (never overwritten)')
    .action((opts: { out: string; ed25519?: boolean }) => {
      if (opts.ed25519) {
        const made = createKeyFiles(opts.out);
        io.out(
          `private key ${safeText(opts.out)}\npublic key  ${safeText(made.publicFile)}\nfingerprint ${made.fingerprint}\n`,
        );
        return;
      }
      const made = createDataKeyFile(opts.out);
      io.out(
        `data key ${made.id} written to ${safeText(opts.out)} (mode 0600)\n` +
          'keep a copy off this machine: without it the encrypted events cannot be read by anyone\n',
      );
    });
  key
    .command('rotate')
    .description(
      're-encrypt every stored event under a new data key (crash-safe: run it again to finish an interrupted rotation); without --key-file, encrypt a plain store',
    )
    .addOption(dbOption())
    .addOption(keyFileOption())
    .requiredOption('--new-key-file <file>', 'the new data key (kubetrail key create --out FILE)')
    .addOption(signingKeyOption())
    .addOption(digestsOption())
    .option(
      '--force',
      'rotate even when the store does not verify clean (its rows are checked against their digests first)',
    )
    .action(async (opts: RotateOpts) => {
      const old = dataKey(opts);
      const next = loadDataKey(opts.newKeyFile);
      const db = dbLocation(opts.db);
      const store = await openStore(db, { ...(old ? { key: old } : {}), rotateTo: next });
      // The events written again and the removal of the old rows are digest records, signed like any
      // write (a rekey record: docs/security.md), so that a rotated store still verifies clean.
      const keeper = await keepIntegrity(store, db, opts, io).catch(async (err: unknown) => {
        await store.close();
        throw err;
      });
      try {
        // The rows are written again under new digests: a change made behind the store's back before the
        // rotation could not be reported after it, so the store must verify clean first.
        if (keeper && !opts.force) {
          const report = await verifyStore(store);
          const found = report.findings.filter((f) => f.kind !== 'chain' || !f.detail.includes('not signed'));
          if (found.length > 0)
            throw new KubetrailError(
              'KT_INTEGRITY_FINDINGS',
              `${n(found.length)} finding${found.length === 1 ? '' : 's'} in the store's tamper evidence (first: ${found[0]!.kind} ${found[0]!.auditID ?? ''} ${found[0]!.detail})`,
              { where: { file: db } },
            );
        }
        let shown = 0;
        const r = await rotateStoreKey(store, old, next, (events) => {
          if (io.interactive && events - shown >= 100_000) {
            shown = events;
            io.err(`  ${n(events)} events re-encrypted…\n`);
          }
        });
        // The files beside the store (quarantine, segment log, forwarder queues and dead letters, access
        // log, detection's local state) follow the store's key.
        const files = await resealDataDir(storeDirectory(db, path.resolve('data')), { from: old, to: next });
        for (const f of files) io.err(`re-encrypted ${n(f.records)} records in ${safeText(f.file)}\n`);
        io.out(
          r.already
            ? `the store is already encrypted with key ${next.id}: nothing to do\n`
            : `re-encrypted ${n(r.events)} events with key ${next.id}${old ? ` (was ${old.id})` : ''}; open the store with --key-file ${safeText(opts.newKeyFile)} from now on\n`,
        );
      } finally {
        await keeper
          ?.close()
          .catch((err: unknown) => io.err(`warning: ${safeText((err as Error).message)}\n`));
        await store.close();
      }
      // The rows the rotation removed may linger in the file's free space: rewrite it into a fresh one
      // (also when there was nothing left to do: an interrupted run may have stopped before this).
      if (await rewriteStore(db))
        io.err(`rewrote ${safeText(db)} into a fresh file: nothing of the replaced rows is left in it\n`);
    });
}
