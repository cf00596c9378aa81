#!/usr/bin/env node
// Builds the test application into build/: the federated host bundle, the page template the
// server renders (index.html), the settings schemas and the themes of the core extensions.
//
//   node scripts/build.mjs [--production]
//
// Development mode without source maps is the default: it builds in seconds, and the tests and
// `npm start` serve it from this machine, so minifying buys nothing.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(appDir, 'build');
const require = createRequire(join(appDir, 'package.json'));
const production = process.argv.includes('--production');

const generated = spawnSync(process.execPath, [join(appDir, 'scripts/generate.mjs')], { stdio: 'inherit' });
if (generated.status !== 0) process.exit(generated.status ?? 1);

const { rspack } = require('@rspack/core');
const { Build } = require('@jupyter/builder');
// The rules every JupyterLab bundle needs (CSS through style-loader, SVG as data URIs in CSS and as
// strings in JS, fonts, the `process` shim): the same base the extension builder uses.
const base = require('@jupyter/builder/lib/webpack.config.base');
const core = JSON.parse(readFileSync(join(appDir, 'src/core.generated.json'), 'utf8'));

rmSync(buildDir, { recursive: true, force: true });
mkdirSync(buildDir, { recursive: true });

// Copies each core extension's settings schemas to build/schemas and returns one small build per
// theme package (its CSS extracted to build/themes/<package>/index.css).
const themeConfigs = Build.ensureAssets({
  packageNames: [...core.extensions, ...core.mimeExtensions],
  output: buildDir,
});

/** Writes the Jinja page template jupyterlab_server renders, pointing at the emitted entry files. */
class PageTemplatePlugin {
  apply(compiler) {
    compiler.hooks.done.tap('PageTemplatePlugin', (stats) => {
      if (stats.hasErrors()) return;
      const { entrypoints } = stats.toJson({ all: false, entrypoints: true });
      const scripts = entrypoints.main.assets
        .map((asset) => asset.name)
        .filter((name) => name.endsWith('.js'))
        .map((name) => `    <script src="{{ page_config.fullStaticUrl }}/${name}" defer></script>`);
      const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>JupyterLab</title>
    {# A copy, so that the shared page config is not changed by this request. #}
    {% set page_config_full = page_config.copy() %}
    {% set _ = page_config_full.update(baseUrl=base_url, wsUrl=ws_url) %}
    <script id="jupyter-config-data" type="application/json">{{ page_config_full | tojson }}</script>
${scripts.join('\n')}
  </head>
  <body>
    <script>
      // Drop ?token= from the address bar once the page has it (the cookie keeps the session).
      (function () {
        var url = new URL(window.location.href);
        if (url.searchParams.has('token')) {
          url.searchParams.delete('token');
          window.history.replaceState({}, '', url.href);
        }
      })();
    </script>
  </body>
</html>
`;
      writeFileSync(join(buildDir, 'index.html'), html);
    });
  }
}

const { ModuleFederationPluginV1 } = rspack.container;
const mainConfig = {
  ...base,
  context: appDir,
  mode: production ? 'production' : 'development',
  devtool: false,
  bail: true,
  entry: { main: './src/bootstrap.js' },
  output: {
    ...base.output,
    path: buildDir,
    publicPath: 'auto',
    filename: '[name].[contenthash].js',
    chunkFilename: '[name].[contenthash].js',
  },
  // Only this app's node_modules: a second copy of @jupyterlab/* (the repository root has one) would
  // give duplicate DI tokens and plugins that never find their services.
  resolve: { ...base.resolve, modules: [join(appDir, 'node_modules')] },
  resolveLoader: { modules: [join(appDir, 'node_modules')] },
  plugins: [
    ...base.plugins,
    // The V1 (webpack-compatible) runtime, as @jupyter/builder uses for extensions: both sides of
    // the share scope must speak the same protocol.
    new ModuleFederationPluginV1({
      name: 'jupyterlab_canfar_test_app',
      shared: core.shared,
    }),
    new PageTemplatePlugin(),
  ],
  performance: { hints: false },
  // MathJax's loader mentions __dirname for Node; the browser path never reaches it.
  ignoreWarnings: [/"__dirname" is used and has been mocked/],
  stats: 'errors-warnings',
};

const started = Date.now();
const compiler = rspack([mainConfig, ...themeConfigs.map((c) => ({ ...c, stats: 'errors-warnings' }))]);
compiler.run((error, stats) => {
  compiler.close(() => {});
  if (error) {
    console.error(error.stack || error);
    process.exit(1);
  }
  const text = stats.toString({ colors: false, preset: 'errors-warnings' });
  if (text.trim()) console.log(text);
  if (stats.hasErrors()) {
    console.error('The test application build failed (errors above).');
    process.exit(1);
  }
  console.log(
    `Built the test application (JupyterLab ${core.version}) in ${((Date.now() - started) / 1000).toFixed(1)} s -> ${buildDir}`,
  );
});
