"""HTTP handlers under ``<base_url>/canfar/api/``.

- ``GET|POST|DELETE skaha/v1/(session|session/<id>|context|image|repository)[?query]``: forwarded to
  the configured Skaha endpoint with the server-side credential, the response streamed back.
  Nothing else is forwarded: this is not an open proxy.
- ``GET info``: endpoint, user and the KIND of credential in use (never the credential).
- ``kernel/...``: the relay between a notebook's kernel and the JupyterLab extension (relay.py).
- anything else under ``canfar/api/``: 404 with a text message.
"""

import json
import re
import ssl
from typing import Any, Dict, Optional

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import httputil, web
from tornado.httpclient import HTTPRequest

from ._version import __version__
from .config import redact
from .service import CanfarService, Target
from .upstream import UpstreamTimeout, client_ssl_context, exchange

try:  # jupyter_server >= 2 (and late 1.x): authorization on top of authentication
    from jupyter_server.auth.decorator import authorized
except ImportError:  # pragma: no cover - older jupyter_server: authentication only

    def authorized(method):
        return method


AUTH_RESOURCE = "canfar"
USER_AGENT = f"jupyterlab-canfar/{__version__} (Jupyter server half)"

# The Skaha v1 calls the browser may make, matched on the RAW request path (before any percent
# decoding), so '..', '%2F', '//' and friends never match. Session ids are [a-z][a-z0-9]{7} on
# CANFAR; the local server's may differ, hence the looser character class (still no '.', no '%').
ALLOWED_PATH = re.compile(r"v1/(?:session(?:/[A-Za-z0-9][A-Za-z0-9_-]{0,127})?|context|image|repository)")
ALLOWED_HELP = "/canfar/api/skaha/v1/session, /session/<id>, /context, /image, /repository"

# Request headers the browser may pass on. Never its cookies nor its Authorization header: those
# carry the Jupyter token, which is not the upstream's business.
FORWARDED_REQUEST_HEADERS = ("Accept", "Content-Type", "X-Skaha-Registry-Auth")
# Response headers passed back. Never Set-Cookie, WWW-Authenticate, Authorization or Location.
FORWARDED_RESPONSE_HEADERS = (
    "Content-Type",
    "Retry-After",
    "Cache-Control",
    "Expires",
    "Last-Modified",
    "ETag",
    "Content-Language",
    "Content-Disposition",
)


def unreachable_message(target: Target, shown: str, error: BaseException) -> str:
    # tornado reports a connection the endpoint closed (a refused client certificate, in TLS 1.3)
    # as "Stream is closed"; the reason, when known, is underneath.
    error = getattr(error, "real_error", None) or error
    what = f"{error.__class__.__name__}: {error}" if str(error) else error.__class__.__name__
    client = target.credential
    # An endpoint refusing the client certificate may also just cut the connection (TLS 1.3: the
    # refusal comes after the handshake, and the reset can arrive before the alert; seen with Python
    # 3.13 and OpenSSL 3.5).
    cut = isinstance(error, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)) or (
        error.__class__.__name__ == "StreamClosedError"
    )
    if isinstance(error, ssl.SSLError) or "SSL" in what or "certificate" in what.lower():
        which = (
            f"the client certificate {client.certificate} (from {client.source}) is valid and "
            "accepted by the endpoint"
            if client.kind == "certificate"
            else "the endpoint accepts TLS from this machine"
        )
        advice = (
            "a TLS problem: check that the endpoint's certificate is trusted "
            f"(c.CanfarConfig.ca_certs) and that {which}"
        )
    elif cut and client.kind == "certificate" and shown.startswith("https:"):
        advice = (
            "the endpoint cut the connection, which is how it may refuse a client certificate (a TLS "
            f"problem): check that the client certificate {client.certificate} (from {client.source}) is "
            "valid and accepted by the endpoint, and that the endpoint's certificate is trusted "
            "(c.CanfarConfig.ca_certs); if it is, check the network and the endpoint "
            f"(c.CanfarConfig.endpoint or CANFAR_URL, now {target.endpoint.source}), then try again"
        )
    elif target.endpoint.kind == "local":
        advice = "the local server may have stopped: reload to start it again"
    else:
        advice = (
            "check the network and the endpoint (c.CanfarConfig.endpoint or CANFAR_URL, "
            f"now {target.endpoint.source}), then try again"
        )
    return f"cannot reach the Skaha endpoint {shown} ({what}): {advice}."


class CanfarHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    # APIHandler.finish() forces Content-Type: application/json. Proxied answers and our text
    # errors keep their own type, so this flag skips that override.
    _own_content_type = False

    @property
    def service(self) -> CanfarService:
        return self.settings["jupyterlab_canfar"]

    def finish(self, *args, **kwargs):
        if not self._own_content_type:
            return super().finish(*args, **kwargs)
        self.update_api_activity()
        return super(APIHandler, self).finish(*args, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Unexpected failures: a text message, never a traceback (it could show configuration)."""
        error = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(error, web.HTTPError):
            message = error.log_message or error.reason or httputil.responses.get(status_code, "Error")
        elif error is not None:
            message = (
                f"internal error in the CANFAR server half ({error.__class__.__name__}); "
                "the Jupyter server log has the details"
            )
        else:
            message = httputil.responses.get(status_code, "Error")
        self.text_error(status_code, message)

    def text_error(self, status: int, message: str, reason: Optional[str] = None) -> None:
        """Errors are text/plain, like Skaha's own, so the browser client reads them the same way."""
        self._own_content_type = True
        self.clear()
        self.set_status(status, reason)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(message.rstrip("\n") + "\n")


class ProxyHandler(CanfarHandler):
    def initialize(self) -> None:
        self._headers_sent = False
        self._client_gone = False

    @web.authenticated
    @authorized
    async def get(self, _path: str) -> None:
        await self._proxy()

    @web.authenticated
    @authorized
    async def post(self, _path: str) -> None:
        await self._proxy()

    @web.authenticated
    @authorized
    async def delete(self, _path: str) -> None:
        await self._proxy()

    def on_connection_close(self) -> None:
        self._client_gone = True

    def _suffix(self) -> Optional[str]:
        prefix = url_path_join(self.base_url, "canfar/api/skaha/")
        raw = self.request.path
        if not raw.startswith(prefix):
            return None
        suffix = raw[len(prefix) :]
        # The browser always speaks v1; the endpoint's own API base (…/v1) replaces that prefix.
        return suffix[len("v1/") :] if ALLOWED_PATH.fullmatch(suffix) else None

    async def _proxy(self) -> None:
        suffix = self._suffix()
        if suffix is None:
            self.text_error(
                404,
                f"{self.request.path} is not a Skaha call this server forwards. "
                f"Forwarded: {ALLOWED_HELP} (GET, POST, DELETE).",
            )
            return
        target = await self.service.resolve()
        if target.error:
            self.text_error(target.status, target.error)
            return
        url = f"{target.api_url.rstrip('/')}/{suffix}"
        if self.request.query:
            url += "?" + self.request.query
        await self._forward(target, url)

    def _upstream_headers_and_tls(self, target: Target):
        headers = {"User-Agent": USER_AGENT}
        for name in FORWARDED_REQUEST_HEADERS:
            value = self.request.headers.get(name)
            if value is not None:
                headers[name] = value
        credential = target.credential
        client_pem = None
        if credential.kind == "token" and credential.token:
            headers["Authorization"] = f"Bearer {credential.token}"
        elif credential.kind == "certificate" and credential.certificate:
            client_pem = credential.certificate
        return headers, client_pem

    async def _forward(self, target: Target, url: str) -> None:
        config = self.service.config
        shown = redact(url.split("?", 1)[0])
        headers, client_pem = self._upstream_headers_and_tls(target)
        method = self.request.method
        try:
            tls = (
                client_ssl_context(ca_certs=config.ca_certs, client_pem=client_pem)
                if url.startswith("https:")
                else None
            )
            await exchange(
                url,
                method=method,
                headers=headers,
                body=(self.request.body or b"") if method == "POST" else None,
                ssl_context=tls,
                connect_timeout=config.connect_timeout,
                request_timeout=config.request_timeout,
                on_headers=self._send_headers,
                on_chunk=self._send_chunk,
                client_gone=lambda: self._client_gone,
            )
        except UpstreamTimeout as error:
            self._fail(
                504,
                f"{shown} did not answer within the time allowed ({error}). The service may be busy: "
                "try again, or raise c.CanfarConfig.request_timeout.",
            )
            return
        except Exception as error:  # noqa: BLE001 - every failure becomes a message for the user
            if self._client_gone:
                self.log.info("canfar: the browser left; the request to %s was abandoned", shown)
                return
            self._fail(502, unreachable_message(target, shown, error))
            return
        if self._client_gone:
            return
        self.finish()

    def _fail(self, status: int, message: str) -> None:
        self.log.warning("canfar: %s", message)
        if self._headers_sent:
            # The answer has started: the only honest signal left is to cut the connection.
            if self.request.connection is not None:
                self.request.connection.close()
            return
        self.text_error(status, message)

    def _send_headers(self, code: int, reason: Optional[str], headers: httputil.HTTPHeaders):
        """Status and the allowed headers of the endpoint's answer; the flush is awaited upstream."""
        self._own_content_type = True
        self.clear()
        self.set_status(code, reason or httputil.responses.get(code, "Unknown"))
        self.clear_header("Content-Type")
        for name in FORWARDED_RESPONSE_HEADERS:
            value = headers.get(name)
            if value is not None:
                self.set_header(name, value)
        self._headers_sent = True
        return self.flush()

    def _send_chunk(self, chunk: bytes):
        # Returning the flush makes tornado read the next piece from the endpoint only once this
        # one has gone to the browser: memory stays bounded however large the log.
        self.write(chunk)
        return self.flush()


class InfoHandler(CanfarHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        target = await self.service.resolve()
        info: Dict[str, Any] = {
            "endpoint": target.endpoint.kind,
            # Always a string (the panel parses it as one): empty when not known yet.
            "url": redact(target.url) if target.url else "",
            "user": target.user,
            "credential": target.credential.describe(),
            "ok": target.error is None,
            "version": __version__,
        }
        if target.error is None and self.get_argument("check", "true") != "false":
            problem = await self._check(target)
            if problem:
                info["ok"], info["error"] = False, problem
        elif target.error:
            info["error"] = target.error
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(info))

    async def _check(self, target: Target) -> Optional[str]:
        """One cheap authenticated call (GET /context), so the panel can say what is wrong at start."""
        shown = redact(target.api_url.rstrip("/") + "/context")
        headers = {"User-Agent": USER_AGENT}
        options: Dict[str, Any] = {}
        credential = target.credential
        if credential.kind == "token":
            headers["Authorization"] = f"Bearer {credential.token}"
        elif credential.kind == "certificate":
            options["client_cert"] = options["client_key"] = credential.certificate
        if self.service.config.ca_certs:
            options["ca_certs"] = self.service.config.ca_certs
        request = HTTPRequest(
            target.api_url.rstrip("/") + "/context",
            headers=headers,
            connect_timeout=min(self.service.config.connect_timeout, 10),
            request_timeout=15,
            follow_redirects=False,
            **options,
        )
        try:
            response = await self.service.http.fetch(request, raise_error=False)
        except Exception as error:  # noqa: BLE001 - every failure is reported, none is fatal
            return unreachable_message(target, shown, error)
        if response.code in (401, 403):
            body = (response.body or b"").decode("utf-8", "replace").strip()[:300]
            return (
                f"{shown} refused the credential from {credential.source} ({response.code}"
                f"{': ' + body if body else ''}): renew it or use another one"
            )
        if response.code >= 400:
            body = (response.body or b"").decode("utf-8", "replace").strip()[:300]
            return f"{shown} answered {response.code}{': ' + body if body else ''}"
        return None


class NotFoundHandler(CanfarHandler):
    @web.authenticated
    def get(self, _path: str) -> None:
        self._not_found()

    post = put = patch = delete = get

    def _not_found(self) -> None:
        self.text_error(
            404,
            f"{self.request.path} is not part of the CANFAR API of this server. "
            f"Known: /canfar/api/info and {ALLOWED_HELP}.",
        )


def setup_handlers(web_app, service: CanfarService) -> None:
    from .relay import Relay, relay_handlers

    web_app.settings["jupyterlab_canfar"] = service
    web_app.settings["jupyterlab_canfar_relay"] = Relay()
    base_url = web_app.settings["base_url"]
    api = url_path_join(base_url, "canfar/api")
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(api, "info"), InfoHandler),
            (url_path_join(api, "skaha/(.*)"), ProxyHandler),
            # The %canfar magic's way to the JupyterLab extension (relay.py).
            *relay_handlers(api),
            (url_path_join(api, "(.*)"), NotFoundHandler),
        ],
    )
