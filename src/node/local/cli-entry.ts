// A standalone entry for `canfar-lab local` (tests and benchmarks bundle it with esbuild and run it as a
// child process, so they can kill -9 it). The real CLI reaches the same command through its registry.
import { local } from '../cli/commands/local';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
local
  .run({
    argv: process.argv.slice(2),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    globals: { json: false },
    signal: controller.signal,
  })
  .then((code) => {
    process.exitCode = code;
  });
