// `kubetrail query [FILTER]`: finds events in the store (or straight in files with --file), newest first,
// and prints them as a table or in a machine format.
import type { Command } from 'commander';
import { createMemoryQuarantine } from '../../ingest/index.js';
import { queryFiles } from '../../pipeline/file-query.js';
import { parseQuery } from '../../query/index.js';
import { openStore } from '../../store/open.js';
import { redactTransform } from '../../redact/index.js';
import type { EventRecord } from '../../core/event.js';
import { EVENT_FORMATS, formatEvents } from '../event-output.js';
import {
  choice,
  collect,
  dataKey,
  dbLocation,
  dbOption,
  keyFileOption,
  storeOptions,
  n,
  parseLimit,
  processIo,
  timeRange,
  type Io,
} from '../common.js';

interface QueryOpts {
  db?: string;
  keyFile?: string;
  file?: string[];
  since?: string;
  until?: string;
  limit: string;
  output: string;
  failIfEmpty?: boolean;
  asc?: boolean;
  cluster?: string;
  explain?: boolean;
}

export function registerQueryCommand(program: Command, io: Io = processIo()): void {
  program
    .command('query')
    .description('find events matching a filter, newest first (see docs/query-language.md)')
    .argument('[filter]', "filter expression, e.g. 'verb:delete resource:secrets'", '*')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option(
      '--file <path>',
      'query an audit log file or directory directly, without importing (repeatable)',
      collect,
      [],
    )
    .option(
      '--since <time>',
      'only events at or after: a duration (24h, 7d) or a time (2024-05-01T10:00:00Z)',
    )
    .option('--until <time>', 'only events before: a duration ago or a time')
    .option('--limit <n>', 'maximum events to print', '100')
    .option('-o, --output <format>', `output format: ${EVENT_FORMATS.join(', ')}`, 'table')
    .option('--asc', 'oldest first')
    .option('--cluster <name>', 'cluster name for events read with --file', 'default')
    .option('--fail-if-empty', 'exit with code 1 when nothing matches')
    .option(
      '--explain',
      'print how the store runs the filter (SQL, values, what is post-filtered); run nothing',
    )
    .action(async (filterText: string, opts: QueryOpts) => {
      const format = choice('--output', opts.output, EVENT_FORMATS);
      const limit = parseLimit(opts.limit);
      const range = timeRange(opts);
      const filter = parseQuery(filterText);
      const order = opts.asc ? 'asc' : 'desc';
      if (opts.explain) {
        const { explainQuery } = await import('../../store/explain.js');
        // With a data key, the plan of an encrypted store (the store itself is not opened).
        const encrypted = dataKey(opts) !== undefined;
        io.out(explainQuery(dbLocation(opts.db), filter, range, Date.now(), encrypted));
        return;
      }
      let records: EventRecord[];
      let more: string | undefined;
      if (opts.file && opts.file.length > 0) {
        const quarantine = createMemoryQuarantine();
        // DuckDB narrows each file to the lines that may match; those are decoded, redacted and decided
        // by the filter in JavaScript (src/pipeline/file-query.ts).
        const result = await queryFiles({
          inputs: opts.file,
          filter,
          ...range,
          limit,
          order,
          cluster: opts.cluster ?? 'default',
          quarantine,
          redaction: redactTransform(),
        });
        records = result.records;
        if (result.matched > records.length) more = `${n(result.matched)} events matched`;
        if (quarantine.count > 0) {
          io.err(`note: ${n(quarantine.count)} records in the input are not audit events and were skipped\n`);
        }
      } else {
        const store = await openStore(dbLocation(opts.db), storeOptions(opts, { readOnly: true }));
        try {
          const page = await store.query({ filter, ...range, limit, order });
          records = page.records;
          if (page.nextCursor) {
            const total = await store.count(filter, range);
            more = `${n(total)} events matched`;
          }
        } finally {
          await store.close();
        }
      }
      io.out(formatEvents(records, format, io.width, io.terminal));
      if (more) io.err(`note: showing ${n(records.length)}; ${more} (use --limit to see more)\n`);
      if (records.length === 0) {
        if (format === 'table' || format === 'wide') io.err('no events matched\n');
        if (opts.failIfEmpty) io.exitCode = 1;
      }
    });
}
