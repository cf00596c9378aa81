"""Wheel build hook (hatchling, see pyproject.toml): refuses to build an incomplete wheel and adds what
the npm build made. Run through `npm run build:wheel` (scripts/build-wheel.sh), which builds those first.

- The prebuilt labextension (jupyterlab_canfar/labextension, shipped as shared data) must be built, and
  for this version: a wheel without it would install a server half with no panel.
- dist/bundle/canfar-lab.cjs, the CLI in one file, goes in as jupyterlab_canfar/cli/canfar-lab.cjs: the
  server half starts the local server with `node` and nothing else.
- jupyterlab_canfar/_release.py records package.json's version exactly as npm writes it (the wheel's
  metadata has the PEP 440 spelling), for /canfar/api/info and the labextension's version check.
- Every Python package under python/ (a folder with __init__.py, e.g. python/canfar_batch/) ships as a
  top-level package of the wheel.
"""

import json
import os
import tempfile

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

LABEXTENSION = os.path.join("jupyterlab_canfar", "labextension")
CLI_BUNDLE = os.path.join("dist", "bundle", "canfar-lab.cjs")
EXTRA_PACKAGES = "python"


class CanfarBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        root = self.root
        with open(os.path.join(root, "package.json"), encoding="utf-8") as handle:
            npm_version = json.load(handle)["version"]
        problems = []

        built = os.path.join(root, LABEXTENSION, "package.json")
        try:
            with open(built, encoding="utf-8") as handle:
                labextension = json.load(handle)
            load = labextension["jupyterlab"]["_build"]["load"]
            if not os.path.isfile(os.path.join(root, LABEXTENSION, load)):
                problems.append(f"{LABEXTENSION}/{load} (the labextension's entry point) is missing")
            if labextension.get("version") != npm_version:
                problems.append(
                    f"{LABEXTENSION} is version {labextension.get('version')}, package.json says {npm_version}"
                )
        except (OSError, ValueError, KeyError, TypeError):
            problems.append(f"{LABEXTENSION} is not built (no {LABEXTENSION}/package.json with jupyterlab._build)")

        bundle = os.path.join(root, CLI_BUNDLE)
        if not os.path.isfile(bundle):
            problems.append(f"{CLI_BUNDLE} (the CLI in one file, for the local server) is missing")
        if problems:
            raise RuntimeError(
                "jupyterlab_canfar wheel: refusing to build an incomplete wheel:\n  - "
                + "\n  - ".join(problems)
                + "\nBuild with `npm run build:wheel`, which builds the labextension and the CLI bundle first."
            )

        force_include = build_data.setdefault("force_include", {})
        force_include[bundle] = "jupyterlab_canfar/cli/canfar-lab.cjs"
        release = tempfile.NamedTemporaryFile(
            "w", suffix="_release.py", delete=False, encoding="utf-8"
        )
        with release:
            release.write(
                '"""Written by the wheel build (hatch_build.py): package.json\'s version."""\n\n'
                f"VERSION = {npm_version!r}\n"
            )
        self._release = release.name
        force_include[release.name] = "jupyterlab_canfar/_release.py"

        extra = os.path.join(root, EXTRA_PACKAGES)
        if os.path.isdir(extra):
            for name in sorted(os.listdir(extra)):
                package = os.path.join(extra, name)
                if os.path.isfile(os.path.join(package, "__init__.py")):
                    force_include[package] = name

    def finalize(self, version, build_data, artifact_path):
        release = getattr(self, "_release", None)
        if release and os.path.exists(release):
            os.unlink(release)
