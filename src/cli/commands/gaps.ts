// `kubetrail gaps`: holes in the stored trail, per cluster: silences of the streams that should be
// continuous (node lease renewals, leader election, controller heartbeats, the overall rate) while the
// rest went on, each with its start, end and confidence. Exit status 1 when a gap is found.
import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { KubetrailError } from '../../core/errors.js';
import { findGaps, type Gap, type GapReport } from '../../gaps/find.js';
import { openStore } from '../../store/open.js';
import {
  choice,
  dbLocation,
  dbOption,
  keyFileOption,
  storeOptions,
  n,
  processIo,
  timeRange,
  type Io,
} from '../common.js';
import { renderTable } from '../terminal.js';

interface GapsOpts {
  db?: string;
  keyFile?: string;
  since?: string;
  until?: string;
  cluster?: string;
  bucket: string;
  minConfidence: string;
  output: string;
}

export const CONFIDENCE_FLOORS = { low: 0, medium: 0.5, high: 0.8 } as const;

/** A length in seconds as people read it: 4m20s, 2h05m, 3d04h. */
export function lengthText(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  if (seconds < 86400)
    return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(seconds / 86400)}d${String(Math.floor((seconds % 86400) / 3600)).padStart(2, '0')}h`;
}

const when = (t: string) => t.replace('T', ' ').slice(0, 19);

export function gapNote(g: Gap): string {
  const parts: string[] = [];
  if (g.allClusters) parts.push('every cluster silent: the collector likely stopped');
  if (g.open) parts.push('not back yet');
  if (g.goingOn.length > 0) parts.push(`went on: ${g.goingOn.join(', ')}`);
  if (!g.exact) parts.push('bounds to the bucket');
  return parts.join('; ');
}

export function formatGapTable(report: GapReport, width: number): string {
  return `${renderTable(
    report.gaps,
    [
      { header: 'CLUSTER', get: (g) => g.cluster, weight: 1 },
      { header: 'START', get: (g) => when(g.start), min: 19 },
      { header: 'END', get: (g) => (g.end ? when(g.end) : '-'), min: 19 },
      { header: 'LENGTH', get: (g) => lengthText(g.seconds), right: true, min: 6 },
      { header: 'CONFIDENCE', get: (g) => `${g.level} ${g.confidence.toFixed(2)}`, min: 10 },
      { header: 'SILENT', get: (g) => g.silent.join(','), weight: 2 },
      { header: 'MISSING', get: (g) => `~${n(g.expectedMissing)}`, right: true, min: 7 },
      { header: 'NOTE', get: (g) => gapNote(g), weight: 2 },
    ],
    width,
  )}\n`;
}

export function registerGapsCommand(program: Command, io: Io = processIo()): void {
  program
    .command('gaps')
    .description(
      'find holes in the stored trail: streams that should be continuous (lease renewals, leader election, the event rate) falling silent; exit 1 when a gap is found',
    )
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--since <time>', 'look from: a duration ago (7d) or a time (default: the first stored event)')
    .option('--until <time>', 'look until: a duration ago or a time (default: the last stored event)')
    .option('--cluster <name>', 'only this cluster')
    .option('--bucket <duration>', 'time bucket the streams are counted in', '1m')
    .option('--min-confidence <level>', 'low, medium or high', 'medium')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (opts: GapsOpts) => {
      const format = choice('--output', opts.output, ['table', 'json'] as const);
      const level = choice('--min-confidence', opts.minConfidence, ['low', 'medium', 'high'] as const);
      const bucketMs = parseDuration(opts.bucket);
      if (bucketMs === undefined || bucketMs < 1000 || bucketMs % 1000 !== 0)
        throw new KubetrailError(
          'KT_USAGE',
          `--bucket takes a whole number of seconds of at least 1s (10s, 1m, 5m), not ${JSON.stringify(opts.bucket)}`,
          { where: { path: '--bucket' } },
        );
      const range = timeRange(opts);
      const store = await openStore(dbLocation(opts.db), storeOptions(opts, { readOnly: true }));
      let report: GapReport;
      try {
        report = await findGaps(store, {
          ...range,
          ...(opts.cluster !== undefined ? { cluster: opts.cluster } : {}),
          bucketMs,
          minConfidence: CONFIDENCE_FLOORS[level],
        });
      } finally {
        await store.close();
      }
      if (report.gaps.length > 0) io.exitCode = 1;
      if (format === 'json') {
        io.out(`${JSON.stringify(report)}\n`);
        return;
      }
      if (report.clusters.length === 0) {
        io.err('no stored events in the range\n');
        return;
      }
      if (report.gaps.length > 0) io.out(formatGapTable(report, io.width));
      for (const c of report.clusters) {
        const watched = c.streams
          .filter((s) => s.events > 0)
          .map((s) => `${s.name} ${s.perMinute}/min`)
          .join(', ');
        io.err(`${c.cluster}: ${n(c.events)} events; ${watched || 'no watched stream'}\n`);
      }
      io.err(
        `${report.gaps.length === 0 ? 'no gap' : `${n(report.gaps.length)} gap${report.gaps.length === 1 ? '' : 's'}`} from ${report.since ? when(report.since) : '?'} to ${report.until ? when(report.until) : '?'} (${lengthText(report.bucketSeconds)} buckets${report.widened ? ', widened for the range' : ''})\n`,
      );
      io.err(
        "the webhook's refused batches and retries are counted by the running server: GET /api/v1/gaps\n",
      );
    });
}
