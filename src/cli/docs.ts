// Generates docs/cli.md from the command tree itself, so the CLI reference lists exactly the commands,
// arguments and options the program accepts.
import type { Command } from 'commander';

function section(cmd: Command, prefix: string, out: string[]): void {
  const name = `${prefix}${cmd.name()}`;
  if (prefix !== '') {
    const args = cmd.registeredArguments.map((a) =>
      a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`,
    );
    out.push(`## \`${[name, ...args].join(' ')}\``, '', cmd.description(), '');
    if (cmd.aliases().length > 0)
      out.push(
        `Also: ${cmd
          .aliases()
          .map((a) => `\`${prefix}${a}\``)
          .join(', ')}.`,
        '',
      );
    if (cmd.registeredArguments.length > 0) {
      out.push('| argument | description |', '|---|---|');
      for (const a of cmd.registeredArguments) {
        const def = a.defaultValue !== undefined ? ` (default: \`${String(a.defaultValue)}\`)` : '';
        out.push(`| \`${a.name()}\` | ${a.description}${def} |`);
      }
      out.push('');
    }
    const opts = cmd.options.filter((o) => !o.hidden);
    if (opts.length > 0) {
      out.push('| option | description |', '|---|---|');
      for (const o of opts) {
        const def =
          o.defaultValue !== undefined &&
          !(Array.isArray(o.defaultValue) && o.defaultValue.length === 0) &&
          o.defaultValue !== true
            ? ` (default: \`${String(o.defaultValue)}\`)`
            : '';
        out.push(`| \`${o.flags.replace(/\|/g, '\\|')}\` | ${o.description.replace(/\|/g, '\\|')}${def} |`);
      }
      out.push('');
    }
  }
  for (const sub of cmd.commands) section(sub, prefix === '' ? `${cmd.name()} ` : `${name} `, out);
}

export function cliMarkdown(program: Command): string {
  const out = [
    '# Command reference',
    '',
    '<!-- Generated from the command definitions by `npm run docs`. Do not edit by hand. -->',
    '',
    'Exit codes: `0` success; `1` a "found" result (no match with `--fail-if-empty`, leaks found, lint',
    'warnings with `--strict`, alerts with `--fail-on-alert`); `2` usage or input error; `3` store or I/O fault.',
    'Error messages carry a stable code from [errors.md](errors.md).',
    '',
  ];
  section(program, '', out);
  return `${out.join('\n')}\n`;
}
