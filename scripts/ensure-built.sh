#!/usr/bin/env bash
# Builds what `npm start` and the browser tests run, skipping what is up to date: the Node module and
# CLI (the server half starts the local Skaha server from bin/canfar-lab.js), the prebuilt
# labextension, and the JupyterLab application in ui-tests/app. Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."

# True when the first file is missing or any of the other paths holds a newer file.
stale() {
  local stamp="$1"
  shift
  [ ! -e "$stamp" ] || [ -n "$(find "$@" -newer "$stamp" -type f -print -quit 2>/dev/null)" ]
}
timed() {
  local label="$1" start=$SECONDS
  shift
  "$@"
  echo "build: $label took $((SECONDS - start)) s" >&2
}

bash scripts/system-deps.sh
if stale dist/node/cli.cjs src tsup.config.ts package.json tsconfig.node.json; then
  timed "Node module and CLI" npm run --silent build:node
fi
if stale jupyterlab_canfar/labextension/package.json src style schema package.json tsconfig.lab.json; then
  timed "labextension" node scripts/build-labextension.mjs
fi
timed "JupyterLab application (ui-tests/app)" bash scripts/build-app.sh
