// `kubetrail history [-n NS] KIND/NAME`: who changed an object and when, with the difference between its
// successive versions (managedFields left out).
import type { Command } from 'commander';
import pc from 'picocolors';
import { KubetrailError } from '../../core/errors.js';
import { buildHistory, type FieldChange, type HistoryEntry } from '../../history/changes.js';
import { parseObjectArg } from '../../history/kinds.js';
import { openStore } from '../../store/open.js';
import { safeText, truncate } from '../terminal.js';
import { choice, dbLocation, dbOption, processIo, timeRange, type Io } from '../common.js';

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
    const who = e.impersonatedUser ? `${e.user} (as ${e.impersonatedUser})` : e.user;
    const verb = e.subresource ? `${e.verb} ${e.subresource}` : e.verb;
    const outcome = e.code === undefined ? '' : e.failed ? ` ${e.code} DENIED/FAILED` : ` ${e.code}`;
    const from = [e.sourceIP, e.userAgent].filter(Boolean).join(', ');
    const head = `${e.time}  ${safeText(who)}  ${verb}${outcome}${from ? `  (${safeText(from)})` : ''}  ${e.auditID}`;
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
    .addOption(dbOption())
    .option('-o, --output <format>', 'text or json', 'text')
    .action(
      async (
        objectArg: string,
        opts: {
          namespace?: string;
          cluster?: string;
          reads?: boolean;
          since?: string;
          until?: string;
          db?: string;
          output: string;
        },
      ) => {
        const format = choice('--output', opts.output, ['text', 'json'] as const);
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
        const store = await openStore(dbLocation(opts.db), { readOnly: true });
        let entries: HistoryEntry[];
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
            timeRange(opts),
          );
          entries = buildHistory(records, { includeReads: opts.reads ?? false });
        } finally {
          await store.close();
        }
        if (format === 'json') {
          io.out(`${JSON.stringify(entries, null, 2)}\n`);
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
