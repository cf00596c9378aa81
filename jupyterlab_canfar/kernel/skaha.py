"""Skaha v1 answers read into the same plain data the CLI's ``--json`` gives (src/skaha/schemas.ts and
event-table.ts are the reference; test_kernel_rest.py checks both routes give equal data).

Only what the kernel's direct route (through the Jupyter server half) needs: sessions, platform stats and
the events table. Numbers are numbers (RAM in decimal GB), times stay ISO strings, old status names are
mapped (``Succeeded`` is ``Completed``).
"""

import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

NO_VALUE = {"", "<none>", "none", "null", "<nil>", "n/a"}
QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)$")
BYTES = {
    "": 1,
    "m": 1e-3,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "GB": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
STATUS = {
    "pending": "Pending",
    "running": "Running",
    "completed": "Completed",
    "succeeded": "Completed",
    "failed": "Failed",
    "terminating": "Terminating",
    "error": "Error",
    "unknown": "Unknown",
}


def _number(text: str) -> Any:
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _round6(value: float) -> Any:
    return _number(repr(round(value * 1e6) / 1e6))


def ram_gb(value: Any) -> Optional[Any]:
    """RAM in decimal GB: a bare number is GB already; a Kubernetes quantity is converted from bytes."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if not isinstance(value, str) or value.strip().lower() in NO_VALUE:
        return None
    match = QUANTITY.match(value.strip())
    if not match:
        return None
    amount, unit = float(match.group(1)), match.group(2)
    if unit == "":
        return _number(match.group(1))
    factor = BYTES.get(unit)
    return None if factor is None else _round6(amount * factor / 1e9)


def cores(value: Any) -> Optional[Any]:
    """CPU cores: "2", 2, "500m" (millicores)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if not isinstance(value, str) or value.strip().lower() in NO_VALUE:
        return None
    match = QUANTITY.match(value.strip())
    if not match:
        return None
    if match.group(2) == "":
        return _number(match.group(1))
    if match.group(2) == "m":
        return _round6(float(match.group(1)) / 1000)
    return None


def status(value: Any) -> str:
    return STATUS.get(value.strip().lower(), "Unknown") if isinstance(value, str) else "Unknown"


def _text(value: Any) -> Optional[str]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return None if value.lower() in NO_VALUE else value


def _iso(value: Any) -> Optional[str]:
    """An ISO time as JavaScript's toISOString() writes it (UTC, milliseconds), or None."""
    text = _text(value)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Like JavaScript's Date: a time without offset is local time.
    when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _bool(value: Any) -> Optional[bool]:
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(value) if isinstance(value, str) else None


def session(raw: Dict[str, Any]) -> Dict[str, Any]:
    """One session as ``canfar-lab ps --json`` gives it."""
    out: Dict[str, Any] = {
        "id": raw.get("id"),
        "image": _text(raw.get("image")) or "",
        "type": _text(raw.get("type")) or "headless",
        "status": status(raw.get("status")),
        "name": _text(raw.get("name")) or "",
    }
    groups = raw.get("supplementalGroups")
    optional = {
        "userid": _text(raw.get("userid")),
        "startTime": _iso(raw.get("startTime")),
        "expiryTime": _iso(raw.get("expiryTime")),
        "connectURL": _text(raw.get("connectURL")),
        "requestedRAM": ram_gb(raw.get("requestedRAM")),
        "requestedCPUCores": cores(raw.get("requestedCPUCores")),
        "requestedGPUCores": cores(raw.get("requestedGPUCores")),
        "ramInUse": ram_gb(raw.get("ramInUse")),
        "cpuCoresInUse": cores(raw.get("cpuCoresInUse", raw.get("coresInUse"))),
        "isFixedResources": _bool(raw.get("isFixedResources")),
        "runAsUID": _text(raw.get("runAsUID")),
        "runAsGID": _text(raw.get("runAsGID")),
        "supplementalGroups": (
            [int(g) for g in groups if str(g).strip().lstrip("-").isdigit()]
            if isinstance(groups, list)
            else None
        ),
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def stats(raw: Dict[str, Any]) -> Dict[str, Any]:
    """``GET /session?view=stats`` as ``canfar-lab stats --json`` gives it."""
    c = raw.get("cores") or {}
    r = raw.get("ram") or {}
    most = c.get("maxCPUCores") or c.get("maxCores") or {}
    return {
        "cores": {
            "requested": cores(c.get("requestedCPUCores", c.get("requestedCores"))) or 0,
            "available": cores(c.get("cpuCoresAvailable", c.get("coresAvailable"))) or 0,
            "maxPerSession": cores(most.get("cpuCores", most.get("cores"))) or 0,
        },
        "ram": {
            "requestedGB": ram_gb(r.get("requestedRAM")) or 0,
            "availableGB": ram_gb(r.get("ramAvailable")) or 0,
            "maxPerSessionGB": ram_gb((r.get("maxRAM") or {}).get("ram")) or 0,
        },
    }


EVENT_COLUMNS = ["TYPE", "REASON", "MESSAGE", "FIRST-TIME", "LAST-TIME"]


def _blank(value: Optional[str]) -> Optional[str]:
    return None if value is None or value == "" or re.match(r"^<(none|nil|unknown)>$", value) else value


def events(text: str) -> List[Dict[str, Any]]:
    """The events table (``?view=events``, fixed-width text) as rows; ``<none>`` gives []."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None or re.match(r"^<none>$", lines[header_index].strip(), re.I):
        return []
    header = lines[header_index]
    starts: Optional[List[int]] = []
    at = 0
    for name in EVENT_COLUMNS:
        found = header.find(name, at)
        if found < 0:
            starts = None
            break
        starts.append(found)
        at = found + len(name)
    rows = []
    for line in lines[header_index + 1 :]:
        if not line.strip():
            continue
        if starts and all(s >= len(line) or line[s - 1] == " " for s in starts[1:]):
            fields = [
                line[s : (starts[i + 1] if i + 1 < len(starts) else len(line))].strip()
                for i, s in enumerate(starts)
            ]
        else:
            tokens = line.split()
            if len(tokens) < 5:
                fields = [
                    tokens[0] if tokens else "",
                    tokens[1] if len(tokens) > 1 else "",
                    " ".join(tokens[2:]),
                    "",
                    "",
                ]
            else:
                fields = [tokens[0], tokens[1], " ".join(tokens[2:-2]), tokens[-2], tokens[-1]]
        row: Dict[str, Any] = {"type": fields[0], "reason": fields[1], "message": fields[2]}
        if _blank(fields[3]) is not None:
            row["firstTime"] = fields[3]
        if _blank(fields[4]) is not None:
            row["lastTime"] = fields[4]
        rows.append(row)
    return rows
