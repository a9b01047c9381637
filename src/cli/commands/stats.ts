// `kubetrail stats --by FIELD [FILTER]`: counts events per value of a field (top values first), from the
// store or straight from files.
import type { Command } from 'commander';
import { createMemoryQuarantine, readEvents } from '../../ingest/index.js';
import { compileJs, parseQuery } from '../../query/index.js';
import { fieldValues } from '../../fields/values.js';
import { openStore } from '../../store/open.js';
import { redactBatches } from '../../redact/index.js';
import type { StatsRow } from '../../store/store.js';
import type { EventRecord } from '../../core/event.js';
import { resolveField } from '../../fields/catalog.js';
import { eventTime, microsToTime, timeToMicros } from '../../core/time.js';
import { resolveNamedField } from '../../query/field-name.js';
import { csvRow } from '../../core/csv.js';
import { renderTable } from '../terminal.js';
import {
  choice,
  collect,
  dbLocation,
  dbOption,
  keyFileOption,
  storeOptions,
  parseLimit,
  processIo,
  timeRange,
  type Io,
} from '../common.js';

interface StatsOpts {
  by: string;
  db?: string;
  keyFile?: string;
  file: string[];
  since?: string;
  until?: string;
  limit: string;
  output: string;
}

/** A grouped value as people read it: times in RFC 3339, absent and empty values named. */
export function valueLabel(value: StatsRow['value'], by: string): string {
  if (value === null) return '(none)';
  if (value === '') return '(empty)';
  const f = resolveField(by);
  if (typeof value === 'number' && f?.kind === 'column' && f.field.type === 'time')
    return microsToTime(value);
  return String(value);
}

/** Counts values of a field over event batches (the --file path of stats). */
export async function statsFromBatches(
  source: AsyncIterable<EventRecord[]>,
  opts: { by: string; filter: ReturnType<typeof parseQuery>; since?: number; until?: number; limit: number },
): Promise<{ rows: StatsRow[]; total: number }> {
  const accept = compileJs(opts.filter);
  const counts = new Map<string | number | null, number>();
  let total = 0;
  for await (const batch of source) {
    for (const r of batch) {
      if (!accept(r)) continue;
      const t = timeToMicros(eventTime(r.event)) ?? 0;
      if (opts.since !== undefined && t < opts.since) continue;
      if (opts.until !== undefined && t >= opts.until) continue;
      total++;
      const values = fieldValues(r, opts.by);
      if (values.length === 0) counts.set(null, (counts.get(null) ?? 0) + 1);
      for (const v of new Set(values.map((x) => (typeof x === 'boolean' ? String(x) : x))))
        counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  const rows = [...counts.entries()]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)))
    .slice(0, opts.limit);
  return { rows, total };
}

export function registerStatsCommand(program: Command, io: Io = processIo()): void {
  program
    .command('stats')
    .description('count events per value of a field, top values first')
    .requiredOption('--by <field>', 'field to group by (user, verb, resource, ns, code, ip, ua, …)')
    .argument('[filter]', 'filter expression', '*')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--file <path>', 'count straight from an audit log file or directory (repeatable)', collect, [])
    .option('--since <time>', 'only events at or after: a duration (24h) or a time')
    .option('--until <time>', 'only events before: a duration ago or a time')
    .option('--limit <n>', 'number of values to show', '20')
    .option('-o, --output <format>', 'table, json or csv', 'table')
    .action(async (filterText: string, opts: StatsOpts) => {
      const format = choice('--output', opts.output, ['table', 'json', 'csv'] as const);
      const limit = parseLimit(opts.limit);
      const range = timeRange(opts);
      const filter = parseQuery(filterText);
      resolveNamedField(opts.by, '--by');
      let rows: StatsRow[];
      let total: number;
      if (opts.file.length > 0) {
        ({ rows, total } = await statsFromBatches(
          redactBatches(readEvents(opts.file, { quarantine: createMemoryQuarantine() })),
          { by: opts.by, filter, ...range, limit },
        ));
      } else {
        const store = await openStore(dbLocation(opts.db), storeOptions(opts, { readOnly: true }));
        try {
          rows = await store.stats({ filter, by: opts.by, ...range, limit });
          total = await store.count(filter, range);
        } finally {
          await store.close();
        }
      }
      if (format === 'json') {
        io.out(`${JSON.stringify({ by: opts.by, total, values: rows })}\n`);
        return;
      }
      if (format === 'csv') {
        io.out(
          [csvRow([opts.by, 'count']), ...rows.map((r) => csvRow([r.value, r.count]))].join('\n') + '\n',
        );
        return;
      }
      if (rows.length === 0) {
        io.err('no events matched\n');
        return;
      }
      const max = Math.max(...rows.map((r) => r.count));
      const bar = (c: number) => '█'.repeat(Math.max(1, Math.round((c / max) * 20)));
      io.out(
        renderTable(
          rows,
          [
            {
              header: opts.by.toUpperCase(),
              get: (r) => valueLabel(r.value, opts.by),
              weight: 3,
            },
            { header: 'COUNT', get: (r) => r.count.toLocaleString('en-US'), right: true, min: 5 },
            {
              header: '%',
              get: (r) => (total > 0 ? ((r.count / total) * 100).toFixed(1) : '0'),
              right: true,
              min: 5,
            },
            { header: '', get: (r) => bar(r.count), min: 1 },
          ],
          io.width,
        ) + '\n',
      );
      io.err(`${total.toLocaleString('en-US')} events matched\n`);
    });
}
