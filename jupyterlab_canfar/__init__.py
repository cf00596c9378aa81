"""jupyterlab-canfar: the Jupyter server half of the JupyterLab extension, and the IPython extension.

In a notebook: ``%load_ext jupyterlab_canfar`` registers the ``%canfar`` magic, and
``from jupyterlab_canfar import canfar`` gives the Python API (see jupyterlab_canfar/canfar.py). Both are
imported only then: the server extension loads this module and must stay cheap to import.

The server half proxies the Skaha v1 calls of the browser to the configured endpoint with the server-side
credential (``/canfar/api/skaha/v1/...``), reports what it uses (``/canfar/api/info``), and starts
the local Skaha-compatible server when the endpoint is ``local``. Works with jupyter_server 1.x and
2.x. Configuration: see ``jupyterlab_canfar.config.CanfarConfig``.
"""

import os

from ._version import __version__

HERE = os.path.dirname(os.path.abspath(__file__))


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyterlab-canfar"}]


def _jupyter_server_extension_points():
    return [{"module": "jupyterlab_canfar"}]


def _load_jupyter_server_extension(serverapp):
    """Register the handlers (jupyter_server 1.x and 2.x)."""
    from .config import CanfarConfig
    from .handlers import setup_handlers
    from .service import CanfarService

    config = CanfarConfig(parent=serverapp)
    service = CanfarService(
        config,
        log=serverapp.log,
        package_dir=HERE,
        root_dir=getattr(serverapp, "root_dir", "") or "",
    )
    setup_handlers(serverapp.web_app, service)
    serverapp.log.info(
        "jupyterlab_canfar %s: Skaha proxy at %s (endpoint: %s)",
        __version__,
        serverapp.web_app.settings["base_url"].rstrip("/") + "/canfar/api/",
        config.endpoint or os.environ.get("CANFAR_URL") or "auto (config file, else local)",
    )


def load_ipython_extension(ipython):
    """``%load_ext jupyterlab_canfar``: registers the ``%canfar`` line magic."""
    from .kernel.magics import CanfarMagics

    ipython.register_magics(CanfarMagics(ipython))


def unload_ipython_extension(ipython):
    ipython.magics_manager.magics["line"].pop("canfar", None)


# The name jupyter_server 1.x and the classic notebook server look for.
load_jupyter_server_extension = _load_jupyter_server_extension
