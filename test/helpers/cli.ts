import { PassThrough } from 'node:stream';
import { main } from '../../src/node/cli/run';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `canfar-lab ARGV` in-process, as a user would from a shell, and captures what it prints. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await main(argv, { stdout, stderr, env });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** Expects the CLI to have exited with `code`; otherwise the failure shows the exit code and its stderr. */
export function expectExit(run: CliResult, code: number): void {
  expect(run.code === code ? code : `exit ${run.code}: ${run.stderr}`).toBe(code);
}
