"""A tiny Skaha v1 stand-in for the server half's tests: real HTTP on 127.0.0.1, answers shaped as in
skaha-v1.md (text/plain ids and errors, JSON sessions), and a record of every request it received.

It answers as production CANFAR does since July 2026 (the notes' section "Production since July 2026"):
a new session is QUEUED (Pending, no startTime: events 404 "session <id> not found.", logs empty, renew
400) until the test calls ``admit(id)``; ``preempt(id)`` puts it back in the queue (Pending, no
startTime), ``finish(id)`` ends it. /context has the LimitRange shape; ``view=interactive`` and
``view=all`` lists; ids that break Kubernetes label syntax get 400 (DELETE 200); names starting with "-"
get the service's 400, names ending with "-" or over 63 characters its 500.

Used in-process (``FakeSkaha``) and as a program standing in for ``canfar-lab local --json``
(``python3 fake_skaha.py local --json --port 0 --state DIR``), so the local-endpoint lifecycle is
tested with a real child process.
"""

import json
import os
import re
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

# Production's LimitRange shape (cores 1..16, memory 1..192 GB, GPUs 1..7; an integer session cap).
CONTEXT = {
    "cores": {"default": 1, "defaultRequest": 1, "defaultLimit": 16, "options": list(range(1, 17))},
    "memoryGB": {"default": 4, "defaultRequest": 4, "defaultLimit": 32, "options": list(range(1, 193))},
    "gpus": {"options": list(range(1, 8))},
    "maxInteractiveSessions": 3,
}
# A Kubernetes label value: the service selects a session's pods by a label holding its id.
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
IMAGES = [
    {"id": "images.canfar.net/skaha/astroml:latest", "types": ["headless", "notebook"], "digest": "sha256:1"},
    {"id": "images.canfar.net/skaha/terminal:1.1.2", "types": ["headless"], "digest": "sha256:2"},
]
TYPES = ("notebook", "desktop", "carta", "contributed", "firefly", "headless")
# Headers a careless upstream might send: the proxy must never pass them to the browser.
LEAKY_HEADERS = {
    "Set-Cookie": "CADC_SSO=upstream-cookie; Path=/",
    "WWW-Authenticate": 'Bearer realm="skaha"',
    "X-Upstream-Secret": "should-not-pass",
}
BIG_LOG_ID = "bigl0g00"
BIG_LOG_LINES = 200_000  # about 6 MB, sent in many chunks
GATED_LOG_ID = "gatedl0g"  # sends a first line, then waits for FakeSkaha.gate before the rest
HUGE_LOG_ID = "hugel0g0"  # 64 MiB; FakeSkaha.sent_bytes tells how much of it the proxy has taken
HUGE_LOG_BYTES = 64 * 1024 * 1024
HANGING_ID = "hangs000"  # GET /session/<it> answers only once FakeSkaha.gate is set


class FakeSkaha:
    def __init__(
        self,
        *,
        token: Optional[str] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
        user: str = "jdoe",
    ):
        self.token = token
        self.user = user
        self.requests: List[Dict[str, Any]] = []
        self.sessions: Dict[str, Dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self.gate = threading.Event()
        self.sent_bytes = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                fake._handle(self)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A refused client certificate is an expected event in the tests, not a traceback to print.
        self.server.handle_error = lambda request, address: None
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/skaha"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeSkaha":
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the platform's side: what Kueue and the cluster do to a session -------------------------

    def admit(self, sid: str) -> None:
        """The queue admits the session: Running, with a startTime (a pod exists)."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 14 * 24 * 3600))
        self.sessions[sid].update(status="Running", startTime=now, expiryTime=later)

    def preempt(self, sid: str) -> None:
        """Preempted: back in the queue, Pending without startTime (no pod), to run again later."""
        session = self.sessions[sid]
        session["status"] = "Pending"
        session.pop("startTime", None)
        session.pop("expiryTime", None)

    def finish(self, sid: str, status: str = "Completed") -> None:
        self.sessions[sid]["status"] = status

    # --- protocol ------------------------------------------------------------------------------

    def _send(self, h, status: int, body: Any, content_type: str = "text/plain", extra=None):
        data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
        if not isinstance(body, (bytes, str)):
            content_type = "application/json"
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for name, value in {**LEAKY_HEADERS, **(extra or {})}.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def _send_big_log(self, h):
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        block = []
        for i in range(1, BIG_LOG_LINES + 1):
            block.append(f"line {i:07d} of the replica log\n")
            if len(block) == 5000 or i == BIG_LOG_LINES:
                data = "".join(block).encode()
                h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                block = []
        h.wfile.write(b"0\r\n\r\n")

    def _send_huge_log(self, h):
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", str(HUGE_LOG_BYTES))
        h.end_headers()
        block = (b"x" * 1023 + b"\n") * 64  # 64 KiB
        self.sent_bytes = 0
        while self.sent_bytes < HUGE_LOG_BYTES:
            h.wfile.write(block)
            self.sent_bytes += len(block)

    def _send_gated_log(self, h):
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for data in (b"first line, sent at once\n", None, b"second line, sent after the gate opened\n"):
            if data is None:
                self.gate.wait(30)
                continue
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()
        h.wfile.write(b"0\r\n\r\n")

    def _authenticated(self, h) -> bool:
        if self.token is not None:
            return h.headers.get("Authorization") == f"Bearer {self.token}"
        if isinstance(h.connection, ssl.SSLSocket):
            return h.connection.getpeercert() is not None
        return True

    def _handle(self, h) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        peer_cn = None
        if isinstance(h.connection, ssl.SSLSocket):
            cert = h.connection.getpeercert() or {}
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        peer_cn = value
        record = {
            "method": h.command,
            "path": parts.path,
            "query": parts.query,
            "params": parse_qs(parts.query, keep_blank_values=True),
            "headers": {k.lower(): v for k, v in h.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "form": parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True),
            "peer_cn": peer_cn,
        }
        with self._lock:
            self.requests.append(record)
        if not self._authenticated(h):
            self._send(h, 401, "not authenticated\n")
            return
        path = parts.path
        if not path.startswith("/skaha/v1/"):
            self._send(h, 404, f"not found: {path}\n")
            return
        rest = path[len("/skaha/v1/") :]
        params = record["params"]
        method = h.command
        if rest == "session" and method == "GET":
            # stats and all are matched exactly, interactive in any case; other views are ignored.
            view = (params.get("view") or [""])[0]
            if view == "stats":
                self._send(h, 503, "metrics unavailable, try later\n", extra={"Retry-After": "7"})
                return
            interactive = view.lower() == "interactive"
            sessions = list(self.sessions.values())
            if interactive:
                sessions = [s for s in sessions if s["type"] != "headless"]
            for key in ("status",) if interactive else ("type", "status"):
                if key in params:
                    wanted = params[key][0].lower()
                    sessions = [s for s in sessions if s[key].lower() == wanted]
            if view == "all":
                keys = ("userid", "type", "status", "startTime")
                sessions = [{k: s[k] for k in keys if k in s} for s in sessions]
            self._send(h, 200, sessions)
        elif rest == "session" and method == "POST":
            form = {**params, **record["form"]}
            name = (form.get("name") or [""])[0]
            if not name or not all(c.isalnum() or c == "-" for c in name):
                self._send(h, 400, "name can only contain alpha-numeric chars and '-'\n")
                return
            if name.startswith("-"):
                self._send(h, 400, "canfar.net/name label value cannot be blank\n")
                return
            image = (form.get("image") or [""])[0]
            if not image.startswith("images.canfar.net/"):
                self._send(h, 400, f"image not from an allowed registry: {image}\n")
                return
            if name.endswith("-") or len(name) > 63:
                # The name is the pod's hostname: the cluster refuses it and the service answers 500.
                self._send(h, 500, f"invalid pod hostname: {name.lower()}\n")
                return
            with self._lock:
                self._counter += 1
                sid = "s%07d" % self._counter
            self.sessions[sid] = {
                "id": sid,
                "userid": self.user,
                "image": image,
                "type": (form.get("type") or ["headless"])[0],
                "status": "Pending",  # queued: no startTime until admit()
                "name": name.lower(),
            }
            self._send(h, 200, sid + "\n")
        elif rest == "session" and method == "DELETE":
            self._send(h, 400, "session id required\n")
        elif rest.startswith("session/"):
            sid = rest[len("session/") :]
            session = self.sessions.get(sid)
            has_pod = session is not None and "startTime" in session
            view = (params.get("view") or [""])[0]
            renew = "renew" in (params.get("action", []) + record["form"].get("action", []))
            if method == "DELETE":
                self.sessions.pop(sid, None)
                self._send(h, 200, b"")
            elif method == "GET" and view == "logs":
                if sid == BIG_LOG_ID:
                    self._send_big_log(h)
                elif sid == HUGE_LOG_ID:
                    self._send_huge_log(h)
                elif sid == GATED_LOG_ID:
                    self._send_gated_log(h)
                else:
                    # Empty while there is no pod (queued, preempted) and for unknown ids.
                    self._send(h, 200, f"log of {sid}\n" if has_pod else "")
            elif method == "GET" and sid == HANGING_ID:
                self.gate.wait(30)
                self._send(h, 404, f"session {sid} not found.\n")
            elif (method == "GET" or renew) and (len(sid) > 63 or not LABEL_VALUE.match(sid)):
                self._send(h, 400, f"invalid session id {sid}: not a valid label value\n")
            elif method == "GET" and view == "events":
                if has_pod:
                    self._send(h, 200, "<none>\n")
                else:
                    self._send(h, 404, f"session {sid} not found.\n")
            elif method == "GET" and session is not None:
                self._send(h, 200, session)
            elif method == "POST" and renew:
                if session is not None and session["status"] == "Running":
                    self._send(h, 200, b"")
                else:
                    self._send(h, 400, f"No active job for user {self.user} with session {sid}\n")
            else:
                self._send(h, 404, f"session {sid} not found.\n")
        elif rest == "context" and method == "GET":
            self._send(h, 200, CONTEXT)
        elif rest == "image" and method == "GET":
            kind = (params.get("type") or [None])[0]
            if kind is not None and kind not in TYPES:
                self._send(h, 400, f"unknown type: {kind}\n")
                return
            self._send(h, 200, [i for i in IMAGES if kind is None or kind in i["types"]])
        elif rest == "repository" and method == "GET":
            self._send(h, 200, ["images.canfar.net"])
        else:
            self._send(h, 404, f"not found: {path}\n")


def _main_local(argv: List[str]) -> None:
    """Stand-in for `canfar-lab local --json --port 0 --state DIR` (see module docstring).

    Extra env for the tests: FAKE_LOCAL_DELAY (seconds before listening), FAKE_LOCAL_FAIL (exit 3
    with that text on stderr).
    """
    state = argv[argv.index("--state") + 1]
    os.makedirs(state, exist_ok=True)
    with open(os.path.join(state, "starts.log"), "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")
    if os.environ.get("FAKE_LOCAL_FAIL"):
        sys.stderr.write(os.environ["FAKE_LOCAL_FAIL"] + "\n")
        sys.exit(3)
    time.sleep(float(os.environ.get("FAKE_LOCAL_DELAY", "0")))
    token = "local-" + os.urandom(8).hex()
    token_file = os.path.join(state, "token")
    with open(token_file, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    fake = FakeSkaha(token=token).start()
    info = {"url": fake.url, "apiUrl": fake.url + "/v1", "tokenFile": token_file, "pid": os.getpid()}
    server_json = os.path.join(state, "server.json")
    with open(server_json, "w", encoding="utf-8") as handle:
        json.dump(info, handle)

    def stop(*_):
        try:
            os.unlink(server_json)
        except FileNotFoundError:
            pass
        with open(os.path.join(state, "stops.log"), "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    sys.stderr.write("fake local server listening\n")
    sys.stderr.flush()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "local":
        _main_local(sys.argv[1:])
    else:
        sys.exit("usage: fake_skaha.py local --json --port 0 --state DIR")
