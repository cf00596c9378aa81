"""One HTTP/1.1 exchange with the Skaha endpoint, streamed with back-pressure.

Tornado's AsyncHTTPClient calls its streaming_callback without waiting, so a slow browser would make
the server hold the whole of a large log in memory. Here the response body is read through an
``HTTP1Connection`` whose delegate returns the browser-side flush: tornado then reads the next piece
from the endpoint only once the previous one has gone out. (AsyncHTTPClient's simple client opens one
connection per request as well, so nothing is lost by doing the exchange ourselves.)
"""

import asyncio
import ssl
from typing import Awaitable, Callable, Dict, Optional
from urllib.parse import urlsplit

from tornado import httputil
from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient

OnHeaders = Callable[[int, str, httputil.HTTPHeaders], Optional[Awaitable[None]]]
OnChunk = Callable[[bytes], Optional[Awaitable[None]]]


class UpstreamTimeout(Exception):
    """The endpoint did not connect or answer within the time allowed."""


class UpstreamProtocolError(Exception):
    """The endpoint's answer was not valid HTTP/1.1."""


def client_ssl_context(
    *, ca_certs: str = "", client_pem: Optional[str] = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_certs or None)
    if client_pem:
        # One PEM holds the proxy certificate chain and its key.
        context.load_cert_chain(client_pem, client_pem)
    return context


class _Delegate(httputil.HTTPMessageDelegate):
    def __init__(self, on_headers: OnHeaders, on_chunk: OnChunk, stream: IOStream, client_gone):
        self.on_headers = on_headers
        self.on_chunk = on_chunk
        self.stream = stream
        self.client_gone = client_gone
        self.started = False

    async def _guarded(self, pending: Awaitable[None]) -> None:
        # tornado logs any exception raised here as "uncaught": a browser that left is not one.
        # Closing the endpoint's stream instead makes the next read fail, which ends the exchange.
        try:
            await pending
        except StreamClosedError:
            self.stream.close()

    def headers_received(self, start_line, headers):
        if start_line.code == 100:  # an interim answer: the real one follows
            return None
        self.started = True
        pending = self.on_headers(start_line.code, start_line.reason, headers)
        return self._guarded(pending) if pending is not None else None

    def data_received(self, chunk):
        if self.client_gone():
            self.stream.close()
            return None
        pending = self.on_chunk(chunk)
        return self._guarded(pending) if pending is not None else None


async def exchange(
    url: str,
    *,
    method: str,
    headers: Dict[str, str],
    body: Optional[bytes],
    ssl_context: Optional[ssl.SSLContext],
    connect_timeout: float,
    request_timeout: float,
    on_headers: OnHeaders,
    on_chunk: OnChunk,
    client_gone: Callable[[], bool] = lambda: False,
) -> None:
    """Send one request; call on_headers once, then on_chunk per piece of the (decoded) body.

    Raises UpstreamTimeout, UpstreamProtocolError, or OSError/ssl.SSLError/StreamClosedError when
    the endpoint cannot be reached or drops the connection.
    """
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + request_timeout
    try:
        stream: IOStream = await asyncio.wait_for(
            TCPClient().connect(
                host,
                port,
                ssl_options=ssl_context if secure else None,
                max_buffer_size=64 * 1024 * 1024,
            ),
            timeout=min(connect_timeout, request_timeout),
        )
    except asyncio.TimeoutError:
        raise UpstreamTimeout(f"no connection within {min(connect_timeout, request_timeout):g} s") from None
    stream.set_nodelay(True)
    connection = HTTP1Connection(
        stream,
        True,
        HTTP1ConnectionParameters(no_keep_alive=True, max_body_size=1 << 40, decompress=True),
    )
    all_headers = httputil.HTTPHeaders(headers)
    all_headers["Host"] = parts.netloc.rsplit("@", 1)[-1]  # never user:password@
    all_headers["Connection"] = "close"
    all_headers["Accept-Encoding"] = "gzip"
    if body is not None:
        all_headers["Content-Length"] = str(len(body))
    delegate = _Delegate(on_headers, on_chunk, stream, client_gone)

    async def run() -> bool:
        connection.write_headers(httputil.RequestStartLine(method, target, "HTTP/1.1"), all_headers)
        if body:
            connection.write(body)
        connection.finish()
        return await connection.read_response(delegate)

    try:
        remaining = deadline - loop.time()
        complete = await asyncio.wait_for(run(), timeout=max(remaining, 0.001))
    except asyncio.TimeoutError:
        raise UpstreamTimeout(f"no complete answer within {request_timeout:g} s") from None
    finally:
        stream.close()
    if not complete and not client_gone():
        raise UpstreamProtocolError(
            "the answer was cut short or was not valid HTTP/1.1"
            if delegate.started
            else "no valid HTTP/1.1 answer"
        )


__all__ = [
    "UpstreamProtocolError",
    "UpstreamTimeout",
    "StreamClosedError",
    "client_ssl_context",
    "exchange",
]
