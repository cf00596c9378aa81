"""Endpoint 'local': find or start the local Skaha-compatible server, and stop it with Jupyter.

The server is the Node CLI verb ``canfar-lab local --json --port 0 --state <dir>``. Its first stdout
line is ``{"url", "apiUrl", "tokenFile", "pid"}``; while it runs, ``<dir>/server.json`` holds the same
facts, so a server started elsewhere (the CLI, another Jupyter) is reused instead of started twice.
Only a server this process started is stopped when Jupyter stops.
"""

import asyncio
import atexit
import collections
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass
from typing import Callable, Deque, List, Optional

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

LOCAL_ARGS = ["local", "--json", "--port", "0"]


class LocalServerError(Exception):
    """The local server could not be found or started; the message says why and what to do."""


@dataclass
class LocalServer:
    url: str
    api_url: str
    token_file: str
    pid: int
    token: str
    owned: bool
    process: Optional[subprocess.Popen] = None

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def default_state_dir(env=None) -> str:
    """The local server's own default (src/node/local/state.ts), so a server started by the CLI
    without --state is found and reused."""
    env = os.environ if env is None else env
    data = env.get("XDG_DATA_HOME", "")
    base = data if os.path.isabs(data) else os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "jupyterlab-canfar", "local")


# The single-file CLI (every JavaScript dependency inlined) that the wheel carries: with it, `node` is
# all the local server needs after `pip install`.
BUNDLED_CLI = os.path.join("cli", "canfar-lab.cjs")
MIN_NODE = 20
NODE_HELP = (
    f"install Node.js {MIN_NODE} or later where Jupyter runs (Debian/Ubuntu: `apt install nodejs`; "
    "conda: `conda install nodejs`; or an official Node.js release), make sure `node` is on the PATH of the "
    "Jupyter server, then restart Jupyter. Or use CANFAR itself instead of the local server: "
    "c.CanfarConfig.endpoint = \"canfar\""
)


def require_node(which: Callable[[str], Optional[str]] = shutil.which) -> str:
    """The path of a `node` that can run the CLI (Node.js 20+), or LocalServerError saying what to install."""
    node = which("node")
    if node is None:
        raise LocalServerError(
            f"Node.js is not installed (no `node` on PATH) and the local server runs on it: {NODE_HELP}"
        )
    try:
        found = subprocess.run(
            [node, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        raise LocalServerError(f"cannot run {node} --version ({error}): {NODE_HELP}") from error
    try:
        major = int(found.lstrip("v").split(".")[0])
    except ValueError:
        raise LocalServerError(
            f"{node} --version printed {found[:80]!r}, not a Node.js version: {NODE_HELP}"
        ) from None
    if major < MIN_NODE:
        raise LocalServerError(f"{node} is Node.js {found}, too old for the local server: {NODE_HELP}")
    return node


def find_cli(
    package_dir: str, search_dirs: List[str], which: Callable[[str], Optional[str]] = shutil.which
) -> List[str]:
    """The command (argv prefix) that runs the canfar-lab CLI, or LocalServerError saying what to do.

    In order: the bundled CLI of an installed wheel (<package>/cli/canfar-lab.cjs), a source checkout
    around the package (bin/canfar-lab.js with its build), `canfar-lab` on PATH, and
    node_modules/jupyterlab-canfar in the notebook folder, the working directory or the home directory.
    """
    bundled = os.path.join(package_dir, BUNDLED_CLI)
    if os.path.isfile(bundled):
        return [require_node(which), bundled]
    repo_bin = os.path.normpath(os.path.join(package_dir, "..", "bin", "canfar-lab.js"))
    if os.path.isfile(repo_bin):
        node = require_node(which)
        built = os.path.join(os.path.dirname(os.path.dirname(repo_bin)), "dist", "node", "cli.cjs")
        if not os.path.isfile(built):
            raise LocalServerError(
                f"found {repo_bin}, but {built} is missing: run `npm run build:node` in "
                f"{os.path.dirname(os.path.dirname(repo_bin))}"
            )
        return [node, repo_bin]
    on_path = which("canfar-lab")
    if on_path:
        return [on_path]
    for base in search_dirs:
        candidate = os.path.join(base, "node_modules", "jupyterlab-canfar", "bin", "canfar-lab.js")
        if os.path.isfile(candidate):
            return [require_node(which), candidate]
    raise LocalServerError(
        f"the canfar-lab CLI was not found (not bundled in {package_dir}, not in a source checkout around it, "
        "not on PATH, not in node_modules/jupyterlab-canfar): reinstall jupyterlab_canfar with pip, or "
        "install the CLI with `npm install -g jupyterlab-canfar`, or set c.CanfarConfig.local_command, "
        "or choose another endpoint (c.CanfarConfig.endpoint)"
    )


def _read_token(token_file: str) -> str:
    try:
        with open(token_file, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as error:
        raise LocalServerError(
            f"the local server's token file {token_file} cannot be read ({error.strerror})"
        ) from error
    if not token:
        raise LocalServerError(f"the local server's token file {token_file} is empty")
    return token


class LocalServerManager:
    """Starts the local server once (concurrent first requests share one start), stops it at exit."""

    def __init__(
        self,
        *,
        state_dir: str,
        command: Callable[[], List[str]],
        start_timeout: float,
        log: logging.Logger,
    ):
        self.state_dir = state_dir
        self._command = command
        self.start_timeout = start_timeout
        self.log = log
        self.server: Optional[LocalServer] = None
        self._lock: Optional[asyncio.Lock] = None
        self._stderr_tail: Deque[str] = collections.deque(maxlen=40)
        atexit.register(self.stop)

    async def ensure(self) -> LocalServer:
        if self.server is not None and self.server.alive():
            return self.server
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.server is not None and self.server.alive():
                return self.server
            if self.server is not None:
                self.log.warning("canfar: the local server (pid %s) is gone; starting another", self.server.pid)
                self.server = None
            reused = await self._reuse()
            self.server = reused if reused is not None else await self._start()
            return self.server

    async def _reuse(self) -> Optional[LocalServer]:
        path = os.path.join(self.state_dir, "server.json")
        try:
            with open(path, encoding="utf-8") as handle:
                info = json.load(handle)
            url, api_url, token_file, pid = info["url"], info["apiUrl"], info["tokenFile"], int(info["pid"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            self.log.warning("canfar: ignoring unreadable %s (%s)", path, error)
            return None
        if not pid_alive(pid):
            return None
        try:
            token = _read_token(token_file)
        except LocalServerError as error:
            self.log.warning("canfar: not reusing the local server of %s: %s", path, error)
            return None
        # A live pid may have been recycled by another program: only an answering server is reused.
        probe = HTTPRequest(
            api_url.rstrip("/") + "/context",
            headers={"Authorization": f"Bearer {token}"},
            connect_timeout=3,
            request_timeout=5,
        )
        try:
            response = await AsyncHTTPClient().fetch(probe, raise_error=False)
        except Exception as error:  # noqa: BLE001 - any failure: start our own instead
            self.log.info("canfar: the local server in %s does not answer (%s); starting one", path, error)
            return None
        if response.code != 200:
            self.log.info("canfar: the local server in %s answered %s; starting one", path, response.code)
            return None
        self.log.info("canfar: reusing the local server at %s (pid %s)", url, pid)
        return LocalServer(url=url, api_url=api_url, token_file=token_file, pid=pid, token=token, owned=False)

    async def _start(self) -> LocalServer:
        command = self._command() + LOCAL_ARGS + ["--state", self.state_dir]
        try:
            os.makedirs(self.state_dir, exist_ok=True)
        except OSError as error:
            raise LocalServerError(
                f"cannot create the local server's state directory {self.state_dir} ({error.strerror}): "
                "set c.CanfarConfig.local_state_dir to a writable directory"
            ) from error
        self.log.info("canfar: starting the local server: %s", " ".join(command))
        self._stderr_tail.clear()
        try:
            # Own session: a Ctrl-C in Jupyter's terminal must not kill it before Jupyter decides to stop.
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as error:
            raise LocalServerError(
                f"cannot run {command[0]} ({error.strerror}): check c.CanfarConfig.local_command"
            ) from error
        self._drain(process.stderr, logging.INFO, self._stderr_tail)
        loop = asyncio.get_running_loop()
        try:
            first = await asyncio.wait_for(
                loop.run_in_executor(None, process.stdout.readline), self.start_timeout
            )
        except asyncio.TimeoutError:
            self._terminate(process)
            raise LocalServerError(
                f"the local server did not report its address within {self.start_timeout:g} s "
                f"({' '.join(command)}){self._stderr_summary()}"
            ) from None
        if not first:
            code = await loop.run_in_executor(None, process.wait)
            await asyncio.sleep(0.1)  # let the stderr reader catch the last lines
            raise LocalServerError(
                f"the local server exited with code {code} before it listened "
                f"({' '.join(command)}){self._stderr_summary()}"
            )
        try:
            info = json.loads(first)
            url, token_file = str(info["url"]), str(info["tokenFile"])
            api_url = str(info.get("apiUrl") or url.rstrip("/") + "/v1")
        except (ValueError, KeyError, TypeError):
            self._terminate(process)
            raise LocalServerError(
                f"the local server's first output line is not the expected JSON: {first[:200]!r}"
            ) from None
        self._drain(process.stdout, logging.DEBUG, None)
        try:
            token = _read_token(token_file)
        except LocalServerError:
            self._terminate(process)
            raise
        self.log.info("canfar: local server listening at %s (pid %s)", url, process.pid)
        return LocalServer(
            url=url,
            api_url=api_url,
            token_file=token_file,
            pid=process.pid,
            token=token,
            owned=True,
            process=process,
        )

    def _stderr_summary(self) -> str:
        lines = [line for line in self._stderr_tail if line.strip()]
        return (": " + " | ".join(lines[-8:])) if lines else ""

    def _drain(self, stream, level: int, tail: Optional[Deque[str]]) -> None:
        """Read a pipe to its end so the child never blocks writing to it."""

        def pump() -> None:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                if tail is not None:
                    tail.append(line)
                self.log.log(level, "canfar local server: %s", line)
            stream.close()

        threading.Thread(target=pump, name="canfar-local-output", daemon=True).start()

    @staticmethod
    def _terminate(process: subprocess.Popen, grace: float = 5.0) -> None:
        if process.poll() is not None:
            return
        try:
            process.send_signal(signal.SIGTERM)
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(grace)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Stop the server if this process started it (registered with atexit; safe to call twice)."""
        server, self.server = self.server, None
        if server is None or not server.owned or server.process is None:
            return
        self.log.info("canfar: stopping the local server (pid %s)", server.pid)
        self._terminate(server.process)
