"""What the notebook commands return and show: plain Python data (lists of dicts, dicts) that also
render as a MIME bundle: ``text/plain`` and ``text/html`` snapshots for every frontend (nbviewer, GitHub,
nbconvert), and for batches and session lists ``application/vnd.canfar.batch+json`` /
``application/vnd.canfar.sessions+json``, which the JupyterLab extension renders as live widgets.

The JSON shapes are the contract of src/batch/notebook-output.ts (the JS kernels emit the same).
"""

import html
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

BATCH_MIME = "application/vnd.canfar.batch+json"
SESSIONS_MIME = "application/vnd.canfar.sessions+json"
OUTPUT_VERSION = 1

FAILED_STATES = {"failed", "launch-failed", "lost", "pull-error", "cancelled", "output-missing"}
TERMINAL_STATES = {"completed", "failed", "launch-failed", "lost", "cancelled", "output-missing"}

Column = Tuple[str, Callable[[Any], Any], bool]  # header, value, right-aligned

TABLE_STYLE = "border-collapse:collapse;font-size:0.9em"
CELL_STYLE = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"
CAPTION_STYLE = "text-align:left;font-weight:bold;padding:2px 0"
# The stacked bar's colours in snapshots (no stylesheet outside JupyterLab): completed, running, pending, failed.
BAR_COLOURS = {"completed": "#388e3c", "running": "#1976d2", "pending": "#bdbdbd", "failed": "#d32f2f"}


def now_iso() -> str:
    when = datetime.now(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def cell_text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())


def text_table(rows: Sequence[Any], columns: Sequence[Column]) -> str:
    """Aligned columns, two spaces apart, the last one unpadded (the CLI's layout)."""
    cells = [[cell_text(value(row)) for _, value, _ in columns] for row in rows]
    widths = [max([len(header)] + [len(r[i]) for r in cells]) for i, (header, _, _) in enumerate(columns)]

    def fmt(values: List[str]) -> str:
        out = []
        for i, v in enumerate(values):
            right = columns[i][2]
            if i == len(values) - 1 and not right:
                out.append(v)
            else:
                out.append(v.rjust(widths[i]) if right else v.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return "\n".join([fmt([c[0] for c in columns])] + [fmt(r) for r in cells])


def html_table(
    rows: Sequence[Any], columns: Sequence[Column], *, kind: str, caption: str = "", empty: str = "none"
) -> str:
    def style(right: bool) -> str:
        return CELL_STYLE + (";text-align:right" if right else "")

    head = "".join(f'<th style="{style(r)}">{html.escape(h)}</th>' for h, _, r in columns)
    body = "\n".join(
        "<tr>"
        + "".join(f'<td style="{style(r)}">{html.escape(cell_text(v(row)))}</td>' for _, v, r in columns)
        + "</tr>"
        for row in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(columns)}" style="{CELL_STYLE}">{html.escape(empty)}</td></tr>'
    cap = f'<caption style="{CAPTION_STYLE}">{html.escape(caption)}</caption>' if caption else ""
    return (
        f'<table data-canfar="{html.escape(kind)}" style="{TABLE_STYLE}">{cap}'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


class Table(list):
    """A list of dicts that shows itself as a table (pandas reads it: ``pd.DataFrame(table)``)."""

    columns: Sequence[Column] = ()
    kind = "table"
    noun = "row(s)"
    empty = "none"

    def caption(self) -> str:
        return f"{len(self)} {self.noun}"

    def extra_bundle(self) -> Dict[str, Any]:
        return {}

    def _repr_mimebundle_(self, include=None, exclude=None):
        rows = list(self)
        text = f"{self.caption()}\n{text_table(rows, self.columns)}" if rows else self.empty
        bundle = {
            "text/plain": text,
            "text/html": html_table(
                rows, self.columns, kind=self.kind, caption=self.caption(), empty=self.empty
            ),
        }
        bundle.update(self.extra_bundle())
        return bundle

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


def _get(key: str) -> Callable[[Dict[str, Any]], Any]:
    return lambda row: row.get(key)


class SessionList(Table):
    """Sessions (``ps``, ``sessions()``, ``info``), as ``canfar-lab ps --json`` gives them."""

    kind = "sessions"
    noun = "session(s)"
    empty = "no sessions"
    columns = (
        ("ID", _get("id"), False),
        ("NAME", _get("name"), False),
        ("KIND", _get("type"), False),
        ("STATUS", _get("status"), False),
        ("STARTED", lambda s: (s.get("startTime") or "").replace(".000Z", "Z"), False),
        ("CORES", lambda s: s.get("requestedCPUCores", s.get("cpuCoresInUse")), True),
        ("RAM GB", lambda s: s.get("requestedRAM", s.get("ramInUse")), True),
        ("IMAGE", _get("image"), False),
    )

    def __init__(self, rows: Iterable[Dict[str, Any]] = (), listed_at: Optional[str] = None):
        super().__init__(rows)
        self.listed_at = listed_at or now_iso()

    def extra_bundle(self) -> Dict[str, Any]:
        return {
            SESSIONS_MIME: {"version": OUTPUT_VERSION, "sessions": list(self), "listedAt": self.listed_at}
        }


class EventList(Table):
    kind = "events"
    noun = "event(s)"
    empty = "no events"
    columns = (
        ("TYPE", _get("type"), False),
        ("REASON", _get("reason"), False),
        ("FIRST", _get("firstTime"), False),
        ("LAST", _get("lastTime"), False),
        ("MESSAGE", _get("message"), False),
    )


class ImageList(Table):
    kind = "images"
    noun = "image(s)"
    empty = "no images"
    columns = (("IMAGE", _get("id"), False), ("KINDS", lambda i: ",".join(i.get("types") or []), False))


class Outcomes(Table):
    """delete, prune, renew: one row per session."""

    kind = "outcomes"
    noun = "session(s)"
    empty = "nothing matched"
    columns = (
        ("ID", _get("id"), False),
        ("NAME", _get("name"), False),
        ("DONE", lambda r: r.get("deleted", r.get("renewed")), False),
    )


class Record(dict):
    """A dict that shows itself as a two-column table (stats, context)."""

    kind = "record"
    rows: Callable[[Dict[str, Any]], List[Tuple[str, Any]]] = staticmethod(lambda d: list(d.items()))

    def _repr_mimebundle_(self, include=None, exclude=None):
        rows = [{"k": k, "v": v} for k, v in type(self).rows(self)]
        columns = (("", _get("k"), False), ("", _get("v"), False))
        return {
            "text/plain": "\n".join(f"{r['k']}: {cell_text(r['v'])}" for r in rows),
            "text/html": html_table(rows, columns, kind=self.kind),
        }

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


class Stats(Record):
    kind = "stats"
    rows = staticmethod(
        lambda d: [
            (
                "cores requested / available / max per session",
                _triple(d.get("cores", {}), ("requested", "available", "maxPerSession")),
            ),
            (
                "RAM GB requested / available / max per session",
                _triple(d.get("ram", {}), ("requestedGB", "availableGB", "maxPerSessionGB")),
            ),
        ]
    )


def _triple(d: Dict[str, Any], keys: Sequence[str]) -> str:
    return " / ".join(cell_text(d.get(k)) for k in keys)


class PlatformContext(Record):
    kind = "context"
    rows = staticmethod(
        lambda d: [
            ("endpoint", f"{d.get('endpoint')} ({d.get('url')})"),
            ("credential", " ".join(str(v) for v in (d.get("credential") or {}).values())),
            ("cores", ", ".join(map(str, ((d.get("context") or {}).get("cores") or {}).get("options", [])))),
            (
                "RAM GB",
                ", ".join(map(str, ((d.get("context") or {}).get("memoryGB") or {}).get("options", []))),
            ),
            ("GPUs", ", ".join(map(str, ((d.get("context") or {}).get("gpus") or {}).get("options", [])))),
            ("registries", ", ".join(d.get("repositories") or [])),
        ]
    )


class LogText:
    """A session's whole log (the JS kernels' LogText): ``.text``, ``.lines``; ``str(log)`` is the text."""

    def __init__(self, session_id: str, text: str):
        self.id = session_id
        self.text = text

    @property
    def lines(self) -> List[str]:
        return self.text.splitlines()

    def __str__(self) -> str:
        return self.text

    def __contains__(self, part: str) -> bool:
        return part in self.text

    def __eq__(self, other: Any) -> bool:
        return self.text == (other.text if isinstance(other, LogText) else other)

    def __repr__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {
            "text/plain": self.text,
            "text/html": f'<pre data-canfar="log" style="white-space:pre-wrap;margin:0">{html.escape(self.text)}</pre>',
        }


# ---------------------------------------------------------------------------------------------------
# batches


def counts_of(replicas: Sequence[Dict[str, Any]]) -> Dict[str, int]:
    counts = {k: 0 for k in ("total", "launching", "pending", "running", "completed", "failed", "cancelled")}
    for r in replicas:
        counts["total"] += 1
        state = r.get("state")
        if state in ("completed",):
            counts["completed"] += 1
        elif state in ("running",):
            counts["running"] += 1
        elif state in ("cancelled",):
            counts["cancelled"] += 1
        elif state in FAILED_STATES:
            counts["failed"] += 1
        elif state == "launching":
            counts["launching"] += 1
        else:
            counts["pending"] += 1
    return counts


def summary(counts: Dict[str, int]) -> str:
    """ "2/4 done, 1 running, 1 pending, 1 failed" (the CLI's words)."""
    total = counts.get("total", 0)
    done = counts.get("completed", 0) + counts.get("failed", 0) + counts.get("cancelled", 0)
    parts = [f"{done}/{total} done", f"{counts.get('running', 0)} running"]
    parts.append(f"{counts.get('pending', 0) + counts.get('launching', 0) + counts.get('queued', 0)} pending")
    if counts.get("failed"):
        parts.append(f"{counts['failed']} failed")
    if counts.get("cancelled"):
        parts.append(f"{counts['cancelled']} cancelled")
    return ", ".join(parts)


def replica_detail(r: Dict[str, Any]) -> str:
    """Why a replica is not fine, in one phrase (the CLI's describeFailure, shortened)."""
    if r.get("state") in ("completed", "running", "pending", "launching", "queued", None):
        return ""
    failure = r.get("failure") or {}
    parts = []
    if failure.get("cell") is not None:
        parts.append(f"cell {failure['cell']}")
    if failure.get("error"):
        parts.append(str(failure["error"]))
    elif r.get("message"):
        parts.append(str(r["message"]))
    elif r.get("exitCode") not in (None, 0):
        parts.append(f"exit code {r['exitCode']}")
    return ": ".join(parts)


REPLICA_COLUMNS: Sequence[Column] = (
    ("REPLICA", _get("replica"), True),
    ("NAME", _get("name"), False),
    ("SESSION", _get("sessionId"), False),
    ("STATE", _get("state"), False),
    ("EXIT", _get("exitCode"), True),
    ("TIME", lambda r: None if r.get("durationSeconds") is None else f"{r['durationSeconds']}s", True),
    ("DETAIL", _get("detail"), False),
)

# The HTML snapshot lists every replica up to this many; beyond, only those that did not complete.
MAX_ROWS = 64


class BatchStatus(dict):
    """One batch: the data of ``application/vnd.canfar.batch+json`` (see src/batch/notebook-output.ts).

    In JupyterLab with the CANFAR extension it renders as a live widget (stacked bar, replica grid, state
    counts, failures) that keeps following the batch, also after a reload; elsewhere as its snapshot.
    """

    @property
    def batch_id(self) -> str:
        return self["batchId"]

    @property
    def done(self) -> bool:
        return self.get("phase") in ("done", "failed")

    @property
    def ok(self) -> bool:
        counts = self.get("counts") or {}
        combine = self.get("combine")
        return (
            self.get("phase") == "done"
            and counts.get("completed") == counts.get("total")
            and (not combine or combine.get("state") == "completed")
        )

    @property
    def replicas(self) -> List[Dict[str, Any]]:
        return list(self.get("replicas") or [])

    def failures(self) -> List[Dict[str, Any]]:
        return [r for r in self.replicas if r.get("state") in FAILED_STATES]

    def summary_line(self) -> str:
        name = f" ({self['name']})" if self.get("name") else ""
        if self.get("phase") == "failed" and self.get("error"):
            return f"batch {self['batchId']}{name}: not launched: {self['error'].get('message', '')}"
        if self.get("phase") == "submitting":
            launched = self.get("launched")
            progress = f": {launched}/{self.get('total')} launched" if launched is not None else ""
            return f"batch {self['batchId']}{name}: submitting{progress}"
        line = f"batch {self['batchId']}{name}: {summary(self.get('counts') or counts_of(self.replicas))}"
        combine = self.get("combine")
        if combine:
            exit_code = f", exit {combine['exitCode']}" if combine.get("exitCode") is not None else ""
            why = f": {combine['message']}" if combine.get("message") else ""
            line += f"; combine {combine.get('state')}{exit_code}{why}"
        return line

    def _bar_html(self) -> str:
        counts = self.get("counts") or {}
        total = counts.get("total") or 0
        if not total:
            return ""
        parts = [
            ("completed", counts.get("completed", 0)),
            ("running", counts.get("running", 0)),
            ("pending", counts.get("pending", 0) + counts.get("launching", 0) + counts.get("queued", 0)),
            ("failed", counts.get("failed", 0) + counts.get("cancelled", 0)),
        ]
        segments = "".join(
            f'<div title="{n} {k}" style="width:{100 * n / total:.3f}%;background:{BAR_COLOURS[k]}"></div>'
            for k, n in parts
            if n
        )
        return (
            '<div data-canfar="bar" style="display:flex;height:8px;max-width:480px;border-radius:2px;'
            f'overflow:hidden;background:#eee;margin:4px 0">{segments}</div>'
        )

    def _rows(self) -> List[Dict[str, Any]]:
        rows = [{**r, "detail": replica_detail(r)} for r in self.replicas]
        if len(rows) > MAX_ROWS:
            rows = [r for r in rows if r.get("state") != "completed"][:MAX_ROWS]
        return rows

    # Set when the batch was already shown live above (canfar.watch): the value then shows as one line.
    shown_live = False

    def _repr_mimebundle_(self, include=None, exclude=None):
        line = self.summary_line()
        if self.shown_live:
            return {
                "text/plain": line,
                "text/html": f'<p data-canfar="batch-summary">{html.escape(line)}</p>',
            }
        where = self.get("absoluteFolder") or self.get("folder") or ""
        notebook = f" · {self['notebook']}" if self.get("notebook") else ""
        error = self.get("error") or {}
        text = [line + notebook]
        if where:
            text.append(f"folder {where}")
        text += [f"  - {p}" for p in error.get("problems") or []]
        rows = self._rows()
        if rows:
            text.append(text_table(rows, REPLICA_COLUMNS))
        html_parts = [
            f'<div data-canfar="batch-snapshot"><p style="margin:0;font-weight:bold">{html.escape(line + notebook)}</p>'
        ]
        html_parts.append(self._bar_html())
        if error.get("problems"):
            html_parts.append(
                "<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in error["problems"]) + "</ul>"
            )
        if rows:
            omitted = len(self.replicas) - len(rows)
            caption = f"{omitted} completed replica(s) not listed" if omitted > 0 else ""
            html_parts.append(html_table(rows, REPLICA_COLUMNS, kind="batch", caption=caption))
        if where:
            html_parts.append(f'<p style="margin:0;font-size:0.85em">folder {html.escape(where)}</p>')
        html_parts.append("</div>")
        return {BATCH_MIME: dict(self), "text/plain": "\n".join(text), "text/html": "".join(html_parts)}

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


def replica_snapshot(r: Dict[str, Any]) -> Dict[str, Any]:
    keep = (
        "replica",
        "name",
        "sessionId",
        "state",
        "exitCode",
        "durationSeconds",
        "message",
        "failure",
        "attempt",
    )
    out = {k: r[k] for k in keep if r.get(k) is not None}
    return out


def batch_from_view(
    view: Dict[str, Any],
    *,
    folder: Optional[str] = None,
    absolute_folder: Optional[str] = None,
    request: Optional[str] = None,
) -> BatchStatus:
    """A monitor view (``canfar-lab batches ID --json``, or the extension's) as batch output data."""
    replicas = [replica_snapshot(r) for r in view.get("replicas") or []]
    counts = view.get("counts") or counts_of(replicas)
    done = bool(view.get("done"))
    manifest = view.get("manifest") or {}
    data: Dict[str, Any] = {
        "version": OUTPUT_VERSION,
        "batchId": view.get("batchId"),
        "name": view.get("name") or manifest.get("name"),
        "notebook": view.get("notebook") or (manifest.get("notebook") or {}).get("path"),
        "phase": "done" if done else "running",
        "counts": counts,
        "replicas": replicas,
        "combine": view.get("combine"),
        "at": now_iso(),
    }
    if folder is not None:
        data["folder"] = folder
    if absolute_folder:
        data["absoluteFolder"] = absolute_folder
    if request:
        data["request"] = request
    return BatchStatus({k: v for k, v in data.items() if v is not None})


def batch_from_launch(
    submitted: Dict[str, Any],
    *,
    folder: Optional[str] = None,
    absolute_folder: Optional[str] = None,
    request: Optional[str] = None,
) -> BatchStatus:
    """What ``canfar-lab submit --json`` (or the extension) says right after launching."""
    replicas = []
    for r in submitted.get("replicas") or []:
        launch = r.get("launch") or {}
        state = (
            "pending"
            if launch.get("state") == "launched"
            else ("launch-failed" if launch.get("state") == "failed" else "cancelled")
        )
        row = {"replica": r.get("replica"), "name": r.get("name"), "state": state}
        if launch.get("sessionId"):
            row["sessionId"] = launch["sessionId"]
        if launch.get("message"):
            row["message"] = launch["message"]
        replicas.append(row)
    data: Dict[str, Any] = {
        "version": OUTPUT_VERSION,
        "batchId": submitted.get("batchId"),
        "name": submitted.get("name"),
        "notebook": submitted.get("notebook"),
        "phase": "launched",
        "counts": {**counts_of(replicas), "total": max(len(replicas), int(submitted.get("total") or 0))},
        "replicas": replicas,
        "launched": submitted.get("launched"),
        "total": submitted.get("total", len(replicas)),
        "at": now_iso(),
    }
    if submitted.get("warnings"):
        data["warnings"] = submitted["warnings"]
    if folder is not None:
        data["folder"] = folder
    if absolute_folder:
        data["absoluteFolder"] = absolute_folder
    if request:
        data["request"] = request
    return BatchStatus({k: v for k, v in data.items() if v is not None})


class BatchList(Table):
    kind = "batches"
    noun = "batch(es)"
    empty = "no batches"
    columns = (
        ("BATCH", _get("batchId"), False),
        ("NAME", _get("name"), False),
        ("N", lambda b: (b.get("counts") or {}).get("total"), True),
        (
            "PENDING",
            lambda b: (b.get("counts") or {}).get("pending", 0) + (b.get("counts") or {}).get("launching", 0),
            True,
        ),
        ("RUNNING", lambda b: (b.get("counts") or {}).get("running"), True),
        (
            "DONE",
            lambda b: "{}/{}".format(
                sum((b.get("counts") or {}).get(k, 0) for k in ("completed", "failed", "cancelled")),
                (b.get("counts") or {}).get("total", 0),
            ),
            True,
        ),
        ("FAILED", lambda b: (b.get("counts") or {}).get("failed"), True),
        ("NOTEBOOK", _get("notebook"), False),
    )
