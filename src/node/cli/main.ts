// The `canfar-lab` executable (bundled to dist/node/cli.cjs, started by bin/canfar-lab.js).
import { main } from './run';

const controller = new AbortController();
// First Ctrl-C asks the verb to stop cleanly (no new requests); a second one exits at once.
process.once('SIGINT', () => {
  controller.abort(new Error('interrupted'));
  process.once('SIGINT', () => process.exit(130));
});

main(process.argv.slice(2), { signal: controller.signal, stdin: process.stdin }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `canfar-lab: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
