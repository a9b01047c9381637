// The kubetrail command line: builds the command tree from each area's command module, runs it, and
// turns errors into a clear message and a stable exit code (0 ok, 1 "found"/no match, 2 usage or
// input error, 3 store or I/O fault). Error text may quote input (paths, values), so control characters
// in it are shown escaped.
import { Command, CommanderError } from 'commander';
import { ERROR_CODES, isKubetrailError } from '../core/errors.js';
import { registerEventCommands } from './commands/events.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDetectionCommands } from './commands/detect.js';
import { registerExportCommands } from './commands/export.js';
import { registerKeyCommands } from './commands/key.js';
import { registerGapsCommand } from './commands/gaps.js';
import { registerServeCommands } from './commands/serve.js';
import { registerTailCommand } from './commands/tail.js';
import { registerRedactionCommands } from './commands/redact.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerRbacCommands } from './commands/rbac.js';
import { registerTokenCommands } from './commands/token.js';
import { registerVerifyCommand } from './commands/verify.js';
import { processIo, type Io } from './common.js';
import { safeText } from './terminal.js';

/** Escapes control characters line by line, keeping the message's own line breaks. */
const safeLines = (text: string) => text.split('\n').map(safeText).join('\n');

export const VERSION = '0.1.0';

/** Builds the full command tree. Exported for tests and for generated documentation. */
export function buildProgram(io: Io = processIo()): Command {
  const program = new Command('kubetrail')
    .description('Kubernetes audit logs: collect, redact, store, query, detect.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  registerEventCommands(program, io);
  registerDetectionCommands(program, io);
  registerServeCommands(program, io);
  registerTailCommand(program, io);
  registerRedactionCommands(program, io);
  registerPolicyCommands(program, io);
  registerRbacCommands(program, io);
  registerTokenCommands(program, io);
  registerDemoCommand(program, io);
  registerGapsCommand(program, io);
  registerExportCommands(program, io);
  registerKeyCommands(program, io);
  registerVerifyCommand(program, io);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return io.exitCode ?? 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
        return 0;
      if (err.code === 'commander.help') return 0;
      const negated = /unknown option '(-[A-Za-z][^'\s]*[:<>][^']*)'/.exec(err.message);
      if (err.code === 'commander.unknownOption' && negated) {
        const filter = negated[1]!;
        const first = filter.split(/\s+/)[0]!.slice(1);
        io.err(
          `  hint: a filter that starts with \`-\` reads as an option: put it after \`--\` (kubetrail query -- '${filter}'), or write \`NOT ${first}\`\n`,
        );
      }
      return 2;
    }
    if (isKubetrailError(err)) {
      io.err(`kubetrail: ${safeLines(err.format())}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    io.err(`kubetrail: KT_INTERNAL: ${safeLines(message)}\n  hint: ${ERROR_CODES.KT_INTERNAL.fix}\n`);
    return 3;
  }
}
