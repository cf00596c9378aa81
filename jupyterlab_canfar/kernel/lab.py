"""The route through JupyterLab: the CANFAR extension open on this kernel runs the request with the same
code as the panel and the submit dialog (src/lab, BatchBridge), through the server half.

A cell cannot wait for a comm reply: while it runs, ipykernel does not read the shell channel, where the
frontend's messages arrive. So the request travels two ways:

- the kernel registers it with the server half (``POST /canfar/api/kernel/requests``) and tells the
  frontend at once with a comm message (kernel -> frontend messages go out on IOPub while the cell runs);
- the extension claims it (first claim wins: a notebook open in two tabs runs it once), runs it, and posts
  progress and the result to the server half, where the kernel reads them over HTTP (long polls), so the
  cell gets its answer as Python data.

Presence: the extension reports, every few seconds, the kernels on which it has registered its comm target
(``POST /canfar/api/kernel/frontends``); the kernel asks the server half whether a frontend reported
this kernel recently. A request nobody claims within a few seconds is cancelled (so a late claim cannot run
it) and reported.
"""

import time
from typing import Any, Callable, Dict, List, Optional

from .errors import CanfarError
from .server import JupyterServer

COMM_TARGET = "jupyterlab-canfar"
API = "canfar/api/kernel"
# Seconds a JupyterLab page has to take a request (it normally does within a second).
CLAIM_TIMEOUT = 15.0


def _open_comm(data: Dict[str, Any]) -> None:
    """Sends comm_open to the frontends of this kernel, and closes the comm again (one-way message)."""
    comm = None
    try:
        import comm as comm_package  # ipykernel >= 6.18 wires comm.create_comm to the kernel

        comm = comm_package.create_comm(target_name=COMM_TARGET, data=data)
        if type(comm).__name__ == "DummyComm":  # the comm package without a kernel behind it
            comm = None
    except Exception:  # noqa: BLE001 - older ipykernel: its own Comm class below
        comm = None
    if comm is None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from ipykernel.comm import Comm

            comm = Comm(target_name=COMM_TARGET, data=data)
    comm.close()


class LabRelay:
    def __init__(self, server: JupyterServer, kernel: str, *, claim_timeout: Optional[float] = None):
        self.server = server
        self.kernel = kernel
        self.claim_timeout = CLAIM_TIMEOUT if claim_timeout is None else claim_timeout

    def frontends(self) -> List[str]:
        """The JupyterLab pages with the CANFAR extension that reported this kernel lately."""
        answer = self.server.request("GET", f"{API}/frontends", query={"kernel": self.kernel}, timeout=10)
        if answer.status != 200:
            return []
        return list(answer.json().get("frontends") or [])

    def call(
        self,
        payload: Dict[str, Any],
        *,
        on_progress: Optional[Callable[[Any], None]] = None,
    ) -> Any:
        """Runs ``payload`` in the extension; returns its result, or raises its error as CanfarError."""
        answer = self.server.request(
            "POST", f"{API}/requests", json_body={"kernel": self.kernel, "payload": payload}, timeout=20
        )
        if answer.status != 201:
            raise CanfarError(
                f"the Jupyter server did not take the request ({answer.status}: {answer.text.strip()[:300]})"
            )
        request_id = answer.json()["id"]
        if on_progress is not None:
            on_progress({"stage": "sent", "request": request_id})
        _open_comm({"request": request_id})
        version = 0
        sent_at = time.monotonic()
        last_progress = None
        try:
            status = "open"
            while True:
                # While nobody has claimed it, wake up in time to give up on it.
                wait = 20.0
                if status == "open":
                    wait = max(0.2, min(wait, self.claim_timeout - (time.monotonic() - sent_at) + 0.1))
                answer = self.server.request(
                    "GET",
                    f"{API}/requests/{request_id}",
                    query={"after": version, "wait": f"{wait:.1f}"},
                    timeout=40,
                )
                if answer.status != 200:
                    raise CanfarError(
                        f"lost the request {request_id} on the Jupyter server ({answer.status}); "
                        "was the server restarted?"
                    )
                state = answer.json()
                version = state.get("version", version)
                if state.get("progress") is not None and state["progress"] != last_progress:
                    last_progress = state["progress"]
                    if on_progress is not None:
                        on_progress(last_progress)
                status = state.get("state")
                if status == "done":
                    return state.get("result")
                if status == "failed":
                    raise _error(state.get("error") or {})
                if status == "cancelled":
                    raise CanfarError("the request was cancelled before JupyterLab ran it")
                if status == "open" and time.monotonic() - sent_at > self.claim_timeout:
                    if self._cancel(request_id).get("state") == "cancelled":
                        raise CanfarError(
                            f"no JupyterLab page took the request within {self.claim_timeout:g} s (the "
                            "notebook's tab may have been closed): nothing was run. Open the notebook in "
                            "JupyterLab and run the cell again.",
                            code="no-frontend",
                        )
        except KeyboardInterrupt:
            self._cancel(request_id)
            raise

    def _cancel(self, request_id: str) -> Dict[str, Any]:
        try:
            answer = self.server.request(
                "POST", f"{API}/requests/{request_id}/cancel", json_body={}, timeout=10
            )
            return answer.json() if answer.status == 200 else {}
        except (CanfarError, ValueError):
            return {}


def _error(error: Dict[str, Any]) -> CanfarError:
    from .errors import CanfarUsageError
    from . import spec

    message = str(error.get("message") or "the request failed in JupyterLab")
    if error.get("code") == "usage":
        verb = str(error.get("verb") or "")
        return CanfarUsageError(message, verb=verb, usage=spec.synopsis(verb) if verb in spec.verbs() else "")
    problems = [str(p) for p in error.get("problems") or []]
    if problems:
        message = message.split("\n", 1)[0]
    return CanfarError(
        message,
        code=str(error.get("code") or "failed"),
        status=error.get("status"),
        service_message=error.get("serviceMessage"),
        problems=problems,
        hint=error.get("hint"),
    )
