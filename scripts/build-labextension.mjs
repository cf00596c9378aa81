#!/usr/bin/env node
// Builds the prebuilt JupyterLab extension (jupyterlab_canfar/labextension) without Python:
//   1. `npm run build:lib` (tsc -p tsconfig.lab.json -> lib/lab), unless --skip-lib;
//   2. @jupyter/builder's build-labextension (it has no bin entry) against JupyterLab's own
//      core.package.json from @jupyterlab/core-meta, so shared packages match the release exactly;
//   3. a size report, and a check that nothing meant for Node (undici, Node built-in polyfills)
//      got into the browser bundle: that would mean src/lab imports src/node somewhere.
//
//   node scripts/build-labextension.mjs [--development] [--skip-lib]
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outputDir = join(root, pkg.jupyterlab.outputDir);
const staticDir = join(outputDir, 'static');

function run(command, commandArgs) {
  const started = Date.now();
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(
      `build-labextension: \`${command} ${commandArgs.join(' ')}\` failed (exit ${result.status ?? result.signal}).`,
    );
    process.exit(result.status ?? 1);
  }
  return (Date.now() - started) / 1000;
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const libSeconds = args.includes('--skip-lib') ? 0 : run(npm, ['run', '--silent', 'build:lib']);

const builder = join(root, 'node_modules/@jupyter/builder/lib/build-labextension.js');
const corePackage = join(root, 'node_modules/@jupyterlab/core-meta/core.package.json');
for (const file of [builder, corePackage]) {
  if (!existsSync(file)) {
    console.error(
      `build-labextension: ${relative(root, file)} is missing: run \`npm ci\` at the repository root.`,
    );
    process.exit(1);
  }
}
// @jupyter/builder exposes the package's `main` as the extension's './index' module and shares the
// package itself with that file as its import. Our `main` is the Node build (dist/node, with
// undici), which kernels such as tslab need at the top level, so the builder gets a staged copy of
// the package whose `main` is the browser entry; lib/, style/ and schema/ are links to the real ones.
const stage = join(root, 'node_modules/.cache/jupyterlab-canfar-labextension');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
for (const dir of ['lib', 'style', pkg.jupyterlab.schemaDir]) {
  symlinkSync(join(root, dir), join(stage, dir), 'dir');
}
const staged = structuredClone(pkg);
staged.main = pkg.jupyterlab.extension;
staged.types = undefined;
staged.jupyterlab.outputDir = relative(stage, outputDir);
// Any JupyterLab 4: the builder asks the host for each core package in the version of the JupyterLab it
// builds against (core.package.json: ^4.6.4 and the like), so a JupyterLab 4.0 would log "Unsatisfied
// version" for each. Ask instead for our own dependency ranges (^4.0.0 ...), which the labextension's
// package.json also declares to `jupyter labextension list`.
const core = JSON.parse(readFileSync(corePackage, 'utf8'));
const coreVersions = { ...core.dependencies, ...core.resolutions };
staged.jupyterlab.sharedPackages = { ...pkg.jupyterlab.sharedPackages };
for (const [name, range] of Object.entries(pkg.dependencies)) {
  if (coreVersions[name] && !staged.jupyterlab.sharedPackages[name]) {
    staged.jupyterlab.sharedPackages[name] = { requiredVersion: range };
  }
}
// The extension's own version for src/lab/version.ts (compared with the server half's at start-up).
writeFileSync(
  join(stage, 'version.rspack.config.js'),
  // The builder's own @rspack/core, wherever npm put it.
  `const { DefinePlugin } = require(require.resolve('@rspack/core', { paths: [${JSON.stringify(dirname(builder))}] }));\n` +
    `module.exports = { plugins: [new DefinePlugin({ __CANFAR_LAB_VERSION__: ${JSON.stringify(JSON.stringify(pkg.version))} })] };\n`,
);
staged.jupyterlab.webpackConfig = './version.rspack.config.js';
writeFileSync(join(stage, 'package.json'), JSON.stringify(staged, null, 2) + '\n');

const builderArgs = [builder, '--core-package-file', corePackage];
if (args.includes('--development')) builderArgs.push('--development');
builderArgs.push(stage);
const extensionSeconds = run(process.execPath, builderArgs);

// --- Report and checks -------------------------------------------------------------------------
const files = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else files.push(path);
  }
};
walk(staticDir);
const total = files.reduce((sum, f) => sum + statSync(f).size, 0);
const scripts = files.filter((f) => f.endsWith('.js'));
const jsBytes = scripts.reduce((sum, f) => sum + statSync(f).size, 0);
const gzipBytes = scripts.reduce((sum, f) => sum + gzipSync(readFileSync(f), { level: 9 }).length, 0);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const built = JSON.parse(readFileSync(join(outputDir, 'package.json'), 'utf8')).jupyterlab?._build;
if (!built?.load) {
  console.error(
    `build-labextension: ${relative(root, outputDir)}/package.json has no jupyterlab._build.load: the build did not finish.`,
  );
  process.exit(1);
}

const problems = [];
// In production builds @jupyter/builder lists every bundled third-party package with its licence.
const licensesFile = join(staticDir, 'third-party-licenses.json');
const bundled = existsSync(licensesFile)
  ? JSON.parse(readFileSync(licensesFile, 'utf8')).packages.map((p) => p.name)
  : [];
// Browser stand-ins for Node built-ins that the builder's config would silently bundle.
const nodeOnly = [
  'undici',
  'path-browserify',
  'process',
  'buffer',
  'util',
  'events',
  'stream-browserify',
  'yaml',
];
for (const name of bundled) {
  if (nodeOnly.includes(name)) problems.push(`the bundle contains the package "${name}"`);
}
for (const file of scripts) {
  const text = readFileSync(file, 'utf8');
  for (const marker of ['undici', 'require("node:', "require('node:", 'from "node:']) {
    if (text.includes(marker)) problems.push(`${relative(root, file)} contains "${marker}"`);
  }
}

console.log(
  [
    '',
    `labextension ${pkg.name} ${pkg.version} -> ${relative(root, outputDir)} (entry ${built.load})`,
    `  static/: ${files.length} files, ${kb(total)}; JavaScript ${scripts.length} files, ${kb(jsBytes)}, ${kb(gzipBytes)} gzip`,
    `  bundled third-party packages: ${bundled.length ? bundled.join(', ') : '(none listed)'}`,
    `  time: build:lib ${libSeconds.toFixed(1)} s, labextension ${extensionSeconds.toFixed(1)} s`,
  ].join('\n'),
);
if (problems.length) {
  console.error(
    `\nbuild-labextension: Node-only code got into the browser bundle:\n  - ${problems.join('\n  - ')}\n` +
      'src/lab must not import src/node, undici or Node built-ins (ARCHITECTURE.md); find the import with ' +
      '`node scripts/build-labextension.mjs --development` and the labextension/build_log.json it writes.',
  );
  process.exit(1);
}
