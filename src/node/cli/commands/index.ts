import type { Command } from '../command';
import { batch } from './batch';
import { batches } from './batches';
import { context } from './context';
import { convert } from './convert';
import { create } from './create';
import { del } from './delete';
import { events } from './events';
import { images } from './images';
import { info } from './info';
import { local } from './local';
import { logs } from './logs';
import { prune } from './prune';
import { ps } from './ps';
import { renew } from './renew';
import { stats } from './stats';
import { submit } from './submit';

// One entry per verb; each verb lives in its own file in this folder.
export const commands: Record<string, Command> = {
  create,
  ps,
  info,
  logs,
  events,
  delete: del,
  prune,
  renew,
  stats,
  images,
  context,
  local,
  convert,
  submit,
  batches,
  batch,
};
