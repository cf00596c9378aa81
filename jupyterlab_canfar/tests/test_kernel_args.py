"""``%canfar`` arguments and error messages, in an IPython shell: what a user reads when a verb, a flag,
a notebook or the service is wrong (a few lines, the verb's usage, never a traceback), and that the flags
are the CLI's (cli-spec.json). The service error comes from the real local server through the CLI.
"""

import json
import os
import re
import shutil
import signal
import subprocess

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyterlab_canfar.kernel import spec
from jupyterlab_canfar.kernel.cli import find_cli
from jupyterlab_canfar.kernel.engine import Engine
from jupyterlab_canfar.kernel.errors import CanfarUsageError

from .conftest import REPO


@pytest.fixture
def shell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyterlab_canfar")
    yield ip
    ip.run_line_magic("unload_ext", "jupyterlab_canfar")


def magic(shell, capsys, line):
    value = shell.run_line_magic("canfar", line)
    out, err = capsys.readouterr()
    return value, out, err


def test_a_bad_verb_names_the_verbs(shell, capsys):
    value, out, err = magic(shell, capsys, "frobnicate -r 2")
    assert value is None and out == ""
    assert err.startswith("%canfar: unknown verb 'frobnicate'; the verbs are: batch, batches, ")
    assert "submit" in err and "watch" in err
    assert "Traceback" not in err and len(err.splitlines()) <= 3


def test_a_bad_flag_shows_the_verbs_usage_in_a_few_lines(shell, capsys):
    _, out, err = magic(shell, capsys, "submit analysis.ipynb -r 3 --replica-count 4")
    lines = err.splitlines()
    # Python 3.13's argparse takes the 4 as a positional of the intermixed parse; 3.11's leaves it with
    # the unknown option. Either way the unknown option is named.
    assert re.fullmatch(r"%canfar submit: unknown option\(s\): --replica-count( 4)?", lines[0]), lines[0]
    assert lines[1:] == [
        "",
        "Usage: %canfar submit NOTEBOOK -r N [OPTIONS]",
        "`%canfar submit --help` lists every option.",
    ]
    _, _, err = magic(shell, capsys, "ps --kind")
    assert err.splitlines()[0] == "%canfar ps: --kind: expected one argument"
    _, _, err = magic(shell, capsys, "ps --kind spaceship")
    assert err.splitlines()[0].startswith("%canfar ps: --kind must be one of notebook, desktop")


def test_help_prints_the_clis_usage_for_the_notebook(shell, capsys):
    _, out, _ = magic(shell, capsys, "submit --help")
    assert out.startswith("Usage: %canfar submit NOTEBOOK -r N [OPTIONS]")
    assert "--param NAME=VALUE" in out and "canfar-lab" not in out.split("\n", 1)[0]
    _, out, _ = magic(shell, capsys, "--help")
    assert "submit" in out and "%load_ext jupyterlab_canfar" in out


def test_a_missing_notebook_is_reported_before_anything_is_sent(shell, capsys, tmp_path):
    _, out, err = magic(shell, capsys, "submit nowhere.ipynb -r 2")
    assert (
        err.splitlines()[0]
        == f"%canfar submit: cannot read the notebook nowhere.ipynb: no such file in {tmp_path}"
    )
    assert not (tmp_path / "canfar-batches").exists()


def test_dollar_and_brace_expansion(shell, capsys):
    shell.user_ns["nb"] = "gone.ipynb"
    _, _, err = magic(shell, capsys, "submit $nb -r {1 + 1}")
    assert "cannot read the notebook gone.ipynb" in err


def test_every_cli_flag_is_accepted_with_its_value():
    """The magic's parser comes from the CLI's declaration: each flag of each verb parses."""
    for verb in spec.verbs():
        for name, option in (spec.load_spec()["verbs"][verb].get("options") or {}).items():
            if name == "help":
                continue
            argv = [f"--{name}"] + ([] if option.get("type") == "boolean" else ["x"])
            parsed = spec.parse(verb, argv)
            assert name in parsed.values or name in parsed.globals, (verb, name)
    parsed = spec.parse(
        "submit", ["nb.ipynb", "-r", "3", "-e", "A=1", "--env", "B=2", "--dry-run", "--url", "local"]
    )
    assert parsed.values == {"replicas": "3", "env": ["A=1", "B=2"], "dry-run": True}
    assert parsed.globals == {"url": "local"} and parsed.positionals == ["nb.ipynb"]


def test_python_keywords_become_the_clis_flags():
    assert spec.to_argv(
        {"dry_run": True, "env": {"A": "1"}, "param": ["x=1"], "replicas": 3, "follow": False}
    ) == [
        "--dry-run",
        "--env",
        "A=1",
        "--param",
        "x=1",
        "--replicas",
        "3",
    ]
    with pytest.raises(CanfarUsageError) as error:
        from jupyterlab_canfar import canfar

        canfar.submit("x.ipynb", 2, frobnicate=True)
    assert "unknown option(s): --frobnicate" in str(error.value)


def test_with_neither_route_the_message_says_what_is_missing(shell, capsys, monkeypatch):
    """No Jupyter server runs this shell, and no node: the CLI route is impossible, and it says so."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CANFAR_LAB_CLI", raising=False)
    shell.magics_manager.registry["CanfarMagics"].engine = Engine()
    _, _, err = magic(shell, capsys, "ps")
    assert "no Jupyter server with the CANFAR extension runs this kernel" in err
    assert "`node` is not on PATH" in err
    assert "install Node.js 20 or later" in err
    assert "Traceback" not in err


@pytest.fixture
def local_cli(tmp_path, monkeypatch):
    """The real local server, and the CLI found as a user's kernel finds it (the checkout's bin/)."""
    if not (shutil.which("node") and os.path.isfile(os.path.join(REPO, "dist", "node", "cli.cjs"))):
        pytest.skip("needs node and the built CLI (npm run build:node)")
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.delenv("CANFAR_URL", raising=False)
    monkeypatch.delenv("CANFAR_LAB_CLI", raising=False)
    process = subprocess.Popen(
        ["node", os.path.join(REPO, "bin", "canfar-lab.js"), "local", "--json", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert json.loads(process.stdout.readline())["url"]
    program, _ = find_cli()
    assert program and program.source == "checkout"
    yield
    process.send_signal(signal.SIGTERM)
    process.wait(20)


def test_a_service_error_shows_the_services_message(shell, capsys, local_cli):
    shell.magics_manager.registry["CanfarMagics"].engine = Engine()
    _, out, err = magic(shell, capsys, "info zzzzzzzz")
    assert out == ""
    first = err.splitlines()[0]
    assert first.startswith("get session zzzzzzzz failed with HTTP 404"), err
    assert "hint: No such session, or not yours." in err
    assert "Traceback" not in err
    # The API raises the same error, for code to catch.
    from jupyterlab_canfar import canfar

    canfar._engine = Engine()
    with pytest.raises(canfar.CanfarError) as error:
        canfar.info("zzzzzzzz")
    assert error.value.status == 404


def test_the_server_extension_import_stays_cheap():
    """The server extension imports the package: the magic, IPython and the kernel code are not loaded."""
    import subprocess
    import sys

    code = (
        "import sys, jupyterlab_canfar\n"
        "print(sorted(m for m in sys.modules if m.startswith(('IPython', 'jupyterlab_canfar.kernel', 'ipykernel'))))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": REPO}
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
