#!/usr/bin/env node
/* global process */
// Runs a TypeScript benchmark straight from source: .ts files are compiled on require by @swc/core
// (already a dev dependency, through @swc/jest), so benchmarks need no build step and no extra runner.
// Usage: node bench/run.mjs bench/client-keepalive.ts [args...]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import swc from '@swc/core';

const require = createRequire(import.meta.url);
require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

const [script, ...args] = process.argv.slice(2);
if (!script) {
  process.stderr.write('usage: node bench/run.mjs BENCH.ts [args...]\n');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(script), ...args];
require(resolve(script));
