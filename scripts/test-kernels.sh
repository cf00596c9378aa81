#!/usr/bin/env bash
# The notebook commands in real JavaScript kernels: installs tslab and Deno from npm into a cache outside
# the repository (not the project's node_modules), builds the Node module if it is stale, then runs
# test/kernels.spec.ts with CANFAR_TEST_KERNELS=1. That test registers the kernels in a private
# JUPYTER_PATH (nothing is installed for the user), starts a local server, executes examples/kernels/*.ipynb
# with Debian's `jupyter nbconvert --execute` and checks the saved outputs.
#
# ijavascript (unmaintained since 2021) is optional: it builds against libzmq3-dev, so it is installed and its
# notebook run only when that Debian package is present; its rendering (`_toMime`, `$$.display(id)`) is
# covered by the unit tests of src/node/kernel either way.
set -euo pipefail
cd "$(dirname "$0")/.."

TSLAB_VERSION=1.0.22
DENO_VERSION=2.9.6
IJAVASCRIPT_VERSION=5.2.1
KERNELS_DIR=${CANFAR_KERNELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jupyterlab-canfar/kernels}
started=$(date +%s)

installed() { # name version
  node -e "process.exit(require('$KERNELS_DIR/node_modules/$1/package.json').version === '$2' ? 0 : 1)" 2>/dev/null
}

if installed tslab "$TSLAB_VERSION" && installed deno "$DENO_VERSION"; then
  echo "kernels: tslab $TSLAB_VERSION and deno $DENO_VERSION already in $KERNELS_DIR"
else
  echo "kernels: installing tslab $TSLAB_VERSION and deno $DENO_VERSION into $KERNELS_DIR"
  mkdir -p "$KERNELS_DIR"
  [ -f "$KERNELS_DIR/package.json" ] || echo '{ "name": "canfar-test-kernels", "private": true }' >"$KERNELS_DIR/package.json"
  # Both ship prebuilt binaries (zeromq for tslab, the deno executable as an optional dependency).
  npm install --prefix "$KERNELS_DIR" --no-audit --no-fund --loglevel=error \
    "tslab@$TSLAB_VERSION" "deno@$DENO_VERSION"
fi
"$KERNELS_DIR/node_modules/.bin/deno" --version | head -1
echo "tslab $(node -p "require('$KERNELS_DIR/node_modules/tslab/package.json').version")"

if installed ijavascript "$IJAVASCRIPT_VERSION"; then
  echo "kernels: ijavascript $IJAVASCRIPT_VERSION already installed"
elif dpkg -s libzmq3-dev >/dev/null 2>&1; then
  echo "kernels: installing ijavascript $IJAVASCRIPT_VERSION (built against the system libzmq)"
  npm_config_zmq_external=true npm install --prefix "$KERNELS_DIR" --no-audit --no-fund --loglevel=error \
    "ijavascript@$IJAVASCRIPT_VERSION"
else
  echo "kernels: ijavascript not installed (needs the Debian package libzmq3-dev); its notebook is skipped"
fi

# The kernels load the package through node_modules/jupyterlab-canfar -> this repository: dist/ must be current.
if [ ! -f dist/node/index.cjs ] || [ -n "$(find src/node src/batch src/skaha src/distributed src/convert -newer dist/node/index.cjs -name '*.ts' -print -quit)" ]; then
  echo "kernels: building the Node module (dist/ is missing or older than src/)"
  npm run build:node --silent
fi

CANFAR_TEST_KERNELS=1 CANFAR_KERNELS_DIR="$KERNELS_DIR" npx jest --ci test/kernels.spec.ts
echo "kernels: done in $(($(date +%s) - started)) s"
