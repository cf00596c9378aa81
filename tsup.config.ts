import { defineConfig } from 'tsup';

// The Node module and the splitting helpers, as a dual ESM/CJS build with declarations: tslab and
// ijavascript require() CommonJS, Deno imports ESM. The CLI is a CommonJS entry for bin/canfar-lab.js.
// The same CLI once more as ONE file with every dependency inlined (dist/bundle/canfar-lab.cjs): the
// wheel carries it, so the server half starts the local server with `node` alone after `pip install`.
export default defineConfig([
  {
    entry: { 'node/index': 'src/node/index.ts', 'distributed/index': 'src/distributed/index.ts' },
    outDir: 'dist',
    format: ['cjs', 'esm'],
    outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.mjs' }),
    dts: true,
    sourcemap: true,
    // dist/wheel (npm run build:wheel) is not ours to remove.
    clean: ['!wheel', '!wheel/**'],
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
  {
    entry: { 'bundle/canfar-lab': 'src/node/cli/main.ts' },
    outDir: 'dist',
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    noExternal: [/.*/],
    // Keep `node:` in requires: some built-ins (node:sqlite, lazily required by undici) exist only so.
    removeNodeProtocol: false,
    target: 'node20',
    platform: 'node',
    tsconfig: 'tsconfig.node.json',
  },
]);
