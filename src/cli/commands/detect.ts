// `kubetrail detect [FILES...]`: batch hunting with the detection rules over audit log files or the
// stored events (oldest first), giving the alerts the live pipeline would have raised. Also registers the
// detection commands (detect, rules, alerts) and the options `import` takes to detect while importing.
import type { Command } from 'commander';
import { KubetrailError } from '../../core/errors.js';
import { DetectionEngine } from '../../detect/engine.js';
import { hunt, inRange } from '../../detect/hunt.js';
import { Dispatcher } from '../../detect/outbox.js';
import { alertJson, createOutput, parseSeverity } from '../../detect/outputs.js';
import { ipListOptions, openIpLists } from '../../detect/ip-list.js';
import { loadRules } from '../../detect/rules.js';
import { openDetection, type DetectionSession } from '../../detect/session.js';
import { severityRank, type Alert } from '../../detect/types.js';
import { createMemoryQuarantine, readEvents } from '../../ingest/index.js';
import type { Transform } from '../../core/transform.js';
import { openStore } from '../../store/open.js';
import { allEvents } from '../../store/paging.js';
import type { Store } from '../../store/store.js';
import {
  choice,
  collect,
  dbLocation,
  dbOption,
  keyFileOption,
  storeOptions,
  n,
  processIo,
  stateLocation,
  stateOption,
  timeRange,
  type Io,
} from '../common.js';
import { ALERT_FORMATS, durationMs, formatAlerts, registerAlertsCommand } from './alerts.js';
import { registerRulesCommands } from './rules.js';

interface DetectOpts {
  db?: string;
  keyFile?: string;
  since?: string;
  until?: string;
  rules?: string[];
  builtin?: boolean;
  minSeverity: string;
  output: string;
  cluster: string;
  save?: boolean;
  alertOutput?: string[];
  state?: string;
  failOn?: string;
  ipList?: string[];
}

export function registerDetectCommand(program: Command, io: Io = processIo()): void {
  program
    .command('detect')
    .description('hunt with the detection rules over audit log files, or over the stored events')
    .argument('[files...]', 'audit log files or directories (default: the events in the store)')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--since <time>', 'only events at or after: a duration (30d) or a time')
    .option('--until <time>', 'only events before: a duration ago or a time')
    .option(
      '--rules <path>',
      'rule file or directory applied after the built-in pack (repeatable)',
      collect,
      [],
    )
    .option('--no-builtin', 'leave the built-in rule pack out')
    .option(
      '--ip-list <name=file>',
      'IP list rules name with ipList: (tor-exit-nodes=FILE; repeatable)',
      collect,
      [],
    )
    .option('--min-severity <level>', 'lowest severity printed: info, low, medium, high, critical', 'low')
    .option('-o, --output <format>', `output format: ${ALERT_FORMATS.join(', ')}`, 'table')
    .option('--cluster <name>', 'cluster name for events read from files', 'default')
    .option('--save', 'store the alerts in the store and send them to the --alert-output outputs')
    .option(
      '--alert-output <spec>',
      'with --save: stdout, file:PATH, webhook:URL, slack:URL, alertmanager:URL (repeatable)',
      collect,
      [],
    )
    .addOption(stateOption('with --save'))
    .option('--fail-on <level>', 'exit with status 1 when an alert of this severity or above is raised')
    .action(async (files: string[], opts: DetectOpts) => {
      const format = choice('--output', opts.output, ALERT_FORMATS);
      const minSeverity = parseSeverity(opts.minSeverity, '--min-severity');
      const failOn = opts.failOn ? parseSeverity(opts.failOn, '--fail-on') : undefined;
      const range = timeRange(opts);
      if ((opts.alertOutput ?? []).length > 0 && !opts.save)
        throw new KubetrailError(
          'KT_USAGE',
          '--alert-output needs --save (deliveries go through the store outbox)',
          {
            where: { path: '--alert-output' },
          },
        );
      if (opts.state && !opts.save)
        throw new KubetrailError('KT_USAGE', '--state needs --save', { where: { path: '--state' } });
      const ipLists = openIpLists(ipListOptions(opts.ipList ?? []), {
        onWarning: (m) => io.err(`warning: ${m}\n`),
      });
      const engine = new DetectionEngine(
        loadRules({ files: opts.rules ?? [], builtin: opts.builtin !== false, ipLists }),
      );
      const shown: Alert[] = [];
      const all: Alert[] = [];
      const show = (alerts: Alert[]) => {
        const kept = alerts.filter((a) => severityRank(a.severity) >= severityRank(minSeverity));
        all.push(...alerts);
        if (format === 'ndjson') {
          if (kept.length > 0) io.out(kept.map((a) => `${alertJson(a)}\n`).join(''));
        } else shown.push(...kept);
      };
      const quarantine = createMemoryQuarantine();
      const fromFiles = files.length > 0;
      const needStore = !fromFiles || opts.save;
      const store: Store | undefined = needStore
        ? await openStore(dbLocation(opts.db), storeOptions(opts, { readOnly: !opts.save }))
        : undefined;
      try {
        const source = fromFiles
          ? inRange(readEvents(files, { cluster: opts.cluster, quarantine }), range)
          : allEvents(store!, range);
        const events = await hunt(source, engine, show);
        if (format !== 'ndjson') io.out(formatAlerts(shown, format, io.width));
        io.err(
          `${n(events)} events, ${n(all.length)} alerts (${n(shown.length || all.filter((a) => severityRank(a.severity) >= severityRank(minSeverity)).length)} at ${minSeverity} or above)\n`,
        );
        if (quarantine.count > 0)
          io.err(`note: ${n(quarantine.count)} records are not audit events and were skipped\n`);
        if (opts.save && store) {
          const configured = (opts.alertOutput ?? []).map((s) => createOutput(s, { write: io.out }));
          // On ClickHouse the alerts reach the store through the outbox of the local state file.
          const place = await store.detection({ stateFile: stateLocation(opts.state) });
          try {
            const outputs = [...place.targets, ...configured];
            const fresh = await place.state.save(all, outputs);
            io.err(`saved ${n(fresh.length)} new alerts\n`);
            if (outputs.length > 0) {
              const pending = await new Dispatcher(place.state, outputs).drain(10_000);
              if (pending > 0)
                io.err(
                  `${n(pending)} deliveries still queued in ${place.where}; \`kubetrail alerts --deliver\` retries them\n`,
                );
            }
          } finally {
            await place.close();
          }
        }
      } finally {
        await store?.close();
      }
      if (failOn && all.some((a) => severityRank(a.severity) >= severityRank(failOn))) io.exitCode = 1;
    });
}

// ---------------------------------------------------------------- detection during import

export interface ImportDetectOpts {
  detect?: boolean;
  rules?: string[];
  alertOutput?: string[];
  alertMinSeverity?: string;
  alertDrain?: string;
  state?: string;
  ipList?: string[];
}

/** Adds import's detection options to a command. */
export function addImportDetectOptions(cmd: Command): Command {
  return cmd
    .option(
      '--detect',
      'run the detection rules on the events as they are imported; alerts are stored (see `kubetrail alerts`)',
    )
    .option(
      '--rules <path>',
      'with --detect: rule file or directory applied after the built-in pack (repeatable)',
      collect,
      [],
    )
    .option(
      '--alert-output <spec>',
      'with --detect: send alerts to stdout, file:PATH, webhook:URL, slack:URL or alertmanager:URL (repeatable)',
      collect,
      [],
    )
    .option('--alert-min-severity <level>', 'with --detect: lowest severity sent to outputs', 'low')
    .option(
      '--ip-list <name=file>',
      'with --detect: IP list rules name with ipList: (tor-exit-nodes=FILE; repeatable)',
      collect,
      [],
    )
    .option(
      '--alert-drain <duration>',
      'with --detect: how long to keep delivering queued alerts at the end',
      '10s',
    )
    .addOption(stateOption('with --detect'));
}

export interface ImportDetection {
  /** Transforms to run last in the import pipeline (empty without --detect). */
  transforms: Transform[];
  /** Finishes detection: state saved, deliveries attempted; returns a summary line (or undefined). */
  finish(): Promise<{ alerts: number; stored: number; pending: number } | undefined>;
}

/** Sets up detection for an import when --detect is given. */
export async function importDetection(
  store: Store,
  opts: ImportDetectOpts,
  io: Io,
): Promise<ImportDetection> {
  if (!opts.detect) {
    if (
      (opts.alertOutput ?? []).length > 0 ||
      (opts.rules ?? []).length > 0 ||
      (opts.ipList ?? []).length > 0 ||
      opts.state
    )
      throw new KubetrailError('KT_USAGE', '--rules, --ip-list, --alert-output and --state need --detect', {
        where: { path: '--detect' },
      });
    return { transforms: [], finish: async () => undefined };
  }
  const session: DetectionSession = await openDetection(store, {
    files: opts.rules ?? [],
    outputs: opts.alertOutput ?? [],
    outputMinSeverity: parseSeverity(opts.alertMinSeverity ?? 'low', '--alert-min-severity'),
    ipListFiles: ipListOptions(opts.ipList ?? []),
    onIpListWarning: (m) => io.err(`warning: ${m}\n`),
    write: io.out,
    stateFile: stateLocation(opts.state),
  });
  const drain = durationMs(opts.alertDrain ?? '10s', '--alert-drain');
  return {
    transforms: [session.transform],
    finish: async () => {
      const pending = await session.finish(drain);
      return { alerts: session.transform.alertCount, stored: session.stored, pending };
    },
  };
}

/** Registers detect, rules and alerts, and adds the detection options to `import` when it is registered. */
export function registerDetectionCommands(program: Command, io: Io = processIo()): void {
  const imp = program.commands.find((c) => c.name() === 'import');
  if (imp) addImportDetectOptions(imp);
  registerDetectCommand(program, io);
  registerRulesCommands(program, io);
  registerAlertsCommand(program, io);
}
