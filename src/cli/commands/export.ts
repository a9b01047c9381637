// `kubetrail export`: writes an evidence bundle (the events matching a filter and time range, the
// histories of the objects they touch, their alerts, a manifest and an Ed25519 signature) to one file;
// `kubetrail key create`: makes an Ed25519 signing key; and the import of a bundle, which `kubetrail
// import FILE` hands over to when FILE is a bundle.
import type { Command } from 'commander';
import { exportCommand } from '../../bundle/command.js';
import { writeBundle } from '../../bundle/export.js';
import { importBundle } from '../../bundle/import.js';
import { createKeyFiles, loadPublicKey, loadSigningKey } from '../../bundle/keys.js';
import { KubetrailError } from '../../core/errors.js';
import { parseQuery } from '../../query/index.js';
import { openStore } from '../../store/open.js';
import { keepIntegrity } from '../integrity.js';
import { choice, dbLocation, dbOption, n, processIo, timeRange, type Io } from '../common.js';
import { safeText } from '../terminal.js';
import { toolVersion } from '../../bundle/version.js';

interface ExportOpts {
  db?: string;
  since?: string;
  until?: string;
  out: string;
  signingKey?: string;
  output: string;
}

export function registerExportCommands(program: Command, io: Io = processIo()): void {
  program
    .command('export')
    .description(
      'write an evidence bundle: the matching events as stored, the histories of the objects they touch, their alerts, a manifest with SHA-256 digests, signed with Ed25519',
    )
    .argument('[filter]', "filter expression, e.g. 'ns:payments verb:(create OR patch OR delete)'", '*')
    .addOption(dbOption())
    .option('--since <time>', 'events at or after: a duration ago (24h) or a time')
    .option('--until <time>', 'events before: a duration ago or a time')
    .requiredOption('--out <file>', 'the bundle to write (a gzip-compressed tar; never overwritten)')
    .option(
      '--signing-key <file>',
      'Ed25519 private key (PEM) to sign with (kubetrail key create); without it a one-time key signs, which shows the bundle is whole but not who made it',
    )
    .option('-o, --output <format>', 'summary: table or json (the manifest)', 'table')
    .action(async (filterText: string, opts: ExportOpts) => {
      const format = choice('--output', opts.output, ['table', 'json'] as const);
      const range = timeRange(opts);
      const filter = parseQuery(filterText);
      const signingKey = opts.signingKey ? loadSigningKey(opts.signingKey) : undefined;
      const store = await openStore(dbLocation(opts.db), { readOnly: true });
      try {
        const alerts = await store.alertLog({ existing: true });
        const manifest = await writeBundle(store, {
          filter,
          filterText,
          ...range,
          out: opts.out,
          ...(signingKey ? { signingKey } : {}),
          command: exportCommand('bundle', { filter: filterText, ...range, out: opts.out }),
          toolVersion: toolVersion(),
          ...(alerts ? { alerts } : {}),
        });
        if (format === 'json') {
          io.out(`${JSON.stringify(manifest)}\n`);
          return;
        }
        const c = manifest.counts;
        io.out(
          `wrote ${safeText(opts.out)}: ${n(c.events)} events, ${n(c.objects)} object histories, ${n(c.alerts)} alerts\n` +
            `signed by ${manifest.signer.fingerprint}${manifest.signer.oneTime ? ' (a one-time key: give --signing-key to sign as yourself)' : ''}\n`,
        );
        if (manifest.objectsCapped)
          io.err('more objects were touched than the bundle holds histories for (10,000)\n');
        if (c.events === 0) io.err('no events matched: the bundle is empty\n');
      } finally {
        await store.close();
      }
    });

  program
    .command('key')
    .description('signing keys for evidence bundles')
    .command('create')
    .description(
      'make an Ed25519 key pair: FILE (private, PEM, mode 0600) and FILE.pub (public); same as `openssl genpkey -algorithm ed25519 -out FILE`',
    )
    .option('--ed25519', 'the key type (the only one bundles use)', true)
    .requiredOption('--out <file>', 'where to write the private key (never overwritten)')
    .action((opts: { out: string }) => {
      const made = createKeyFiles(opts.out);
      io.out(
        `private key ${safeText(opts.out)}\npublic key  ${safeText(made.publicFile)}\nfingerprint ${made.fingerprint}\n`,
      );
    });
}

/** The options of `kubetrail import` that a bundle's import reads or refuses. */
export interface BundleImportOpts {
  db?: string;
  publicKey?: string;
  output?: string;
  policy?: string;
  redactConfig?: string;
  maxEventBytes?: string;
  signingKey?: string;
  digests?: string;
}

/** `kubetrail import BUNDLE`: verifies the bundle, then loads its events (and alerts) into the store. */
export async function importBundleCommand(file: string, opts: BundleImportOpts, io: Io): Promise<void> {
  assertBundleImportOptions(opts);
  const format = choice('--output', opts.output ?? 'table', ['table', 'json'] as const);
  const publicKey = opts.publicKey ? loadPublicKey(opts.publicKey) : undefined;
  const db = dbLocation(opts.db);
  const store = await openStore(db);
  const keeper = await keepIntegrity(store, db, opts, io).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  try {
    const r = await importBundle(file, store, publicKey ? { publicKey } : {});
    if (format === 'json') {
      io.out(
        `${JSON.stringify({ bundle: file, read: r.read, stored: r.stored, duplicates: r.duplicates, alertsStored: r.alertsStored ?? null, signer: r.verify.signer ?? null, notes: r.verify.notes })}\n`,
      );
      return;
    }
    io.out(
      [
        `bundle       ${safeText(file)} (verified; signed by ${r.verify.signer ?? '?'})`,
        `read         ${n(r.read)} events`,
        `stored       ${n(r.stored)}`,
        `duplicates   ${n(r.duplicates)}`,
        `alerts       ${r.alertsStored === undefined ? `${n(r.manifest.counts.alerts)} in the bundle, not stored (the store keeps alerts per collector)` : `${n(r.alertsStored)} new of ${n(r.manifest.counts.alerts)}`}`,
      ].join('\n') + '\n',
    );
    for (const note of r.verify.notes) io.err(`note: ${note}\n`);
  } finally {
    await keeper?.close().catch((err: unknown) => io.err(`warning: ${safeText((err as Error).message)}\n`));
    await store.close();
  }
}

/** Refuses import options that make no sense for a bundle (its events are stored as they are). */
export function assertBundleImportOptions(opts: BundleImportOpts): void {
  for (const [key, flag] of [
    ['policy', '--policy'],
    ['redactConfig', '--redact-config'],
    ['maxEventBytes', '--max-event-bytes'],
  ] as const) {
    if (opts[key] !== undefined)
      throw new KubetrailError(
        'KT_USAGE',
        `${flag} does not apply to an evidence bundle: its events are stored as they are`,
        {
          where: { path: flag },
        },
      );
  }
}
