// `kubetrail import PATH...`: reads audit logs (files, rotated-log directories, .gz, stdin) into the
// store through the pipeline's topology (src/pipeline/import.ts: policy, size cap, redaction,
// detection; the store), with a progress line and a final summary.
//
// Exit status: 0 when everything readable was read (records that are not events are set aside in the
// quarantine file and counted in the summary); 2 (KT_INPUT_READ) when an input or directory entry could not
// be read and was skipped, after the rest was imported; 2 (KT_EVENT_INVALID) when records were read but not
// one of them was an audit event. Text from the input (paths, reasons) is escaped before it is printed.
import path from 'node:path';
import type { Command } from 'commander';
import { KubetrailError } from '../../core/errors.js';
import { createFileQuarantine } from '../../ingest/index.js';
import { filesSource } from '../../pipeline/sources/files.js';
import type { SkippedInput } from '../../ingest/files.js';
import { IMPORT_DUCKDB_MEMORY, runImport, type ImportSummary } from '../../pipeline/import.js';
import { DEFAULT_MAX_EVENT_BYTES, MAX_MAX_EVENT_BYTES, MIN_MAX_EVENT_BYTES } from '../../ingest/truncate.js';
import { loadPolicyFile } from '../../policy/load.js';
import { openStore, storeDirectory } from '../../store/open.js';
import { loadRedactOptions, redactQuarantine, redactTransform } from '../../redact/index.js';
import {
  choice,
  collect,
  dataKey,
  dbLocation,
  dbOption,
  keyFileOption,
  storeOptions,
  n,
  processIo,
  type Io,
} from '../common.js';
import { importDetection, type ImportDetectOpts } from './detect.js';
import { importBundleCommand } from './export.js';
import { isBundleFile } from '../../bundle/import.js';
import { openImportForwarders } from './import-forward.js';
import { digestsOption, keepIntegrity, signingKeyOption } from '../integrity.js';
import { Progress, rate } from '../progress.js';
import { safeText } from '../terminal.js';

interface ImportOpts extends ImportDetectOpts {
  db?: string;
  keyFile?: string;
  cluster?: string;
  quarantine?: string;
  redact: boolean;
  redactConfig?: string;
  policy?: string;
  output: string;
  maxEventBytes?: string;
  forward: string[];
  forwardWait: string;
  publicKey?: string;
  signingKey?: string;
  digests?: string;
}

export function formatSummary(
  s: ImportSummary,
  quarantineFile: string | undefined,
  skipped: readonly SkippedInput[] = [],
): string {
  const lines = [
    `read         ${n(s.read)} events`,
    `stored       ${n(s.stored)}`,
    `duplicates   ${n(s.duplicates)}`,
  ];
  if (s.dropped > 0) lines.push(`dropped      ${n(s.dropped)} (by the policy)`);
  if (s.truncated > 0)
    lines.push(`truncated    ${n(s.truncated)} (larger than the cap: stored without their bodies)`);
  lines.push(
    `quarantined  ${n(s.quarantined)}${s.quarantined > 0 && quarantineFile ? ` → ${safeText(quarantineFile)}` : ''}`,
  );
  if (skipped.length > 0)
    lines.push(
      `skipped      ${n(skipped.length)} input${skipped.length === 1 ? '' : 's'} that could not be read`,
    );
  lines.push(`time         ${s.seconds.toFixed(2)}s (${rate(s.rate)} events/s)`);
  return `${lines.join('\n')}\n`;
}

/** Reads --max-event-bytes: a whole number of bytes within the range the configuration accepts. */
export function parseMaxEventBytes(text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_EVENT_BYTES;
  const value = Number(text);
  if (!Number.isInteger(value) || value < MIN_MAX_EVENT_BYTES || value > MAX_MAX_EVENT_BYTES) {
    throw new KubetrailError(
      'KT_USAGE',
      `--max-event-bytes takes a whole number of bytes from ${MIN_MAX_EVENT_BYTES} to ${MAX_MAX_EVENT_BYTES}, not ${JSON.stringify(text)}`,
      { where: { path: '--max-event-bytes' } },
    );
  }
  return value;
}

/** The error an import ends with although it ran to the end: inputs skipped, or nothing but bad records. */
export function importFailure(
  s: ImportSummary,
  skipped: readonly SkippedInput[],
  quarantineFile: string,
): KubetrailError | undefined {
  if (skipped.length > 0) {
    const what = skipped.length === 1 ? '1 input' : `${n(skipped.length)} inputs`;
    return new KubetrailError(
      'KT_INPUT_READ',
      `${what} could not be read and ${skipped.length === 1 ? 'was' : 'were'} skipped (listed above); ${n(s.stored)} new events from the others were stored`,
      {
        ...(skipped.length === 1 ? { where: { file: safeText(skipped[0]!.file) } } : {}),
        hint: 'fix or remove the skipped entries and import again: events already stored are not stored twice',
      },
    );
  }
  if (s.read === 0 && s.quarantined > 0) {
    return new KubetrailError(
      'KT_EVENT_INVALID',
      `no events imported: none of the ${n(s.quarantined)} records read is an audit event (set aside in ${safeText(quarantineFile)})`,
      {
        hint: 'import audit logs: audit.k8s.io Events or EventLists (JSON lines or documents, .gz too), or EKS, GKE or AKS exports; the first bad records are listed above',
      },
    );
  }
  return undefined;
}

export function registerImportCommand(program: Command, io: Io = processIo()): void {
  program
    .command('import')
    .description(
      'import audit logs into the store: files, directories of rotated logs, .gz, or - for stdin; exit 2 when an input was skipped as unreadable or no record was an event',
    )
    .argument('<paths...>', 'files, directories or - (stdin)')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--cluster <name>', 'cluster name to tag the events with', 'default')
    .option(
      '--quarantine <file>',
      'where records that are not events are set aside (default: beside a DuckDB store; ./data for ClickHouse)',
    )
    .option(
      '--policy <file>',
      'apply an audit policy first: drop, downgrade, omit stages, strip managed fields',
    )
    .option('--no-redact', 'store events as they are, secrets included (redaction is on by default)')
    .option('--redact-config <file>', 'redaction configuration: extra patterns, allow-lists, keyed hashes')
    .option(
      '--max-event-bytes <n>',
      `events larger than this are stored without their request and response bodies, annotated audit.k8s.io/truncated (default ${DEFAULT_MAX_EVENT_BYTES}, as pipeline.maxEventBytes)`,
    )
    .option(
      '--forward <spec>',
      'forward the imported events too, as serve --forward does (repeatable; docs/forwarding.md)',
      collect,
      [],
    )
    .option(
      '--forward-wait <duration>',
      'at the end, how long a forwarder may make no progress before the import ends with exit 3',
      '60s',
    )
    .option('-o, --output <format>', 'summary format: table or json', 'table')
    .option(
      '--public-key <file>',
      'for an evidence bundle: the Ed25519 public key (PEM) it must be signed with',
    )
    .addOption(signingKeyOption())
    .addOption(digestsOption())
    .action(async (paths: string[], opts: ImportOpts) => {
      // An evidence bundle (kubetrail export) is verified, then loaded as it is.
      if (paths.length === 1 && (await isBundleFile(paths[0]!)))
        return importBundleCommand(paths[0]!, opts, io);
      const format = choice('--output', opts.output, ['table', 'json'] as const);
      const maxEventBytes = parseMaxEventBytes(opts.maxEventBytes);
      const policy = opts.policy ? (await loadPolicyFile(opts.policy)).policy : undefined;
      const db = dbLocation(opts.db);
      // Beside a DuckDB store; for a ClickHouse store in the CLI's data directory (never a path made of
      // the location, which holds the password).
      const quarantineFile =
        opts.quarantine ?? path.join(storeDirectory(db, path.resolve('data')), 'quarantine.jsonl');
      const redaction = opts.redact ? redactTransform(loadRedactOptions(opts.redactConfig)) : undefined;
      // With a data key, the quarantine and the forwarder queues are sealed like the store's rows.
      const key = dataKey(opts);
      const fileQuarantine = createFileQuarantine(quarantineFile, key ? { key } : {});
      const quarantine = redaction ? redactQuarantine(fileQuarantine, redaction.redactor) : fileQuarantine;
      const forwarders = await openImportForwarders(
        opts.forward,
        opts.forwardWait,
        storeDirectory(db, path.resolve('data')),
        io,
        key,
      );
      const store = await openStore(db, storeOptions(opts, { memoryLimit: IMPORT_DUCKDB_MEMORY })).catch(
        async (err: unknown) => {
          await forwarders?.close();
          throw err;
        },
      );
      // Each write adds a digest record to the store; the keeper signs them and copies them to the file.
      const keeper = await keepIntegrity(store, db, opts, io).catch(async (err: unknown) => {
        await store.close();
        await forwarders?.close();
        throw err;
      });
      const progress = new Progress('importing', io.err, io.interactive);
      let bytesRead = 0;
      let totalBytes: number | undefined;
      let events = 0;
      const skipped: SkippedInput[] = [];
      let summary: ImportSummary;
      let forwardFailure: KubetrailError | undefined;
      try {
        const detection = await importDetection(store, opts, io);
        summary = await runImport({
          source: filesSource(paths, {
            cluster: opts.cluster ?? 'default',
            quarantine,
            onSkip: (s) => void skipped.push(s),
            onProgress: (p) => {
              bytesRead = p.bytesRead;
              totalBytes = p.totalBytes;
              progress.update({ bytesRead, totalBytes, events });
            },
          }),
          store,
          ...(forwarders ? { forward: forwarders.set } : {}),
          ...(policy ? { policy } : {}),
          ...(redaction ? { redaction } : {}),
          ...(detection.transforms.length > 0 ? { detection: detection.transforms[0]! } : {}),
          quarantined: () => quarantine.count,
          maxEventBytes,
          onBatch: (p) => {
            events = p.read;
            progress.update({ bytesRead, totalBytes, events });
          },
        });
        const detected = await detection.finish();
        progress.done();
        forwardFailure = await forwarders?.finish();
        if (format === 'json') {
          io.out(
            `${JSON.stringify({ ...summary, quarantineFile: summary.quarantined > 0 ? quarantineFile : undefined, skipped, redacted: redaction ? redaction.stats.redacted : null, detection: detected ?? null })}\n`,
          );
        } else {
          io.out(formatSummary(summary, quarantineFile, skipped));
          io.out(
            redaction
              ? `redacted     ${n(redaction.stats.redacted)} events\n`
              : 'redacted     off (--no-redact): secrets are stored as logged\n',
          );
          if (detected)
            io.out(
              `alerts       ${n(detected.alerts)} (${n(detected.stored)} new; ${n(detected.pending)} deliveries queued)\n`,
            );
          for (const bad of quarantine.samples.slice(0, 5)) {
            io.err(
              `quarantined: ${safeText(bad.file)}:${bad.line}${bad.column ? `:${bad.column}` : ''}: ${safeText(bad.reason)}\n`,
            );
          }
          if (quarantine.count > 5)
            io.err(`… and ${n(quarantine.count - 5)} more in ${safeText(quarantineFile)}\n`);
        }
        for (const s of skipped) io.err(`skipped: ${safeText(s.file)}: ${safeText(s.reason)}\n`);
      } finally {
        progress.done();
        await quarantine.close();
        await keeper
          ?.close()
          .catch((err: unknown) => io.err(`warning: ${safeText((err as Error).message)}\n`));
        await store.close();
        await forwarders?.close();
      }
      const failure = importFailure(summary, skipped, quarantineFile);
      if (failure) throw failure;
      if (forwardFailure) throw forwardFailure;
    });
}
