// `kubetrail scan [SOURCE...]`: audits audit logs (files, directories, stdin) or the store for secrets that
// reached them: which events, which paths, which kind of secret, the policy rule that logged them (with
// --policy) and the policy change that stops it. Exits 1 when leaks are found, for CI pipelines.
import type { Command } from 'commander';
import { createMemoryQuarantine, readEvents } from '../../ingest/index.js';
import { PolicyEvaluator } from '../../policy/evaluate.js';
import { loadPolicyFile } from '../../policy/load.js';
import { ruleSummary } from '../../policy/simulate.js';
import {
  LeakScanner,
  loadRedactOptions,
  Redactor,
  type Leak,
  type PolicyAttribution,
  type ScanReport,
} from '../../redact/index.js';
import { openStore } from '../../store/open.js';
import { allEvents } from '../../store/paging.js';
import { renderTable } from '../terminal.js';
import {
  choice,
  dbLocation,
  dbOption,
  keyFileOption,
  storeOptions,
  n,
  parseLimit,
  processIo,
  type Io,
} from '../common.js';

interface ScanOpts {
  db?: string;
  keyFile?: string;
  config?: string;
  policy?: string;
  output: string;
  limit: string;
  cluster: string;
}

function objectOf(l: Leak): string {
  const parts = [l.resource ?? '-', l.namespace, l.name].filter((p) => p !== undefined);
  return parts.join(' ');
}

function formatTable(report: ScanReport, limit: number, width: number): string {
  const out: string[] = [];
  if (report.totalLeaks === 0) {
    out.push(`no leaks in ${n(report.events)} events`);
    return `${out.join('\n')}\n`;
  }
  const shown = report.leaks.slice(0, limit);
  out.push(
    renderTable(
      shown,
      [
        { header: 'TIME', get: (l) => l.time.replace('T', ' ').slice(0, 19), min: 19 },
        { header: 'USER', get: (l) => l.user, weight: 1 },
        { header: 'VERB', get: (l) => l.verb, min: 6 },
        { header: 'OBJECT', get: (l) => objectOf(l), weight: 2 },
        { header: 'PATH', get: (l) => l.path, weight: 3 },
        { header: 'SECRET', get: (l) => l.rule, min: 10 },
        ...(report.policy
          ? [
              {
                header: 'POLICY RULE',
                get: (l: Leak) =>
                  l.policy
                    ? l.policy.rule === null
                      ? '(none)'
                      : `rules[${l.policy.rule}] ${l.policy.level}`
                    : '',
                min: 24,
              },
            ]
          : []),
      ],
      width,
    ).trimEnd(),
  );
  if (report.totalLeaks > shown.length)
    out.push(`… ${n(report.totalLeaks - shown.length)} more (use --limit or -o json)`);
  const byRule = Object.entries(report.byRule)
    .sort((a, b) => b[1] - a[1])
    .map(([r, c]) => `${r} ${n(c)}`)
    .join(', ');
  out.push(
    '',
    `${n(report.totalLeaks)} leak(s) in ${n(report.eventsWithLeaks)} of ${n(report.events)} events: ${byRule}`,
  );
  if (!report.policy)
    out.push(
      '(give --policy with the audit policy that wrote these events to name the rule behind each leak)',
    );
  out.push('', 'suggested fixes:');
  report.fixes.forEach((f, i) => {
    out.push(`${i + 1}. ${f.advice} (${n(f.leaks)} leak(s))`);
    if (f.policyRule) out.push(...f.policyRule.split('\n').map((l) => `     ${l}`));
  });
  return `${out.join('\n')}\n`;
}

export function registerScanCommand(program: Command, io: Io = processIo()): void {
  program
    .command('scan')
    .description('find secrets in audit logs or the store; exits 1 when any is found (for CI)')
    .argument('[sources...]', 'audit logs (files, directories, - for stdin); none: the store')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--config <file>', 'redaction configuration with extra patterns and allow-lists')
    .option('--policy <file>', 'the audit policy that wrote the events: names the rule behind each leak')
    .option('-o, --output <format>', 'table or json', 'table')
    .option('--limit <n>', 'leaks listed in the table', '50')
    .option('--cluster <name>', 'cluster name for events read from files', 'default')
    .action(async (sources: string[], opts: ScanOpts) => {
      const format = choice('--output', opts.output, ['table', 'json'] as const);
      const limit = parseLimit(opts.limit);
      const redactor = new Redactor(loadRedactOptions(opts.config, process.env, { detectOnly: true }));
      let attribute: ((e: Parameters<PolicyEvaluator['evaluateEvent']>[0]) => PolicyAttribution) | undefined;
      if (opts.policy) {
        const loaded = await loadPolicyFile(opts.policy);
        const evaluator = new PolicyEvaluator(loaded.policy);
        attribute = (e) => {
          const d = evaluator.evaluateEvent(e);
          if (d.rule === null) return { rule: null, level: d.level };
          const line = loaded.positionOf(`rules[${d.rule}]`)?.line;
          return {
            rule: d.rule,
            level: d.level,
            summary: ruleSummary(loaded.policy.rules[d.rule]!),
            ...(line !== undefined ? { line } : {}),
          };
        };
      }
      const scanner = new LeakScanner(redactor, attribute ? { attribute } : {});
      const quarantine = createMemoryQuarantine();
      if (sources.length > 0) {
        for await (const batch of readEvents(sources, { cluster: opts.cluster, quarantine }))
          scanner.add(batch);
      } else {
        const store = await openStore(dbLocation(opts.db), storeOptions(opts, { readOnly: true }));
        try {
          for await (const batch of allEvents(store)) scanner.add(batch);
        } finally {
          await store.close();
        }
      }
      const report = scanner.report();
      if (format === 'json') io.out(`${JSON.stringify({ ...report, quarantined: quarantine.count })}\n`);
      else io.out(formatTable(report, limit, io.width));
      if (quarantine.count > 0)
        io.err(`note: ${n(quarantine.count)} records in the input are not audit events and were skipped\n`);
      if (report.totalLeaks > 0) io.exitCode = 1;
    });
}
