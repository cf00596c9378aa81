#!/usr/bin/env bash
# The whole test suite, from a fresh machine: system packages, build, static checks, unit and
# integration tests (jest, over real HTTP on loopback), the Python server half (pytest), and the
# real-browser tests. Run it with `npm ci && npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { printf '\n=== %s (%s)\n' "$1" "$(date +%H:%M:%S)"; }

stage "system packages"
bash scripts/system-deps.sh

stage "build"
npm run build

stage "type-check"
npm run typecheck

stage "lint"
npm run lint

stage "jest"
npx jest --ci

stage "python server half"
/usr/bin/python3 -m pytest jupyterlab_canfar/tests -q

stage "real-browser tests (labextension, JupyterLab app, Playwright + Chromium)"
bash scripts/test-ui.sh

stage "JavaScript kernels (tslab and Deno from npm, notebooks executed by nbconvert)"
bash scripts/test-kernels.sh
