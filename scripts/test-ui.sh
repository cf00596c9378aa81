#!/usr/bin/env bash
# The real-browser tests: Debian's Chromium, driven by Playwright, against a real JupyterLab 4.6
# (ui-tests/app) with the prebuilt labextension, the server half, a real ipykernel and the local
# Skaha server. Builds whatever is missing or out of date first. Arguments go to `playwright test`
# (e.g. `npm run test:ui -- -g smoke`, `--headed` needs a display). Results, screenshots and traces
# of failures: ui-tests/test-results/, HTML report: ui-tests/playwright-report/.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
bash scripts/ensure-built.sh
start=$SECONDS
npx playwright test -c ui-tests/playwright.config.ts "$@"
echo "test-ui: playwright took $((SECONDS - start)) s" >&2
