"""Fixtures: a real jupyter_server in a subprocess with the extension loaded from this checkout, a
fake Skaha on 127.0.0.1, and throwaway X.509 material made with openssl at test time.

No pytest-jupyter here (not packaged by Debian): the server is started the way a user starts it.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import pytest

from .fake_skaha import FakeSkaha

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Response:
    status: int
    reason: str
    headers: Dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


@dataclass
class Jupyter:
    """A running jupyter_server; every response it gave is kept, to scan it for secrets."""

    port: int
    token: str
    process: subprocess.Popen
    log_path: str
    home: str
    responses: List[Response] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        body: Optional[bytes] = None,
        headers: Optional[Dict[str, str]] = None,
        auth: bool = True,
        timeout: float = 30,
    ) -> Response:
        """Raw HTTP: the path is sent exactly as given (no normalisation of '..' or %2F)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        all_headers = dict(headers or {})
        if auth:
            all_headers["Authorization"] = f"token {self.token}"
        conn.request(method, path, body=body, headers=all_headers)
        raw = conn.getresponse()
        response = Response(raw.status, raw.reason, {k.lower(): v for k, v in raw.getheaders()}, raw.read())
        conn.close()
        self.responses.append(response)
        return response

    def raw(self, data: bytes) -> bytes:
        """Send bytes as they are (e.g. an absolute-form request target); the answer is recorded."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(data)
            answer = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        self.responses.append(Response(status, "", headers, body))
        return answer

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def assert_never_leaked(self, *secrets: str) -> None:
        """No response to the browser carried any secret, in any header or body."""
        assert self.responses, "no response was recorded"
        for response in self.responses:
            for secret in secrets:
                if not secret:
                    continue
                assert secret.encode() not in response.body, f"secret in body of a {response.status}"
                for name, value in response.headers.items():
                    assert secret not in value, f"secret in header {name} of a {response.status}"


def launch_jupyter(
    tmp_path_factory,
    env: Optional[Dict[str, str]] = None,
    canfar: Optional[Dict] = None,
    home: Optional[str] = None,
    token: Optional[str] = None,
) -> Jupyter:
    """Start jupyter_server with the extension from this checkout; return once it answers."""
    base = tmp_path_factory.mktemp("jupyter")
    root = base / "root"
    config_dir = base / "config"
    home_dir = home or str(base / "home")
    for path in (root, config_dir):
        path.mkdir()
    os.makedirs(home_dir, exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(json.dumps({"CanfarConfig": canfar or {}}))
    port = free_port()
    token = uuid.uuid4().hex if token is None else token
    child_env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("CANFAR_", "JUPYTER", "SKAHA_"))}
    child_env.update(
        {
            "PYTHONPATH": REPO,
            "HOME": home_dir,
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_DATA_DIR": str(base / "data"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        }
    )
    child_env.update(env or {})
    log_path = str(base / "server.log")
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--allow-root",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.token={token}",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.jpserver_extensions=jupyterlab_canfar=True",
                "--ServerApp.log_level=DEBUG",
            ],
            cwd=str(root),
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    jupyter = Jupyter(port, token, process, log_path, home_dir)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter_server exited with {process.returncode}:\n{jupyter.log()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/status", headers={"Authorization": f"token {token}"})
            if conn.getresponse().status == 200:
                conn.close()
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            jupyter.stop()
            raise RuntimeError(f"jupyter_server did not answer within 30 s:\n{jupyter.log()}")
        time.sleep(0.1)
    return jupyter


@pytest.fixture
def start_jupyter(tmp_path_factory):
    """start_jupyter(env={...}, canfar={...}) -> Jupyter, stopped at the end of the test."""
    started: List[Jupyter] = []

    def start(**kwargs) -> Jupyter:
        jupyter = launch_jupyter(tmp_path_factory, **kwargs)
        started.append(jupyter)
        return jupyter

    yield start
    for jupyter in started:
        jupyter.stop()


@pytest.fixture
def fake_skaha():
    """fake_skaha(token=..., ssl_context=...) -> a started FakeSkaha, closed after the test."""
    servers: List[FakeSkaha] = []

    def make(**kwargs) -> FakeSkaha:
        server = FakeSkaha(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@dataclass
class Pki:
    ca: str
    server_cert: str
    server_key: str
    client_pem: str  # certificate + key in one file, like a CADC proxy certificate
    other_client_pem: str  # signed by an unrelated CA


def _openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the mutual TLS test needs it to make a throwaway CA")
    d = str(tmp_path_factory.mktemp("pki"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    # keyUsage on the CAs: Python 3.13 verifies strictly (VERIFY_X509_STRICT) and refuses a CA without it.
    ca_usage = ["-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", *ec, *ca_usage, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
                 "-subj", f"/CN={ca}", cwd=d)
    with open(os.path.join(d, "server.ext"), "w", encoding="utf-8") as handle:
        handle.write("subjectAltName=IP:127.0.0.1\n")
    leaves = [("server", "ca", "/CN=127.0.0.1", "server.ext"), ("client", "ca", "/O=Grid/OU=cadc/CN=jdoe", None),
              ("other", "other-ca", "/CN=mallory", None)]
    for name, ca, subject, ext in leaves:
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
        extra = ["-extfile", ext] if ext else []
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *extra, cwd=d)
    for name in ("client", "other"):
        with open(os.path.join(d, f"{name}-proxy.pem"), "w", encoding="utf-8") as out:
            for part in (f"{name}.pem", f"{name}.key"):
                with open(os.path.join(d, part), encoding="utf-8") as handle:
                    out.write(handle.read())
    return Pki(
        ca=os.path.join(d, "ca.pem"),
        server_cert=os.path.join(d, "server.pem"),
        server_key=os.path.join(d, "server.key"),
        client_pem=os.path.join(d, "client-proxy.pem"),
        other_client_pem=os.path.join(d, "other-proxy.pem"),
    )
