"""Endpoint 'local': the server half starts the local server on first use (once), reuses a running
one, reports failures, and stops what it started when Jupyter stops.

Most tests use fake_skaha.py as the `canfar-lab` program (a real child process speaking the same
first-line JSON contract); the last one runs the real Node CLI when it has been built.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from jupyterlab_canfar.local import LocalServerError, find_cli

from .conftest import PYTHON, REPO
from .fake_skaha import __file__ as FAKE_SKAHA

API = "/canfar/api/skaha/v1"
FAKE_COMMAND = [PYTHON, FAKE_SKAHA]


def _lines(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return [int(line) for line in handle.read().split()]
    except FileNotFoundError:
        return []


def _wait_dead(pid, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A child of the Jupyter process stays a zombie until Jupyter reaps it: /proc tells. The main thread
        # of a threaded server shows "Z" while its other threads are still exiting (its listening socket
        # still resets connections then), so only a zombie with no thread left counts as dead.
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                zombie = handle.read().split(") ", 1)[1].startswith("Z")
            if zombie and len(os.listdir(f"/proc/{pid}/task")) <= 1:
                return True
        except (FileNotFoundError, IndexError):
            return True
        time.sleep(0.05)
    return False


def _local(state, **extra):
    return {"endpoint": "local", "local_state_dir": str(state), "local_command": FAKE_COMMAND, **extra}


def test_concurrent_first_requests_start_one_server_which_stops_with_jupyter(start_jupyter, tmp_path):
    state = tmp_path / "state"
    jupyter = start_jupyter(canfar=_local(state), env={"FAKE_LOCAL_DELAY": "1"})
    results = []

    def call():
        results.append(jupyter.request("GET", f"{API}/session?type=headless"))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status for r in results] == [200] * 6, [r.text for r in results]
    assert all(r.json() == [] for r in results)
    starts = _lines(state / "starts.log")
    assert len(starts) == 1, f"started {len(starts)} local servers"

    server = json.loads((state / "server.json").read_text())
    info = jupyter.request("GET", "/canfar/api/info").json()
    assert info["endpoint"] == "local"
    assert info["url"] == server["url"]
    assert info["credential"] == {"kind": "token", "source": "local server token file"}
    assert info["ok"] is True, info

    created = jupyter.request(
        "POST",
        f"{API}/session",
        body=b"name=demo-1&image=images.canfar.net/skaha/terminal:1.1.2&env=REPLICA_ID=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert created.status == 200 and created.text.strip()
    token = (state / "token").read_text().strip()
    jupyter.assert_never_leaked(token)

    assert jupyter.stop() == 0
    assert _wait_dead(starts[0]), "the local server outlived Jupyter"
    assert _lines(state / "stops.log") == starts, "the local server was not stopped with SIGTERM"
    assert not (state / "server.json").exists()


def test_a_running_local_server_is_reused_and_left_running(start_jupyter, tmp_path):
    state = tmp_path / "state"
    own = subprocess.Popen(
        FAKE_COMMAND + ["local", "--json", "--port", "0", "--state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        first = json.loads(own.stdout.readline())
        jupyter = start_jupyter(canfar=_local(state))
        response = jupyter.request("GET", f"{API}/context")
        assert response.status == 200
        assert response.json()["cores"]["default"] == 1
        assert _lines(state / "starts.log") == [own.pid], "a second server was started"
        assert jupyter.request("GET", "/canfar/api/info").json()["url"] == first["url"]
        jupyter.stop()
        assert own.poll() is None, "Jupyter stopped a server it did not start"
    finally:
        own.send_signal(signal.SIGTERM)
        own.wait(10)


def test_a_stale_server_json_is_ignored(start_jupyter, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    (state / "token").write_text("stale")
    (state / "server.json").write_text(
        json.dumps({"url": "http://127.0.0.1:9/skaha", "apiUrl": "http://127.0.0.1:9/skaha/v1",
                    "tokenFile": str(state / "token"), "pid": gone.pid})
    )
    jupyter = start_jupyter(canfar=_local(state))
    assert jupyter.request("GET", f"{API}/session").status == 200
    assert len(_lines(state / "starts.log")) == 1


def test_a_local_server_that_died_is_started_again(start_jupyter, tmp_path):
    state = tmp_path / "state"
    jupyter = start_jupyter(canfar=_local(state))
    assert jupyter.request("GET", f"{API}/session").status == 200
    first = _lines(state / "starts.log")[0]
    os.kill(first, signal.SIGKILL)
    assert _wait_dead(first)
    again = jupyter.request("GET", f"{API}/session")
    assert again.status == 200, (again.text, jupyter.log()[-3000:])
    assert len(_lines(state / "starts.log")) == 2


def test_a_start_failure_is_reported_with_its_reason(start_jupyter, tmp_path):
    state = tmp_path / "state"
    jupyter = start_jupyter(canfar=_local(state), env={"FAKE_LOCAL_FAIL": "boom: address already in use"})
    info = jupyter.request("GET", "/canfar/api/info").json()
    assert info["ok"] is False
    assert (info["endpoint"], info["url"], info["credential"]["kind"]) == ("local", "", "none")
    assert "exited with code 3" in info["error"]
    assert "boom: address already in use" in info["error"]
    response = jupyter.request("GET", f"{API}/session")
    assert response.status == 502
    assert "boom: address already in use" in response.text


def test_an_unusable_state_directory_is_reported(start_jupyter, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    jupyter = start_jupyter(canfar=_local(not_a_dir / "state"))
    response = jupyter.request("GET", f"{API}/session")
    assert response.status == 502
    assert f"cannot create the local server's state directory {not_a_dir / 'state'}" in response.text
    assert "local_state_dir" in response.text


def test_a_missing_program_is_reported(start_jupyter, tmp_path):
    jupyter = start_jupyter(
        canfar={"endpoint": "local", "local_state_dir": str(tmp_path), "local_command": ["/nonexistent/canfar-lab"]}
    )
    info = jupyter.request("GET", "/canfar/api/info").json()
    assert info["ok"] is False
    assert "cannot run /nonexistent/canfar-lab" in info["error"]
    assert "local_command" in info["error"]


def test_the_cli_is_found_bundled_in_a_checkout_on_path_or_in_node_modules(tmp_path, monkeypatch):
    checkout = tmp_path / "checkout"
    package = checkout / "jupyterlab_canfar"
    package.mkdir(parents=True)
    (checkout / "bin").mkdir()
    (checkout / "bin" / "canfar-lab.js").write_text("require('../dist/node/cli.cjs');\n")
    with pytest.raises(LocalServerError, match=r"dist/node/cli.cjs is missing: run `npm run build:node` in"):
        find_cli(str(package), [])
    (checkout / "dist" / "node").mkdir(parents=True)
    (checkout / "dist" / "node" / "cli.cjs").write_text("")
    assert find_cli(str(package), [])[1:] == [str(checkout / "bin" / "canfar-lab.js")]
    # The wheel's bundled CLI comes first, even inside a checkout.
    (package / "cli").mkdir()
    (package / "cli" / "canfar-lab.cjs").write_text("")
    assert find_cli(str(package), [])[1:] == [str(package / "cli" / "canfar-lab.cjs")]

    installed = tmp_path / "site" / "jupyterlab_canfar"  # an install without the bundle: no bin/ beside it
    installed.mkdir(parents=True)
    monkeypatch.setenv("PATH", os.path.dirname(shutil.which("node") or "/usr/bin/node"))
    project = tmp_path / "project"
    npm_bin = project / "node_modules" / "jupyterlab-canfar" / "bin"
    npm_bin.mkdir(parents=True)
    (npm_bin / "canfar-lab.js").write_text("")
    assert find_cli(str(installed), [str(project)])[1:] == [str(npm_bin / "canfar-lab.js")]
    with pytest.raises(LocalServerError, match="npm install -g jupyterlab-canfar"):
        find_cli(str(installed), [str(tmp_path / "elsewhere")])


def test_without_node_or_with_an_old_one_the_error_says_what_to_install(tmp_path):
    package = tmp_path / "site" / "jupyterlab_canfar"
    (package / "cli").mkdir(parents=True)
    (package / "cli" / "canfar-lab.cjs").write_text("")
    with pytest.raises(LocalServerError) as missing:
        find_cli(str(package), [], which=lambda name: None)
    assert "Node.js is not installed (no `node` on PATH)" in str(missing.value)
    assert "Node.js 20 or later" in str(missing.value) and "apt install nodejs" in str(missing.value)
    old_node = tmp_path / "node"
    old_node.write_text("#!/bin/sh\necho v18.19.1\n")
    old_node.chmod(0o755)
    too_old = r"is Node.js v18.19.1, too old for the local server: install Node.js 20"
    with pytest.raises(LocalServerError, match=too_old):
        find_cli(str(package), [], which=lambda name: str(old_node) if name == "node" else None)


def test_without_node_the_panel_is_told_what_to_install(start_jupyter, tmp_path):
    # The default local endpoint on a machine whose PATH has no node.
    jupyter = start_jupyter(
        canfar={"endpoint": "local", "local_state_dir": str(tmp_path / "state")},
        env={"PATH": str(tmp_path / "empty-bin")},
    )
    info = jupyter.request("GET", "/canfar/api/info").json()
    assert info["ok"] is False
    assert info["error"].startswith("the local Skaha server is not available: Node.js is not installed")
    assert "Node.js 20 or later" in info["error"]


CLI = os.path.join(REPO, "dist", "node", "cli.cjs")
LOCAL_VERB = os.path.join(REPO, "src", "node", "cli", "commands", "local.ts")


@pytest.mark.skipif(not os.path.isfile(LOCAL_VERB), reason="the `canfar-lab local` verb is not written yet")
@pytest.mark.skipif(not os.path.isfile(CLI), reason="dist/node/cli.cjs is not built: run `npm run build:node`")
def test_end_to_end_with_the_real_local_server(start_jupyter, tmp_path):
    state = tmp_path / "state"
    jupyter = start_jupyter(canfar={"endpoint": "local", "local_state_dir": str(state)})
    listed = jupyter.request("GET", f"{API}/session?type=headless")
    assert listed.status == 200, listed.text
    assert listed.json() == []
    repositories = jupyter.request("GET", f"{API}/repository")
    assert repositories.json() == ["images.canfar.net"]
    server = json.loads((state / "server.json").read_text())
    info = jupyter.request("GET", "/canfar/api/info").json()
    assert info["ok"] is True, info
    assert info["url"] == server["url"] and server["url"].endswith("/skaha")
    with open(server["tokenFile"], encoding="utf-8") as handle:
        jupyter.assert_never_leaked(handle.read().strip())
    jupyter.stop()
    assert _wait_dead(int(server["pid"])), "the local server outlived Jupyter"
    assert not (state / "server.json").exists(), "the local server was not closed cleanly"
