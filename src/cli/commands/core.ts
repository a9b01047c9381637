// Registers the foundation commands: import, query, stats, show, history, fields, errors.
import type { Command } from 'commander';
import { registerFieldsCommands } from './fields.js';
import { registerHistoryCommand } from './history.js';
import { registerImportCommand } from './import.js';
import { registerQueryCommand } from './query.js';
import { registerShowCommand } from './show.js';
import { registerStatsCommand } from './stats.js';

export function registerCoreCommands(program: Command): void {
  registerImportCommand(program);
  registerQueryCommand(program);
  registerStatsCommand(program);
  registerShowCommand(program);
  registerHistoryCommand(program);
  registerFieldsCommands(program);
}
