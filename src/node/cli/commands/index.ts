import type { Command } from '../command';
import { convert } from './convert';
import { local } from './local';

// One entry per verb; each verb lives in its own file in this folder.
export const commands: Record<string, Command> = { local, convert };
