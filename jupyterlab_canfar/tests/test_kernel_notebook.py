"""A Python notebook using ``%canfar`` executed headless (Debian's nbconvert, a real ipykernel, no
Jupyter server, no browser) against the real local Skaha server: the route is the canfar-lab CLI.

The executed notebook is then read as a user reads it: the session table, the batch followed to 3/3
completed, a replica's log, ``canfar.sessions()`` as a list of dicts, and every rich output carrying
``text/html`` and ``text/plain`` (what nbviewer and GitHub show).
"""

import json
import os
import shutil
import signal
import subprocess

import pytest

from .conftest import PYTHON, REPO

CLI = os.path.join(REPO, "bin", "canfar-lab.js")
BUILT = os.path.join(REPO, "dist", "node", "cli.cjs")

pytestmark = pytest.mark.skipif(
    not (os.path.isfile(BUILT) and shutil.which("node")),
    reason="needs node and the built CLI (npm run build:node)",
)

# Each replica prints its share; replica 2's line is looked for in its log.
OTHER_SOURCE = [
    "import os\n",
    "replica, count = int(os.environ.get('REPLICA_ID', 1)), int(os.environ.get('REPLICA_COUNT', 1))\n",
    "print(f'replica {replica} of {count} says hello')",
]

CELLS = [
    "%load_ext jupyterlab_canfar",
    "%canfar ps",
    "%canfar submit other.ipynb -r 3 --follow",
    (
        "from jupyterlab_canfar import canfar\n"
        "rows = canfar.sessions()\n"
        "second = [r for r in rows if r['name'].endswith('-2')][0]['id']\n"
        "print(type(rows).__name__, isinstance(rows, list), all(isinstance(r, dict) for r in rows), len(rows))\n"
        "print(sorted({r['status'] for r in rows}))"
    ),
    "%canfar logs $second",
    "rows",
    "listed = canfar.batches()\nprint([(b['phase'], b['counts']['completed']) for b in listed])",
    "%canfar submit missing.ipynb -r 2",
    "%canfar submit other.ipynb --replicas=two",
]


def notebook(sources):
    return {
        "cells": [
            {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": source}
            for source in sources
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture
def local_server(tmp_path):
    """The real local server (node), its state under a private XDG_DATA_HOME the CLI also reads."""
    data = tmp_path / "data"
    data.mkdir()
    env = {**os.environ, "XDG_DATA_HOME": str(data)}
    for name in list(env):
        if name.startswith(("CANFAR_", "JUPYTER")):
            env.pop(name)
    process = subprocess.Popen(
        ["node", CLI, "local", "--json", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    first = process.stdout.readline()
    assert first, "the local server did not start"
    yield env, json.loads(first)
    process.send_signal(signal.SIGTERM)
    process.wait(20)


def rich(cell):
    return [o for o in cell["outputs"] if o["output_type"] in ("display_data", "execute_result")]


def text_of(value):
    return "".join(value) if isinstance(value, list) else str(value or "")


def execute(work, name, env):
    """Runs notebook ``name`` of ``work`` headless (nbconvert, a real ipykernel); its executed cells."""
    run = subprocess.run(
        [
            PYTHON,
            "-m",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            name,
            "--output",
            "executed.ipynb",
            "--ExecutePreprocessor.timeout=240",
        ],
        cwd=str(work),
        env={**env, "PYTHONPATH": REPO},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((work / "executed.ipynb").read_text())["cells"]


def stream(cell, name):
    return "".join(
        text_of(o["text"]) for o in cell["outputs"] if o["output_type"] == "stream" and o["name"] == name
    )


def test_a_python_notebook_submits_follows_and_reads_a_batch_headless(local_server, tmp_path):
    env, _ = local_server
    work = tmp_path / "work"
    work.mkdir()
    (work / "other.ipynb").write_text(json.dumps(notebook([OTHER_SOURCE])))
    (work / "magic.ipynb").write_text(json.dumps(notebook(CELLS)))
    cells = execute(work, "magic.ipynb", env)
    load, ps, submit, api, logs, table, batches, missing, bad_flag = cells

    assert load["outputs"] == []
    # ps before any batch: an empty table, as data and as both snapshots.
    [listing] = rich(ps)
    assert "application/vnd.canfar.sessions+json" in listing["data"]
    assert listing["data"]["application/vnd.canfar.sessions+json"]["sessions"] == []
    assert "no sessions" in text_of(listing["data"]["text/plain"])
    assert "<table" in text_of(listing["data"]["text/html"])

    # The batch, followed to its end in ONE output updated in place (nbconvert keeps the last state).
    [batch] = rich(submit)
    data = batch["data"]["application/vnd.canfar.batch+json"]
    assert data["phase"] == "done"
    assert data["counts"]["completed"] == 3 and data["counts"]["total"] == 3
    assert [r["state"] for r in data["replicas"]] == ["completed"] * 3
    assert data["absoluteFolder"].startswith(str(work / "canfar-batches"))
    plain = text_of(batch["data"]["text/plain"])
    assert "3/3 done" in plain and plain.count("completed") == 3
    html = text_of(batch["data"]["text/html"])
    assert 'data-canfar="bar"' in html and "3/3 done" in html
    assert stream(submit, "stderr") == ""
    # The replicas really ran: each wrote its status file and its line.
    folder = work / "canfar-batches" / data["batchId"]
    for i in (1, 2, 3):
        assert json.loads((folder / "status" / f"replica-{i}.json").read_text())["exitCode"] == 0

    # canfar.sessions(): a list of plain dicts.
    assert stream(api, "stdout").splitlines() == ["SessionList True True 3", "['Completed']"]

    # %canfar logs $second: $-expansion, the replica's own output.
    [log] = rich(logs)
    assert "replica 2 of 3 says hello" in text_of(log["data"]["text/plain"])
    assert "replica 2 of 3 says hello" in text_of(log["data"]["text/html"])

    [shown] = rich(table)
    assert text_of(shown["data"]["text/plain"]).startswith("3 session(s)")
    assert len(shown["data"]["application/vnd.canfar.sessions+json"]["sessions"]) == 3

    assert stream(batches, "stdout").strip() == "[('done', 3)]"

    # Errors: a few lines on stderr, no traceback, nothing launched.
    assert rich(missing) == []
    assert "cannot read the notebook missing.ipynb: no such file in" in stream(missing, "stderr")
    assert "Traceback" not in stream(missing, "stderr")
    message = stream(bad_flag, "stderr")
    assert "--replicas must be a whole number >= 1" in message
    assert "Usage: %canfar submit NOTEBOOK -r N [OPTIONS]" in message
    assert "Traceback" not in message
    assert sorted(os.listdir(work / "canfar-batches")) == [data["batchId"]]


# A combine step that fails until the notebook's folder holds "fixed".
MERGE_SOURCES = [
    "import os\nprint('replica', os.environ.get('REPLICA_ID'))",
]
COMBINE_SOURCE = "import os\nassert os.path.exists('fixed'), 'nothing fixed yet'\nprint('combined at last')"


def test_a_failed_combine_runs_again_from_the_magic_alone(local_server, tmp_path):
    env, _ = local_server
    work = tmp_path / "work"
    work.mkdir()
    merge = notebook(MERGE_SOURCES + [COMBINE_SOURCE])
    merge["cells"][-1]["metadata"]["tags"] = ["combine"]
    (work / "merge.ipynb").write_text(json.dumps(merge))
    cells = [
        "%load_ext jupyterlab_canfar",
        "%canfar submit merge.ipynb -r 2 --follow",
        (
            "from jupyterlab_canfar import canfar\n"
            "[listed] = canfar.batches()\n"
            "bid = listed['batchId']\n"
            "print(listed['combine']['state'])\n"
            "open('fixed', 'w').close()"
        ),
        "%canfar batch rerun-combine $bid --follow",
        "%canfar batch rerun-combine $bid",
    ]
    (work / "magic.ipynb").write_text(json.dumps(notebook(cells)))
    _, submit, api, again, twice = execute(work, "magic.ipynb", env)

    [first] = rich(submit)
    assert first["data"]["application/vnd.canfar.batch+json"]["combine"]["state"] == "failed"
    # The snapshot (nbviewer, GitHub) says so too.
    assert "2/2 done, 0 running, 0 pending; combine failed, exit 1" in text_of(first["data"]["text/plain"])
    assert stream(api, "stdout").strip() == "failed"
    # Re-run alone and followed: the combine completed, in a session of its own, the replicas untouched.
    [followed] = rich(again)
    data = followed["data"]["application/vnd.canfar.batch+json"]
    assert data["phase"] == "done"
    assert data["combine"]["state"] == "completed" and data["combine"]["attempt"] == 2
    assert data["counts"]["completed"] == 2
    assert "combine completed, exit 0" in text_of(followed["data"]["text/plain"])
    folder = work / "canfar-batches" / data["batchId"]
    log = (folder / "logs" / "combine.log").read_text()
    assert "nothing fixed yet" in log and "combined at last" in log
    for i in (1, 2):
        assert json.loads((folder / "status" / f"replica-{i}.json").read_text())["attempt"] == 1
    # Asked again: refused in a line that says why, no traceback.
    message = stream(twice, "stderr")
    assert "already completed with exit 0" in message
    assert "Traceback" not in message
