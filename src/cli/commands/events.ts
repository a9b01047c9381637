// Registers the commands over stored events: import, query, stats, show, history, prune and start, and
// the reference commands fields, errors and docs.
import type { Command } from 'commander';
import type { Io } from '../common.js';
import { registerFieldsCommands } from './fields.js';
import { registerHistoryCommand } from './history.js';
import { registerImportCommand } from './import.js';
import { registerPruneCommand } from './prune.js';
import { registerQueryCommand } from './query.js';
import { registerShowCommand } from './show.js';
import { registerStatsCommand } from './stats.js';
import { registerStartCommand } from './start.js';

export function registerEventCommands(program: Command, io: Io): void {
  registerImportCommand(program, io);
  registerQueryCommand(program, io);
  registerStatsCommand(program, io);
  registerShowCommand(program, io);
  registerHistoryCommand(program, io);
  registerPruneCommand(program, io);
  registerFieldsCommands(program, io);
  registerStartCommand(program, io);
}
