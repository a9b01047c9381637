// `kubetrail show AUDIT_ID`: every stored stage of one request, with who, what, from where, the outcome
// and the request and response bodies.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { EventRecord } from '../../core/event.js';
import { KubetrailError } from '../../core/errors.js';
import { eventLatencyMs, eventTime } from '../../core/time.js';
import { openStore } from '../../store/open.js';
import { actorLabel, objectLabel } from '../event-output.js';
import { safeText } from '../terminal.js';
import { choice, dbLocation, dbOption, keyFileOption, storeOptions, processIo, type Io } from '../common.js';

/** The human rendering of one request's stages. */
export function renderRequest(records: readonly EventRecord[]): string {
  const first = records[0]!;
  const last = records[records.length - 1]!;
  const e = last.event;
  const lines: string[] = [];
  const kv = (k: string, v: string | undefined) => {
    if (v) lines.push(`${k.padEnd(14)}${safeText(v)}`);
  };
  kv('Audit ID', e.auditID);
  kv('Cluster', last.cluster);
  kv('Request', `${e.verb} ${e.requestURI}`);
  kv('Object', objectLabel(last));
  kv('User', actorLabel(last));
  kv('Groups', (e.user?.groups ?? []).join(', '));
  kv('Source IPs', (e.sourceIPs ?? []).join(', '));
  kv('User agent', e.userAgent);
  const st = e.responseStatus;
  if (st)
    kv('Response', [st.code, st.reason, st.message].filter((x) => x !== undefined && x !== '').join(' '));
  kv('Decision', e.annotations?.['authorization.k8s.io/decision']);
  kv('Reason', e.annotations?.['authorization.k8s.io/reason']);
  kv('Received', first.event.requestReceivedTimestamp);
  lines.push('Stages:');
  for (const r of records) {
    const ms = eventLatencyMs(r.event);
    lines.push(
      `  ${r.event.stage.padEnd(18)}${eventTime(r.event)}${ms !== undefined ? `  (+${ms.toFixed(1)}ms)` : ''}  level ${r.event.level}`,
    );
  }
  const annotations = Object.entries(e.annotations ?? {}).filter(
    ([k]) => !k.startsWith('authorization.k8s.io/'),
  );
  if (annotations.length > 0) {
    lines.push('Annotations:');
    for (const [k, v] of annotations) lines.push(`  ${safeText(k)}: ${safeText(v)}`);
  }
  const body = records.find((r) => r.event.requestObject !== undefined)?.event.requestObject;
  const response = records.find((r) => r.event.responseObject !== undefined)?.event.responseObject;
  for (const [title, obj] of [
    ['Request object', body],
    ['Response object', response],
  ] as const) {
    if (obj === undefined) continue;
    lines.push(`${title}:`);
    for (const l of stringify(obj).trimEnd().split('\n')) lines.push(`  ${safeText(l)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerShowCommand(program: Command, io: Io = processIo()): void {
  program
    .command('show')
    .description('show every stage of one request')
    .argument('<auditID>', 'the request ID (auditID)')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('-o, --output <format>', 'text, json (an EventList), ndjson or yaml', 'text')
    .action(async (auditID: string, opts: { db?: string; keyFile?: string; output: string }) => {
      const format = choice('--output', opts.output, ['text', 'json', 'ndjson', 'yaml'] as const);
      const store = await openStore(dbLocation(opts.db), storeOptions(opts, { readOnly: true }));
      let records: EventRecord[];
      try {
        records = await store.getByAuditId(auditID);
      } finally {
        await store.close();
      }
      if (records.length === 0) {
        throw new KubetrailError('KT_NOT_FOUND', `no stored event has auditID ${JSON.stringify(auditID)}`, {
          hint: 'find IDs with `kubetrail query -o wide`',
        });
      }
      if (format === 'json') {
        io.out(
          `${JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: records.map((r) => r.event) }, null, 2)}\n`,
        );
      } else if (format === 'ndjson') {
        io.out(records.map((r) => `${JSON.stringify(r.event)}\n`).join(''));
      } else if (format === 'yaml') {
        io.out(stringify(records.map((r) => r.event)));
      } else {
        // Requests that share an auditID (clients may set it; aggregated API servers reuse it) are shown apart.
        const groups = new Map<string, EventRecord[]>();
        for (const r of records) {
          const key = `${r.cluster}\u0000${r.event.requestReceivedTimestamp}\u0000${r.event.requestURI}`;
          groups.set(key, [...(groups.get(key) ?? []), r]);
        }
        io.out([...groups.values()].map(renderRequest).join('\n'));
      }
    });
}
