// `kubetrail history [-n NS] KIND/NAME`: who changed an object and when (the actor behind each write),
// what is known of its state after each write (known, derived, unknown, deleted) and the difference
// between successive states (managedFields left out unless asked); `--at TIME` prints the object as it
// was at that moment.
import type { Command } from 'commander';
import pc from 'picocolors';
import { stringify } from 'yaml';
import { parseTimeArg } from '../../core/duration.js';
import { KubetrailError } from '../../core/errors.js';
import {
  buildObjectHistory,
  stateAt,
  type FieldChange,
  type HistoryEntry,
  type StateAt,
} from '../../history/changes.js';
import { parseObjectArg } from '../../history/kinds.js';
import { openStore } from '../../store/open.js';
import { safeText, truncate } from '../terminal.js';
import {
  choice,
  dbLocation,
  dbOption,
  keyFileOption,
  storeOptions,
  processIo,
  timeRange,
  type Io,
} from '../common.js';

function valueText(v: unknown): string {
  return truncate(safeText(JSON.stringify(v) ?? 'undefined'), 160);
}

function changeLine(c: FieldChange, color: boolean): string {
  const paint = (f: (s: string) => string, s: string) => (color ? f(s) : s);
  const path = safeText(c.path);
  if (c.op === 'add') return paint(pc.green, `    + ${path}: ${valueText(c.new)}`);
  if (c.op === 'remove') return paint(pc.red, `    - ${path}: ${valueText(c.old)}`);
  return paint(pc.yellow, `    ~ ${path}: ${valueText(c.old)} → ${valueText(c.new)}`);
}

export function renderHistory(entries: readonly HistoryEntry[], color: boolean): string {
  const out: string[] = [];
  for (const e of entries) {
    const who =
      e.actor && e.actor !== e.user
        ? `${e.actor} (${e.impersonatedUser ? `${e.user} as ${e.impersonatedUser}` : e.user})`
        : e.impersonatedUser
          ? `${e.user} (as ${e.impersonatedUser})`
          : e.user;
    const verb = e.subresource ? `${e.verb} ${e.subresource}` : e.verb;
    const outcome = e.code === undefined ? '' : e.failed ? ` ${e.code} DENIED/FAILED` : ` ${e.code}`;
    const from = [e.sourceIP, e.userAgent].filter(Boolean).join(', ');
    const state = e.state
      ? `  [${e.state}${e.stateSource && e.stateSource !== 'none' ? `: ${e.stateSource}` : ''}]`
      : '';
    const head = `${e.time}  ${safeText(who)}  ${verb}${outcome}${state}${from ? `  (${safeText(from)})` : ''}  ${e.auditID}`;
    out.push(color && e.failed ? pc.red(head) : head);
    if (e.note) out.push(`    ${e.note}`);
    if (e.changes) {
      if (e.changes.length === 0) out.push('    (no change)');
      for (const c of e.changes.slice(0, 200)) out.push(changeLine(c, color));
      if (e.changes.length > 200) out.push(`    … ${e.changes.length - 200} more changes (use -o json)`);
    }
    if (e.patch !== undefined) out.push(`    patch: ${valueText(e.patch)}`);
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

const STATE_WORDS: Record<StateAt['state'], string> = {
  known: 'known: as the API server stored it',
  derived: 'derived: rebuilt by applying logged requests to a known state',
  unknown: 'unknown: not in the log (no body, or the history starts with a patch); nothing is invented',
  deleted: 'deleted',
  absent: 'not yet created',
};

/** The comment line that says what an `--at` answer is. */
export function stateHeader(label: string, at: string, s: StateAt): string {
  const since = s.since
    ? ` since ${s.since} (request ${s.auditID}${s.source && s.source !== 'none' ? `, ${s.source}` : ''})`
    : '';
  return `# ${label} at ${at}: ${STATE_WORDS[s.state]}${since}`;
}

export function registerHistoryCommand(program: Command, io: Io = processIo()): void {
  program
    .command('history')
    .description('who changed an object and when, with a diff between versions (kubectl-style KIND/NAME)')
    .argument(
      '<object>',
      'KIND/NAME, e.g. deployment/web, deploy/web, cm/settings, clusterrolebinding/admins',
    )
    .option('-n, --namespace <ns>', 'namespace of the object')
    .option('--cluster <name>', 'only this cluster')
    .option('--reads', 'also list reads (get, list, watch) of the object')
    .option('--since <time>', 'only events at or after: a duration (7d) or a time')
    .option('--until <time>', 'only events before')
    .option('--at <time>', 'print the object as it was at this time (a time, or a duration ago)')
    .option('--managed-fields', 'include metadata.managedFields in diffs')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('-o, --output <format>', 'text, json or yaml (yaml: with --at)', 'text')
    .action(
      async (
        objectArg: string,
        opts: {
          namespace?: string;
          cluster?: string;
          reads?: boolean;
          since?: string;
          until?: string;
          at?: string;
          managedFields?: boolean;
          db?: string;
          keyFile?: string;
          output: string;
        },
      ) => {
        const format = choice('--output', opts.output, ['text', 'json', 'yaml'] as const);
        const atMs = opts.at === undefined ? undefined : parseTimeArg(opts.at);
        if (opts.at !== undefined && atMs === undefined) {
          throw new KubetrailError(
            'KT_TIME_INVALID',
            `--at ${JSON.stringify(opts.at)} is neither a duration nor a time`,
            {
              where: { path: '--at' },
            },
          );
        }
        const parsed = parseObjectArg(objectArg);
        if (!parsed) {
          throw new KubetrailError(
            'KT_USAGE',
            `expected KIND/NAME (like deployment/web), got ${JSON.stringify(objectArg)}`,
            {
              where: { path: 'object' },
            },
          );
        }
        const store = await openStore(dbLocation(opts.db), storeOptions(opts, { readOnly: true }));
        const range = timeRange(opts);
        // With --at, later writes are read too: a create after the moment says the object did not exist yet.
        let history: ReturnType<typeof buildObjectHistory>;
        try {
          const records = await store.history(
            {
              resource: parsed.kind.resource,
              name: parsed.name,
              apiGroup: parsed.kind.group,
              ...(opts.namespace !== undefined && parsed.kind.namespaced
                ? { namespace: opts.namespace }
                : {}),
              ...(opts.cluster !== undefined ? { cluster: opts.cluster } : {}),
            },
            range,
          );
          history = buildObjectHistory(records, {
            includeReads: opts.reads ?? false,
            managedFields: opts.managedFields ?? false,
          });
        } finally {
          await store.close();
        }
        const label = `${parsed.kind.resource}/${parsed.name}${opts.namespace ? ` in ${opts.namespace}` : ''}`;
        if (atMs !== undefined) {
          const at = new Date(atMs).toISOString();
          const s = stateAt(history, at);
          if (format === 'json') io.out(`${JSON.stringify({ at, ...s }, null, 2)}\n`);
          else {
            io.out(`${stateHeader(label, at, s)}\n`);
            if (s.object) io.out(stringify(s.object, { lineWidth: 0 }));
          }
          // No object to show: a finding for scripts.
          if (!s.object) io.exitCode = 1;
          return;
        }
        const entries = history.entries;
        if (format !== 'text') {
          io.out(
            format === 'json'
              ? `${JSON.stringify(entries, null, 2)}\n`
              : stringify(entries, { lineWidth: 0 }),
          );
          return;
        }
        if (entries.length === 0) {
          const ns = opts.namespace ? ` in namespace ${opts.namespace}` : '';
          io.err(
            `no recorded ${opts.reads ? 'activity' : 'changes'} for ${parsed.kind.resource}/${parsed.name}${ns}\n`,
          );
          return;
        }
        io.out(renderHistory(entries, io.interactive && Boolean(process.stdout.isTTY)));
      },
    );
}
