"""The CLI's verbs and flags, read from cli-spec.json (what ``canfar-lab --help --json`` prints, copied
here by ``npm run build:node``), and an argparse parser per verb built from them.

One declaration: a flag added to a CLI verb (src/node/cli, src/batch/submit-options.ts) is accepted by
``%canfar`` and by the Python API after the next build, with no change here.
"""

import argparse
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Optional

from .errors import CanfarUsageError

SPEC_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli-spec.json")

# Verbs only the notebook has (no CLI verb of that name): their usage is written here.
NOTEBOOK_VERBS = {
    "watch": {
        "summary": "follow a batch until every replica has finished (live in JupyterLab)",
        "usage": (
            "Usage: %canfar watch BATCH_ID [--interval S]\n\n"
            "Follow a batch of this notebook's folder until every replica has finished, its status shown\n"
            "in place. The batch keeps running if the cell is interrupted.\n\n"
            "Options:\n"
            "  --interval S   seconds between polls (default 2)\n"
        ),
        "options": {"interval": {"type": "string"}},
    },
}


@lru_cache(maxsize=1)
def load_spec() -> Dict[str, Any]:
    try:
        with open(SPEC_FILE, encoding="utf-8") as handle:
            spec = json.load(handle)
    except (OSError, ValueError) as error:
        raise RuntimeError(
            f"{SPEC_FILE} is missing or unreadable ({error}): reinstall jupyterlab_canfar, or run "
            "`npm run build:node` in a checkout"
        ) from error
    verbs = dict(spec.get("verbs", {}))
    verbs.update(NOTEBOOK_VERBS)
    return {**spec, "verbs": verbs}


def verbs() -> List[str]:
    return sorted(load_spec()["verbs"])


def usage(verb: str) -> str:
    """The verb's usage text, as for the notebook (``%canfar VERB`` instead of ``canfar-lab VERB``)."""
    text = load_spec()["verbs"][verb]["usage"]
    return re.sub(r"\bcanfar-lab\b", "%canfar", text)


def synopsis(verb: str) -> str:
    """The first line of the usage ("Usage: %canfar submit NOTEBOOK -r N [OPTIONS]") and where the rest is."""
    first = usage(verb).strip().splitlines()[0]
    return f"{first}\n`%canfar {verb} --help` lists every option."


def top_usage() -> str:
    spec = load_spec()["verbs"]
    width = max(len(v) for v in spec)
    lines = [
        "Usage: %canfar VERB [ARGS...]   (after %load_ext jupyterlab_canfar)",
        "",
        "The verbs of the canfar-lab command line, run from this notebook:",
    ]
    lines += [f"  {verb.ljust(width)}  {spec[verb]['summary']}" for verb in sorted(spec)]
    lines += [
        "",
        "`%canfar VERB --help` for a verb. $variables and {expressions} are expanded as in any magic.",
        "From Python: `from jupyterlab_canfar import canfar`; canfar.sessions(), canfar.submit(...).",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class ParsedArgs:
    verb: str
    # Option values by the CLI's option name ("dry-run", "replicas"): strings, True, or lists of strings.
    values: Dict[str, Any]
    positionals: List[str]
    # Everything after a bare `--`, untouched.
    rest: List[str] = field(default_factory=list)
    # The global options (--url, --token, --certificate, --json) wherever they were given.
    globals: Dict[str, Any] = field(default_factory=dict)
    # The words as typed (after the verb), for the CLI route, which parses them itself.
    argv: List[str] = field(default_factory=list)
    help: bool = False


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        raise CanfarUsageError(_clean(message), verb=self.prog, usage=synopsis(self.prog))


def _clean(message: str) -> str:
    # argparse's wording, made to read like the CLI's.
    message = re.sub(r"^unrecognized arguments: (.+)$", r"unknown option(s): \1", message)
    message = re.sub(r"^argument (\S+?)(/\S+)?: ", r"\1: ", message)
    return message


def _add(parser: argparse.ArgumentParser, name: str, option: Dict[str, Any]) -> None:
    flags = [f"--{name}"] + ([f"-{option['short']}"] if option.get("short") else [])
    dest = name
    if option.get("type") == "boolean":
        parser.add_argument(*flags, dest=dest, action="store_true", default=None)
    elif option.get("multiple"):
        parser.add_argument(*flags, dest=dest, action="append", default=None)
    else:
        parser.add_argument(*flags, dest=dest, default=None)


@lru_cache(maxsize=None)
def _parser(verb: str) -> _Parser:
    spec = load_spec()
    parser = _Parser(prog=verb, add_help=False, allow_abbrev=False)
    options = dict(spec["verbs"][verb].get("options") or {})
    for name, option in options.items():
        if name != "help":
            _add(parser, name, option)
    for name, option in spec.get("globals", {}).items():
        if name not in options:
            _add(parser, name, option)
    parser.add_argument("-h", "--help", dest="__help", action="store_true", default=False)
    parser.add_argument("__positionals", nargs="*")
    return parser


def parse(verb: str, argv: List[str]) -> ParsedArgs:
    """Parses the words after VERB with the CLI's declaration of VERB; a problem is a CanfarUsageError."""
    spec = load_spec()
    if verb not in spec["verbs"]:
        raise CanfarUsageError(
            f"unknown verb {verb!r}; the verbs are: {', '.join(verbs())}. `%canfar --help` says what each does."
        )
    head, rest = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = _parser(verb)
    namespace = parser.parse_intermixed_args(head)
    values = {k: v for k, v in vars(namespace).items() if not k.startswith("__") and v is not None}
    global_names = set(spec.get("globals", {})) - set(spec["verbs"][verb].get("options") or {})
    globals_ = {k: values.pop(k) for k in list(values) if k in global_names}
    return ParsedArgs(
        verb=verb,
        values=values,
        positionals=list(getattr(namespace, "__positionals")),
        rest=rest,
        globals=globals_,
        argv=list(argv),
        help=bool(getattr(namespace, "__help")),
    )


def to_argv(values: Dict[str, Any]) -> List[str]:
    """Python keyword arguments as CLI flags: dry_run=True -> --dry-run, env={'A': '1'} -> --env A=1,
    param=['x=1', 'y=2'] -> --param x=1 --param y=2. None and False are left out."""
    argv: List[str] = []
    for key, value in values.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, dict):
            for k, v in value.items():
                argv += [flag, f"{k}={v}"]
        elif isinstance(value, (list, tuple)):
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv


def option_names(verb: str) -> Optional[List[str]]:
    return list((load_spec()["verbs"][verb].get("options") or {}).keys())
