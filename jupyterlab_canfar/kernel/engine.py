"""Which route runs a command, and the commands themselves, returning plain data (outputs.py).

Routes, chosen per command (``Engine.route``):

- ``server``: Skaha calls that only read or delete sessions (ps, info, logs, events, delete, renew, stats,
  images, context, prune) go straight from the kernel to the server half of the Jupyter server that runs
  this kernel (``/canfar/api/skaha/v1/...``, with the server's credential). No Node, no browser needed.
- ``lab``: the batch engine's work (submit, batches, watch, batch delete/prune/rerun, convert) runs in the
  CANFAR JupyterLab extension open on this kernel (lab.py): the same TypeScript code as the panel and the
  submit dialog, also where the image has no Node (CANFAR).
- ``cli``: elsewhere (nbconvert, papermill, IPython in a terminal), everything through ``canfar-lab --json``.

The convert/plan/submit/monitor logic is never written in Python: it is the TypeScript engine's, reached
through the extension or the CLI.
"""

import os
import re
import sys
import time
from typing import Any, Callable, Dict, List, Optional

from . import outputs, skaha, spec
from .cli import Cli, CliMissing, find_cli
from .errors import CanfarError, CanfarUsageError, NoRouteError
from .lab import LabRelay
from .server import JupyterServer, find_server, kernel_id

SESSION_KINDS = ["notebook", "desktop", "carta", "contributed", "firefly", "headless"]
SESSION_STATUSES = ["Pending", "Running", "Completed", "Failed", "Terminating", "Error", "Unknown"]
FINISHED = ["Completed", "Failed", "Error"]

# Skaha protocol calls the kernel may make through the server half by itself.
SERVER_VERBS = {"ps", "info", "logs", "events", "delete", "renew", "stats", "images", "context", "prune"}
# The batch engine's work: the JupyterLab extension or the CLI.
ENGINE_VERBS = {"submit", "batches", "batch", "watch", "convert"}
# The CLI only.
CLI_VERBS = {"create"}

BATCH_ID = re.compile(r"^\d{8}-\d{6}-[a-z0-9]{4}$")


def new_batch_id() -> str:
    """``YYYYMMDD-HHMMSS-xxxx`` (UTC, 4 random base-36 characters): src/batch/ids.ts's format."""
    import secrets
    from datetime import datetime, timezone

    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    suffix = "".join(secrets.choice(alphabet) for _ in range(4))
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + suffix


def _choice(name: str, value: Optional[str], choices: List[str], verb: str) -> Optional[str]:
    if value is None:
        return None
    for choice in choices:
        if choice.lower() == str(value).lower():
            return choice
    raise CanfarUsageError(
        f"{name} must be one of {', '.join(choices)}; got {value!r}", verb=verb, usage=spec.synopsis(verb)
    )


def _by_start(session: Dict[str, Any]):
    # Oldest first; not started yet (queued) last.
    return (session.get("startTime") is None, session.get("startTime") or "", session.get("name") or "")


class Engine:
    """The routes available to this kernel, found once (the Jupyter server and the CLI do not move)."""

    def __init__(self, *, cwd: Optional[str] = None, env=None):
        self.cwd = cwd
        self.env = os.environ if env is None else env
        self._server: Any = False  # False: not looked for yet
        self._server_half = False
        self._cli: Any = False
        self._cli_missing: Optional[CliMissing] = None

    # ------------------------------------------------------------------ discovery

    @property
    def directory(self) -> str:
        return self.cwd or os.getcwd()

    def server(self) -> Optional[JupyterServer]:
        """The Jupyter server running this kernel, when it has the CANFAR server half."""
        if self._server is False:
            server = find_server()
            self._server_half = bool(server and server.has_server_half())
            self._server = server
        return self._server if self._server_half else None

    def jupyter_without_server_half(self) -> bool:
        self.server()
        return bool(self._server) and not self._server_half

    def cli(self) -> Optional[Cli]:
        if self._cli is False:
            program, missing = find_cli(self.env)
            self._cli = Cli(program, cwd=self.cwd) if program else None
            self._cli_missing = missing
        return self._cli

    def lab(self) -> Optional[LabRelay]:
        """The extension's route, when a JupyterLab page with it has this kernel open (asked each time)."""
        server = self.server()
        kernel = kernel_id()
        if server is None or kernel is None:
            return None
        relay = LabRelay(server, kernel)
        try:
            return relay if relay.frontends() else None
        except CanfarError:
            return None

    def route(self, verb: str, parsed: Optional[spec.ParsedArgs] = None) -> str:
        """'server', 'lab' or 'cli' for this command; NoRouteError saying what is missing otherwise."""
        wants_cli = bool(parsed and any(k in parsed.globals for k in ("url", "token", "certificate")))
        if wants_cli:
            if self.cli():
                return "cli"
            raise NoRouteError(
                "--url, --token and --certificate are options of the canfar-lab command line, which is not "
                f"available here ({self._cli_missing.reason if self._cli_missing else 'not found'}). Inside "
                "Jupyter, the server half's endpoint and credential are used: leave them out, or install "
                "Node.js 20+ and the CLI."
            )
        if verb in SERVER_VERBS and self.server():
            return "server"
        if verb in ENGINE_VERBS and self.lab():
            return "lab"
        if self.cli():
            return "cli"
        raise NoRouteError(self._missing_message(verb))

    def _missing_message(self, verb: str) -> str:
        cli = self._cli_missing.reason if self._cli_missing else "the canfar-lab CLI was not found"
        install_cli = (
            "install Node.js 20 or later (the jupyterlab_canfar package carries the CLI; or "
            "`npm install -g jupyterlab-canfar`)"
        )
        if self.server():
            return (
                f"`%canfar {verb}` runs in the CANFAR JupyterLab extension, and no JupyterLab page with it has "
                f"this notebook's kernel open; the other way, the canfar-lab CLI, is missing: {cli}. Open "
                f"this notebook in JupyterLab with jupyterlab-canfar installed, or {install_cli}."
            )
        if self.jupyter_without_server_half():
            return (
                f"`%canfar {verb}` needs the CANFAR server extension of this Jupyter server, which is not "
                "enabled (run `jupyter server extension enable jupyterlab_canfar` and restart Jupyter), or "
                f"the canfar-lab CLI, which is missing: {cli}. Enable the extension, or {install_cli}."
            )
        return (
            f"`%canfar {verb}` has no way to run here: no Jupyter server with the CANFAR extension runs this "
            f"kernel (nbconvert, papermill or a terminal), so it needs the canfar-lab CLI, and {cli}. "
            f"To run it here, {install_cli}; or run the notebook in JupyterLab with jupyterlab-canfar."
        )

    # ------------------------------------------------------------------ helpers

    def _cli_json(self, verb: str, argv: List[str], **kwargs) -> Any:
        cli = self.cli()
        assert cli is not None
        result = cli.run_json(
            [verb, *argv], verb=verb, usage=spec.synopsis(verb) if verb in spec.verbs() else "", **kwargs
        )
        for note in result.notes:
            print(note, file=sys.stderr)
        return result.data

    def _relative(self, path: Optional[str]) -> Optional[str]:
        server = self._server if self._server else None
        return server.relative_path(path) if (server and path) else None

    def server_relative_cwd(self) -> str:
        server = self.server()
        assert server is not None
        relative = server.relative_path(self.directory)
        if relative is None:
            raise CanfarError(
                f"this kernel's folder {self.directory} is outside the Jupyter server's root {server.root_dir}: "
                "JupyterLab cannot read or write batch folders there. Open the notebook from under the root."
            )
        return relative

    def _lab_call(self, verb: str, parsed: spec.ParsedArgs, on_progress=None, **extra) -> Any:
        relay = self.lab()
        if relay is None:  # the page closed since the route was chosen
            raise NoRouteError(self._missing_message(verb))
        payload = {
            "verb": verb,
            "values": parsed.values,
            "positionals": parsed.positionals,
            "cwd": self.server_relative_cwd(),
            **extra,
        }
        return relay.call(payload, on_progress=on_progress)

    # ------------------------------------------------------------------ sessions (Skaha calls)

    def _list(self, kind: Optional[str] = None, status: Optional[str] = None) -> List[Dict[str, Any]]:
        server = self.server()
        query = {"type": kind, "status": status}
        answer = server.skaha("GET", "session", "list sessions", query=query)
        return [skaha.session(s) for s in answer.json() or []]

    def ps(self, parsed: spec.ParsedArgs) -> outputs.SessionList:
        if parsed.positionals:
            raise CanfarUsageError(
                f"ps takes no arguments, got {parsed.positionals[0]!r}", verb="ps", usage=spec.synopsis("ps")
            )
        kind = _choice("--kind", parsed.values.get("kind"), SESSION_KINDS, "ps")
        status = _choice("--status", parsed.values.get("status"), SESSION_STATUSES, "ps")
        if self.route("ps", parsed) == "cli":
            return outputs.SessionList(self._cli_json("ps", parsed.argv))
        every = self._list(kind, status)
        shown = (
            every
            if (parsed.values.get("all") or status)
            else [s for s in every if s["status"] in ("Pending", "Running")]
        )
        return outputs.SessionList(sorted(shown, key=_by_start))

    def sessions(self, kind: Optional[str] = None, status: Optional[str] = None) -> outputs.SessionList:
        argv = ["--all"] + (["--kind", kind] if kind else []) + (["--status", status] if status else [])
        return self.ps(spec.parse("ps", argv))

    def info(self, parsed: spec.ParsedArgs) -> outputs.SessionList:
        ids = parsed.positionals
        if not ids:
            raise CanfarUsageError(
                "info needs at least one session ID", verb="info", usage=spec.synopsis("info")
            )
        if self.route("info", parsed) == "cli":
            return outputs.SessionList(self._cli_json("info", parsed.argv))
        found, errors = [], []
        for session_id in ids:
            try:
                found.append(
                    skaha.session(
                        self.server()
                        .skaha("GET", f"session/{session_id}", f"get session {session_id}")
                        .json()
                    )
                )
            except CanfarError as error:
                errors.append(error)
        if errors and not found:
            raise errors[0]
        for error in errors:
            print(f"%canfar info: {error.message}", file=sys.stderr)
        return outputs.SessionList(found)

    def logs(
        self, parsed: spec.ParsedArgs, on_text: Optional[Callable[[str], None]] = None
    ) -> outputs.LogText:
        if len(parsed.positionals) != 1:
            raise CanfarUsageError(
                "logs needs exactly one session ID", verb="logs", usage=spec.synopsis("logs")
            )
        session_id = parsed.positionals[0]
        follow = bool(parsed.values.get("follow"))
        if self.route("logs", parsed) == "cli":
            if follow and on_text is not None:
                chunks: List[str] = []

                def take(text: str) -> None:
                    chunks.append(text)
                    on_text(text)

                self.cli().stream(["logs", *parsed.argv], take, verb="logs")
                return outputs.LogText(session_id, "".join(chunks))
            return outputs.LogText(session_id, self._cli_json("logs", parsed.argv)["logs"])
        server = self.server()

        def read() -> str:
            return server.skaha(
                "GET", f"session/{session_id}", f"logs of session {session_id}", query={"view": "logs"}
            ).text

        if not follow:
            return outputs.LogText(session_id, read())
        # Follow: status first, then the log (once ended, the last read holds the last line); the service
        # has no offset, so only the part not seen before is handed on.
        seen = ""
        while True:
            ended, queued = False, False
            try:
                status = skaha.status(
                    server.skaha("GET", f"session/{session_id}", f"get session {session_id}")
                    .json()
                    .get("status")
                )
                ended, queued = status in FINISHED, status == "Pending"
            except CanfarError as error:
                if error.status != 404:
                    raise
                ended = True
            text = seen if queued else read()
            fresh = text[len(seen) :] if text.startswith(seen) else text
            seen = text
            if fresh and on_text is not None:
                on_text(fresh)
            if ended:
                return outputs.LogText(session_id, seen)
            time.sleep(1.0)

    def events(self, parsed: spec.ParsedArgs) -> outputs.EventList:
        if len(parsed.positionals) != 1:
            raise CanfarUsageError(
                "events needs exactly one session ID", verb="events", usage=spec.synopsis("events")
            )
        if self.route("events", parsed) == "cli":
            return outputs.EventList(self._cli_json("events", parsed.argv))
        session_id = parsed.positionals[0]
        answer = self.server().skaha(
            "GET", f"session/{session_id}", f"events of session {session_id}", query={"view": "events"}
        )
        return outputs.EventList(skaha.events(answer.text))

    def delete(self, parsed: spec.ParsedArgs) -> outputs.Outcomes:
        ids = parsed.positionals
        if not ids:
            raise CanfarUsageError(
                "delete needs at least one session ID", verb="delete", usage=spec.synopsis("delete")
            )
        if not parsed.values.get("force"):
            raise CanfarUsageError(
                "refusing to delete without confirmation: add -f to delete " + " ".join(ids),
                verb="delete",
                usage=spec.synopsis("delete"),
            )
        if self.route("delete", parsed) == "cli":
            return outputs.Outcomes(self._cli_json("delete", parsed.argv))
        server = self.server()
        # The service answers 200 to DELETE of any id: look each up first, so a typo is reported.
        found, errors = [], []
        for session_id in ids:
            try:
                found.append(
                    skaha.session(
                        server.skaha("GET", f"session/{session_id}", f"get session {session_id}").json()
                    )
                )
            except CanfarError as error:
                errors.append(error)
        results = []
        for session in found:
            try:
                server.skaha("DELETE", f"session/{session['id']}", f"delete session {session['id']}")
                results.append({"id": session["id"], "name": session["name"], "deleted": True})
            except CanfarError as error:
                errors.append(error)
                results.append({"id": session["id"], "name": session["name"], "deleted": False})
        if errors and not results:
            raise errors[0]
        for error in errors:
            print(f"%canfar delete: {error.message}", file=sys.stderr)
        return outputs.Outcomes(results)

    def renew(self, parsed: spec.ParsedArgs) -> outputs.Outcomes:
        ids = parsed.positionals
        if not ids:
            raise CanfarUsageError(
                "renew needs at least one session ID", verb="renew", usage=spec.synopsis("renew")
            )
        if self.route("renew", parsed) == "cli":
            return outputs.Outcomes(self._cli_json("renew", parsed.argv))
        results = []
        for session_id in ids:
            try:
                self.server().skaha(
                    "POST", f"session/{session_id}", f"renew session {session_id}", form=[("action", "renew")]
                )
                results.append({"id": session_id, "renewed": True})
            except CanfarError as error:
                print(f"%canfar renew: {error.message}", file=sys.stderr)
                results.append({"id": session_id, "renewed": False})
        return outputs.Outcomes(results)

    def prune(self, parsed: spec.ParsedArgs) -> outputs.Outcomes:
        positionals = parsed.positionals
        if not 1 <= len(positionals) <= 3:
            raise CanfarUsageError(
                "prune needs PATTERN, optionally followed by KIND and STATUS",
                verb="prune",
                usage=spec.synopsis("prune"),
            )
        if self.route("prune", parsed) == "cli":
            return outputs.Outcomes(self._cli_json("prune", parsed.argv))
        pattern = positionals[0]
        kind = (
            _choice("KIND", (positionals[1:2] or [parsed.values.get("kind")])[0], SESSION_KINDS, "prune")
            or "headless"
        )
        status = _choice(
            "STATUS",
            (positionals[2:3] or [parsed.values.get("status")])[0],
            SESSION_STATUSES + ["Succeeded"],
            "prune",
        )
        statuses = ["Completed" if status == "Succeeded" else status] if status else FINISHED
        try:
            regex = re.compile(f"^(?:{pattern})")
        except re.error as error:
            raise CanfarUsageError(
                f"PATTERN {pattern!r} is not a valid regular expression: {error}",
                verb="prune",
                usage=spec.synopsis("prune"),
            ) from None
        results = []
        for session in self._list(kind):
            if session["status"] not in statuses or not regex.match(session["name"]):
                continue
            if parsed.values.get("dry-run"):
                results.append({"id": session["id"], "name": session["name"], "deleted": False})
                continue
            self.server().skaha("DELETE", f"session/{session['id']}", f"delete session {session['id']}")
            results.append({"id": session["id"], "name": session["name"], "deleted": True})
        return outputs.Outcomes(results)

    def stats(self, parsed: spec.ParsedArgs) -> outputs.Stats:
        if parsed.positionals:
            raise CanfarUsageError("stats takes no arguments", verb="stats", usage=spec.synopsis("stats"))
        if self.route("stats", parsed) == "cli":
            return outputs.Stats(self._cli_json("stats", parsed.argv))
        return outputs.Stats(
            skaha.stats(
                self.server().skaha("GET", "session", "platform stats", query={"view": "stats"}).json()
            )
        )

    def images(self, parsed: spec.ParsedArgs) -> outputs.ImageList:
        if parsed.positionals:
            raise CanfarUsageError(
                "images takes no arguments (use --kind KIND)", verb="images", usage=spec.synopsis("images")
            )
        kind = _choice("--kind", parsed.values.get("kind"), SESSION_KINDS, "images")
        if self.route("images", parsed) == "cli":
            return outputs.ImageList(self._cli_json("images", parsed.argv))
        answer = self.server().skaha(
            "GET", "image", f"list {kind} images" if kind else "list images", query={"type": kind}
        )
        return outputs.ImageList(sorted(answer.json() or [], key=lambda i: i.get("id", "")))

    def context(self, parsed: spec.ParsedArgs) -> outputs.PlatformContext:
        if parsed.positionals:
            raise CanfarUsageError(
                "context takes no arguments", verb="context", usage=spec.synopsis("context")
            )
        if self.route("context", parsed) == "cli":
            return outputs.PlatformContext(self._cli_json("context", parsed.argv))
        server = self.server()
        info = server.info()
        credential = dict(info.get("credential") or {})
        if info.get("user"):
            credential["user"] = info["user"]
        return outputs.PlatformContext(
            {
                "endpoint": info.get("endpoint"),
                "url": info.get("url"),
                "credential": {k: v for k, v in credential.items() if v is not None},
                "context": server.skaha("GET", "context", "resource context").json(),
                "repositories": server.skaha("GET", "repository", "list registries").json(),
            }
        )

    def create(self, parsed: spec.ParsedArgs) -> Any:
        if self.route("create", parsed) != "cli":
            raise NoRouteError(
                "`%canfar create` runs through the canfar-lab command line only; to run a notebook as "
                "replicas from here, use `%canfar submit NOTEBOOK -r N`."
            )
        return outputs.Outcomes(
            self._cli_json("create", parsed.argv + (["--", *parsed.rest] if parsed.rest else []))
        )

    # ------------------------------------------------------------------ batches (the engine's work)

    def _batch_view(self, batch_id: str, route: str, parsed: spec.ParsedArgs) -> outputs.BatchStatus:
        if route == "lab":
            return self._from_lab_view(self._lab_call("batch-status", parsed, batchId=batch_id))
        view = self._cli_json("batches", [batch_id] + _global_argv(parsed))
        return outputs.batch_from_view(
            view,
            absolute_folder=view.get("folder") and _abs(view["folder"]),
            folder=self._relative(_abs(view.get("folder"))),
        )

    def _from_lab_view(self, view: Dict[str, Any], request: Optional[str] = None) -> outputs.BatchStatus:
        return outputs.batch_from_view(
            view, folder=view.get("folder"), absolute_folder=view.get("absoluteFolder"), request=request
        )

    def batches(self, parsed: spec.ParsedArgs) -> Any:
        batch_ids = [p for p in parsed.positionals if BATCH_ID.match(p)]
        route = self.route("batches", parsed)
        if batch_ids:
            return self._batch_view(batch_ids[0], route, parsed)
        if route == "lab":
            views = self._lab_call("batches", parsed)
            return outputs.BatchList([self._from_lab_view(v) for v in views])
        views = self._cli_json("batches", parsed.argv)
        return outputs.BatchList(
            [
                outputs.batch_from_view(
                    v, absolute_folder=_abs(v.get("folder")), folder=self._relative(_abs(v.get("folder")))
                )
                for v in views
            ]
        )

    def watch(
        self,
        batch_id: str,
        parsed: spec.ParsedArgs,
        on_update: Callable[[outputs.BatchStatus], None],
        *,
        interval: float = 2.0,
    ) -> outputs.BatchStatus:
        """Follows a batch until every replica is terminal (or stuck on an image pull error)."""
        route = self.route("watch", parsed)
        if route == "lab":

            def progress(update: Any) -> None:
                if isinstance(update, dict) and update.get("view"):
                    on_update(self._from_lab_view(update["view"]))

            final = self._lab_call("watch", parsed, batchId=batch_id, interval=interval, on_progress=progress)
            status = self._from_lab_view(final)
            on_update(status)
            return status
        try:
            while True:
                status = self._batch_view(batch_id, route, parsed)
                on_update(status)
                if status.done or _stuck(status):
                    return status
                time.sleep(interval)
        except KeyboardInterrupt:
            print(
                f"Stopped following {batch_id}; its replicas keep running. `%canfar watch {batch_id}` follows it again.",
                file=sys.stderr,
            )
            raise

    def submit(
        self,
        parsed: spec.ParsedArgs,
        on_update: Callable[[outputs.BatchStatus], None],
    ) -> Any:
        """Launches the batch (returns once every replica is launched, or, with --follow, finished)."""
        values = parsed.values
        if len(parsed.positionals) == 1 and not values.get("help"):
            notebook = parsed.positionals[0]
            # Found before anything is sent, with the path as typed and the folder it was looked in.
            if not os.path.isfile(os.path.join(self.directory, notebook)):
                raise CanfarUsageError(
                    f"cannot read the notebook {notebook}: no such file in {self.directory}",
                    verb="submit",
                    usage=spec.synopsis("submit"),
                )
        follow = bool(values.get("follow"))
        interval = _interval(values.get("interval"))
        route = self.route("submit", parsed)
        if route == "lab":
            return self._submit_lab(parsed, on_update, follow)
        argv = [a for a in parsed.argv if a != "--follow"]
        # Exit code 1 with a result: launched, but some replicas were not (the output names them).
        result = self._cli_json("submit", argv, accept_failure_result=True)
        if values.get("dry-run"):
            return outputs.Record(result)
        folder = result.get("folder")
        launched = outputs.batch_from_launch(
            {**result, "total": len(result.get("replicas") or [])},
            absolute_folder=folder,
            folder=self._relative(folder),
        )
        on_update(launched)
        if not follow:
            return launched
        return self.watch(launched.batch_id, parsed, on_update, interval=interval)

    def _submit_lab(self, parsed: spec.ParsedArgs, on_update, follow: bool) -> Any:
        batch_id = new_batch_id()
        cwd = self.server_relative_cwd()
        folder = "/".join(p for p in (cwd, "canfar-batches", batch_id) if p)
        state: Dict[str, Any] = {"request": None}
        notebook = parsed.positionals[0] if parsed.positionals else None

        def pending(extra: Dict[str, Any]) -> outputs.BatchStatus:
            return outputs.BatchStatus(
                {
                    "version": outputs.OUTPUT_VERSION,
                    "batchId": batch_id,
                    "folder": folder,
                    "notebook": notebook,
                    "phase": "submitting",
                    "at": outputs.now_iso(),
                    **({"request": state["request"]} if state["request"] else {}),
                    **extra,
                }
            )

        if not parsed.values.get("dry-run"):
            on_update(pending({}))

        def progress(update: Any) -> None:
            if not isinstance(update, dict):
                return
            stage = update.get("stage")
            if stage == "sent":
                state["request"] = update.get("request")
                on_update(pending({}))
            elif stage == "launching":
                on_update(pending({"launched": update.get("launched", 0), "total": update.get("total")}))
            elif stage == "launched" and update.get("submitted"):
                on_update(self._launched(update["submitted"], state["request"]))
            elif stage == "watching" and update.get("view"):
                on_update(self._from_lab_view(update["view"], state["request"]))

        try:
            result = self._lab_call("submit", parsed, on_progress=progress, batchId=batch_id, follow=follow)
        except CanfarError as error:
            if not parsed.values.get("dry-run"):
                failed = pending(
                    {"phase": "failed", "error": {"message": error.message, "problems": error.problems}}
                )
                on_update(failed)
            raise
        if parsed.values.get("dry-run"):
            return outputs.Record(result.get("plan") or result)
        final = (
            self._from_lab_view(result["view"], state["request"])
            if result.get("view")
            else self._launched(result["submitted"], state["request"])
        )
        on_update(final)
        return final

    def _launched(self, submitted: Dict[str, Any], request: Optional[str]) -> outputs.BatchStatus:
        return outputs.batch_from_launch(
            submitted,
            folder=submitted.get("folder"),
            absolute_folder=submitted.get("absoluteFolder"),
            request=request,
        )

    def batch_action(self, parsed: spec.ParsedArgs, on_update: Callable[[outputs.BatchStatus], None]) -> Any:
        """``batch delete|prune|rerun|rerun-failed|rerun-combine BATCH_ID``."""
        positionals = parsed.positionals
        actions = ["delete", "prune", "rerun", "rerun-failed", "rerun-combine"]
        if not positionals or positionals[0] not in actions:
            raise CanfarUsageError(
                f"batch needs an action: {', '.join(actions)}", verb="batch", usage=spec.synopsis("batch")
            )
        if len(positionals) != 2:
            raise CanfarUsageError(
                f"batch {positionals[0]} takes one BATCH_ID", verb="batch", usage=spec.synopsis("batch")
            )
        action, batch_id = positionals
        if action == "delete" and not parsed.values.get("force"):
            raise CanfarUsageError(
                f"refusing to delete without confirmation: add -f to delete the sessions of batch {batch_id}",
                verb="batch",
                usage=spec.synopsis("batch"),
            )
        follow = bool(parsed.values.get("follow"))
        route = self.route("batch", parsed)
        if route == "lab":
            result = self._lab_call("batch", parsed, batchId=batch_id)
        else:
            result = self._cli_json("batch", [a for a in parsed.argv if a != "--follow"])
        if action in ("delete", "prune"):
            return outputs.Record(result or {})
        if action == "rerun-combine":
            # One session runs the combine again; --follow watches the batch until it ended.
            if not follow:
                return outputs.Record(result or {})
            return self.watch(batch_id, parsed, on_update, interval=_interval(parsed.values.get("interval")))
        launched = outputs.batch_from_launch(
            {**result, "total": len(result.get("replicaIds") or result.get("replicas") or [])},
            folder=result.get("folder") if route == "lab" else self._relative(result.get("folder")),
            absolute_folder=result.get("absoluteFolder") if route == "lab" else result.get("folder"),
        )
        on_update(launched)
        if not follow:
            return launched
        return self.watch(
            launched.batch_id, parsed, on_update, interval=_interval(parsed.values.get("interval"))
        )

    def convert(self, parsed: spec.ParsedArgs) -> Any:
        if self.route("convert", parsed) == "lab":
            return outputs.Record(self._lab_call("convert", parsed))
        return outputs.Record(self._cli_json("convert", parsed.argv, accept_failure_result=True))


def _interval(value: Any) -> float:
    if value is None:
        return 2.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0
    if not seconds > 0:
        raise CanfarUsageError(
            f"--interval must be a positive number of seconds, not {value!r}", verb="submit"
        )
    return seconds


def _stuck(status: outputs.BatchStatus) -> bool:
    """An image that cannot be pulled keeps a replica Pending for days: that is an end as well."""
    replicas = status.replicas
    return (
        bool(replicas)
        and any(r.get("state") == "pull-error" for r in replicas)
        and all(r.get("state") == "pull-error" or r.get("state") in outputs.TERMINAL_STATES for r in replicas)
    )


def _abs(folder: Optional[str]) -> Optional[str]:
    """The CLI's folders are relative to a store rooted at '/'."""
    if not folder:
        return None
    return folder if folder.startswith("/") else "/" + folder


def _global_argv(parsed: spec.ParsedArgs) -> List[str]:
    argv: List[str] = []
    for name in ("url", "token", "certificate"):
        if parsed.globals.get(name):
            argv += [f"--{name}", parsed.globals[name]]
    return argv
