"""A real ipykernel started BY a real jupyter_server (with the server half), driven over ZMQ as a
frontend would, with no Node on anyone's PATH (as on CANFAR images):

- Skaha calls (``%canfar ps``, ``info``, ``canfar.sessions()``) go from the kernel to the server half over
  HTTP, with data equal to what the CLI's ``--json`` gives;
- the batch engine's work goes to the JupyterLab extension through the relay: this test plays the
  extension (it sees the kernel's comm message, claims the request, answers), so the kernel's side of that
  route is checked without a browser (the browser test, ui-tests/tests/magic.spec.ts, runs the real one);
- with no page open and no CLI, the message says which of the two is missing;
- the relay's own rules: one claim wins, cancelled requests never run, long polls wake on updates.
"""

import json
import os
import shutil
import subprocess
import threading
import time
import uuid

import pytest

from jupyterlab_canfar.relay import FRONTEND_TTL, Relay

from .conftest import REPO

NODE = shutil.which("node")
CLI = os.path.join(REPO, "bin", "canfar-lab.js")
BUILT = os.path.exists(os.path.join(REPO, "dist", "node", "cli.cjs"))
needs_local = pytest.mark.skipif(
    not (NODE and BUILT), reason="needs node and the built CLI (npm run build:node)"
)
RELAY = "/canfar/api/kernel"
NO_NODE_PATH = "/nonexistent-bin"


def post(jupyter, path, body, **kwargs):
    return jupyter.request(
        "POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, **kwargs
    )


# --------------------------------------------------------------------------------------------- relay


def test_relay_forgets_a_frontend_that_stopped_reporting():
    clock = [1000.0]
    relay = Relay(now=lambda: clock[0])
    relay.heartbeat("page-1", ["k1", "k2"])
    relay.heartbeat("page-2", ["k2"])
    assert relay.frontends_of("k2") == ["page-1", "page-2"]
    clock[0] += FRONTEND_TTL - 1
    relay.heartbeat("page-2", ["k2"])
    clock[0] += 2
    assert relay.frontends_of("k2") == ["page-2"]
    assert relay.frontends_of("k1") == []


def test_relay_one_claim_wins_and_long_polls_wake_on_updates(start_jupyter):
    jupyter = start_jupyter()
    assert post(jupyter, f"{RELAY}/frontends", {"frontend": "page-1", "kernels": ["k1"]}).status == 200
    assert jupyter.request("GET", f"{RELAY}/frontends?kernel=k1").json()["frontends"] == ["page-1"]
    assert jupyter.request("GET", f"{RELAY}/frontends?kernel=other").json()["frontends"] == []

    created = post(jupyter, f"{RELAY}/requests", {"kernel": "k1", "payload": {"verb": "batches"}})
    assert created.status == 201
    rid = created.json()["id"]
    claimed = post(jupyter, f"{RELAY}/requests/{rid}/claim", {"frontend": "page-1"})
    assert claimed.status == 200 and claimed.json()["payload"] == {"verb": "batches"}
    # A second tab with the same notebook loses: the request runs once.
    second = post(jupyter, f"{RELAY}/requests/{rid}/claim", {"frontend": "page-2"})
    assert second.status == 409 and second.json()["frontend"] == "page-1"
    assert (
        post(jupyter, f"{RELAY}/requests/{rid}/update", {"frontend": "page-2", "state": "done"}).status == 409
    )

    version = jupyter.request("GET", f"{RELAY}/requests/{rid}").json()["version"]
    answers = []

    def wait():
        started = time.monotonic()
        answer = jupyter.request("GET", f"{RELAY}/requests/{rid}?after={version}&wait=20")
        answers.append((answer.json(), time.monotonic() - started))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    update = post(
        jupyter, f"{RELAY}/requests/{rid}/update", {"frontend": "page-1", "progress": {"stage": "x"}}
    )
    assert update.json() == {"cancelled": False}
    waiter.join(20)
    [(state, waited)] = answers
    assert state["progress"] == {"stage": "x"} and state["state"] == "running"
    assert waited < 10  # woken by the update, not by the 20 s deadline

    # The kernel gives up (interrupted): the extension learns it at its next update.
    post(jupyter, f"{RELAY}/requests/{rid}/cancel", {})
    assert post(jupyter, f"{RELAY}/requests/{rid}/update", {"frontend": "page-1"}).json() == {
        "cancelled": True
    }
    done = post(
        jupyter, f"{RELAY}/requests/{rid}/update", {"frontend": "page-1", "state": "done", "result": [1]}
    )
    assert done.status == 200
    final = jupyter.request("GET", f"{RELAY}/requests/{rid}?after=0&wait=5").json()
    assert final["state"] == "done" and final["result"] == [1]


def test_relay_a_cancelled_request_is_never_run_and_strangers_are_refused(start_jupyter):
    jupyter = start_jupyter()
    rid = post(jupyter, f"{RELAY}/requests", {"kernel": "k1", "payload": {}}).json()["id"]
    assert post(jupyter, f"{RELAY}/requests/{rid}/cancel", {}).json()["state"] == "cancelled"
    assert post(jupyter, f"{RELAY}/requests/{rid}/claim", {"frontend": "late"}).status == 409
    assert jupyter.request("GET", f"{RELAY}/requests/{uuid.uuid4().hex}").status == 404
    assert jupyter.request("GET", f"{RELAY}/frontends?kernel=k1", auth=False).status == 403
    stranger = jupyter.request(
        "POST",
        f"{RELAY}/requests",
        body=b'{"kernel":"k1","payload":{}}',
        auth=False,
        headers={"Content-Type": "application/json"},
    )
    assert stranger.status == 403


# --------------------------------------------------------------------------------------------- kernel


def no_node_kernelspec(directory) -> str:
    """A kernelspec whose kernel has no node on its PATH (as on CANFAR images); the server keeps its own."""
    spec_dir = directory / "kernels" / "python3-no-node"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (no node)",
                "language": "python",
                "env": {"PATH": NO_NODE_PATH, "PYTHONPATH": REPO},
            }
        )
    )
    return str(directory)


class Kernel:
    """A kernel the Jupyter server started, driven over ZMQ like a frontend."""

    def __init__(self, jupyter, runtime_dir, name="python3-no-node"):
        from jupyter_client import BlockingKernelClient

        answer = post(jupyter, "/api/kernels", {"name": name})
        assert answer.status == 201, answer.text
        self.id = answer.json()["id"]
        connection_file = os.path.join(runtime_dir, f"kernel-{self.id}.json")
        # Connecting while the kernel still starts can make jupyter_client declare it dead (no heartbeat
        # yet, "Kernel died before replying to kernel_info"): try again while the server says it lives.
        deadline = time.monotonic() + 60
        while True:
            self.client = BlockingKernelClient(connection_file=connection_file)
            self.client.load_connection_file()
            self.client.start_channels()
            try:
                self.client.wait_for_ready(timeout=5)
                break
            except RuntimeError:
                self.client.stop_channels()
                assert jupyter.request("GET", f"/api/kernels/{self.id}").status == 200, jupyter.log()[-3000:]
                assert time.monotonic() < deadline, "the kernel did not answer within 60 s"
                time.sleep(0.5)

    def execute(self, code, on_message=None, timeout=120):
        """Runs code; returns (stdout, stderr, rich outputs: display_data / execute_result / updates)."""
        msg_id = self.client.execute(code)
        out, err, rich = [], [], []
        deadline = time.monotonic() + timeout
        while True:
            message = self.client.get_iopub_msg(timeout=max(1, deadline - time.monotonic()))
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if on_message:
                on_message(kind, content)
            if kind == "stream":
                (out if content["name"] == "stdout" else err).append(content["text"])
            elif kind in ("display_data", "execute_result", "update_display_data"):
                rich.append((kind, content))
            elif kind == "error":
                err.append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out), "".join(err), rich

    def stop(self):
        self.client.stop_channels()


@pytest.fixture
def kernel_in_jupyter(start_jupyter, tmp_path_factory):
    """jupyter_server with the local endpoint, and a kernel without node on its PATH."""
    if not (NODE and BUILT):
        pytest.skip("needs node and the built CLI (npm run build:node)")
    state = tmp_path_factory.mktemp("local-state")
    jupyter = start_jupyter(
        canfar={"endpoint": "local", "local_state_dir": str(state), "local_command": [NODE, CLI]},
        env={"JUPYTER_PATH": no_node_kernelspec(tmp_path_factory.mktemp("kernelspecs"))},
    )
    runtime = os.path.join(os.path.dirname(jupyter.log_path), "runtime")
    kernel = Kernel(jupyter, runtime)
    yield jupyter, kernel, state
    kernel.stop()


def local_cli(state, *argv):
    """The test's own CLI (it has node) on the same local server, to create sessions and compare data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANFAR_")}
    server = json.loads((state / "server.json").read_text())
    token = open(server["tokenFile"], encoding="utf-8").read().strip()
    run = subprocess.run(
        [NODE, CLI, "--url", server["url"], "--token", token, "--json", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_skaha_calls_go_through_the_server_half_without_node(kernel_in_jupyter):
    jupyter, kernel, state = kernel_in_jupyter
    out, err, _ = kernel.execute(
        "%load_ext jupyterlab_canfar\n"
        "import shutil\n"
        "from jupyterlab_canfar import canfar\n"
        "print(shutil.which('node'), canfar.engine().route('ps'))\n"
        "canfar.engine().route('submit')"
    )
    assert out.strip() == "None server", (out, err)
    assert "no JupyterLab page with it has this notebook's kernel open" in err
    created = local_cli(
        state,
        "create",
        "headless",
        "images.canfar.net/skaha/terminal:1.1.2",
        "-n",
        "probe",
        "--",
        "echo",
        "hi",
    )
    session_id = created[0]["sessionId"]
    for _ in range(100):
        if local_cli(state, "info", session_id)[0]["status"] == "Completed":
            break
        time.sleep(0.1)

    out, err, rich = kernel.execute("%canfar ps -a")
    assert err == ""
    [(kind, content)] = rich
    sessions = content["data"]["application/vnd.canfar.sessions+json"]["sessions"]
    assert [s["id"] for s in sessions] == [session_id]
    assert "probe" in content["data"]["text/plain"] and "<table" in content["data"]["text/html"]
    # The same data as `canfar-lab ps -a --json`.
    assert sessions == local_cli(state, "ps", "-a")

    out, err, _ = kernel.execute("rows = canfar.sessions(); print(rows[0]['name'], rows[0]['status'])")
    assert out.strip() == "probe Completed"
    out, err, rich = kernel.execute(f"%canfar logs {session_id}")
    assert rich[0][1]["data"]["text/plain"] == "hi\n"

    # The service's refusal, as its message, no traceback.
    out, err, rich = kernel.execute("%canfar info zzzzzzzz")
    assert rich == [] and err.startswith("get session zzzzzzzz failed with HTTP 404")
    assert "Traceback" not in err

    # Engine work with no JupyterLab page and no CLI: both missing ways are named.
    out, err, rich = kernel.execute("open('other.ipynb', 'w').write('{}')\n%canfar submit other.ipynb -r 2")
    assert rich == []
    assert "no JupyterLab page with it has this notebook's kernel open" in err
    assert "`node` is not on PATH" in err


def test_engine_work_goes_to_the_extension_through_the_relay(kernel_in_jupyter):
    """This test is the extension: it reports the kernel, sees the comm message, claims and answers."""
    jupyter, kernel, _ = kernel_in_jupyter
    assert post(jupyter, f"{RELAY}/frontends", {"frontend": "page-1", "kernels": [kernel.id]}).status == 200
    kernel.execute("%load_ext jupyterlab_canfar\nopen('other.ipynb', 'w').write('{}')")
    seen = []

    def extension(kind, content):
        if kind != "comm_open" or content.get("target_name") != "jupyterlab-canfar":
            return
        rid = content["data"]["request"]
        claim = post(jupyter, f"{RELAY}/requests/{rid}/claim", {"frontend": "page-1"}).json()
        seen.append(claim["payload"])
        payload = claim["payload"]
        if payload["verb"] == "submit":
            submitted = {
                "batchId": payload["batchId"],
                "name": "other-x",
                "folder": f"canfar-batches/{payload['batchId']}",
                "launched": 2,
                "failed": 0,
                "cancelled": 0,
                "total": 2,
                "replicas": [
                    {
                        "replica": i,
                        "name": f"other-x-{i}",
                        "launch": {"state": "launched", "sessionId": f"s{i}"},
                    }
                    for i in (1, 2)
                ],
            }
            post(
                jupyter,
                f"{RELAY}/requests/{rid}/update",
                {"frontend": "page-1", "progress": {"stage": "launched", "submitted": submitted}},
            )
            post(
                jupyter,
                f"{RELAY}/requests/{rid}/update",
                {"frontend": "page-1", "state": "done", "result": {"submitted": submitted}},
            )
        else:
            post(
                jupyter,
                f"{RELAY}/requests/{rid}/update",
                {"frontend": "page-1", "state": "done", "result": []},
            )

    out, err, rich = kernel.execute("%canfar batches", on_message=extension)
    assert err == "", err
    assert seen[0] == {"verb": "batches", "values": {}, "positionals": [], "cwd": ""}
    assert rich[0][1]["data"]["text/plain"] == "no batches"

    out, err, rich = kernel.execute("%canfar submit other.ipynb -r 2 --name other-x", on_message=extension)
    assert err == "", err
    payload = seen[1]
    assert payload["verb"] == "submit" and payload["positionals"] == ["other.ipynb"]
    assert payload["values"] == {"replicas": "2", "name": "other-x"}
    batch_id = payload["batchId"]
    assert len(batch_id) == 20 and batch_id[8] == "-" and batch_id[15] == "-"
    # One output, shown at once with the batch id, then updated in place.
    kinds = [k for k, _ in rich]
    assert kinds[0] == "display_data" and set(kinds[1:]) == {"update_display_data"}
    first = rich[0][1]["data"]["application/vnd.canfar.batch+json"]
    assert first["phase"] == "submitting" and first["batchId"] == batch_id
    assert first["folder"] == f"canfar-batches/{batch_id}"
    last = rich[-1][1]["data"]["application/vnd.canfar.batch+json"]
    assert last["phase"] == "launched" and last["counts"]["total"] == 2 and last["request"]
    assert rich[-1][1]["transient"]["display_id"] == rich[0][1]["transient"]["display_id"]
    assert "submitting" not in rich[-1][1]["data"]["text/plain"]


def test_a_request_nobody_claims_is_cancelled_and_reported(kernel_in_jupyter):
    jupyter, kernel, _ = kernel_in_jupyter
    # A page reported the kernel, then went away without a word: the comm message reaches no one.
    post(jupyter, f"{RELAY}/frontends", {"frontend": "gone", "kernels": [kernel.id]})
    out, err, rich = kernel.execute(
        "%load_ext jupyterlab_canfar\n"
        "import jupyterlab_canfar.kernel.lab as lab\n"
        "lab.CLAIM_TIMEOUT = 2\n"
        "%canfar batches"
    )
    assert "no JupyterLab page took the request within 2 s" in err and "nothing was run" in err


def test_a_kernel_reaches_a_server_without_token_whose_xsrf_check_is_on(start_jupyter):
    """A Jupyter server with no token (behind a platform's own login) still checks XSRF on POST: the
    kernel sends the double-submit pair a browser page sends, and is let in."""
    from jupyterlab_canfar.kernel.server import JupyterServer

    jupyter = start_jupyter(token="")
    bare = jupyter.request(
        "POST",
        f"{RELAY}/requests",
        body=b'{"kernel":"k1","payload":{}}',
        auth=False,
        headers={"Content-Type": "application/json"},
    )
    assert bare.status == 403 and "_xsrf" in bare.text
    server = JupyterServer(
        {"url": f"http://127.0.0.1:{jupyter.port}/", "token": "", "pid": jupyter.process.pid}
    )
    answer = server.request("POST", f"{RELAY}/requests", json_body={"kernel": "k1", "payload": {}})
    assert answer.status == 201, answer.text
