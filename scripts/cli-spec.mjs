// Writes jupyterlab_canfar/kernel/cli-spec.json: the CLI's verbs, usage texts and options as
// `canfar-lab --help --json` prints them. The Python `%canfar` magic parses its arguments with it, so it
// accepts exactly the CLI's flags, also where Node is absent (a CANFAR image). Run by `npm run build:node`;
// test/cli-spec.spec.ts fails when the copy differs from what the CLI prints.
//
// Also writes python/canfar_batch/__init__.py, the helpers of replicas and combine cells that the wheel
// ships as a package: the same text every batch folder gets (src/batch/wrapper.ts, CANFAR_BATCH_PY), one
// source; src/batch/wrapper-attempts.spec.ts fails when the committed copy differs.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const spec = execFileSync(process.execPath, [join(repo, 'bin/canfar-lab.js'), '--help', '--json'], {
  encoding: 'utf8',
});
const target = join(repo, 'jupyterlab_canfar/kernel/cli-spec.json');
writeFileSync(target, `${JSON.stringify(JSON.parse(spec), null, 2)}\n`);
console.log(`cli-spec: ${target}`);

const { CANFAR_BATCH_PY } = createRequire(import.meta.url)(join(repo, 'dist/node/index.cjs'));
const helpers = join(repo, 'python/canfar_batch/__init__.py');
writeFileSync(helpers, CANFAR_BATCH_PY);
console.log(`python helpers: ${helpers}`);
