"""Where the server half finds the user's CANFAR credential, and what it may say about it.

Discovery order (first found wins), as in ARCHITECTURE.md, after anything set explicitly in the
Jupyter configuration: ``CANFAR_TOKEN``, ``CANFAR_CERTIFICATE``, the active entry of
``~/.canfar/config.yaml`` (the file the official CANFAR Python client writes), ``~/.ssl/cadcproxy.pem``.

A ``Credential`` carries the secret (token text, or the path of the PEM used for mutual TLS) for the
proxy, and a public view (``describe()``) for ``/canfar/api/info``: kind, source, expiry, user. The
secret never leaves this process towards the browser.
"""

import base64
import binascii
import json
import os
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Tuple

try:
    import yaml
except ImportError:  # pragma: no cover - python3-yaml is a dependency; degrade to "no config file"
    yaml = None

CONFIG_FILE = os.path.join("~", ".canfar", "config.yaml")
PROXY_CERTIFICATE = os.path.join("~", ".ssl", "cadcproxy.pem")

RENEW_HINT = (
    "renew it (inside a CANFAR session it is refreshed when a session is created or renewed; "
    "elsewhere run `cadc-get-cert -u <user>` or log in again with the CANFAR client)"
)


@dataclass
class Credential:
    """One credential: ``kind`` is 'token', 'certificate' or 'none'."""

    kind: str
    source: str
    token: Optional[str] = field(default=None, repr=False)
    certificate: Optional[str] = None
    expires: Optional[datetime] = None
    user: Optional[str] = None
    # Why this credential cannot be used (missing file, expired, ...), phrased for the user.
    problem: Optional[str] = None

    def describe(self) -> Dict[str, Any]:
        """The public view: never the token, never the certificate's content."""
        view: Dict[str, Any] = {"kind": self.kind, "source": self.source}
        if self.expires is not None:
            view["expires"] = self.expires.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return view


def _home(home: Optional[str]) -> str:
    return home if home is not None else os.path.expanduser("~")


def _tilde(path: str, home: str) -> str:
    """Show paths under the home directory as ~/..., as the user would type them."""
    if home and (path == home or path.startswith(home.rstrip("/") + "/")):
        return "~" + path[len(home.rstrip("/")) :]
    return path


# --- certificates -------------------------------------------------------------------------------

_cert_cache: Dict[Tuple[str, float, int], Tuple[Optional[datetime], Optional[str]]] = {}


def _cn_of_subject(subject: Any) -> Optional[str]:
    """The user's CN: a proxy certificate appends a numeric CN to its owner's subject."""
    names = []
    for rdn in subject or ():
        for key, value in rdn:
            if key == "commonName":
                names.append(value)
    for name in names:
        if not name.isdigit():
            return name
    return names[0] if names else None


def certificate_facts(path: str) -> Tuple[Optional[datetime], Optional[str]]:
    """(notAfter, user CN) of the first certificate in a PEM file; (None, None) if unreadable.

    Uses the standard library's decoder (no extra dependency); cached by path, mtime and size so a
    certificate refreshed in place is read again.
    """
    try:
        stat = os.stat(path)
    except OSError:
        return None, None
    key = (path, stat.st_mtime, stat.st_size)
    if key in _cert_cache:
        return _cert_cache[key]
    facts: Tuple[Optional[datetime], Optional[str]] = (None, None)
    try:
        decoded = ssl._ssl._test_decode_cert(path)  # type: ignore[attr-defined]
        not_after = decoded.get("notAfter")
        expires = (
            datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), tz=timezone.utc)
            if not_after
            else None
        )
        facts = (expires, _cn_of_subject(decoded.get("subject")))
    except (AttributeError, ValueError, OSError, ssl.SSLError):
        facts = _certificate_facts_cryptography(path)
    _cert_cache[key] = facts
    return facts


def _certificate_facts_cryptography(path: str) -> Tuple[Optional[datetime], Optional[str]]:
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        with open(path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        expires = cert.not_valid_after.replace(tzinfo=timezone.utc)
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        user = next((n for n in names if not str(n).isdigit()), names[0] if names else None)
        return expires, user
    except Exception:  # noqa: BLE001 - any failure means "facts unknown", never an error
        return None, None


def _has_private_key(path: str) -> bool:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read(1 << 20)
    except OSError:
        return False
    return "PRIVATE KEY-----" in text


def certificate_credential(path: str, source: str, now: Optional[datetime] = None) -> Credential:
    cred = Credential(kind="certificate", source=source, certificate=path)
    if not os.path.isfile(path):
        cred.problem = f"{source}: the certificate file {path} does not exist; {RENEW_HINT}"
        return cred
    if not os.access(path, os.R_OK):
        cred.problem = f"{source}: the certificate file {path} is not readable by this Jupyter server"
        return cred
    if not _has_private_key(path):
        cred.problem = (
            f"{source}: {path} holds no private key (the file must hold the certificate AND its key)"
        )
        return cred
    cred.expires, cred.user = certificate_facts(path)
    now = now or datetime.now(timezone.utc)
    if cred.expires is not None and cred.expires <= now:
        cred.problem = (
            f"{source}: the certificate {path} expired at "
            f"{cred.expires.strftime('%Y-%m-%dT%H:%M:%SZ')}; {RENEW_HINT}"
        )
    return cred


# --- tokens -------------------------------------------------------------------------------------


def _jwt_claims(token: str) -> Dict[str, Any]:
    """Claims of a JWT access token (unverified: only used to show expiry and user), else {}."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_credential(
    token: str, source: str, expires: Optional[datetime] = None, now: Optional[datetime] = None
) -> Credential:
    token = token.strip()
    cred = Credential(kind="token", source=source, token=token)
    if not token:
        cred.problem = f"{source} is empty: set it to a CANFAR bearer token"
        return cred
    claims = _jwt_claims(token)
    if expires is None and isinstance(claims.get("exp"), (int, float)):
        expires = datetime.fromtimestamp(claims["exp"], tz=timezone.utc)
    user = claims.get("preferred_username") or claims.get("sub")
    cred.user = user if isinstance(user, str) else None
    cred.expires = expires
    now = now or datetime.now(timezone.utc)
    if expires is not None and expires <= now:
        cred.problem = (
            f"{source}: the token expired at {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}; "
            "get a new one (log in again with the CANFAR client) and restart Jupyter"
        )
    return cred


# --- ~/.canfar/config.yaml ----------------------------------------------------------------------


def read_canfar_config(home: Optional[str] = None) -> Tuple[Optional[dict], Optional[str]]:
    """(parsed config, problem). A missing file is (None, None); a broken one names the problem."""
    path = os.path.join(_home(home), ".canfar", "config.yaml")
    if not os.path.isfile(path):
        return None, None
    if yaml is None:
        return None, f"{path} exists but PyYAML is not installed, so it was ignored"
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        return None, f"{path} could not be read ({error.__class__.__name__}): fix or remove it"
    if not isinstance(data, dict):
        return None, f"{path} is not a YAML mapping: fix or remove it"
    return data, None


def _entries(section: Any, key: str) -> Dict[str, dict]:
    """Entries of a config section by name, whether written as a list (v1: each with ``idp``) or
    as a mapping keyed by name (older files)."""
    found: Dict[str, dict] = {}
    if isinstance(section, list):
        for item in section:
            if isinstance(item, dict) and isinstance(item.get(key), str):
                found[item[key]] = item
    elif isinstance(section, dict):
        for name, item in section.items():
            if isinstance(item, dict):
                found[str(name)] = item
    return found


def _active_names(data: dict) -> Tuple[Optional[str], Optional[str]]:
    active = data.get("active")
    if isinstance(active, str):  # older files: `active: <context name>`
        return active, None
    if isinstance(active, dict):
        auth = active.get("authentication")
        server = active.get("server")
        return (auth if isinstance(auth, str) else None, server if isinstance(server, str) else None)
    return None, None


def config_active_server_url(data: Optional[dict]) -> Optional[str]:
    """The Skaha URL of the active server of ~/.canfar/config.yaml, if it names one."""
    if not data:
        return None
    auth_name, server_ref = _active_names(data)
    servers = _entries(data.get("server") or data.get("servers"), "uri")
    candidates = []
    if server_ref:
        candidates += [s for s in servers.values() if s.get("uri") == server_ref or s.get("name") == server_ref]
        if server_ref in servers:
            candidates.append(servers[server_ref])
    if auth_name:
        candidates += [s for s in servers.values() if s.get("idp") == auth_name]
        context = _entries(data.get("contexts"), "idp").get(auth_name, {})
        if isinstance(context.get("server"), dict):
            candidates.append(context["server"])
    for server in candidates:
        url = server.get("url")
        if isinstance(url, str) and url.strip():
            url = url.strip().rstrip("/")
            version = server.get("version")
            if isinstance(version, str) and version and not url.rsplit("/", 1)[-1].startswith("v"):
                url = f"{url}/{version}"
            return url
    return None


def config_credential(data: dict, home: str) -> Optional[Credential]:
    auth_name, _ = _active_names(data)
    if not auth_name:
        return None
    entries = _entries(data.get("authentication"), "idp")
    entries.update({k: v for k, v in _entries(data.get("contexts"), "idp").items() if k not in entries})
    entry = entries.get(auth_name)
    source = f"~/.canfar/config.yaml (context {auth_name})"
    if entry is None:
        return Credential(
            kind="none",
            source=source,
            problem=f"{source}: the active authentication '{auth_name}' has no entry; log in again",
        )
    mode = entry.get("mode")
    if mode == "x509":
        path = entry.get("path") or os.path.join(home, ".ssl", "cadcproxy.pem")
        return certificate_credential(os.path.expanduser(str(path)), source)
    if mode == "oidc":
        token = entry.get("token")
        access = token.get("access") if isinstance(token, dict) else None
        if not isinstance(access, str) or not access:
            return Credential(
                kind="token", source=source, problem=f"{source} holds no access token; log in again"
            )
        expiry = entry.get("expiry")
        stamp = expiry.get("access") if isinstance(expiry, dict) else None
        expires = (
            datetime.fromtimestamp(stamp, tz=timezone.utc)
            if isinstance(stamp, (int, float)) and stamp > 0
            else None
        )
        return token_credential(access, source, expires=expires)
    return Credential(
        kind="none", source=source, problem=f"{source}: unknown authentication mode {mode!r}"
    )


# --- discovery ----------------------------------------------------------------------------------


def discover(
    *,
    token: str = "",
    token_file: str = "",
    certificate: str = "",
    env: Optional[Mapping[str, str]] = None,
    home: Optional[str] = None,
) -> Credential:
    """The credential to use, or a ``kind='none'`` one whose ``problem`` says what to do.

    A credential named in the Jupyter configuration is used as it is (an unusable one is an error,
    as with a command-line option). Otherwise the first USABLE discovered source wins, like the
    Node client's discoverCredentials(): a stale CANFAR_CERTIFICATE does not hide the fresh proxy
    certificate a CANFAR session provides. When none is usable, the problem lists every source.
    """
    env = os.environ if env is None else env
    home_dir = _home(home)
    if token:
        return token_credential(token, "CanfarConfig.token")
    if token_file:
        path = os.path.expanduser(token_file)
        source = f"CanfarConfig.token_file ({_tilde(path, home_dir)})"
        try:
            with open(path, encoding="utf-8") as handle:
                return token_credential(handle.read(), source)
        except OSError as error:
            return Credential(
                kind="token", source=source, problem=f"{source} cannot be read: {error.strerror}"
            )
    if certificate:
        path = os.path.expanduser(certificate)
        return certificate_credential(path, f"CanfarConfig.certificate ({_tilde(path, home_dir)})")

    config_data, config_problem = read_canfar_config(home_dir)
    proxy = os.path.join(home_dir, ".ssl", "cadcproxy.pem")

    def from_token() -> Optional[Credential]:
        value = env.get("CANFAR_TOKEN", "").strip()
        return token_credential(value, "CANFAR_TOKEN") if value else None

    def from_certificate() -> Optional[Credential]:
        value = env.get("CANFAR_CERTIFICATE", "").strip()
        return certificate_credential(os.path.expanduser(value), "CANFAR_CERTIFICATE") if value else None

    def from_config() -> Optional[Credential]:
        return config_credential(config_data, home_dir) if config_data is not None else None

    def from_proxy() -> Optional[Credential]:
        return certificate_credential(proxy, "~/.ssl/cadcproxy.pem") if os.path.isfile(proxy) else None

    sources = [
        ("CANFAR_TOKEN", from_token),
        ("CANFAR_CERTIFICATE", from_certificate),
        ("~/.canfar/config.yaml", from_config),
        ("~/.ssl/cadcproxy.pem", from_proxy),
    ]
    attempts = []
    for name, find in sources:
        found = find()
        if found is not None and found.problem is None:
            return found
        if found is not None:
            attempts.append(found.problem)
        elif name == "~/.canfar/config.yaml" and config_problem:
            attempts.append(config_problem)
        else:
            attempts.append(f"{name}: not set" if name.isupper() else f"{name}: not found")
    problem = (
        "no usable CANFAR credential (" + "; ".join(attempts) + "). Set CANFAR_TOKEN (a bearer token) or "
        "CANFAR_CERTIFICATE (a PEM proxy certificate with its key) and restart Jupyter, log in with the "
        "CANFAR client (~/.canfar/config.yaml), or put a proxy certificate at ~/.ssl/cadcproxy.pem "
        "(`cadc-get-cert -u <user>`)"
    )
    return Credential(kind="none", source="", problem=problem)
