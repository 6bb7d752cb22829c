"""Credentials to transport: keystoneauth v2.0/v3 against a tiny loopback identity + network
server, the --os-url/--os-token override, and the sentences for missing or refused access."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from keystoneauth1.identity import v2, v3

from neutrino.cli.api import error_message
from neutrino.cli.auth import add_auth_options, password_plugin
from neutrino.cli.main import COMMANDS, main
from neutrino.cli.transports import HttpxTransport

TOKEN = "tok-123"
EXPIRES = "2099-01-01T00:00:00Z"


class _Handler(BaseHTTPRequestHandler):
    """Keystone-shaped token answers whose catalog points back here, plus GET networks."""

    catalog_suffix = ""

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        requests: list[Any] = self.server.requests  # type: ignore[attr-defined]
        requests.append((self.path, json.loads(self.rfile.read(length))))
        endpoint = f"http://127.0.0.1:{self.server.server_port}{self.catalog_suffix}"
        if self.path == "/v2.0/tokens":
            self._answer(200, {"access": {
                "token": {"id": TOKEN, "expires": EXPIRES, "tenant": {"id": "t1", "name": "admin"}},
                "user": {"id": "u1", "name": "admin", "roles": [{"name": "admin"}]},
                "serviceCatalog": [{"type": "network", "name": "neutron", "endpoints": [
                    {"publicURL": endpoint, "region": "RegionOne"}]}]}})
        elif self.path == "/v3/auth/tokens":
            self._answer(201, {"token": {
                "expires_at": EXPIRES, "methods": ["password"],
                "user": {"id": "u1", "name": "admin",
                         "domain": {"id": "default", "name": "Default"}},
                "project": {"id": "t1", "name": "admin",
                            "domain": {"id": "default", "name": "Default"}},
                "catalog": [{"type": "network", "name": "neutron", "endpoints": [
                    {"interface": "public", "url": endpoint, "region": "RegionOne",
                     "region_id": "RegionOne"}]}]}}, {"X-Subject-Token": TOKEN})
        else:
            self._answer(404, {"NeutronError": {"type": "HTTPNotFound", "message": self.path,
                                                "detail": ""}})

    def do_GET(self) -> None:
        if self.headers.get("X-Auth-Token") != TOKEN:
            self._answer(401, {"NeutronError": {"type": "Unauthorized",
                                                "message": "Authentication required.",
                                                "detail": ""}})
        elif self.path == "/v2.0/networks":
            self._answer(200, {"networks": [{"id": "n1", "name": "net1", "subnets": []}]})
        else:
            self._answer(404, {"NeutronError": {"type": "HTTPNotFound",
                                                "message": f"No route {self.path}.",
                                                "detail": ""}})


@pytest.fixture(params=["", "/v2.0"], ids=["bare-endpoint", "versioned-endpoint"])
def server(request: pytest.FixtureRequest) -> Iterator[ThreadingHTTPServer]:
    handler = type("Handler", (_Handler,), {"catalog_suffix": request.param})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def run(argv: list[str], **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def no_os_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_TENANT_NAME",
                 "OS_PROJECT_NAME", "OS_TOKEN", "OS_URL", "OS_REGION_NAME"):
        monkeypatch.delenv(name, raising=False)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("auth_path", ["/v2.0", "/v3"])
def test_password_auth_finds_network_endpoint_in_catalog(server, monkeypatch, auth_path) -> None:
    monkeypatch.setenv("OS_AUTH_URL", f"http://127.0.0.1:{server.server_port}{auth_path}/")
    monkeypatch.setenv("OS_USERNAME", "admin")
    monkeypatch.setenv("OS_PASSWORD", "adminpassword")
    monkeypatch.setenv("OS_TENANT_NAME", "admin")
    code, out, err = run(["net-list", "-f", "value", "-c", "id", "-c", "name"])
    assert (code, out, err) == (0, "n1 net1\n", "")
    path, body = server.requests[0]
    if auth_path == "/v2.0":
        assert path == "/v2.0/tokens"
        assert body["auth"]["tenantName"] == "admin"
    else:
        assert path == "/v3/auth/tokens"
        assert body["auth"]["identity"]["password"]["user"]["domain"] == {"name": "Default"}
        assert body["auth"]["scope"]["project"]["name"] == "admin"


def test_token_and_url_skip_identity(server) -> None:
    url = f"http://127.0.0.1:{server.server_port}"
    code, out, _ = run(["--os-url", url, "--os-token", TOKEN, "net-list", "-f", "value",
                        "-c", "name"])
    assert (code, out) == (0, "net1\n")
    assert server.requests == []


def test_wrong_token_prints_the_servers_message(server) -> None:
    url = f"http://127.0.0.1:{server.server_port}"
    code, out, err = run(["--os-url", url, "--os-token", "bad", "net-list"])
    assert (code, out, err) == (1, "", "Authentication required.\n")


def test_refused_connection_names_the_url() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code, _, err = run(["--os-url", url, "--os-token", TOKEN, "net-list"])
    assert code == 1
    assert err == (f"Unable to connect to {url}/v2.0/networks: is the server running and "
                   "reachable?\n")


def test_refused_identity_names_the_auth_url() -> None:
    auth_url = f"http://127.0.0.1:{closed_port()}/v2.0"
    code, _, err = run(["--os-auth-url", auth_url, "--os-username", "a", "--os-password", "b",
                        "agent-list"])
    assert code == 1
    assert err.startswith(f"Unable to connect to {auth_url}:")


def test_httpx_transport_refused_connection_names_the_url() -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    transport = HttpxTransport(httpx.Client(), token=TOKEN, base_url=base)
    code, _, err = run(["agent-list"], transport=transport)
    assert code == 1
    assert err.startswith(f"Unable to connect to {base}/v2.0/agents:")


def test_missing_identity_url_says_what_to_set() -> None:
    code, _, err = run(["net-list"])
    assert code == 1
    assert "--os-auth-url" in err and "OS_AUTH_URL" in err


def test_missing_password_says_which_option() -> None:
    code, _, err = run(["--os-auth-url", "http://127.0.0.1:1/v3", "--os-username", "a",
                        "net-list"])
    assert code == 1
    assert err.startswith("Missing --os-password")


def test_token_without_url_is_refused() -> None:
    code, _, err = run(["--os-token", TOKEN, "net-list"])
    assert code == 1
    assert "--os-token needs --os-url" in err


def _options(argv: list[str]) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    add_auth_options(parser)
    return parser.parse_args(argv)


def test_v2_url_uses_v2_password_plugin() -> None:
    plugin = password_plugin(_options(["--os-auth-url", "http://h:5000/v2.0/",
                                       "--os-username", "u", "--os-password", "p",
                                       "--os-tenant-name", "admin"]))
    assert isinstance(plugin, v2.Password)


def test_unversioned_url_speaks_v3_with_default_domains() -> None:
    plugin = password_plugin(_options(["--os-auth-url", "http://h:5000", "--os-username", "u",
                                       "--os-password", "p", "--os-project-name", "demo"]))
    assert isinstance(plugin, v3.Password)
    assert plugin.auth_url == "http://h:5000/v3"
    assert plugin.project_name == "demo"
    assert plugin.project_domain_name == "Default"


@pytest.mark.parametrize("body,expected", [
    ({"NeutronError": {"type": "NetworkNotFound", "message": "Network x could not be found.",
                       "detail": ""}}, ("NetworkNotFound", "Network x could not be found.")),
    ({"detail": "Not Found"}, ("", "Not Found")),
    ({"detail": [{"loc": ["body", "network", "name"], "msg": "too long"}]},
     ("", "body.network.name: too long")),
    (None, ("", "The server answered HTTP 500 without an error message.")),
])
def test_error_message_prefers_neutron_error(body: Any, expected: tuple[str, str]) -> None:
    assert error_message(500, body) == expected


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command: str) -> None:
    code, out, _ = run([command, "--help"])
    assert code == 0
    assert out.startswith(f"usage: neutrino {command}")
    assert "positional arguments" in out or "options" in out


def test_no_arguments_prints_the_command_list() -> None:
    code, out, _ = run([])
    assert code == 0
    assert "dhcp-agent-list-hosting-net" in out and "--os-auth-url" in out


class _ChattyTransport:
    """Logs each request at INFO under httpx's logger name, as httpx itself does."""

    def request(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        logging.getLogger("httpx").info("HTTP Request: %s %s", method, path)
        return 200, {"networks": []}


def test_library_request_logs_stay_off_stderr_by_default() -> None:
    code, _, err = run(["net-list"], transport=_ChattyTransport())
    assert (code, err) == (0, "")


def test_library_request_logs_show_with_double_verbose() -> None:
    code, _, err = run(["-v", "-v", "net-list"], transport=_ChattyTransport())
    assert code == 0
    assert "HTTP Request: GET /v2.0/networks" in err
