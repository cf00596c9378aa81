#!/usr/bin/env bash
# Builds the test application (ui-tests/app: JupyterLab 4.6 from npm, a federated host) when needed:
#  - `npm ci` in ui-tests/app when its node_modules is missing or its package-lock.json changed;
#  - the rspack build when its sources, scripts or lock changed since the last build.
# A second run with nothing changed takes well under a second (`npm start` calls it every time).
# FORCE=1 rebuilds regardless.
set -euo pipefail
app="$(cd "$(dirname "$0")/../ui-tests/app" && pwd)"
cd "$app"

fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }

lock_hash="$(fingerprint package.json package-lock.json)"
installed_stamp=node_modules/.canfar-installed
if [ "${FORCE:-}" = 1 ] || [ ! -f "$installed_stamp" ] || [ "$(cat "$installed_stamp")" != "$lock_hash" ]; then
  echo "ui-tests/app: npm ci (JupyterLab from npm; about a minute on a cold cache)" >&2
  start=$SECONDS
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$installed_stamp"
  echo "ui-tests/app: npm ci took $((SECONDS - start)) s" >&2
fi

# Everything the bundle is made of, except what the build itself writes (src/*.generated.*).
sources=(package-lock.json scripts/build.mjs scripts/generate.mjs src/bootstrap.js src/index.js)
build_hash="$(fingerprint "${sources[@]}")"
build_stamp=build/.canfar-built
if [ "${FORCE:-}" = 1 ] || [ ! -f "$build_stamp" ] || [ "$(cat "$build_stamp")" != "$build_hash" ] || [ ! -f build/index.html ]; then
  node scripts/build.mjs
  echo "$build_hash" > "$build_stamp"
else
  echo "ui-tests/app: build is up to date (FORCE=1 to rebuild)" >&2
fi
