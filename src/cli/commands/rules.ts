// `kubetrail rules list|show|lint|test`: the detection rules in effect (built-in pack plus the user's
// files), one rule in detail, validation of rule files with precise errors, and each rule's own example
// events run through the engine.
import type { Command } from 'commander';
import { KubetrailError } from '../../core/errors.js';
import { definitions } from '../../detect/compile.js';
import { runExamples } from '../../detect/examples.js';
import { expandRulePaths, formatProblem, problemsError } from '../../detect/load.js';
import { inspectRules } from '../../detect/rules.js';
import type { CompiledRule } from '../../detect/types.js';
import { choice, collect, n, processIo, type Io } from '../common.js';
import { renderTable } from '../terminal.js';

interface RuleSourceOpts {
  rules?: string[];
  builtin?: boolean;
}

const ruleSourceOptions = (cmd: Command) =>
  cmd
    .option(
      '--rules <path>',
      'rule file or directory applied after the built-in pack (repeatable)',
      collect,
      [],
    )
    .option('--no-builtin', 'leave the built-in rule pack out');

function load(opts: RuleSourceOpts, extra: readonly string[] = []) {
  return inspectRules({ files: [...(opts.rules ?? []), ...extra], builtin: opts.builtin !== false });
}

function kindLabel(r: CompiledRule): string {
  if (r.aggregate) return `${r.aggregate.fn}≥${r.aggregate.threshold}`;
  if (r.firstSeen) return 'first-seen';
  if (r.silence) return 'silence';
  return 'match';
}

function describeRule(r: CompiledRule): string {
  const d = r.def;
  const lines = [
    `${d.id}: ${d.title}`,
    `  severity     ${d.severity}${d.enabled ? '' : ' (disabled)'}`,
    `  kind         ${kindLabel(r)}`,
    `  ATT&CK       ${d.mitre.join(', ') || '-'}`,
    `  covers       ${d.covers.join('\n               ') || '-'}`,
    `  defined at   ${d.origin.file}${d.origin.line ? `:${d.origin.line}` : ''}`,
    '',
    `  ${d.description}`,
    '',
    `  condition    ${d.condition}`,
    `  expanded     ${r.expanded}`,
  ];
  for (const s of d.search) lines.push(`  search       under ${s.under} for ${s.for}`);
  if (d.ipList)
    lines.push(
      `  IP list      ${d.ipList.outside ? 'no source address' : 'a source address'} in ${d.ipList.name} (the rule is inert until --ip-list ${d.ipList.name}=FILE or detect.ipLists gives it)`,
    );
  for (const e of d.exceptions)
    lines.push(
      `  except       ${e.name}: ${e.condition ?? `every ${e.every!.join(', ')} in ${e.in}${e.repository ? ' (repositories)' : ''}`}`,
    );
  if (d.aggregate) {
    const a = d.aggregate;
    lines.push(
      `  aggregate    ${a.function}${a.field ? ` of ${[a.field].flat().join('+')}` : ''} ≥ ${a.threshold} within ${a.window} by ${a.by.join(', ') || '(all)'}` +
        (a.baseline ? `, and > ${a.baseline.factor}× the usual peak after ${a.baseline.learn}` : ''),
    );
  }
  if (d.firstSeen) {
    const f = d.firstSeen;
    lines.push(`  first seen   ${f.value.join('+')} new for ${f.key.join('+')}, after learning ${f.learn}`);
  }
  lines.push(`  suppress     ${r.suppress.by.join(', ')} for ${r.suppress.windowUs / 60_000_000} min`);
  lines.push(`  output       ${d.output}`);
  lines.push(
    `  examples     ${d.examples.filter((e) => e.expect === 'fire').length} must fire, ${d.examples.filter((e) => e.expect === 'quiet').length} must not`,
  );
  return `${lines.join('\n')}\n`;
}

export function registerRulesCommands(program: Command, io: Io = processIo()): void {
  const rules = program
    .command('rules')
    .description('detection rules: list, show, lint, test (see docs/rules.md)');

  ruleSourceOptions(
    rules
      .command('list')
      .description('list the rules in effect')
      .option('-o, --output <format>', 'table or json', 'table')
      .option('--enabled', 'only enabled rules'),
  ).action((opts: RuleSourceOpts & { output: string; enabled?: boolean }) => {
    const format = choice('--output', opts.output, ['table', 'json'] as const);
    const loaded = load(opts);
    if (loaded.problems.length > 0) throw problemsError(loaded.problems);
    const list = loaded.rules.filter((r) => !opts.enabled || r.def.enabled);
    if (format === 'json') {
      io.out(
        `${JSON.stringify(
          list.map((r) => ({
            id: r.def.id,
            title: r.def.title,
            severity: r.def.severity,
            enabled: r.def.enabled,
            kind: r.kind,
            mitre: r.def.mitre,
            covers: r.def.covers,
            file: r.def.origin.file,
          })),
          null,
          2,
        )}\n`,
      );
      return;
    }
    io.out(
      `${renderTable(
        list,
        [
          { header: 'ID', get: (r) => r.def.id, min: 16 },
          { header: 'SEVERITY', get: (r) => `${r.def.severity}${r.def.enabled ? '' : ' (off)'}`, min: 8 },
          { header: 'KIND', get: kindLabel, min: 5 },
          { header: 'ATT&CK', get: (r) => r.def.mitre.join(','), min: 6 },
          { header: 'TITLE', get: (r) => r.def.title, min: 20, weight: 3 },
        ],
        io.width,
      )}\n`,
    );
    io.err(`${n(list.length)} rules (${n(list.filter((r) => r.def.enabled).length)} enabled)\n`);
  });

  ruleSourceOptions(
    rules.command('show').description('show one rule in detail').argument('<id>', 'rule id'),
  ).action((id: string, opts: RuleSourceOpts) => {
    const loaded = load(opts);
    if (loaded.problems.length > 0) throw problemsError(loaded.problems);
    const r = loaded.rules.find((x) => x.def.id === id);
    if (!r) {
      const close = loaded.rules
        .filter((x) => x.def.id.includes(id) || id.includes(x.def.id))
        .map((x) => x.def.id);
      throw new KubetrailError('KT_NOT_FOUND', `no rule ${JSON.stringify(id)}`, {
        hint:
          close.length > 0
            ? `did you mean ${close.slice(0, 3).join(', ')}?`
            : '`kubetrail rules list` lists them',
      });
    }
    io.out(describeRule(r));
  });

  ruleSourceOptions(
    rules
      .command('lint')
      .description('check rule files: schema, fields against the field catalog, lists, macros, durations')
      .argument('[files...]', 'rule files or directories (default: the built-in pack only)'),
  ).action((files: string[], opts: RuleSourceOpts) => {
    const loaded = load(opts, files);
    if (loaded.problems.length > 0) {
      for (const p of loaded.problems) io.err(`${formatProblem(p)}\n`);
      throw problemsError(loaded.problems);
    }
    io.out(
      `ok: ${n(loaded.rules.length)} rules, ${n(loaded.set.lists.size)} lists, ${n(loaded.set.macros.size)} macros in ${n(loaded.set.files.length)} files\n`,
    );
  });

  ruleSourceOptions(
    rules
      .command('test')
      .description(
        "run rules' own example events: each must-fire example must raise an alert, each must-not-fire none",
      )
      .argument('[files...]', 'test the rules defined in these files (default: every rule)')
      .option('-v, --verbose', 'list passing examples too'),
  ).action((files: string[], opts: RuleSourceOpts & { verbose?: boolean }) => {
    const loaded = load(opts, files);
    if (loaded.problems.length > 0) throw problemsError(loaded.problems);
    const only = files.length > 0 ? new Set(expandRulePaths(files)) : undefined;
    const defs = definitions(loaded.set);
    let passed = 0;
    let failed = 0;
    let tested = 0;
    for (const r of loaded.rules) {
      if (only && !only.has(r.def.origin.file)) continue;
      tested++;
      for (const res of runExamples(r, defs)) {
        if (res.ok) {
          passed++;
          if (opts.verbose) io.out(`pass  ${r.def.id}: ${res.expect} "${res.name}"\n`);
        } else {
          failed++;
          const why =
            res.error ??
            (res.expect === 'fire'
              ? 'raised no alert'
              : `raised ${res.alerts.length} alerts: ${res.alerts[0]!.message}`);
          io.out(
            `FAIL  ${r.def.id}: ${res.expect} "${res.name}"${res.line ? ` (${r.def.origin.file}:${res.line})` : ''}: ${why}\n`,
          );
        }
      }
    }
    io.out(`${n(tested)} rules, ${n(passed)} examples passed, ${n(failed)} failed\n`);
    if (failed > 0) io.exitCode = 1;
  });
}
