"""Version of the server half: package.json's, one number for the npm package and the wheel.

An installed wheel carries it in ``_release.py``, which the wheel build writes from package.json
(hatch_build.py); in a checkout it is read from ``../package.json``. ``/canfar/api/info`` reports it,
and the labextension warns when its own version differs.
"""

import json
import os


def _read_version() -> str:
    try:
        from ._release import VERSION  # written into the wheel by hatch_build.py

        return VERSION
    except ImportError:
        pass
    package_json = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "package.json")
    try:
        with open(package_json, encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("name") == "jupyterlab-canfar":
            return str(data["version"])
    except (OSError, ValueError, KeyError):
        pass
    try:
        from importlib.metadata import version

        return version("jupyterlab_canfar")
    except Exception:  # noqa: BLE001 - not installed either: say so rather than fail to import
        return "0+unknown"


__version__ = _read_version()
