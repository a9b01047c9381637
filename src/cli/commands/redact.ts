// `kubetrail redact`: validates a redaction configuration (`--check`), lists the redaction rules (`--list`),
// or writes audit logs back out with secrets removed (`kubetrail redact FILE... > clean.jsonl`), so that a
// log can be shared without its credentials.
import type { Command } from 'commander';
import { KubetrailError } from '../../core/errors.js';
import { createMemoryQuarantine, readEvents } from '../../ingest/index.js';
import {
  checkRedactConfigText,
  compileRedactConfig,
  formatProblems,
  loadRedactOptions,
  readRedactConfigText,
  redactTransform,
  ruleCatalog,
  type ConfigProblem,
  type RedactOptions,
} from '../../redact/index.js';
import { renderTable } from '../terminal.js';
import { choice, n, processIo, type Io } from '../common.js';
import { registerScanCommand } from './scan.js';

interface RedactOpts {
  check?: boolean;
  list?: boolean;
  config?: string;
  output?: string;
  cluster: string;
}

/** `--check`: every problem of the file with its place; exit 2 when any is an error. */
function check(file: string | undefined, format: 'table' | 'json', io: Io): void {
  const problems: ConfigProblem[] = [];
  let options: RedactOptions | undefined;
  if (file) {
    const checked = checkRedactConfigText(readRedactConfigText(file));
    problems.push(...checked.problems);
    if (checked.config && !problems.some((p) => p.severity === 'error')) {
      try {
        options = compileRedactConfig(checked.config);
      } catch (err) {
        if (!(err instanceof KubetrailError)) throw err;
        problems.push({ severity: 'error', path: err.where?.path ?? 'key', message: err.message });
      }
    }
  } else options = compileRedactConfig();
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  const rules = options ? ruleCatalog(options) : [];
  if (format === 'json') {
    io.out(
      `${JSON.stringify({
        file: file ?? null,
        valid: errors === 0,
        errors,
        warnings,
        problems,
        rules: rules.length,
        configured: rules.filter((r) => r.kind === 'configured').map((r) => r.id),
      })}\n`,
    );
  } else {
    if (problems.length > 0) io.err(`${formatProblems(file ?? '(built-in)', problems)}\n`);
    if (errors > 0) {
      io.err(`${file}: ${errors} error(s), ${warnings} warning(s): the configuration is not valid\n`);
    } else {
      const configured = rules.filter((r) => r.kind === 'configured').length;
      const on = options ? options.detectors.length : 0;
      io.out(
        `${file ?? 'built-in rules'}: valid${warnings > 0 ? ` with ${warnings} warning(s)` : ''}: ` +
          `${rules.length} rules (${on} value detectors on, ${configured} configured pattern(s))` +
          `${options?.marker.hashed ? ', keyed hashes on' : ''}` +
          `${options?.pseudonymizer ? ', pseudonymization on' : ''}\n`,
      );
    }
  }
  if (errors > 0) io.exitCode = 2;
}

function list(options: RedactOptions, format: 'table' | 'json', io: Io): void {
  const rules = ruleCatalog(options).map((r) => ({
    ...r,
    on:
      r.kind === 'pattern' || r.kind === 'configured'
        ? options.detectors.some((d) => d.id === r.id)
        : r.kind === 'pseudonym'
          ? options.pseudonymizer !== undefined
          : r.id === 'sensitive-flag'
            ? options.flags
            : r.id === 'sensitive-assignment'
              ? options.assignments
              : true,
  }));
  if (format === 'json') {
    io.out(`${JSON.stringify(rules)}\n`);
    return;
  }
  io.out(
    renderTable(
      rules,
      [
        { header: 'RULE', get: (r) => r.id, min: 12 },
        { header: 'KIND', get: (r) => r.kind, min: 9 },
        { header: 'ON', get: (r) => (r.on ? 'yes' : 'no'), min: 3 },
        { header: 'DESCRIPTION', get: (r) => r.title, weight: 4 },
      ],
      io.width,
    ).trimEnd() + '\n',
  );
}

export function registerRedactCommand(program: Command, io: Io = processIo()): void {
  program
    .command('redact')
    .description(
      'check a redaction config (--check), list the rules (--list), or write audit logs with secrets removed',
    )
    .argument('[paths...]', 'audit logs to redact to standard output as JSON lines (files, directories, -)')
    .option('--check', 'validate the redaction configuration and report every problem with its line')
    .option('--list', 'list the redaction rules and whether each is on')
    .option('--config <file>', 'redaction configuration (YAML or JSON); default: the built-in rules')
    .option('-o, --output <format>', 'format of --check and --list: table or json', 'table')
    .option('--cluster <name>', 'cluster name for the events read', 'default')
    .action(async (paths: string[], opts: RedactOpts) => {
      const format = choice('--output', opts.output ?? 'table', ['table', 'json'] as const);
      if (opts.check) {
        check(opts.config, format, io);
        return;
      }
      const options = loadRedactOptions(opts.config);
      if (opts.list) {
        list(options, format, io);
        return;
      }
      if (paths.length === 0) {
        throw new KubetrailError('KT_USAGE', 'give audit logs to redact, or --check or --list', {
          hint: 'kubetrail redact audit.log > redacted.jsonl; kubetrail redact --check --config redaction.yaml',
        });
      }
      const transform = redactTransform(options);
      const quarantine = createMemoryQuarantine();
      for await (const batch of readEvents(paths, { cluster: opts.cluster, quarantine })) {
        const out = transform.apply(batch) as typeof batch;
        io.out(out.map((r) => `${JSON.stringify(r.event)}\n`).join(''));
      }
      const s = transform.stats;
      const values = Object.values(s.byRule).reduce((a, b) => a + b, 0);
      io.err(`redacted ${n(values)} value(s) in ${n(s.redacted)} of ${n(s.events)} events\n`);
      if (quarantine.count > 0)
        io.err(`note: ${n(quarantine.count)} records in the input are not audit events and were left out\n`);
    });
}

/** Registers the redaction commands: redact and scan. */
export function registerRedactionCommands(program: Command, io: Io = processIo()): void {
  registerRedactCommand(program, io);
  registerScanCommand(program, io);
}
