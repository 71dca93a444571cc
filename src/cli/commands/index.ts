/** The CLI's commands, in the order `--help` lists them. */
import type { Command } from '../command.js';
import { demoCommand } from './demo.js';
import { importCommand } from './import.js';
import { inspectCommand } from './inspect.js';
import { verifyCommand } from './verify.js';

export const commands: Command[] = [importCommand, verifyCommand, inspectCommand, demoCommand];
