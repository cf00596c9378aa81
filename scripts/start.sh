#!/usr/bin/env bash
# `npm start`: JupyterLab with the CANFAR extension, its server half and the local Skaha server.
#
# On a fresh machine it installs what is missing (Debian packages, npm packages), builds what is out of
# date (the Node module, the labextension, the JupyterLab application in ui-tests/app), then starts
# JupyterLab 4.6 (our rig: ui-tests/app/main.py on Debian's jupyter_server) and prints its URL, with
# Jupyter's usual token. A second run with nothing changed starts in a few seconds.
#
# Environment:
#   CANFAR_LAB_ROOT         notebook directory (default: the directory `npm start` was run from)
#   CANFAR_ENDPOINT         local (default), canfar, or a Skaha URL
#   CANFAR_LAB_USE_JUPYTER  1: use the `jupyter lab` (JupyterLab >= 4) on PATH instead of the rig
# Extra arguments go to jupyter_server, e.g. `npm start -- --port=9999`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
root_dir="${CANFAR_LAB_ROOT:-${INIT_CWD:-$PWD}}"
step() { printf '\n== %s\n' "$1" >&2; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

step "build what is out of date"
bash scripts/ensure-built.sh

if [ "${CANFAR_LAB_USE_JUPYTER:-}" = 1 ]; then
  version="$(jupyter lab --version 2>/dev/null || true)"
  if [ "${version%%.*}" -ge 4 ] 2>/dev/null; then
    step "starting your own JupyterLab $version with the extension from this checkout"
    labext="$(mktemp -d)"
    ln -s "$repo/jupyterlab_canfar/labextension" "$labext/jupyterlab-canfar"
    export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
    exec jupyter lab --ServerApp.root_dir="$root_dir" --LabApp.extra_labextensions_path="$labext" \
      --ServerApp.jpserver_extensions="{'jupyterlab_canfar': True}" \
      --CanfarConfig.endpoint="${CANFAR_ENDPOINT:-local}" "$@"
  fi
  echo "CANFAR_LAB_USE_JUPYTER=1 but no JupyterLab >= 4 on PATH (\`jupyter lab --version\`: ${version:-none}); using the rig." >&2
fi

step "starting JupyterLab in $root_dir (Ctrl-C to stop)"
exec /usr/bin/python3 ui-tests/app/main.py --root-dir "$root_dir" "$@"
