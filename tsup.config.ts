import { defineConfig } from 'tsup';

// The Node module and the splitting helpers, as a dual ESM/CJS build with declarations: tslab and
// ijavascript require() CommonJS, Deno imports ESM. The CLI is a CommonJS entry for bin/canfar-lab.js.
export default defineConfig([
  {
    entry: { 'node/index': 'src/node/index.ts', 'distributed/index': 'src/distributed/index.ts' },
    outDir: 'dist',
    format: ['cjs', 'esm'],
    outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.mjs' }),
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    tsconfig: 'tsconfig.node.json',
  },
  {
    entry: { 'node/cli': 'src/node/cli/main.ts' },
    outDir: 'dist',
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    tsconfig: 'tsconfig.node.json',
  },
]);
