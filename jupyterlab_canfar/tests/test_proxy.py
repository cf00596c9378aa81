"""The Skaha proxy of the server half, through a real jupyter_server and a fake Skaha over HTTP."""

import http.client
import json
import socket
import time
import ssl
from urllib.parse import urlencode

import pytest

from .conftest import Response, launch_jupyter
from .fake_skaha import (
    BIG_LOG_ID,
    BIG_LOG_LINES,
    GATED_LOG_ID,
    HANGING_ID,
    HUGE_LOG_BYTES,
    HUGE_LOG_ID,
    FakeSkaha,
)

API = "/canfar/api/skaha/v1"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def bearer_server(tmp_path_factory):
    """One Jupyter for this module, its endpoint a fake Skaha wanting the bearer token of CANFAR_TOKEN."""
    secret = "tok-" + "9f3c" * 8
    skaha = FakeSkaha(token=secret).start()
    jupyter = launch_jupyter(tmp_path_factory, env={"CANFAR_URL": skaha.url, "CANFAR_TOKEN": secret})
    yield jupyter, skaha, secret
    jupyter.stop()
    skaha.close()


@pytest.fixture
def bearer(bearer_server):
    """Per test: a clean record of upstream requests and browser responses, and a leak scan after."""
    jupyter, skaha, secret = bearer_server
    skaha.requests.clear()
    skaha.sessions.clear()
    jupyter.responses.clear()
    yield bearer_server
    jupyter.assert_never_leaked(secret)
    # The other way round: the browser's Jupyter token never travels to the Skaha endpoint.
    assert jupyter.token not in json.dumps(skaha.requests)


def test_create_forwards_form_body_with_repeated_env_and_the_token(bearer):
    jupyter, skaha, secret = bearer
    form = [
        ("name", "sweep-1"),
        ("image", "images.canfar.net/skaha/astroml:latest"),
        ("cores", "2"),
        ("cmd", "sh"),
        ("args", "/arc/home/jdoe/canfar-batches/b1/run.sh"),
        ("env", "REPLICA_ID=1"),
        ("env", "REPLICA_COUNT=3"),
        ("env", "CANFAR_BATCH_ID=b1"),
    ]
    response = jupyter.request(
        "POST",
        f"{API}/session",
        body=urlencode(form).encode(),
        headers={**FORM, "X-Skaha-Registry-Auth": "dXNlcjpzZWNyZXQ="},
    )
    assert response.status == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    session_id = response.text.strip()
    assert session_id == "s0000001"

    sent = skaha.requests[-1]
    assert sent["method"] == "POST"
    assert sent["path"] == "/skaha/v1/session"
    assert sent["headers"]["authorization"] == f"Bearer {secret}"
    assert sent["form"]["env"] == ["REPLICA_ID=1", "REPLICA_COUNT=3", "CANFAR_BATCH_ID=b1"]
    assert sent["form"]["args"] == ["/arc/home/jdoe/canfar-batches/b1/run.sh"]
    assert sent["headers"]["x-skaha-registry-auth"] == "dXNlcjpzZWNyZXQ="
    assert sent["headers"]["content-type"] == "application/x-www-form-urlencoded"
    # The browser's Jupyter token is not the upstream's business.
    assert jupyter.token not in json.dumps(sent)

    listed = jupyter.request("GET", f"{API}/session?type=headless&status=Pending")
    assert listed.status == 200
    assert listed.headers["content-type"].startswith("application/json")
    assert [s["name"] for s in listed.json()] == ["sweep-1"]
    assert skaha.requests[-1]["query"] == "type=headless&status=Pending"

    one = jupyter.request("GET", f"{API}/session/{session_id}")
    assert one.json()["image"] == "images.canfar.net/skaha/astroml:latest"

    # Queued (no pod yet), as production answers: no startTime, events 404, logs empty, renew 400.
    assert "startTime" not in one.json()
    events = jupyter.request("GET", f"{API}/session/{session_id}?view=events")
    assert (events.status, events.text) == (404, f"session {session_id} not found.\n")
    assert jupyter.request("GET", f"{API}/session/{session_id}?view=logs").text == ""
    queued_renew = jupyter.request("POST", f"{API}/session/{session_id}?action=renew", body=b"", headers=FORM)
    assert queued_renew.status == 400

    skaha.admit(session_id)
    renew = jupyter.request("POST", f"{API}/session/{session_id}?action=renew", body=b"", headers=FORM)
    assert renew.status == 200
    assert skaha.requests[-1]["params"] == {"action": ["renew"]}

    deleted = jupyter.request("DELETE", f"{API}/session/{session_id}")
    assert deleted.status == 200
    assert skaha.requests[-1]["method"] == "DELETE"
    assert jupyter.request("GET", f"{API}/session").json() == []


def test_context_images_and_repositories_pass_through(bearer):
    jupyter, skaha, _ = bearer
    assert jupyter.request("GET", f"{API}/context").json()["cores"]["options"] == list(range(1, 17))
    images = jupyter.request("GET", f"{API}/image?type=headless").json()
    assert [i["id"] for i in images] == [
        "images.canfar.net/skaha/astroml:latest",
        "images.canfar.net/skaha/terminal:1.1.2",
    ]
    assert jupyter.request("GET", f"{API}/repository").json() == ["images.canfar.net"]
    assert [r["path"] for r in skaha.requests] == ["/skaha/v1/context", "/skaha/v1/image", "/skaha/v1/repository"]


def test_upstream_errors_pass_through_as_text_with_status_and_retry_after(bearer):
    jupyter, _, _ = bearer
    bad = jupyter.request("POST", f"{API}/session", body=b"name=bad_name&image=x", headers=FORM)
    assert bad.status == 400
    assert bad.headers["content-type"].startswith("text/plain")
    assert bad.text == "name can only contain alpha-numeric chars and '-'\n"

    missing = jupyter.request("GET", f"{API}/session/zzzzzzzz")
    assert (missing.status, missing.text) == (404, "session zzzzzzzz not found.\n")
    trailing = jupyter.request("POST", f"{API}/session", body=b"name=job-&image=images.canfar.net/x", headers=FORM)
    assert trailing.status == 500

    busy = jupyter.request("GET", f"{API}/session?view=stats")
    assert busy.status == 503
    assert busy.headers["retry-after"] == "7"
    assert busy.text.startswith("metrics unavailable")

    unknown_type = jupyter.request("GET", f"{API}/image?type=spaceship")
    assert (unknown_type.status, unknown_type.text) == (400, "unknown type: spaceship\n")


def test_upstream_cookies_and_auth_headers_are_never_echoed(bearer):
    jupyter, _, _ = bearer
    response = jupyter.request("GET", f"{API}/context")
    assert response.status == 200
    assert "www-authenticate" not in response.headers
    assert "x-upstream-secret" not in response.headers
    assert "upstream-cookie" not in response.headers.get("set-cookie", "")


def test_a_large_log_is_streamed_whole(bearer):
    jupyter, _, _ = bearer
    response = jupyter.request("GET", f"{API}/session/{BIG_LOG_ID}?view=logs", timeout=60)
    assert response.status == 200
    assert response.headers.get("transfer-encoding") == "chunked"
    lines = response.text.splitlines()
    assert len(lines) == BIG_LOG_LINES
    assert lines[0] == "line 0000001 of the replica log"
    assert lines[-1] == f"line {BIG_LOG_LINES:07d} of the replica log"


def test_the_body_reaches_the_browser_before_the_upstream_has_finished(bearer):
    """Chunk by chunk: the first line arrives while the upstream still holds back the second."""
    jupyter, skaha, _ = bearer
    skaha.gate.clear()
    conn = http.client.HTTPConnection("127.0.0.1", jupyter.port, timeout=20)
    conn.request("GET", f"{API}/session/{GATED_LOG_ID}?view=logs", headers={"Authorization": f"token {jupyter.token}"})
    response = conn.getresponse()
    assert response.status == 200
    try:
        # Would time out (the upstream waits up to 30 s) if the proxy buffered the whole body.
        first = response.fp.readline()
        while first.strip() and not first.startswith(b"first"):  # chunk-size line
            first = response.fp.readline()
        assert first == b"first line, sent at once\n"
    finally:
        skaha.gate.set()
    rest = b""
    while b"second line" not in rest:
        line = response.fp.readline()
        assert line, "the stream ended early"
        rest += line
    jupyter.responses.append(Response(200, "", {k.lower(): v for k, v in response.getheaders()}, first + rest))
    conn.close()


def test_a_browser_that_reads_slowly_holds_back_the_endpoint(bearer):
    """Back-pressure: while the browser reads nothing, the server stops taking the log from the
    endpoint (it does not buffer 64 MiB); once the browser reads again, all of it arrives."""
    jupyter, skaha, _ = bearer
    conn = http.client.HTTPConnection("127.0.0.1", jupyter.port, timeout=60)
    conn.request("GET", f"{API}/session/{HUGE_LOG_ID}?view=logs", headers={"Authorization": f"token {jupyter.token}"})
    response = conn.getresponse()
    assert response.status == 200
    # Wait until the endpoint's sending has stalled (socket buffers full), then look at the count.
    last, steady_since = -1, time.monotonic()
    while time.monotonic() - steady_since < 1.0:
        if skaha.sent_bytes != last:
            last, steady_since = skaha.sent_bytes, time.monotonic()
        time.sleep(0.05)
    assert skaha.sent_bytes < HUGE_LOG_BYTES / 2, f"the server took {skaha.sent_bytes} bytes the browser did not read"
    received = 0
    while True:
        piece = response.read(1 << 20)
        if not piece:
            break
        received += len(piece)
    conn.close()
    assert received == HUGE_LOG_BYTES
    jupyter.responses.append(Response(200, "", {k.lower(): v for k, v in response.getheaders()}, b""))


@pytest.mark.parametrize(
    "path",
    [
        "/canfar/api/skaha/v1/../../../api/contents",
        "/canfar/api/skaha/v1/session/..",
        "/canfar/api/skaha/v1/session/%2e%2e",
        "/canfar/api/skaha/v1/session%2Fabc",
        "/canfar/api/skaha/v1/session/abc%2F..%2F..%2Fx",
        "/canfar/api/skaha/v1//session",
        "/canfar/api/skaha/v1/session/abc/extra",
        "/canfar/api/skaha/v1/availability",
        "/canfar/api/skaha/v2/session",
        "/canfar/api/skaha/v1/sessions",
        "/canfar/api/skaha/http://evil.example/skaha/v1/session",
        "/canfar/api/skaha/v1/session/@evil.example",
        "/canfar/api/skaha/",
        "/canfar/api/other",
    ],
)
def test_other_paths_are_refused_with_a_text_message(bearer, path):
    jupyter, skaha, _ = bearer
    response = jupyter.request("GET", path)
    assert response.status in (400, 404), (path, response.status, response.text)
    if response.status == 404:
        assert response.headers["content-type"].startswith("text/plain")
        assert "/canfar/api/skaha/v1/session" in response.text  # says what IS forwarded
    assert skaha.requests == [], f"{path} reached the upstream"


def test_absolute_url_request_target_does_not_reach_another_host(bearer):
    jupyter, skaha, secret = bearer
    data = jupyter.raw(
        b"GET http://evil.example/skaha/v1/session HTTP/1.1\r\nHost: evil.example\r\n"
        + f"Authorization: token {jupyter.token}\r\nConnection: close\r\n\r\n".encode()
    )
    assert jupyter.responses[-1].status in (400, 403, 404), data[:200]
    assert skaha.requests == []


def test_other_methods_are_not_forwarded(bearer):
    jupyter, skaha, _ = bearer
    response = jupyter.request("PUT", f"{API}/session", body=b"x=1", headers=FORM)
    assert response.status == 405
    assert skaha.requests == []


def test_requests_without_the_jupyter_token_are_refused(bearer):
    jupyter, skaha, secret = bearer
    for method, path in [("GET", f"{API}/session"), ("POST", f"{API}/session"), ("GET", "/canfar/api/info")]:
        response = jupyter.request(method, path, body=b"" if method == "POST" else None, auth=False)
        assert response.status in (401, 403), (method, path, response.status)
    wrong = jupyter.request("GET", f"{API}/session", auth=False, headers={"Authorization": "token nope"})
    assert wrong.status in (401, 403)
    assert skaha.requests == []


def test_info_reports_kind_and_source_never_the_token(bearer):
    jupyter, skaha, secret = bearer
    response = jupyter.request("GET", "/canfar/api/info")
    assert response.status == 200
    info = response.json()
    assert info["endpoint"] == "custom"
    assert info["url"] == skaha.url
    assert info["credential"] == {"kind": "token", "source": "CANFAR_TOKEN"}
    assert info["ok"] is True, info
    assert info["version"] == "0.1.0"
    assert "error" not in info
    assert secret not in response.text


def test_no_credential_answers_401_with_what_to_do(start_jupyter, fake_skaha):
    skaha = fake_skaha(token="expected")
    jupyter = start_jupyter(env={"CANFAR_URL": skaha.url + "/v1"})
    response = jupyter.request("GET", f"{API}/session")
    assert response.status == 401
    assert "CANFAR_TOKEN" in response.text and "cadcproxy.pem" in response.text
    info = jupyter.request("GET", "/canfar/api/info").json()
    assert info["ok"] is False
    assert info["credential"]["kind"] == "none"
    assert "no usable CANFAR credential" in info["error"]
    assert skaha.requests == []


def test_a_refused_credential_is_reported_by_info(start_jupyter, fake_skaha):
    skaha = fake_skaha(token="the-right-one")
    jupyter = start_jupyter(env={"CANFAR_URL": skaha.url, "CANFAR_TOKEN": "the-wrong-one"})
    info = jupyter.request("GET", "/canfar/api/info").json()
    assert info["ok"] is False
    assert "refused the credential from CANFAR_TOKEN (401" in info["error"]
    # The proxy passes Skaha's own 401 through.
    response = jupyter.request("GET", f"{API}/session")
    assert (response.status, response.text) == (401, "not authenticated\n")
    jupyter.assert_never_leaked("the-wrong-one", "the-right-one")


def test_unreachable_endpoint_gives_502_naming_the_url(start_jupyter):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/skaha"
    jupyter = start_jupyter(env={"CANFAR_TOKEN": "tok-unreachable"}, canfar={"endpoint": url})
    response = jupyter.request("GET", f"{API}/session?type=headless")
    assert response.status == 502
    assert response.headers["content-type"].startswith("text/plain")
    assert f"{url}/v1/session" in response.text
    assert "check the network and the endpoint" in response.text
    info = jupyter.request("GET", "/canfar/api/info").json()
    assert info["ok"] is False and url in info["error"]
    jupyter.assert_never_leaked("tok-unreachable")


def test_an_endpoint_that_does_not_answer_in_time_gives_504(start_jupyter, fake_skaha):
    skaha = fake_skaha(token="t")
    jupyter = start_jupyter(env={"CANFAR_URL": skaha.url, "CANFAR_TOKEN": "t"}, canfar={"request_timeout": 1})
    try:
        response = jupyter.request("GET", f"{API}/session/{HANGING_ID}")
    finally:
        skaha.gate.set()
    assert response.status == 504
    assert f"{skaha.url}/v1/session/{HANGING_ID} did not answer within the time allowed" in response.text
    assert "request_timeout" in response.text


def test_endpoint_url_with_userinfo_is_never_shown(start_jupyter):
    jupyter = start_jupyter(
        env={"CANFAR_TOKEN": "t"}, canfar={"endpoint": "http://alice:hunter2@127.0.0.1:9/skaha"}
    )
    jupyter.request("GET", f"{API}/session")
    jupyter.request("GET", "/canfar/api/info")
    jupyter.assert_never_leaked("hunter2")


def test_invalid_endpoint_is_explained(start_jupyter):
    jupyter = start_jupyter(env={"CANFAR_TOKEN": "t"}, canfar={"endpoint": "ftp://example.org/skaha"})
    info = jupyter.request("GET", "/canfar/api/info").json()
    assert info["ok"] is False
    assert "neither 'local', 'canfar' nor an http(s)" in info["error"]
    assert jupyter.request("GET", f"{API}/session").status == 500


def _mtls_context(pki) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(pki.ca)
    return context


def test_mutual_tls_with_the_certificate_from_canfar_certificate(start_jupyter, fake_skaha, pki):
    skaha = fake_skaha(ssl_context=_mtls_context(pki))
    jupyter = start_jupyter(env={"CANFAR_URL": skaha.url, "CANFAR_CERTIFICATE": pki.client_pem}, canfar={"ca_certs": pki.ca})
    listed = jupyter.request("GET", f"{API}/session?type=headless")
    assert listed.status == 200, listed.text
    assert listed.json() == []
    assert skaha.requests[-1]["peer_cn"] == "jdoe"
    assert "authorization" not in skaha.requests[-1]["headers"]

    info = jupyter.request("GET", "/canfar/api/info").json()
    assert info["ok"] is True, info
    assert info["user"] == "jdoe"
    assert info["credential"]["kind"] == "certificate"
    assert info["credential"]["source"] == "CANFAR_CERTIFICATE"
    assert info["credential"]["expires"].endswith("Z")
    with open(pki.client_pem, encoding="utf-8") as handle:
        key_text = handle.read().split("-----BEGIN PRIVATE KEY-----")[1][:64]
    jupyter.assert_never_leaked(key_text)


def test_a_connection_cut_under_a_client_certificate_names_the_certificate():
    # In TLS 1.3 an endpoint refusing the client certificate may reset the connection before its alert
    # arrives (seen with Python 3.13 and OpenSSL 3.5): the message must still point at the certificate.
    from jupyterlab_canfar.config import resolve_endpoint
    from jupyterlab_canfar.credentials import Credential
    from jupyterlab_canfar.handlers import unreachable_message
    from jupyterlab_canfar.service import Target

    endpoint = resolve_endpoint("https://skaha.example.org/skaha", {})
    shown = endpoint.api_url + "/session"
    reset = ConnectionResetError(104, "Connection reset by peer")
    cert = Credential(kind="certificate", source="CANFAR_CERTIFICATE", certificate="/home/me/proxy.pem")
    message = unreachable_message(Target(endpoint, endpoint.url, endpoint.api_url, cert), shown, reset)
    assert "a TLS problem" in message and "/home/me/proxy.pem (from CANFAR_CERTIFICATE)" in message
    token = Credential(kind="token", source="CANFAR_TOKEN", token="t")
    message = unreachable_message(Target(endpoint, endpoint.url, endpoint.api_url, token), shown, reset)
    assert "TLS" not in message and "check the network and the endpoint" in message


def test_mutual_tls_with_an_untrusted_client_certificate_is_refused_upstream(start_jupyter, fake_skaha, pki):
    skaha = fake_skaha(ssl_context=_mtls_context(pki))
    jupyter = start_jupyter(env={"CANFAR_URL": skaha.url, "CANFAR_CERTIFICATE": pki.other_client_pem}, canfar={"ca_certs": pki.ca})
    response = jupyter.request("GET", f"{API}/session")
    assert response.status == 502
    assert "a TLS problem" in response.text and pki.other_client_pem in response.text
    assert skaha.url in response.text
