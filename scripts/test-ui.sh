#!/usr/bin/env bash
# The real-browser tests: Debian's Chromium, driven by Playwright, against a real JupyterLab 4.6
# (ui-tests/app) with the prebuilt labextension, the server half, a real ipykernel and the local
# Skaha server. Builds whatever is missing or out of date first. Arguments go to `playwright test`
# (e.g. `npm run test:ui -- -g smoke`, `--headed` needs a display). Results, screenshots and traces
# of failures: ui-tests/test-results/, HTML report: ui-tests/playwright-report/.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
stale() {
  local stamp="$1"
  shift
  [ ! -e "$stamp" ] || [ -n "$(find "$@" -newer "$stamp" -type f -print -quit 2>/dev/null)" ]
}
timed() {
  local label="$1" start=$SECONDS
  shift
  "$@"
  echo "test-ui: $label took $((SECONDS - start)) s" >&2
}

bash scripts/system-deps.sh
# The server half starts the local Skaha server from the Node build (bin/canfar-lab.js).
if stale dist/node/cli.cjs src tsup.config.ts package.json tsconfig.node.json; then
  timed "build:node" npm run --silent build:node
fi
if stale jupyterlab_canfar/labextension/package.json src style schema package.json tsconfig.lab.json; then
  timed "labextension build" node scripts/build-labextension.mjs
fi
timed "app build" bash scripts/build-app.sh
timed "playwright" npx playwright test -c ui-tests/playwright.config.ts "$@"
