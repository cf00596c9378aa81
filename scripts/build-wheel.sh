#!/usr/bin/env bash
# `npm run build:wheel`: the Python wheel users `pip install`, built from Debian's packages alone (no Python
# package index): python3-hatchling and python3-build, installed by scripts/system-deps.sh.
#   1. the Node module and the CLI bundle (dist/bundle/canfar-lab.cjs: every JS dependency inlined), checked
#      to run from an empty folder with node alone;
#   2. the prebuilt labextension (production build);
#   3. `python3 -m build --wheel --no-isolation --skip-dependency-check` into dist/wheel/ (hatch_build.py
#      refuses an incomplete wheel), then a look inside the wheel.
# The wheel's path is the last line printed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
log() { echo "build-wheel: $*" >&2; }
timed() {
  local label="$1" start=$SECONDS
  shift
  "$@" >&2
  log "$label took $((SECONDS - start)) s"
}

bash scripts/system-deps.sh >&2
version=$(node -p "require('./package.json').version")

timed "Node module and CLI bundle (tsup)" npm run --silent build:node
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp dist/bundle/canfar-lab.cjs "$scratch/"
bundled_version=$(cd "$scratch" && node canfar-lab.cjs --version)
[ "$bundled_version" = "$version" ] || {
  log "dist/bundle/canfar-lab.cjs alone in an empty folder printed '$bundled_version' for --version, not $version"
  exit 1
}

timed "labextension (production)" node scripts/build-labextension.mjs

mkdir -p dist/wheel
rm -f dist/wheel/jupyterlab_canfar-*.whl
start=$SECONDS
/usr/bin/python3 -m build --wheel --no-isolation --skip-dependency-check --outdir dist/wheel . >"$scratch/build.log" 2>&1 || {
  cat "$scratch/build.log" >&2
  log "python3 -m build failed (its output is above)"
  exit 1
}
log "wheel (hatchling) took $((SECONDS - start)) s"
wheel=$(ls dist/wheel/jupyterlab_canfar-*.whl)

# What must be inside, and what must not.
/usr/bin/python3 - "$wheel" "$version" <<'PY' >&2
import os, sys, zipfile
wheel, version = sys.argv[1], sys.argv[2]
names = zipfile.ZipFile(wheel).namelist()
data = next((n[: n.index(".data/data/") + len(".data/data/")] for n in names if ".data/data/" in n), "")
required = [
    "jupyterlab_canfar/__init__.py",
    "jupyterlab_canfar/handlers.py",
    "jupyterlab_canfar/local.py",
    "jupyterlab_canfar/_release.py",
    "jupyterlab_canfar/cli/canfar-lab.cjs",
    data + "share/jupyter/labextensions/jupyterlab-canfar/package.json",
    data + "share/jupyter/labextensions/jupyterlab-canfar/install.json",
    data + "etc/jupyter/jupyter_server_config.d/jupyterlab_canfar.json",
]
# Top-level packages from python/ (hatch_build.py), e.g. canfar_batch.
required += [f"{p}/__init__.py" for p in sorted(os.listdir("python")) if os.path.isfile(f"python/{p}/__init__.py")] \
    if os.path.isdir("python") else []
missing = [n for n in required if n not in names]
static = [n for n in names if "/labextensions/jupyterlab-canfar/static/remoteEntry." in n]
unwanted = [n for n in names if "/tests/" in n or n.endswith(".pyc") or "jupyterlab_canfar/labextension/" in n]
if missing or not static or unwanted:
    sys.exit(f"build-wheel: {wheel}: missing {missing or ''}{' no remoteEntry' if not static else ''}; unwanted {unwanted[:5]}")
size = sum(i.compress_size for i in zipfile.ZipFile(wheel).infolist())
print(f"build-wheel: {wheel}: {len(names)} files, {size / 1024:.0f} KB compressed, version {version}")
PY
echo "$repo/$wheel"
