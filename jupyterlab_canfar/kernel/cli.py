"""The route without JupyterLab: the ``canfar-lab`` command line (Node), with ``--json``.

Where the CLI is looked for, first found wins (``find_cli``):

1. ``CANFAR_LAB_CLI``: a command line (e.g. ``node /opt/canfar/bin/canfar-lab.js``), used as given;
2. the single-file CLI bundled in this package (``bundled_cli()``, what ``pip install`` provides);
3. a checkout: ``<repo>/bin/canfar-lab.js`` beside this package, once ``npm run build:node`` has run;
4. ``canfar-lab`` on PATH (``npm install -g jupyterlab-canfar``).

The bundled copy comes before PATH: it is the same version as this magic, so its JSON is what the magic reads.
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

from .errors import CanfarError, CanfarUsageError

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bundled_cli() -> str:
    """Where the wheel carries its single-file CLI (a Node script, run as ``node <path>``). The one place
    this path is written; the wheel build puts the bundle there."""
    return os.path.join(PACKAGE_DIR, "cli", "canfar-lab.cjs")


@dataclass
class CliProgram:
    command: List[str]
    # Where it was found, for messages: "CANFAR_LAB_CLI", "bundled", "checkout", "PATH".
    source: str


@dataclass
class CliMissing:
    """Why there is no CLI here: ``node`` is missing, or the CLI is."""

    node: Optional[str]
    reason: str


def find_cli(env=None) -> Tuple[Optional[CliProgram], Optional[CliMissing]]:
    env = os.environ if env is None else env
    path = env.get("PATH", os.defpath)
    override = env.get("CANFAR_LAB_CLI", "").strip()
    if override:
        return CliProgram(shlex.split(override), "CANFAR_LAB_CLI"), None
    node = shutil.which("node", path=path)
    candidates = [(bundled_cli(), "bundled")]
    checkout_bin = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "bin", "canfar-lab.js"))
    if os.path.isfile(os.path.join(os.path.dirname(checkout_bin), "..", "dist", "node", "cli.cjs")):
        candidates.append((checkout_bin, "checkout"))
    for script, source in candidates:
        if os.path.isfile(script):
            if node is None:
                return None, CliMissing(
                    None, f"the canfar-lab CLI is here ({script}) but `node` is not on PATH"
                )
            return CliProgram([node, script], source), None
    on_path = shutil.which("canfar-lab", path=path)
    if on_path:
        if node is None:
            return None, CliMissing(None, f"canfar-lab is on PATH ({on_path}) but `node` is not")
        return CliProgram([on_path], "PATH"), None
    if node is None:
        return None, CliMissing(None, "`node` is not on PATH")
    return None, CliMissing(node, "the canfar-lab CLI is not installed (no bundled copy, not on PATH)")


@dataclass
class CliResult:
    code: int
    data: Any
    # stderr lines that are not the JSON error: warnings and notes ("warning: ...", "note: skipped ...").
    notes: List[str]


def _split_stderr(stderr: str) -> Tuple[Optional[dict], List[str]]:
    """The CLI's --json error document (last on stderr, pretty-printed) and the other lines."""
    lines = stderr.splitlines()
    for start in range(len(lines) - 1, -1, -1):
        if lines[start] == "{":
            try:
                document = json.loads("\n".join(lines[start:]))
            except ValueError:
                continue
            if isinstance(document, dict) and "error" in document:
                return document["error"], [l for l in lines[:start] if l.strip()]
    return None, [l for l in lines if l.strip()]


def error_from_cli(error: dict, verb: str, notes: List[str], usage: str = "") -> CanfarError:
    message = str(error.get("message") or "the command failed")
    problems = [
        f"{p.get('field')}{' = ' + json.dumps(p['value']) if 'value' in p else ''}: {p.get('rule')}"
        for p in error.get("problems") or []
        if isinstance(p, dict)
    ]
    if error.get("code") == "usage":
        return CanfarUsageError(message, verb=verb, usage=usage)
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


class Cli:
    def __init__(self, program: CliProgram, cwd: Optional[str] = None):
        self.program = program
        self.cwd = cwd

    def describe(self) -> str:
        return " ".join(self.program.command)

    def run_json(
        self,
        argv: List[str],
        *,
        verb: str,
        usage: str = "",
        accept_failure_result: bool = False,
    ) -> CliResult:
        """Runs ``canfar-lab --json ARGV``; returns its JSON, or raises the error it reports.

        With ``accept_failure_result``, exit code 1 with a JSON result on stdout (a batch followed to its
        end with failed replicas) is a result, not an error.
        """
        code, stdout, stderr = self._run(["--json", *argv])
        error, notes = _split_stderr(stderr)
        if code == 0 or (accept_failure_result and code == 1 and stdout.strip() and error is None):
            try:
                data = json.loads(stdout) if stdout.strip() else None
            except ValueError as problem:
                raise CanfarError(
                    f"canfar-lab {verb} printed something that is not JSON ({problem}): {stdout[:200]!r}"
                ) from None
            return CliResult(code, data, notes)
        if error is not None:
            raise error_from_cli(error, verb, notes, usage)
        text = "\n".join(notes[-8:]) or f"exit code {code}"
        raise CanfarError(f"canfar-lab {verb} failed: {text}")

    def stream(self, argv: List[str], on_text: Callable[[str], None], *, verb: str) -> int:
        """Runs ``canfar-lab ARGV`` (text output) and hands its stdout to ``on_text`` as it comes."""
        process = self._popen(argv)
        errors: List[str] = []
        reader = threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)
        reader.start()
        try:
            for chunk in iter(lambda: process.stdout.readline(), ""):
                on_text(chunk)
            code = process.wait()
        except KeyboardInterrupt:
            self._interrupt(process)
            raise
        reader.join(5)
        if code != 0:
            raise CanfarError(f"canfar-lab {verb}: " + ("".join(errors).strip() or f"exit code {code}"))
        return code

    def _popen(self, argv: List[str]) -> subprocess.Popen:
        try:
            return subprocess.Popen(
                self.program.command + argv,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
        except OSError as error:
            raise CanfarError(
                f"cannot run {self.describe()} ({error.strerror}); set CANFAR_LAB_CLI to a working command"
            ) from error

    def _run(self, argv: List[str]) -> Tuple[int, str, str]:
        process = self._popen(argv)
        try:
            stdout, stderr = process.communicate()
        except KeyboardInterrupt:
            self._interrupt(process)
            raise
        return process.returncode, stdout, stderr

    @staticmethod
    def _interrupt(process: subprocess.Popen) -> None:
        """Ctrl-C (interrupt the kernel): the CLI stops cleanly on SIGINT (launched replicas keep running)."""
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
