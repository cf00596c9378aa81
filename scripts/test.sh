#!/usr/bin/env bash
# The whole test suite, from a fresh machine: system packages, build, static checks, unit and
# integration tests (jest, over real HTTP on loopback), the Python server half (pytest), the
# real-browser tests, and the packages as users install them: the wheel (a venv here, and the real
# JupyterLab 4.0 of Debian trixie in a cached chroot) and the npm tarball (CLI, Node, Deno and tslab
# kernels). Run it with `npm ci && npm test`. Each stage says how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
stage_start=$SECONDS
suite_start=$SECONDS
stage() {
  [ -n "${stage_name:-}" ] && printf '=== %s took %d s\n' "$stage_name" $((SECONDS - stage_start))
  stage_name="$1"
  stage_start=$SECONDS
  printf '\n=== %s (%s)\n' "$1" "$(date +%H:%M:%S)"
}

stage "system packages"
bash scripts/system-deps.sh

stage "build"
npm run build

stage "type-check"
npm run typecheck

stage "type-check against JupyterLab 4.0's API (the oldest JupyterLab 4 package.json allows)"
bash scripts/typecheck-jupyterlab-4.0.sh

stage "lint"
npm run lint

stage "jest"
npx jest --ci

stage "python server half"
/usr/bin/python3 -m pytest jupyterlab_canfar/tests -q

stage "real-browser tests (labextension, JupyterLab app, Playwright + Chromium)"
bash scripts/test-ui.sh

stage "the wheel (npm run build:wheel), pip-installed into a fresh venv"
wheel=$(npm run --silent build:wheel | tail -1)
bash scripts/test-wheel.sh "$wheel"

stage "the wheel in Debian trixie's JupyterLab 4.0 on jupyter_server 2 (chroot), browser tests against it"
bash scripts/test-trixie.sh "$wheel"

stage "the npm tarball: CLI, require/import, JavaScript kernels (tslab, Deno) loading it from node_modules"
bash scripts/test-npm-pack.sh

stage "end"
echo "=== npm test: all stages passed in $((SECONDS - suite_start)) s"
