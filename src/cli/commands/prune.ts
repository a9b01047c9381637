// `kubetrail prune --older-than 90d | --before TIME`: removes the stored events before a time, reporting
// how many (with --dry-run, only counts them). On ClickHouse whole UTC days are dropped as partitions and
// only a partial day is deleted row by row. A server applies its `retention` by itself (docs/collector.md).
// The removal is written to the store's digest chain as a signed prune record (docs/security.md).
import type { Command } from 'commander';
import { parseDuration, parseTimeArg } from '../../core/duration.js';
import { KubetrailError } from '../../core/errors.js';
import { microsToTime } from '../../core/time.js';
import { parseQuery } from '../../query/index.js';
import { openStore } from '../../store/open.js';
import { choice, dbLocation, dbOption, n, processIo, type Io } from '../common.js';
import { digestsOption, keepIntegrity, signingKeyOption } from '../integrity.js';

/** The cutoff in epoch µs from --older-than or --before. */
export function pruneCutoff(opts: { olderThan?: string; before?: string }, nowMs = Date.now()): number {
  if ((opts.olderThan === undefined) === (opts.before === undefined)) {
    throw new KubetrailError('KT_USAGE', 'give exactly one of --older-than DURATION and --before TIME', {
      where: { path: '--older-than' },
    });
  }
  if (opts.olderThan !== undefined) {
    const ms = parseDuration(opts.olderThan);
    if (ms === undefined || ms <= 0) {
      throw new KubetrailError(
        'KT_TIME_INVALID',
        `--older-than ${JSON.stringify(opts.olderThan)} is not a duration`,
        {
          where: { path: '--older-than' },
          hint: 'write a duration such as 90d, 52w or 36h',
        },
      );
    }
    return (nowMs - ms) * 1000;
  }
  const ms = parseTimeArg(opts.before!, nowMs);
  if (ms === undefined) {
    throw new KubetrailError(
      'KT_TIME_INVALID',
      `--before ${JSON.stringify(opts.before)} is neither a duration nor a time`,
      {
        where: { path: '--before' },
      },
    );
  }
  return ms * 1000;
}

export function registerPruneCommand(program: Command, io: Io = processIo()): void {
  program
    .command('prune')
    .description('remove stored events older than a duration or before a time (--dry-run to count them)')
    .option('--older-than <duration>', 'remove events older than this, e.g. 90d, 52w')
    .option('--before <time>', 'remove events before this time (RFC 3339 or a date), or this long ago')
    .option('--dry-run', 'only count the events that would be removed')
    .addOption(dbOption())
    .option('-o, --output <format>', 'table or json', 'table')
    .addOption(signingKeyOption())
    .addOption(digestsOption())
    .action(
      async (opts: {
        olderThan?: string;
        before?: string;
        dryRun?: boolean;
        db?: string;
        output: string;
        signingKey?: string;
        digests?: string;
      }) => {
        const format = choice('--output', opts.output, ['table', 'json'] as const);
        const cutoff = pruneCutoff(opts);
        const db = dbLocation(opts.db);
        const store = await openStore(db, { readOnly: Boolean(opts.dryRun) });
        // The removal is recorded in the digest chain (a prune record) and signed before the store closes.
        const keeper = opts.dryRun
          ? undefined
          : await keepIntegrity(store, db, opts, io).catch(async (err: unknown) => {
              await store.close();
              throw err;
            });
        try {
          const matching = await store.count(parseQuery('*'), { until: cutoff });
          const removed = opts.dryRun ? 0 : await store.deleteBefore(cutoff);
          const before = microsToTime(cutoff);
          if (format === 'json') {
            io.out(`${JSON.stringify({ before, dryRun: Boolean(opts.dryRun), matching, removed })}\n`);
          } else if (opts.dryRun) {
            io.out(`${n(matching)} events before ${before} would be removed\n`);
          } else {
            io.out(`removed ${n(removed)} events before ${before}\n`);
          }
        } finally {
          await keeper?.close().catch((err: unknown) => io.err(`warning: ${(err as Error).message}\n`));
          await store.close();
        }
      },
    );
}
