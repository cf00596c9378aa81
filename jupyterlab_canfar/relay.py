"""The relay between a notebook's kernel and the CANFAR JupyterLab extension (``/canfar/api/kernel/...``).

A cell cannot wait for a comm reply from the frontend (ipykernel reads the shell channel only between
cells), but it can make HTTP calls. So the kernel registers a request here and notifies the frontend with a
comm message; the extension claims the request (the first claim wins: a notebook open in two tabs runs
it once), runs it, and posts progress and the result here; the kernel reads them with long polls.

Routes (Jupyter authentication and authorization, like every route of the server half):

- ``POST frontends`` ``{"frontend", "kernels": [ids]}``: a JupyterLab page says which kernels it listens
  to (its comm target is registered on them); repeated every few seconds, forgotten after FRONTEND_TTL.
- ``GET frontends?kernel=ID``: ``{"frontends": [...]}``, the pages that reported that kernel lately.
- ``POST requests`` ``{"kernel", "payload"}``: 201 ``{"id", "state": "open", "version"}``.
- ``POST requests/ID/claim`` ``{"frontend"}``: 200 ``{"id", "kernel", "payload"}``; 409 once claimed or
  cancelled.
- ``POST requests/ID/update`` ``{"frontend", "state"?, "progress"?, "result"?, "error"?}``: by the claimer
  only; ``{"cancelled": bool}`` tells it whether the kernel gave up (interrupted).
- ``GET requests/ID?after=V&wait=S``: the request's state once its version is above V (or after S
  seconds, at most MAX_WAIT): ``{"id", "state", "version", "progress", "result", "error"}``.
- ``POST requests/ID/cancel``: an open request becomes cancelled (a late claim fails: nothing runs); a
  running one is marked, for the extension to stop at its next update.

States: open -> running -> done | failed; open -> cancelled. Requests live in memory, at most
MAX_REQUESTS, each forgotten REQUEST_TTL seconds after its last change.
"""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set

from jupyter_server.base.handlers import APIHandler
from tornado import web

try:
    from jupyter_server.auth.decorator import authorized
except ImportError:  # pragma: no cover - older jupyter_server: authentication only

    def authorized(method):
        return method


# A page reports every 20 s; a background tab's timers may be slowed to once a minute.
FRONTEND_TTL = 150.0
REQUEST_TTL = 3600.0
MAX_REQUESTS = 500
MAX_WAIT = 25.0
MAX_BODY = 8 << 20
STATES = ("open", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")


@dataclass
class Request:
    id: str
    kernel: str
    payload: Any
    state: str = "open"
    version: int = 1
    frontend: Optional[str] = None
    progress: Any = None
    result: Any = None
    error: Any = None
    cancel_asked: bool = False
    updated: float = field(default_factory=time.monotonic)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def snapshot(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "kernel": self.kernel,
            "state": self.state,
            "version": self.version,
            "frontend": self.frontend,
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
            "cancelAsked": self.cancel_asked,
        }

    def bump(self) -> None:
        self.version += 1
        self.updated = time.monotonic()
        # Wake every waiter, then give later ones a fresh event.
        self.changed.set()
        self.changed = asyncio.Event()


class Relay:
    """In-memory state of the relay (one per Jupyter server)."""

    def __init__(self, now=time.monotonic):
        self._now = now
        self.frontends: Dict[str, Dict[str, Any]] = {}
        self.requests: Dict[str, Request] = {}

    def heartbeat(self, frontend: str, kernels: List[str]) -> None:
        self.frontends[frontend] = {"kernels": set(kernels), "seen": self._now()}

    def frontends_of(self, kernel: str) -> List[str]:
        now = self._now()
        for name in [f for f, v in self.frontends.items() if now - v["seen"] > FRONTEND_TTL]:
            del self.frontends[name]
        return sorted(f for f, v in self.frontends.items() if kernel in v["kernels"])

    def create(self, kernel: str, payload: Any) -> Request:
        self._expire()
        request = Request(id=uuid.uuid4().hex, kernel=kernel, payload=payload)
        self.requests[request.id] = request
        return request

    def _expire(self) -> None:
        now = self._now()
        for key in [k for k, r in self.requests.items() if now - r.updated > REQUEST_TTL]:
            del self.requests[key]
        while len(self.requests) >= MAX_REQUESTS:
            oldest = min(self.requests.values(), key=lambda r: r.updated)
            del self.requests[oldest.id]

    def get(self, request_id: str) -> Optional[Request]:
        return self.requests.get(request_id)


class RelayHandler(APIHandler):
    auth_resource = "canfar"

    @property
    def relay(self) -> Relay:
        return self.settings["jupyterlab_canfar_relay"]

    def body(self) -> Dict[str, Any]:
        if len(self.request.body or b"") > MAX_BODY:
            raise web.HTTPError(413, f"the request body is larger than {MAX_BODY >> 20} MB")
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPError(400, "the body must be a JSON object")
        return data

    def request_or_404(self, request_id: str) -> Request:
        request = self.relay.get(request_id)
        if request is None:
            raise web.HTTPError(
                404, f"no request {request_id} on this Jupyter server (it may have restarted)"
            )
        return request

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))


class FrontendsHandler(RelayHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        kernel = self.get_argument("kernel", "")
        self.reply({"frontends": self.relay.frontends_of(kernel) if kernel else [], "ttl": FRONTEND_TTL})

    @web.authenticated
    @authorized
    def post(self) -> None:
        data = self.body()
        frontend, kernels = data.get("frontend"), data.get("kernels")
        if not isinstance(frontend, str) or not frontend or not isinstance(kernels, list):
            raise web.HTTPError(400, 'expected {"frontend": "<id>", "kernels": ["<kernel id>", ...]}')
        self.relay.heartbeat(frontend, [str(k) for k in kernels])
        self.reply({"ttl": FRONTEND_TTL})


class RequestsHandler(RelayHandler):
    @web.authenticated
    @authorized
    def post(self) -> None:
        data = self.body()
        kernel = data.get("kernel")
        if not isinstance(kernel, str) or not kernel or "payload" not in data:
            raise web.HTTPError(400, 'expected {"kernel": "<kernel id>", "payload": {...}}')
        request = self.relay.create(kernel, data["payload"])
        self.reply({"id": request.id, "state": request.state, "version": request.version}, 201)


class RequestHandler(RelayHandler):
    @web.authenticated
    @authorized
    async def get(self, request_id: str) -> None:
        request = self.request_or_404(request_id)
        try:
            after = int(self.get_argument("after", "0"))
            wait = min(max(float(self.get_argument("wait", "0")), 0.0), MAX_WAIT)
        except ValueError:
            raise web.HTTPError(400, "after must be an integer and wait a number of seconds") from None
        deadline = time.monotonic() + wait
        while request.version <= after and request.state not in FINAL:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(request.changed.wait(), remaining)
            except asyncio.TimeoutError:
                break
        self.reply(request.snapshot())


class ActionHandler(RelayHandler):
    @web.authenticated
    @authorized
    def post(self, request_id: str, action: str) -> None:
        request = self.request_or_404(request_id)
        data = self.body()
        if action == "claim":
            frontend = data.get("frontend")
            if not isinstance(frontend, str) or not frontend:
                raise web.HTTPError(400, 'expected {"frontend": "<id>"}')
            if request.state != "open":
                self.reply({"state": request.state, "frontend": request.frontend}, 409)
                return
            request.state, request.frontend = "running", frontend
            request.bump()
            self.reply({"id": request.id, "kernel": request.kernel, "payload": request.payload})
        elif action == "update":
            if data.get("frontend") != request.frontend or request.state in FINAL:
                self.reply({"state": request.state, "frontend": request.frontend}, 409)
                return
            state = data.get("state")
            if state is not None and state not in ("running", "done", "failed"):
                raise web.HTTPError(400, "state must be running, done or failed")
            for key in ("progress", "result", "error"):
                if key in data:
                    setattr(request, key, data[key])
            if state:
                request.state = state
            request.bump()
            self.reply({"cancelled": request.cancel_asked})
        elif action == "cancel":
            if request.state == "open":
                request.state = "cancelled"
            elif request.state == "running":
                request.cancel_asked = True
            request.bump()
            self.reply(request.snapshot())
        else:
            raise web.HTTPError(404, f"unknown action {action!r}: claim, update or cancel")


def relay_handlers(api: str) -> list:
    """The routes, under ``<base_url>/canfar/api`` (``api``)."""
    from jupyter_server.utils import url_path_join

    base = url_path_join(api, "kernel")
    return [
        (url_path_join(base, "frontends"), FrontendsHandler),
        (url_path_join(base, "requests"), RequestsHandler),
        (url_path_join(base, "requests", r"([0-9a-f]{32})"), RequestHandler),
        (url_path_join(base, "requests", r"([0-9a-f]{32})", r"(claim|update|cancel)"), ActionHandler),
    ]
