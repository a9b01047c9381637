// `kubetrail alerts`: the alerts stored by streaming detection (import --detect, the live collector) and by
// `detect --save`, newest last; with --deliver, sends what the outbox still owes to the outputs named. On
// a ClickHouse store the list holds every collector's alerts, and the outbox is the one of a local state
// file (--state): delivering it also copies the alerts it still owes into ClickHouse.
import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { KubetrailError } from '../../core/errors.js';
import { Dispatcher } from '../../detect/outbox.js';
import { alertJson, createOutput, parseSeverity } from '../../detect/outputs.js';
import type { Alert } from '../../detect/types.js';
import { openStore } from '../../store/open.js';
import {
  choice,
  collect,
  dbLocation,
  dbOption,
  keyFileOption,
  storeOptions,
  n,
  parseLimit,
  processIo,
  stateLocation,
  stateOption,
  timeRange,
  type Io,
} from '../common.js';
import { renderTable } from '../terminal.js';

export const ALERT_FORMATS = ['table', 'ndjson', 'json'] as const;

interface AlertsOpts {
  db?: string;
  keyFile?: string;
  since?: string;
  until?: string;
  rule?: string[];
  minSeverity: string;
  limit: string;
  output: string;
  deliver?: boolean;
  alertOutput?: string[];
  state?: string;
  timeout: string;
}

/** A duration option in milliseconds. */
export function durationMs(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new KubetrailError(
      'KT_TIME_INVALID',
      `${flag} ${JSON.stringify(text)} is not a duration such as 30s`,
      {
        where: { path: flag },
      },
    );
  }
  return ms;
}

/** Alerts as a table, JSON lines or a JSON array. */
export function formatAlerts(
  alerts: readonly Alert[],
  format: (typeof ALERT_FORMATS)[number],
  width: number,
): string {
  if (format === 'ndjson') return alerts.map((a) => `${alertJson(a)}\n`).join('');
  if (format === 'json') return `[${alerts.map(alertJson).join(',\n')}]\n`;
  if (alerts.length === 0) return '';
  return `${renderTable(
    alerts,
    [
      { header: 'TIME', get: (a) => a.time.replace('T', ' ').slice(0, 19), min: 19 },
      { header: 'SEVERITY', get: (a) => a.severity, min: 8 },
      { header: 'RULE', get: (a) => a.rule, min: 12, weight: 1 },
      { header: 'MESSAGE', get: (a) => a.message, min: 20, weight: 3 },
    ],
    width,
  )}\n`;
}

export function registerAlertsCommand(program: Command, io: Io = processIo()): void {
  program
    .command('alerts')
    .description('list stored alerts (raised by import --detect, the live collector or detect --save)')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--since <time>', 'alerts at or after: a duration (24h, 7d) or a time', '7d')
    .option('--until <time>', 'alerts before: a duration ago or a time')
    .option('--rule <id>', 'only this rule (repeatable)', collect, [])
    .option('--min-severity <level>', 'info, low, medium, high or critical', 'info')
    .option('--limit <n>', 'maximum alerts to print (the newest)', '1000')
    .option('-o, --output <format>', `output format: ${ALERT_FORMATS.join(', ')}`, 'table')
    .option('--deliver', 'send the deliveries still queued in the outbox to the --alert-output outputs')
    .option(
      '--alert-output <spec>',
      'output to deliver to (repeatable): stdout, file:PATH, webhook:URL, slack:URL, alertmanager:URL',
      collect,
      [],
    )
    .option('--timeout <duration>', 'with --deliver: how long to keep retrying', '30s')
    .addOption(stateOption('with --deliver'))
    .action(async (opts: AlertsOpts) => {
      const format = choice('--output', opts.output, ALERT_FORMATS);
      const minSeverity = parseSeverity(opts.minSeverity, '--min-severity');
      const limit = parseLimit(opts.limit);
      const range = timeRange(opts);
      if (opts.deliver) {
        const configured = (opts.alertOutput ?? []).map((s) => createOutput(s, { write: io.out }));
        const timeoutMs = durationMs(opts.timeout, '--timeout');
        const store = await openStore(dbLocation(opts.db), storeOptions(opts));
        try {
          const place = await store.detection({ stateFile: stateLocation(opts.state) });
          try {
            const dispatcher = new Dispatcher(place.state, [...place.targets, ...configured]);
            const pending = await dispatcher.drain(timeoutMs);
            io.err(`delivered ${n(dispatcher.totals.sent)}; ${n(pending)} still queued\n`);
            if (pending > 0) {
              throw new KubetrailError('KT_ALERT_OUTPUT', `${n(pending)} deliveries are still queued`, {
                ...(dispatcher.lastError ? { hint: `last error: ${dispatcher.lastError}` } : {}),
              });
            }
          } finally {
            await place.close();
          }
        } finally {
          await store.close();
        }
        return;
      }
      if (opts.state)
        throw new KubetrailError('KT_USAGE', '--state needs --deliver', { where: { path: '--state' } });
      const store = await openStore(dbLocation(opts.db), storeOptions(opts, { readOnly: true }));
      try {
        const alerts = await store.alertLog({ existing: true });
        const list = alerts
          ? await alerts.list({ ...range, rules: opts.rule ?? [], minSeverity, limit })
          : [];
        io.out(formatAlerts(list, format, io.width));
        if (list.length === 0 && format === 'table') io.err('no alerts\n');
        // The outbox of a DuckDB store is in the store; on ClickHouse each collector keeps its own.
        if (alerts?.outboxCounts) {
          const counts = await alerts.outboxCounts();
          if (counts.pending + counts.failed > 0 && format === 'table')
            io.err(`outbox: ${n(counts.pending)} deliveries pending, ${n(counts.failed)} failed\n`);
        }
      } finally {
        await store.close();
      }
    });
}
