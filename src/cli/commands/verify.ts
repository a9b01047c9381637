// `kubetrail verify`: checks the store against its signed digests (tamper evidence, docs/security.md):
// every stored event of the range against what was signed, the digest chain, its signatures, and the
// digest file. `kubetrail verify --bundle FILE [--public-key FILE]` checks an evidence bundle instead:
// the manifest's signature (against the given public key when there is one) and every member's size and
// SHA-256. Exit status 0 when it verifies, 1 on any finding, 2 for bad usage or a file that is not a
// bundle, 3 when the store cannot be read.
import { existsSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import { loadPublicKey } from '../../bundle/keys.js';
import { verifyBundle } from '../../bundle/verify.js';
import { KubetrailError } from '../../core/errors.js';
import { microsToTime } from '../../core/time.js';
import { defaultDigestsFile, defaultPublicKey } from '../../integrity/setup.js';
import type { FindingKind, VerificationRecord, VerifyReport } from '../../integrity/types.js';
import { verifyStore } from '../../integrity/verify.js';
import { openStore } from '../../store/open.js';
import {
  choice,
  dbLocation,
  dbOption,
  keyFileOption,
  n,
  processIo,
  storeOptions,
  timeRange,
  type Io,
} from '../common.js';
import { safeText } from '../terminal.js';

interface VerifyOpts {
  bundle?: string;
  publicKey?: string;
  digests?: string;
  since?: string;
  until?: string;
  db?: string;
  keyFile?: string;
  record: boolean;
  output: string;
}

async function verifyBundleCommand(
  bundle: string,
  opts: VerifyOpts,
  format: 'table' | 'json',
  io: Io,
): Promise<void> {
  const key = opts.publicKey ? loadPublicKey(opts.publicKey) : undefined;
  const r = await verifyBundle(bundle, key);
  if (r.findings.length > 0) io.exitCode = 1;
  if (format === 'json') {
    io.out(
      `${JSON.stringify({ bundle, ok: r.findings.length === 0, findings: r.findings, notes: r.notes, signer: r.signer ?? null, manifest: r.manifest ?? null })}\n`,
    );
    return;
  }
  for (const f of r.findings) io.out(`FAIL  ${f.part}: ${safeText(f.message)}\n`);
  const m = r.manifest;
  if (r.findings.length === 0 && m) {
    io.out(
      `OK    ${safeText(bundle)}: ${n(m.counts.events)} events, ${n(m.counts.objects)} object histories, ${n(m.counts.alerts)} alerts; every member matches its SHA-256; signed by ${r.signer ?? m.signer.fingerprint}\n`,
    );
    io.out(
      `      asked: ${safeText(m.request.filter)}${m.request.since ? ` since ${m.request.since}` : ''}${m.request.until ? ` until ${m.request.until}` : ''} (kubetrail ${safeText(m.tool.version)}, ${m.created})\n`,
    );
  }
  for (const note of r.notes) io.err(`note: ${safeText(note)}\n`);
}

/** The report as `-o json` prints it: every finding with its four keys (null where they do not apply). */
export function reportJson(r: VerifyReport): string {
  return JSON.stringify({
    verified: { events: r.verified.events, from: r.verified.from ?? null, to: r.verified.to ?? null },
    findings: r.findings.map((f) => ({
      kind: f.kind,
      auditID: f.auditID ?? null,
      time: f.time ?? null,
      detail: f.detail,
    })),
  });
}

/** The report for people: one line per finding, then a summary line. Attacker text is escaped. */
export function reportTable(r: VerifyReport): string {
  const lines = r.findings.map((f) =>
    [
      f.kind.toUpperCase().padEnd(8),
      (f.time ?? '-').padEnd(27),
      safeText(f.auditID ?? '-'),
      safeText(f.detail),
    ].join('  '),
  );
  const span = r.verified.from ? ` from ${r.verified.from} to ${r.verified.to}` : '';
  if (r.findings.length === 0) {
    lines.push(`OK: ${n(r.verified.events)} events${span} match their signed digests`);
  } else {
    const counts = new Map<FindingKind, number>();
    for (const f of r.findings) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
    const parts = (['modified', 'deleted', 'inserted', 'chain'] as const)
      .filter((k) => counts.has(k))
      .map((k) => `${n(counts.get(k)!)} ${k}`);
    lines.push(
      `FAILED: ${n(r.findings.length)} finding${r.findings.length === 1 ? '' : 's'} (${parts.join(', ')}); ${n(r.verified.events)} events${span} checked`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function verifyStoreCommand(opts: VerifyOpts, format: 'table' | 'json', io: Io): Promise<void> {
  const range = timeRange(opts);
  const db = dbLocation(opts.db);
  // The public key: given, else the one beside the default signing key.
  const keyFile = opts.publicKey ?? defaultPublicKey(db, 'data');
  let publicKey: KeyObject | undefined;
  if (opts.publicKey || existsSync(keyFile)) {
    try {
      publicKey = loadPublicKey(keyFile);
    } catch (err) {
      throw new KubetrailError('KT_INTEGRITY_KEY', (err as Error).message, {
        where: { file: keyFile },
        cause: err,
      });
    }
  } else
    io.err(
      `note: signatures not checked: no public key given (--public-key) and none at ${safeText(keyFile)}\n`,
    );
  const digests = opts.digests ?? defaultDigestsFile(db, 'data');
  const useDigests = opts.digests !== undefined || existsSync(digests);
  if (!useDigests) io.err(`note: no digest file compared: none at ${safeText(digests)} (--digests)\n`);
  const started = Date.now();
  // The rows are hashed as stored: an encrypted store needs no data key to be verified.
  const store = await openStore(db, { readOnly: true, withoutKey: true });
  let report: VerifyReport;
  try {
    report = await verifyStore(store, {
      ...range,
      ...(publicKey ? { publicKey } : {}),
      ...(useDigests ? { digestsFile: digests } : {}),
    });
  } finally {
    await store.close();
  }
  if (report.findings.length > 0) io.exitCode = 1;
  io.out(format === 'json' ? `${reportJson(report)}\n` : reportTable(report));
  if (opts.record) await recordVerification(db, opts, report, range, Date.now() - started, io);
}

/** Keeps the result in the store (its last verification, shown by the API), when it can be written. */
async function recordVerification(
  db: string,
  opts: { keyFile?: string },
  report: VerifyReport,
  range: { since?: number; until?: number },
  durationMs: number,
  io: Io,
): Promise<void> {
  const record: VerificationRecord = {
    ...report,
    at: new Date().toISOString(),
    ...(range.since !== undefined ? { since: microsToTime(range.since) } : {}),
    ...(range.until !== undefined ? { until: microsToTime(range.until) } : {}),
    ok: report.findings.length === 0,
    durationMs,
    by: 'cli',
  };
  try {
    // Writing to an encrypted store needs its key (--key-file); verifying did not.
    const store = await openStore(db, storeOptions(opts));
    try {
      await (await store.integrity()).saveVerification(record);
    } finally {
      await store.close();
    }
  } catch (err) {
    io.err(`note: the result is not kept in the store: ${safeText((err as Error).message)}\n`);
  }
}

export function registerVerifyCommand(program: Command, io: Io = processIo()): void {
  program
    .command('verify')
    .description(
      'check the store against its signed digests (exit 1 on any finding: modified, deleted, inserted, chain), or an evidence bundle with --bundle',
    )
    .option('--bundle <file>', 'check this bundle written by kubetrail export instead of the store')
    .option(
      '--public-key <file>',
      'the Ed25519 public key (PEM) the digests (or the bundle) must be signed with (default for the store: integrity/signing.key.pub beside it)',
    )
    .option(
      '--digests <file>',
      'a copy of the digest file to check the store against (default: the one beside the store)',
    )
    .option('--since <time>', 'check events from this time (RFC 3339, a date, or a duration ago)')
    .option('--until <time>', 'check events before this time')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--no-record', 'do not keep the result in the store as its last verification')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (opts: VerifyOpts) => {
      const format = choice('--output', opts.output, ['table', 'json'] as const);
      if (opts.bundle !== undefined) {
        for (const [key, flag] of [
          ['digests', '--digests'],
          ['since', '--since'],
          ['until', '--until'],
          ['db', '--db'],
        ] as const)
          if (opts[key] !== undefined)
            throw new KubetrailError('KT_USAGE', `${flag} checks the store; it does not go with --bundle`, {
              where: { path: flag },
            });
        return verifyBundleCommand(opts.bundle, opts, format, io);
      }
      return verifyStoreCommand(opts, format, io);
    });
}
