// `kubetrail policy lint|check|simulate|recommend|preset`: audit policies checked, evaluated against
// logged events with kube-apiserver's semantics, simulated for volume and detection loss, recommended
// from real traffic, and ready-made. Also registers `kubetrail setup` (setup.ts).
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { KubetrailError } from '../../core/errors.js';
import type { EventRecord } from '../../core/event.js';
import { createMemoryQuarantine } from '../../ingest/index.js';
import { DEMO_INCIDENTS } from '../../generate/index.js';
import { PolicyEvaluator } from '../../policy/evaluate.js';
import { formatProblem, loadPolicyFile, readPolicyFile } from '../../policy/load.js';
import { lintPolicy } from '../../policy/lint.js';
import { compileNeeds, detectionNeeds } from '../../policy/needs.js';
import { PRESET_NAMES, presetYaml } from '../../policy/presets.js';
import { recommend, type Recommendation } from '../../policy/recommend.js';
import { simulate, type SimulationReport } from '../../policy/simulate.js';
import { fileBatches } from '../../policy/source.js';
import { openStore } from '../../store/open.js';
import { allEvents } from '../../store/paging.js';
import { renderTable } from '../terminal.js';
import {
  choice,
  collect,
  dbLocation,
  dbOption,
  keyFileOption,
  storeOptions,
  n,
  processIo,
  type Io,
} from '../common.js';
import { registerSetupCommands } from './setup.js';

function mb(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Where events come from: files (or stdin), or the store, opened read-only once; `close` ends it. */
async function sourceOf(
  paths: readonly string[],
  db: string | undefined,
  keyFile: string | undefined,
): Promise<{
  batches: () => AsyncIterable<EventRecord[]>;
  describe: string;
  skipped: () => number;
  close: () => Promise<void>;
}> {
  const quarantine = createMemoryQuarantine();
  if (paths.length > 0) {
    if (paths.filter((p) => p === '-').length > 0 && paths.length > 1)
      throw new KubetrailError('KT_USAGE', 'standard input (-) cannot be combined with files here', {
        where: { path: 'SOURCE' },
      });
    return {
      batches: () => fileBatches(paths, { quarantine }),
      describe: paths.join(', '),
      skipped: () => quarantine.count,
      close: async () => {},
    };
  }
  const location = dbLocation(db);
  const store = await openStore(location, storeOptions({ keyFile }, { readOnly: true }));
  return {
    batches: () => allEvents(store),
    describe: `the store ${location}`,
    skipped: () => 0,
    close: () => store.close(),
  };
}

/** Reads stdin once into memory so that it can be read twice (recommend profiles, then measures). */
async function bufferedStdin(): Promise<EventRecord[][]> {
  const out: EventRecord[][] = [];
  for await (const b of fileBatches(['-'])) out.push(b);
  return out;
}

export function formatSimulation(r: SimulationReport, width: number): string {
  const cell = (v: { events: number; bytes: number }) =>
    v.events === 0 ? '-' : `${n(v.events)} (${mb(v.bytes)})`;
  const table = renderTable(
    r.rules.filter((s) => s.rule !== null || s.matched.events > 0),
    [
      { header: 'RULE', get: (s) => (s.rule === null ? '-' : String(s.rule)), right: true, min: 4 },
      { header: 'LEVEL / MATCHES', get: (s) => s.summary, weight: 3, min: 20 },
      { header: 'MATCHED', get: (s) => cell(s.matched), right: true, min: 8 },
      { header: 'KEPT', get: (s) => cell(s.kept), right: true, min: 8 },
      {
        header: 'DOWNGRADED',
        get: (s) =>
          s.downgraded.events === 0
            ? '-'
            : `${n(s.downgraded.events)} (${mb(s.downgraded.bytes)} → ${mb(s.downgraded.bytesAfter)})`,
        right: true,
        min: 10,
      },
      { header: 'DROPPED', get: (s) => cell(s.dropped), right: true, min: 8 },
    ],
    width,
  );
  const lines = [
    table,
    '',
    `before   ${n(r.before.events)} events, ${mb(r.before.bytes)}`,
    `after    ${n(r.after.events)} events, ${mb(r.after.bytes)}  (−${pct(r.reduction.events)} events, −${pct(r.reduction.bytes)} bytes)`,
  ];
  if (r.perDay && r.span)
    lines.push(
      `per day  ${mb(r.perDay.before.bytes)} → ${mb(r.perDay.after.bytes)}  (${n(Math.round(r.perDay.before.events))} → ${n(Math.round(r.perDay.after.events))} events; input spans ${(r.span.seconds / 3600).toFixed(1)} h)`,
    );
  if (r.needs.length > 0) {
    const used = r.needs.filter((x) => x.before > 0);
    lines.push(
      '',
      r.lost === 0
        ? `detection: nothing lost (${used.length} of ${r.needs.length} detection filters match the input; each still finds every request it found)`
        : `detection: ${n(r.lost)} requests that detection needs would be lost`,
    );
    for (const need of r.needs.filter((x) => x.lost > 0)) {
      lines.push(
        `  ${need.id}: ${need.title} — ${n(need.lost)} of ${n(need.before)} requests lost (filter: ${need.filter})`,
      );
      for (const ex of need.examples)
        lines.push(
          `    ${ex.auditID} ${ex.stage} ${ex.verb} ${ex.uri} by ${ex.user || '(unauthenticated)'}: ${ex.rule === null ? 'no rule' : `rules[${ex.rule}]`}, ${ex.why}`,
        );
    }
  }
  return `${lines.join('\n')}\n`;
}

interface LintOpts {
  strict?: boolean;
  output: string;
  kubernetesVersion?: string;
}
interface CheckOpts {
  policy: string;
  cluster: string;
}
interface SimulateOpts {
  policy: string;
  db?: string;
  keyFile?: string;
  output: string;
  need: string[];
  failOnLoss?: boolean;
}
interface RecommendOpts {
  db?: string;
  keyFile?: string;
  out?: string;
  output: string;
  need: string[];
}

export function registerPolicyCommands(program: Command, io: Io = processIo()): void {
  const policy = program
    .command('policy')
    .description('audit policies: lint, evaluate on events, simulate, recommend, presets');

  policy
    .command('lint')
    .alias('validate')
    .description(
      'check an audit policy: errors the API server refuses (exit 2) and risky or useless rules (warnings)',
    )
    .argument('<file>', 'policy file (YAML or JSON), or - for stdin')
    .option('--strict', 'exit with code 1 when there are warnings')
    .option(
      '--kubernetes-version <version>',
      'version of the target API server (e.g. 1.31), for version-dependent checks',
    )
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (file: string, opts: LintOpts) => {
      const format = choice('--output', opts.output, ['text', 'json'] as const);
      const loaded = await readPolicyFile(file);
      const problems = lintPolicy(
        loaded,
        opts.kubernetesVersion ? { kubernetesVersion: opts.kubernetesVersion } : {},
      );
      const errors = problems.filter((p) => p.severity === 'error').length;
      const warnings = problems.length - errors;
      if (format === 'json') {
        io.out(`${JSON.stringify({ file: loaded.file, errors, warnings, problems })}\n`);
      } else {
        for (const p of problems) io.out(`${formatProblem(p)}\n`);
        io.err(
          errors + warnings === 0
            ? `${loaded.file}: no problems (${loaded.policy.rules.length} rules)\n`
            : `${loaded.file}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`,
        );
      }
      if (errors > 0) io.exitCode = 2;
      else if (warnings > 0 && opts.strict) io.exitCode = 1;
    });

  policy
    .command('check')
    .description('print the policy decision for each event as JSON lines (kube-apiserver semantics)')
    .requiredOption('--policy <file>', 'policy file (YAML or JSON)')
    .argument('[events...]', 'audit log files or directories, or - for stdin (default: stdin)')
    .option('--cluster <name>', 'cluster name for the events', 'default')
    .action(async (events: string[], opts: CheckOpts) => {
      const loaded = await loadPolicyFile(opts.policy);
      const evaluator = new PolicyEvaluator(loaded.policy);
      const quarantine = createMemoryQuarantine();
      for await (const batch of fileBatches(events.length > 0 ? events : ['-'], {
        cluster: opts.cluster,
        quarantine,
      })) {
        let out = '';
        for (const r of batch) {
          const d = evaluator.evaluateEvent(r.event);
          out += `${JSON.stringify({
            auditID: r.event.auditID,
            stage: r.event.stage,
            level: d.level,
            omitStages: d.omitStages,
            omitManagedFields: d.omitManagedFields,
            rule: d.rule,
          })}\n`;
        }
        io.out(out);
      }
      if (quarantine.count > 0)
        io.err(`note: ${n(quarantine.count)} records in the input are not audit events and were skipped\n`);
    });

  policy
    .command('simulate')
    .description(
      'apply a policy to logged events: per rule events and bytes kept, downgraded, dropped; detection loss',
    )
    .requiredOption('--policy <file>', 'policy file (YAML or JSON)')
    .argument('[sources...]', 'audit log files or directories, or - for stdin (default: the store)')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--need <filter>', 'another filter whose requests must stay logged (repeatable)', collect, [])
    .option('--fail-on-loss', 'exit with code 1 when a request detection needs would be lost')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (sources: string[], opts: SimulateOpts) => {
      const format = choice('--output', opts.output, ['table', 'json'] as const);
      const loaded = await loadPolicyFile(opts.policy);
      const needs = compileNeeds(detectionNeeds(opts.need, DEMO_INCIDENTS));
      const src = await sourceOf(sources, opts.db, opts.keyFile);
      let report: SimulationReport;
      try {
        report = await simulate(loaded.policy, src.batches(), { needs });
      } finally {
        await src.close();
      }
      if (format === 'json') io.out(`${JSON.stringify({ source: src.describe, ...report })}\n`);
      else io.out(formatSimulation(report, io.width));
      if (src.skipped() > 0)
        io.err(`note: ${n(src.skipped())} records in the input are not audit events and were skipped\n`);
      if (report.before.events === 0) io.err(`no events in ${src.describe}\n`);
      if (opts.failOnLoss && report.lost > 0) io.exitCode = 1;
    });

  policy
    .command('recommend')
    .description(
      'write a commented policy that cuts the volume of the given traffic, measured by simulating it',
    )
    .argument('[sources...]', 'audit log files or directories, or - for stdin (default: the store)')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--out <file>', 'write the policy to a file instead of stdout')
    .option('--need <filter>', 'another filter whose requests must stay logged (repeatable)', collect, [])
    .option('-o, --output <format>', 'yaml (the policy) or json (policy, profile and measurement)', 'yaml')
    .action(async (sources: string[], opts: RecommendOpts) => {
      const format = choice('--output', opts.output, ['yaml', 'json'] as const);
      const needs = compileNeeds(detectionNeeds(opts.need, DEMO_INCIDENTS));
      let batches: () => AsyncIterable<EventRecord[]> | Iterable<EventRecord[]>;
      let describe: string;
      let skipped = () => 0;
      let close = async () => {};
      if (sources.length === 1 && sources[0] === '-') {
        const buffered = await bufferedStdin();
        batches = () => buffered;
        describe = 'standard input';
      } else {
        const src = await sourceOf(sources, opts.db, opts.keyFile);
        batches = src.batches;
        describe = src.describe;
        skipped = src.skipped;
        close = src.close;
      }
      let rec: Recommendation;
      try {
        rec = await recommend(batches, { needs, describeSource: describe });
      } finally {
        await close();
      }
      if (rec.profile.events === 0)
        throw new KubetrailError(
          'KT_USAGE',
          `no events in ${describe}: a recommendation needs traffic to measure`,
          {
            where: { path: 'SOURCE' },
          },
        );
      const m = rec.measured;
      const text =
        format === 'json'
          ? `${JSON.stringify({ policy: rec.yaml, profile: rec.profile, measured: m })}\n`
          : rec.yaml;
      if (opts.out) await writeFile(opts.out, text);
      else io.out(text);
      io.err(
        `measured on ${n(m.before.events)} events (${mb(m.before.bytes)}): ${n(m.after.events)} kept (${mb(m.after.bytes)}), −${pct(m.reduction.events)} events, −${pct(m.reduction.bytes)} bytes; detection needs lost: ${n(m.lost)}\n`,
      );
      if (skipped() > 0)
        io.err(`note: ${n(skipped())} records in the input are not audit events and were skipped\n`);
      if (opts.out) io.err(`policy written to ${opts.out}\n`);
    });

  policy
    .command('preset')
    .description(
      'print a ready-made policy: minimal, recommended (production) or cis (CIS Kubernetes Benchmark)',
    )
    .argument('<name>', `preset name: ${PRESET_NAMES.join(', ')}`)
    .action((name: string) => {
      io.out(presetYaml(choice('preset', name, PRESET_NAMES)));
    });

  registerSetupCommands(program, io);
}
