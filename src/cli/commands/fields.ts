// `kubetrail fields`: lists the queryable fields (or prints the generated reference with --markdown);
// `kubetrail errors`: lists the error codes.
import type { Command } from 'commander';
import { errorsMarkdown } from '../../core/errors-docs.js';
import { ERROR_CODES } from '../../core/errors.js';
import { FIELDS } from '../../fields/catalog.js';
import { fieldsMarkdown } from '../../fields/docs.js';
import { renderTable } from '../terminal.js';
import { cliMarkdown } from '../docs.js';
import { processIo, type Io } from '../common.js';

export function registerFieldsCommands(program: Command, io: Io = processIo()): void {
  program
    .command('fields')
    .description('list the fields the filter language knows')
    .option('--markdown', 'print the field reference as Markdown (docs/fields.md)')
    .option('-o, --output <format>', 'table or json', 'table')
    .action((opts: { markdown?: boolean; output: string }) => {
      if (opts.markdown) return void io.out(fieldsMarkdown());
      if (opts.output === 'json') {
        const fields = FIELDS.map(({ get: _get, ...rest }) => rest);
        return void io.out(`${JSON.stringify(fields, null, 2)}\n`);
      }
      io.out(
        renderTable(
          FIELDS,
          [
            { header: 'FIELD', get: (f) => f.name },
            { header: 'ALIASES', get: (f) => f.aliases.join(', ') },
            { header: 'TYPE', get: (f) => f.type + (f.multi ? '[]' : '') },
            { header: 'DESCRIPTION', get: (f) => f.description, weight: 4 },
          ],
          io.width,
        ) + '\n',
      );
      io.err(
        'also: annotations.KEY and JSON paths under requestObject., responseObject., objectRef., user.\n',
      );
    });
  program
    .command('docs')
    .description('print the command reference as Markdown (docs/cli.md)')
    .action(() => {
      let root: Command = program;
      while (root.parent) root = root.parent;
      io.out(cliMarkdown(root));
    });
  program
    .command('errors')
    .description('list the error codes and what to do about each')
    .option('--markdown', 'print the reference as Markdown (docs/errors.md)')
    .action((opts: { markdown?: boolean }) => {
      if (opts.markdown) return void io.out(errorsMarkdown());
      io.out(
        renderTable(
          Object.entries(ERROR_CODES),
          [
            { header: 'CODE', get: ([c]) => c },
            { header: 'EXIT', get: ([, i]) => String(i.exit) },
            { header: 'MEANING', get: ([, i]) => i.summary, weight: 3 },
          ],
          io.width,
        ) + '\n',
      );
    });
}
