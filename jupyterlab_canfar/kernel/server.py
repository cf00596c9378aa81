"""The route inside Jupyter: the kernel calls the Jupyter server that runs it, over HTTP.

A kernel finds that server from the runtime files every Jupyter server writes (``jpserver-<pid>.json``:
url, base_url, token) and checks that the server manages this very kernel (``GET /api/kernels/<id>``,
the id being in the kernel's connection file name ``kernel-<id>.json``). Another Jupyter server of the same
user (a JupyterLab left open while nbconvert runs a notebook) is never mistaken for its own.

Through it: the Skaha calls of the server half (``/canfar/api/skaha/v1/...``, with the server's
credential, which the kernel never sees), and the relay to the JupyterLab extension
(``/canfar/api/kernel/...``, see jupyterlab_canfar/relay.py). Only the standard library: a kernel's
environment may lack tornado or requests.
"""

import glob
import json
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .errors import CanfarError

HINTS = {
    400: "The service refused a parameter: correct the value it names and try again.",
    401: "The Jupyter server's CANFAR credential was not accepted: renew it (CANFAR_TOKEN, ~/.ssl/cadcproxy.pem).",
    403: "Your account is not allowed to use this service: ask the CANFAR support for access.",
    404: "No such session, or not yours. A finished headless session is deleted one hour after it ends.",
    503: "The service is temporarily unavailable: try again in a little while.",
}


def kernel_id() -> Optional[str]:
    """This kernel's id, from its connection file (``kernel-<id>.json``); None outside a kernel."""
    try:
        from ipykernel.connect import get_connection_file

        path = get_connection_file()
    except Exception:  # noqa: BLE001 - not in a kernel (plain IPython, a test)
        return None
    match = re.match(r"^kernel-(.+)\.json$", os.path.basename(path))
    return match.group(1) if match else None


def _connection_dir() -> Optional[str]:
    try:
        from ipykernel.connect import get_connection_file

        return os.path.dirname(get_connection_file())
    except Exception:  # noqa: BLE001
        return None


def _runtime_dirs() -> List[str]:
    dirs = []
    connection = _connection_dir()
    if connection:
        dirs.append(connection)
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        dirs.append(jupyter_runtime_dir())
    except Exception:  # noqa: BLE001 - jupyter_core absent: the connection file's folder only
        pass
    seen, out = set(), []
    for d in dirs:
        real = os.path.realpath(d)
        if real not in seen and os.path.isdir(real):
            seen.add(real)
            out.append(real)
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, ValueError, TypeError):
        return False
    return True


@dataclass
class HttpAnswer:
    status: int
    headers: Dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class JupyterServer:
    """One Jupyter server, as its runtime file describes it."""

    def __init__(self, info: Dict[str, Any]):
        self.url = str(info.get("url") or "").rstrip("/") + "/"
        self.token = str(info.get("token") or "")
        self.root_dir = str(info.get("root_dir") or info.get("notebook_dir") or "")
        self.pid = int(info.get("pid") or 0)
        self._xsrf = uuid.uuid4().hex

    def __repr__(self) -> str:
        return f"JupyterServer({self.url}, pid {self.pid})"

    def _auth(self) -> Dict[str, str]:
        token = self.token or os.environ.get("JUPYTERHUB_API_TOKEN", "")
        return {"Authorization": f"token {token}"} if token else {}

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Dict[str, Any]] = None,
        form: Optional[List[Tuple[str, str]]] = None,
        json_body: Any = None,
        timeout: float = 60,
    ) -> HttpAnswer:
        """One HTTP call; the status comes back as is (no exception for 4xx/5xx)."""
        url = self.url + path.lstrip("/")
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Accept": "application/json, text/plain", **self._auth()}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if method not in ("GET", "HEAD") and not headers.get("Authorization"):
            # Without a token, jupyter_server checks XSRF on changes: the double-submit pattern (the same
            # value as the _xsrf cookie and the X-XSRFToken header) is what a browser page sends too.
            headers["X-XSRFToken"] = self._xsrf
            headers["Cookie"] = f"_xsrf={self._xsrf}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = HttpAnswer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            answer = HttpAnswer(error.code, dict(error.headers or {}), error.read() or b"")
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise CanfarError(
                f"cannot reach the Jupyter server at {self.url} ({reason}); is it still running?",
                code="transport",
            ) from None
        return answer

    def manages(self, kernel: str) -> bool:
        try:
            return self.request("GET", f"api/kernels/{kernel}", timeout=5).status == 200
        except CanfarError:
            return False

    def has_server_half(self) -> bool:
        try:
            return self.request("GET", "canfar/api/info", query={"check": "false"}, timeout=10).status == 200
        except CanfarError:
            return False

    # --- Skaha through the server half ---

    def skaha(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        query: Optional[Dict[str, Any]] = None,
        form: Optional[List[Tuple[str, str]]] = None,
    ) -> HttpAnswer:
        answer = self.request(method, f"canfar/api/skaha/v1/{path}", query=query, form=form)
        if answer.status >= 400:
            raise skaha_error(operation, answer)
        return answer

    def info(self) -> Dict[str, Any]:
        answer = self.request("GET", "canfar/api/info", query={"check": "false"})
        if answer.status != 200:
            raise skaha_error("server half info", answer)
        return answer.json()

    def relative_path(self, path: str) -> Optional[str]:
        """``path`` relative to the server's root (``/``-separated), or None when it is outside."""
        if not self.root_dir:
            return None
        root = os.path.realpath(os.path.expanduser(self.root_dir))
        full = os.path.realpath(path)
        relative = os.path.relpath(full, root)
        if relative == os.curdir:
            return ""
        if relative.startswith(os.pardir + os.sep) or relative == os.pardir or os.path.isabs(relative):
            return None
        return relative.replace(os.sep, "/")


def skaha_error(operation: str, answer: HttpAnswer) -> CanfarError:
    """The service's (or the server half's) text/plain message, as the CLI words it."""
    text = answer.text.strip()
    if re.match(r"^<(!doctype|html)", text, re.I):
        title = re.search(r"<title>([^<]*)</title>", text, re.I)
        text = title.group(1).strip() if title else "an HTML error page"
    first = text.split("\n", 1)[0].strip()
    said = f": {first}" if first else ""
    return CanfarError(
        f"{operation} failed with HTTP {answer.status}{said}",
        status=answer.status,
        service_message=text or None,
        hint=HINTS.get(
            answer.status, "The service failed: try again later." if answer.status >= 500 else None
        ),
    )


_lock = threading.Lock()
_found: Dict[str, Optional[JupyterServer]] = {}


def find_server(kernel: Optional[str] = None, *, refresh: bool = False) -> Optional[JupyterServer]:
    """The Jupyter server that manages this kernel, or None (nbconvert, papermill, plain IPython)."""
    kernel = kernel or kernel_id()
    if not kernel:
        return None
    with _lock:
        if not refresh and kernel in _found:
            return _found[kernel]
        found = None
        for directory in _runtime_dirs():
            files = glob.glob(os.path.join(directory, "jpserver-*.json")) + glob.glob(
                os.path.join(directory, "nbserver-*.json")
            )
            for path in sorted(files, key=os.path.getmtime, reverse=True):
                try:
                    with open(path, encoding="utf-8") as handle:
                        info = json.load(handle)
                except (OSError, ValueError):
                    continue
                server = JupyterServer(info)
                if server.pid and not _pid_alive(server.pid):
                    continue
                if server.manages(kernel):
                    found = server
                    break
            if found:
                break
        _found[kernel] = found
        return found
