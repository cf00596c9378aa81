import type { Command } from '../command';
import { batch } from './batch';
import { batches } from './batches';
import { convert } from './convert';
import { local } from './local';
import { submit } from './submit';

// One entry per verb; each verb lives in its own file in this folder.
export const commands: Record<string, Command> = { local, convert, submit, batches, batch };
