/** The CLI's commands, in the order `--help` lists them. */
import type { Command } from '../command.js';
import { benchCommand } from './bench.js';
import { demoCommand } from './demo.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { inspectCommand } from './inspect.js';
import { planCommand } from './plan.js';
import { restoreCommand } from './restore.js';
import { verifyCommand } from './verify.js';

export const commands: Command[] = [
  planCommand, importCommand, verifyCommand, inspectCommand, exportCommand, restoreCommand, demoCommand, benchCommand,
];
