"""JupyterLab 4.6 without the Python `jupyterlab` package: a jupyterlab_server application serving
the frontend built in ./build (see scripts/build.mjs), our prebuilt labextension, and our server
extension `jupyterlab_canfar`. Used by `npm start` and by the Playwright tests; run it through
main.py. Written for Debian's jupyter_server 1.23 and jupyterlab_server 2.16.
"""

import argparse
import importlib
import json
import os
import sys
import tempfile
import warnings

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyterlab_server import LabServerApp
from tornado import web, websocket
from tornado.ioloop import IOLoop

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.join(HERE, "build")
LABEXTENSION = os.path.join(REPO, "jupyterlab_canfar", "labextension")
EXTENSION_NAME = "jupyterlab-canfar"

# Settings every run starts from: no request to the Jupyter news feed or the release check (the
# machines running the tests have no Internet, and the toast would cover screenshots).
SETTINGS_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


class MeHandler(APIHandler):
    """`GET /api/me` (jupyter_server 2 identity API, absent from 1.x): one anonymous local user."""

    @web.authenticated
    def get(self):
        user = os.environ.get("USER") or "user"
        self.finish(
            json.dumps(
                {
                    "identity": {
                        "username": user,
                        "name": user,
                        "display_name": user,
                        "initials": user[:1].upper(),
                        "avatar_url": None,
                        "color": None,
                    },
                    "permissions": {},
                }
            )
        )


class EventsHandler(APIHandler):
    """`POST /api/events` (jupyter_server 2 event bus): accepted and dropped."""

    @web.authenticated
    def post(self):
        self.set_status(204)
        self.finish()


class LspStatusHandler(APIHandler):
    """`GET /lsp/status` (jupyter-lsp, not installed here): no language servers, instead of a 404."""

    @web.authenticated
    def get(self):
        self.finish(json.dumps({"version": 2, "sessions": {}, "specs": {}}))


class EventsSubscribeHandler(websocket.WebSocketHandler, JupyterHandler):
    """`/api/events/subscribe` websocket: stays open and silent, as a server with no events would."""

    def get(self, *args, **kwargs):
        if self.current_user is None:
            raise web.HTTPError(403)
        return super().get(*args, **kwargs)

    def check_origin(self, origin):
        return JupyterHandler.check_origin(self, origin)

    def on_message(self, message):
        pass


def drop_not_found_url(handler, page_config):
    """jupyterlab_server 2.16 leaves `notFoundUrl` in the shared page config after any 404, so every
    later page opened a "Path Not Found" dialog: hand each page a copy without it."""
    config = dict(page_config)
    config.pop("notFoundUrl", None)
    # window.jupyterapp, for tests and debugging from the browser console.
    config["exposeAppInBrowser"] = True
    return config


class CanfarDevLab(LabServerApp):
    name = "canfar_dev_lab"
    app_name = "JupyterLab"
    description = "JupyterLab with the CANFAR extension, from ui-tests/app/build"
    extension_url = "/lab"
    default_url = "/lab"
    load_other_extensions = False
    # Set by configure() before launch_instance.
    serverapp_config: dict = {}

    def initialize_settings(self):
        super().initialize_settings()
        self.settings["page_config_hook"] = drop_not_found_url
        # Once the server listens (the port is final then), say where to go, above the log noise.
        IOLoop.current().add_callback(self._print_url)

    def _print_url(self):
        url = self.serverapp.display_url.split("\n")[0].strip()
        print(f"\n    JupyterLab with the CANFAR extension: {url}\n", flush=True)

    def initialize_handlers(self):
        super().initialize_handlers()
        self.handlers.extend(
            [
                (r"/api/me", MeHandler),
                (r"/api/events", EventsHandler),
                (r"/api/events/subscribe", EventsSubscribeHandler),
                (r"/lsp/status", LspStatusHandler),
            ]
        )


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": CanfarDevLab}]


def server_extension_available():
    """Our server half lives in <repo>/jupyterlab_canfar; load it if it is there and importable."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    try:
        module = importlib.import_module("jupyterlab_canfar")
    except Exception as error:  # noqa: BLE001 - any import failure means: run without it, say why
        warnings.warn(f"jupyterlab_canfar (the server half) is not loaded: {error!r}", stacklevel=1)
        return False
    if not (
        hasattr(module, "_jupyter_server_extension_points")
        or hasattr(module, "_jupyter_server_extension_paths")
    ):
        warnings.warn(
            "jupyterlab_canfar has no _jupyter_server_extension_points(): the server half is not "
            "loaded (the CANFAR panel will report its API as missing).",
            stacklevel=1,
        )
        return False
    return True


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="JupyterLab 4.6 with the CANFAR extension (test rig). Unknown options go to "
        "jupyter_server, e.g. --port=8888 --ServerApp.ip=0.0.0.0",
    )
    parser.add_argument(
        "--test",
        action="store_true",
        help="test mode: no token, no XSRF check, isolated Jupyter dirs. Never on a shared machine.",
    )
    parser.add_argument("--root-dir", default=None, help="notebook directory (default: current directory)")
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("CANFAR_ENDPOINT", "local"),
        help="Skaha endpoint of the CANFAR panel: local (default), canfar or a URL ($CANFAR_ENDPOINT)",
    )
    parser.add_argument(
        "--local-state",
        default=None,
        help="state directory of the local Skaha server (default: <state-dir>/local-server in --test "
        "mode, else the server half's default)",
    )
    parser.add_argument(
        "--state-dir",
        default=None,
        help="where settings, workspaces and runtime files go (default: a new temporary directory "
        "in --test mode, else $XDG_STATE_HOME/jupyterlab-canfar-lab, kept between runs)",
    )
    return parser.parse_known_args(argv)


def prepare(argv):
    """Returns the jupyter_server argv after setting up directories and configuration."""
    options, rest = parse_args(argv)
    if not os.path.isfile(os.path.join(BUILD, "index.html")):
        sys.exit(
            f"No built frontend in {BUILD}: run `bash scripts/build-app.sh` from the repository root first."
        )
    if not os.path.isfile(os.path.join(LABEXTENSION, "package.json")):
        warnings.warn(
            f"No built labextension in {LABEXTENSION}: JupyterLab starts without the CANFAR extension "
            "(run `npm run build:labextension`).",
            stacklevel=1,
        )

    if options.state_dir:
        state = os.path.abspath(options.state_dir)
    elif options.test:
        state = tempfile.mkdtemp(prefix="canfar-dev-lab-")
    else:
        xdg_state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
        state = os.path.join(xdg_state, "jupyterlab-canfar-lab")
    root = os.path.abspath(options.root_dir or os.getcwd())
    dirs = {name: os.path.join(state, name) for name in ("app-settings", "user-settings", "workspaces", "labextensions")}
    for path in dirs.values():
        os.makedirs(path, exist_ok=True)
    with open(os.path.join(dirs["app-settings"], "overrides.json"), "w", encoding="utf-8") as f:
        json.dump(SETTINGS_OVERRIDES, f, indent=2)
    # jupyterlab_server looks for <dir>/<package name>/package.json in each labextensions path.
    link = os.path.join(dirs["labextensions"], EXTENSION_NAME)
    if not os.path.lexists(link):
        os.symlink(LABEXTENSION, link)

    if options.test:
        # Nothing from the user's own Jupyter configuration or runtime files leaks into a test.
        for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
            os.environ[var] = os.path.join(state, sub)
            os.makedirs(os.environ[var], exist_ok=True)

    extensions = {__name__: True}
    canfar_args = []
    if server_extension_available():
        extensions["jupyterlab_canfar"] = True
        canfar_args.append(f"--CanfarConfig.endpoint={options.endpoint}")
        local_state = options.local_state or (os.path.join(state, "local-server") if options.test else None)
        if local_state:
            canfar_args.append(f"--CanfarConfig.local_state_dir={os.path.abspath(local_state)}")
    CanfarDevLab.serverapp_config = {"jpserver_extensions": extensions}

    lab = "--CanfarDevLab."
    args = [
        f"{lab}static_dir={BUILD}",
        f"{lab}templates_dir={BUILD}",
        f"{lab}schemas_dir={os.path.join(BUILD, 'schemas')}",
        f"{lab}themes_dir={os.path.join(BUILD, 'themes')}",
        f"{lab}app_settings_dir={dirs['app-settings']}",
        f"{lab}user_settings_dir={dirs['user-settings']}",
        f"{lab}workspaces_dir={dirs['workspaces']}",
        f"{lab}labextensions_path={dirs['labextensions']}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        "--ServerApp.ip=127.0.0.1",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    if options.test:
        args += [
            "--ServerApp.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            "--ServerApp.port_retries=0",
        ]
    return args + canfar_args + rest


def main(argv=None):
    args = prepare(sys.argv[1:] if argv is None else argv)
    CanfarDevLab.launch_instance(args)
