"""Configuration of the server half (traitlets), and which Skaha endpoint it resolves to.

Set in ``jupyter_server_config.py`` (``c.CanfarConfig.endpoint = "canfar"``), in
``jupyter_server_config.json`` (``{"CanfarConfig": {"endpoint": "canfar"}}``) or on the command line
(``--CanfarConfig.endpoint=canfar``).
"""

import os
from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from traitlets import Float, List, Unicode
from traitlets.config import Configurable

CANFAR_URL = "https://ws-uv.canfar.net/skaha"


class CanfarConfig(Configurable):
    """jupyterlab-canfar: where Skaha calls from JupyterLab go, and with which credential."""

    endpoint = Unicode(
        "",
        config=True,
        help=(
            "Skaha endpoint: 'local' (the local Skaha-compatible server, started on first use), "
            "'canfar' (" + CANFAR_URL + ") or a Skaha base URL (.../skaha, or .../skaha/v1). "
            "Empty: CANFAR_URL, then the active server of ~/.canfar/config.yaml, then, inside a CANFAR "
            "session, https://$SKAHA_HOSTNAME/skaha, else 'local'."
        ),
    )
    token = Unicode(
        "",
        config=True,
        help="Bearer token for the endpoint. Prefer token_file or CANFAR_TOKEN to keep it out of config files.",
    )
    token_file = Unicode("", config=True, help="Path of a file holding the bearer token (read at each request).")
    certificate = Unicode(
        "",
        config=True,
        help="Path of a PEM proxy certificate (certificate chain and key) used for mutual TLS.",
    )
    ca_certs = Unicode(
        "",
        config=True,
        help="PEM bundle of certificate authorities to trust for the endpoint (empty: the system's).",
    )
    local_state_dir = Unicode(
        "",
        config=True,
        help=(
            "State directory of the local server (its server.json lets a running one be reused). "
            "Empty: the local server's default, $XDG_DATA_HOME/jupyterlab-canfar/local "
            "(~/.local/share/jupyterlab-canfar/local)."
        ),
    )
    local_command = List(
        Unicode(),
        default_value=[],
        config=True,
        help=(
            "Command that runs the canfar-lab CLI, e.g. ['node', '/path/to/bin/canfar-lab.js']; "
            "'local --json --port 0 --state <dir>' is appended. Empty: found next to this package, "
            "as `canfar-lab` on PATH, or in node_modules/jupyterlab-canfar/bin."
        ),
    )
    connect_timeout = Float(20.0, config=True, help="Seconds to wait for a connection to the endpoint.")
    request_timeout = Float(
        600.0,
        config=True,
        help="Seconds a whole proxied request may take (creating a session takes seconds; logs can be large).",
    )
    local_start_timeout = Float(60.0, config=True, help="Seconds to wait for the local server to start.")


@dataclass
class Endpoint:
    """kind: 'local' | 'canfar' | 'custom'. ``api_url`` ends in /v<N> (None for local until started)."""

    kind: str
    url: Optional[str]
    api_url: Optional[str]
    source: str
    problem: Optional[str] = None


def normalize_api_url(url: str) -> str:
    """``.../skaha`` -> ``.../skaha/v1``; a URL already ending in ``/v<digits>`` is used as given."""
    url = url.rstrip("/")
    last = url.rsplit("/", 1)[-1]
    if len(last) > 1 and last[0] == "v" and last[1:].isdigit():
        return url
    return url + "/v1"


def redact(url: str) -> str:
    """A URL fit for messages and logs: without user:password@."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def _env_any_case(env: Mapping[str, str], name: str) -> str:
    # Skaha sets SKAHA_* in current releases and skaha_* in older ones.
    return (env.get(name) or env.get(name.lower()) or "").strip()


def _session_url(env: Mapping[str, str]) -> Optional[str]:
    """Inside a CANFAR session (Skaha sets SKAHA_SESSIONID and SKAHA_HOSTNAME, the platform's host),
    the platform's own Skaha: https://<SKAHA_HOSTNAME>/skaha, the URL its session scripts use."""
    if not _env_any_case(env, "SKAHA_SESSIONID"):
        return None
    host = _env_any_case(env, "SKAHA_HOSTNAME")
    if host and "." in host and all(c.isalnum() or c in ".-" for c in host):
        return f"https://{host}/skaha"
    return CANFAR_URL


def resolve_endpoint(
    configured: str, env: Optional[Mapping[str, str]] = None, config_url: Optional[str] = None
) -> Endpoint:
    env = os.environ if env is None else env
    if configured:
        value, source = configured.strip(), "CanfarConfig.endpoint"
    elif env.get("CANFAR_URL"):
        value, source = env["CANFAR_URL"].strip(), "CANFAR_URL"
    elif config_url:
        value, source = config_url, "~/.canfar/config.yaml"
    elif _session_url(env):
        value, source = _session_url(env), "CANFAR session (SKAHA_HOSTNAME)"
    else:
        value, source = "local", "default"
    if value == "local":
        return Endpoint("local", None, None, source)
    if value == "canfar":
        return Endpoint("canfar", CANFAR_URL, normalize_api_url(CANFAR_URL), source)
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or parts.query or parts.fragment:
        return Endpoint(
            "custom",
            None,
            None,
            source,
            problem=(
                f"{source} is {redact(value)!r}, which is neither 'local', 'canfar' nor an http(s) "
                "Skaha base URL without query (e.g. https://ws-uv.canfar.net/skaha): correct it and restart Jupyter"
            ),
        )
    url = value.rstrip("/")
    api_url = normalize_api_url(url)
    kind = "canfar" if api_url == normalize_api_url(CANFAR_URL) else "custom"
    return Endpoint(kind, url, api_url, source)
