#!/usr/bin/env bash
# Type-checks src/lab against JupyterLab 4.0's API (the oldest JupyterLab package.json allows: ^4.0.0), so
# that a use of an API added after 4.0 is found here and guarded (feature detection) or avoided.
# The 4.0-series @jupyterlab packages (scripts/jupyterlab-4.0.json, whose @lumino pins are what Debian
# trixie's JupyterLab 4.0.11 ships) are installed once into a cache outside the repository and reinstalled
# when that list or package.json's dependencies change.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir=${CANFAR_JL40_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jupyterlab-canfar/jupyterlab-4.0}
started=$SECONDS
mkdir -p "$dir"
# The packages to install: every @jupyterlab/@lumino dependency of ours, at its 4.0-series version, plus
# the 4.0 versions of what they depend on (overrides), so that one copy of each is installed.
node - "$repo" "$dir" <<'JS'
const { readFileSync, writeFileSync, existsSync } = require('node:fs');
const [repo, dir] = process.argv.slice(2);
const versions = JSON.parse(readFileSync(`${repo}/scripts/jupyterlab-4.0.json`, 'utf8'));
delete versions['//'];
const ours = Object.keys(JSON.parse(readFileSync(`${repo}/package.json`, 'utf8')).dependencies).filter((n) =>
  /^@(jupyterlab|lumino)\//.test(n),
);
const unknown = ours.filter((n) => !versions[n]);
if (unknown.length) {
  console.error(
    `typecheck-jupyterlab-4.0: add the JupyterLab 4.0-series version of ${unknown.join(', ')} to scripts/jupyterlab-4.0.json`,
  );
  process.exit(1);
}
const manifest = JSON.stringify(
  {
    name: 'canfar-jupyterlab-4.0-types',
    private: true,
    dependencies: Object.fromEntries(ours.map((n) => [n, versions[n]])),
    overrides: versions,
  },
  null,
  2,
);
const file = `${dir}/package.json`;
if (!existsSync(file) || readFileSync(file, 'utf8') !== manifest) {
  writeFileSync(file, manifest);
  writeFileSync(`${dir}/.stale`, '');
}
writeFileSync(
  `${dir}/tsconfig.json`,
  JSON.stringify(
    {
      extends: `${repo}/tsconfig.lab.json`,
      compilerOptions: {
        noEmit: true,
        declaration: false,
        rootDir: `${repo}/src`,
        baseUrl: dir,
        paths: { '@jupyterlab/*': [`${dir}/node_modules/@jupyterlab/*`], '@lumino/*': [`${dir}/node_modules/@lumino/*`] },
      },
      include: [`${repo}/src/lab/**/*.ts`, `${repo}/src/lab/**/*.tsx`],
      exclude: [`${repo}/src/**/*.spec.ts`, `${repo}/src/**/*.spec.tsx`, `${repo}/src/**/*.test.ts`],
    },
    null,
    2,
  ),
);
JS
if [ -e "$dir/.stale" ] || [ ! -d "$dir/node_modules/@jupyterlab" ]; then
  echo "typecheck-jupyterlab-4.0: installing JupyterLab 4.0's packages (types only) into $dir" >&2
  rm -rf "$dir/node_modules" "$dir/package-lock.json"
  npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts --legacy-peer-deps --loglevel=error >&2
  rm -f "$dir/.stale"
fi
cd "$repo"
npx tsc -p "$dir/tsconfig.json" || {
  echo "typecheck-jupyterlab-4.0: src/lab uses an API that JupyterLab 4.0 lacks or types differently (above)." >&2
  echo "  Guard it (feature detection, with the 4.0 behaviour as fallback) or avoid it; package.json promises ^4.0.0." >&2
  exit 1
}
echo "typecheck-jupyterlab-4.0: src/lab type-checks against JupyterLab $(node -p "require('$dir/node_modules/@jupyterlab/application/package.json').version") (in $((SECONDS - started)) s)"
