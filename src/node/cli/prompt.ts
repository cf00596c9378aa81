import { createInterface } from 'node:readline';
import type { CommandIO } from './command';

/** True when a person can answer: stdin and stderr (where the question goes) are terminals. */
export function interactive(io: Pick<CommandIO, 'stdin' | 'stderr'>): boolean {
  return Boolean(io.stdin?.isTTY && io.stderr.isTTY);
}

/** Asks a yes/no question on stderr; only "y" or "yes" is a yes. */
export async function confirm(
  io: Pick<CommandIO, 'stdin' | 'stderr' | 'signal'>,
  question: string,
): Promise<boolean> {
  if (!io.stdin) return false;
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      const onAbort = () => resolve('');
      io.signal.addEventListener('abort', onAbort, { once: true });
      rl.question(`${question} [y/N] `, (a) => {
        io.signal.removeEventListener('abort', onAbort);
        resolve(a);
      });
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
