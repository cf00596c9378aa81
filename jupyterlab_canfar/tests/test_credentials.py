"""Credential discovery and endpoint resolution, on real files in a throwaway home directory."""

import base64
import json
import os
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from jupyterlab_canfar import _jupyter_labextension_paths, _jupyter_server_extension_points, __version__
from jupyterlab_canfar.config import CANFAR_URL, normalize_api_url, resolve_endpoint
from jupyterlab_canfar.credentials import (
    certificate_credential,
    config_active_server_url,
    discover,
    read_canfar_config,
)

from .conftest import REPO


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def _jwt(claims):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def test_discovery_order_token_then_certificate_then_config_then_proxy(home, pki):
    proxy = home / ".ssl" / "cadcproxy.pem"
    proxy.parent.mkdir()
    shutil.copy(pki.client_pem, proxy)
    _write(
        home / ".canfar" / "config.yaml",
        f"version: 1\nactive: {{authentication: cadc}}\nauthentication:\n"
        f"  - {{idp: cadc, mode: x509, path: {pki.client_pem}}}\n",
    )
    env = {"CANFAR_TOKEN": "abc", "CANFAR_CERTIFICATE": pki.client_pem}
    assert discover(env=env, home=str(home)).source == "CANFAR_TOKEN"
    del env["CANFAR_TOKEN"]
    assert discover(env=env, home=str(home)).source == "CANFAR_CERTIFICATE"
    del env["CANFAR_CERTIFICATE"]
    assert discover(env=env, home=str(home)).source == "~/.canfar/config.yaml (context cadc)"
    os.unlink(home / ".canfar" / "config.yaml")
    found = discover(env=env, home=str(home))
    assert (found.kind, found.source, found.certificate) == ("certificate", "~/.ssl/cadcproxy.pem", str(proxy))
    assert found.user == "jdoe" and found.problem is None
    os.unlink(proxy)
    nothing = discover(env=env, home=str(home))
    assert nothing.kind == "none"
    assert "CANFAR_TOKEN: not set; CANFAR_CERTIFICATE: not set; ~/.canfar/config.yaml: not found" in nothing.problem


def test_an_unusable_source_is_skipped_for_the_next_usable_one(home, pki, tmp_path):
    proxy = home / ".ssl" / "cadcproxy.pem"
    proxy.parent.mkdir()
    shutil.copy(pki.client_pem, proxy)
    cert_only = _write(tmp_path / "cert-only.pem", open(pki.server_cert, encoding="utf-8").read())
    found = discover(env={"CANFAR_CERTIFICATE": cert_only}, home=str(home))
    assert (found.source, found.problem) == ("~/.ssl/cadcproxy.pem", None)
    os.unlink(proxy)
    nothing = discover(env={"CANFAR_CERTIFICATE": cert_only}, home=str(home))
    assert f"{cert_only} holds no private key" in nothing.problem


def test_explicit_configuration_wins_over_the_environment(home, tmp_path):
    token_file = _write(tmp_path / "tok", "from-file\n")
    found = discover(token_file=token_file, env={"CANFAR_TOKEN": "from-env"}, home=str(home))
    assert (found.token, found.source) == ("from-file", f"CanfarConfig.token_file ({token_file})")
    assert discover(token="literal", env={"CANFAR_TOKEN": "x"}, home=str(home)).source == "CanfarConfig.token"


def test_the_public_view_never_holds_the_secret():
    token = _jwt({"exp": 4102444800, "preferred_username": "jdoe"})
    found = discover(env={"CANFAR_TOKEN": token}, home="/nonexistent")
    assert found.user == "jdoe"
    assert found.describe() == {"kind": "token", "source": "CANFAR_TOKEN", "expires": "2100-01-01T00:00:00Z"}
    assert token not in repr(found)


def test_an_expired_token_or_certificate_says_so(pki):
    expired = discover(env={"CANFAR_TOKEN": _jwt({"exp": 1000})}, home="/nonexistent")
    assert "expired at 1970-01-01T00:16:40Z" in expired.problem
    later = datetime.now(timezone.utc) + timedelta(days=30)
    cert = certificate_credential(pki.client_pem, "CANFAR_CERTIFICATE", now=later)
    assert "expired at" in cert.problem and "cadc-get-cert" in cert.problem
    fresh = certificate_credential(pki.client_pem, "CANFAR_CERTIFICATE")
    assert fresh.problem is None and fresh.expires > datetime.now(timezone.utc)


def test_a_missing_certificate_file_is_named(home):
    found = discover(env={"CANFAR_CERTIFICATE": "/nope/proxy.pem"}, home=str(home))
    assert found.kind == "none"
    assert "CANFAR_CERTIFICATE: the certificate file /nope/proxy.pem does not exist" in found.problem


def test_config_yaml_oidc_entry_and_active_server(home):
    _write(
        home / ".canfar" / "config.yaml",
        "version: 1\n"
        "active: {authentication: srcnet, server: 'ivo://example/skaha'}\n"
        "authentication:\n"
        "  - {idp: cadc, mode: x509, path: /nowhere.pem}\n"
        "  - idp: srcnet\n"
        "    mode: oidc\n"
        "    token: {access: oidc-access-token, refresh: r}\n"
        "    expiry: {access: 4102444800.0}\n"
        "server:\n"
        "  - {idp: srcnet, name: src, uri: 'ivo://example/skaha', url: 'https://src.example/skaha', version: v1}\n",
    )
    found = discover(env={}, home=str(home))
    assert (found.kind, found.token, found.source) == ("token", "oidc-access-token", "~/.canfar/config.yaml (context srcnet)")
    assert found.describe()["expires"] == "2100-01-01T00:00:00Z"
    data, problem = read_canfar_config(str(home))
    assert problem is None
    assert config_active_server_url(data) == "https://src.example/skaha/v1"


def test_older_config_yaml_with_contexts_mapping(home, pki):
    _write(
        home / ".canfar" / "config.yaml",
        f"active: old\ncontexts:\n  old:\n    mode: x509\n    path: {pki.client_pem}\n"
        "    server: {url: 'https://old.example/skaha', version: v1}\n",
    )
    found = discover(env={}, home=str(home))
    assert (found.kind, found.certificate) == ("certificate", pki.client_pem)
    assert config_active_server_url(read_canfar_config(str(home))[0]) == "https://old.example/skaha/v1"


def test_a_broken_config_yaml_is_named_when_nothing_else_is_found(home):
    _write(home / ".canfar" / "config.yaml", "active: [unclosed\n")
    found = discover(env={}, home=str(home))
    assert found.kind == "none"
    assert "config.yaml could not be read" in found.problem


def test_endpoint_resolution():
    assert resolve_endpoint("", {}).kind == "local"
    canfar = resolve_endpoint("canfar", {})
    assert (canfar.kind, canfar.url, canfar.api_url) == ("canfar", CANFAR_URL, CANFAR_URL + "/v1")
    from_env = resolve_endpoint("", {"CANFAR_URL": "https://ws-uv.canfar.net/skaha/v1"})
    assert (from_env.kind, from_env.api_url, from_env.source) == ("canfar", CANFAR_URL + "/v1", "CANFAR_URL")
    custom = resolve_endpoint("https://skaha.example.org/skaha/", {"CANFAR_URL": "ignored"})
    assert (custom.kind, custom.api_url) == ("custom", "https://skaha.example.org/skaha/v1")
    assert resolve_endpoint("", {}, config_url="https://x.example/skaha/v1").source == "~/.canfar/config.yaml"
    assert "neither 'local'" in resolve_endpoint("skaha.example.org", {}).problem
    assert normalize_api_url("https://h/skaha/v2") == "https://h/skaha/v2"


def test_inside_a_canfar_session_the_default_endpoint_is_its_platform():
    session = {"SKAHA_SESSIONID": "k3x9q2ma", "SKAHA_HOSTNAME": "ws-uv.canfar.net"}
    found = resolve_endpoint("", session)
    assert (found.kind, found.api_url, found.source) == ("canfar", CANFAR_URL + "/v1", "CANFAR session (SKAHA_HOSTNAME)")
    other = resolve_endpoint("", {"skaha_sessionid": "x", "skaha_hostname": "src.example.org"})
    assert (other.kind, other.url) == ("custom", "https://src.example.org/skaha")
    assert resolve_endpoint("", {"SKAHA_SESSIONID": "x", "SKAHA_HOSTNAME": "evil/path"}).url == CANFAR_URL
    assert resolve_endpoint("local", session).kind == "local"  # an explicit choice still wins
    assert resolve_endpoint("", {"SKAHA_HOSTNAME": "ws-uv.canfar.net"}).kind == "local"  # not a session


def test_extension_metadata_matches_the_npm_package():
    with open(os.path.join(REPO, "package.json"), encoding="utf-8") as handle:
        package = json.load(handle)
    assert __version__ == package["version"]
    assert package["jupyterlab"]["outputDir"] == "jupyterlab_canfar/labextension"
    assert _jupyter_labextension_paths() == [{"src": "labextension", "dest": package["name"]}]
    assert _jupyter_server_extension_points() == [{"module": "jupyterlab_canfar"}]
    with open(os.path.join(REPO, "jupyter-config", "server-config", "jupyterlab_canfar.json"), encoding="utf-8") as handle:
        assert json.load(handle) == {"ServerApp": {"jpserver_extensions": {"jupyterlab_canfar": True}}}
