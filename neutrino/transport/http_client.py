"""HTTP driver of the agent transport, client side: what agents link against."""
from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from neutrino.tls import ClientTls
from neutrino.transport.client import AgentRefused, TransportError
from neutrino.transport.http_tls import https_transport
from neutrino.transport.messages import (
    AgentState,
    DeviceList,
    DhcpPortRequest,
    EventBatch,
    L2HostState,
    NetworkApplied,
    NetworkInfo,
    NetworkRef,
    PortInfo,
    ReportResult,
)

LOG = logging.getLogger(__name__)
PREFIX = "/agent-rpc/v1"
# What a call can raise when the server is away or the path to it broken: httpx's own
# errors, and the socket and TLS errors (OSError) a few code paths let through unwrapped.
UNREACHABLE: tuple[type[Exception], ...] = (httpx.HTTPError, httpx.StreamError, OSError)


def _reason(exc: Exception) -> str:
    # httpx's timeouts carry no message; name them so the log says what happened.
    return str(exc) or type(exc).__name__


def split_transport_url(url: str) -> tuple[str, str, str]:
    """`http://user:pass@host:9696/` -> (base URL without credentials, user, password)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"transport_url {url!r} is not an http:// URL")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    port = f":{parts.port}" if parts.port else ""
    return (f"{parts.scheme}://{host}{port}", unquote(parts.username or ""),
            unquote(parts.password or ""))


class HttpAgentClient:
    """Implements AgentServerClient over the server's /agent-rpc/v1 endpoints."""

    def __init__(self, url: str, username: str, password: str, project: str = "admin",
                 timeout: float = 10.0, tls: ClientTls | None = None) -> None:
        self.base = url.rstrip("/")
        self._credentials = (username, password, project)
        self._timeout = timeout
        # https:// is always verified: against tls.ca_file, or the system's CAs without it.
        self._http = httpx.Client(base_url=self.base, timeout=timeout,
                                  transport=https_transport(self.base, tls))
        self._token: str | None = None
        self._token_lock = threading.Lock()

    @classmethod
    def from_transport_url(cls, url: str, project: str = "admin", timeout: float = 10.0,
                           tls: ClientTls | None = None) -> HttpAgentClient:
        base, user, password = split_transport_url(url)
        return cls(base, user, password, project, timeout, tls)

    # ---- plumbing ---------------------------------------------------------------------------

    def _login(self, timeout: float | None = None) -> str:
        user, password, project = self._credentials
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        try:
            response = self._http.post("/v3/auth/tokens", json=body,
                                       timeout=timeout if timeout is not None
                                       else self._timeout)
        except UNREACHABLE as exc:
            raise TransportError(f"cannot reach {self.base}: {_reason(exc)}") from exc
        if response.status_code >= 500:
            raise TransportError(f"login to {self.base}: server error {response.status_code}: "
                                 f"{response.text[:200]}")
        if response.status_code != 201:
            raise AgentRefused(f"login as {user} to {self.base} failed with "
                               f"{response.status_code}: {response.text[:200]}")
        token = response.headers.get("x-subject-token")
        if not token:
            raise TransportError(f"login to {self.base} answered 201 without a token "
                                 "(is something else listening there?)")
        return token

    def _token_value(self, renew: bool = False, timeout: float | None = None) -> str:
        with self._token_lock:
            if self._token is None or renew:
                self._token = self._login(timeout)
            return self._token

    def _call(self, method: str, path: str, *, json: Any = None,
              params: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        for attempt in (0, 1):
            headers = {"X-Auth-Token": self._token_value(renew=attempt == 1, timeout=timeout)}
            try:
                response = self._http.request(
                    method, PREFIX + path, json=json, params=params, headers=headers,
                    timeout=timeout if timeout is not None else self._timeout)
            except UNREACHABLE as exc:
                raise TransportError(f"{method} {path} to {self.base} failed: "
                                     f"{_reason(exc)}") from exc
            if response.status_code == 401 and attempt == 0:
                continue  # the token expired: log in again once
            if response.status_code >= 500:
                raise TransportError(f"{method} {path}: server error {response.status_code}: "
                                     f"{response.text[:200]}")
            return response
        raise AgentRefused(f"{method} {path}: the server refused our credentials")

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AgentRefused(f"{response.request.method} {response.request.url.path}: "
                               f"{response.status_code} {response.text[:300]}")
        try:
            return response.json() if response.content else None
        except ValueError as exc:  # a proxy's error page, a truncated body: try again later
            raise TransportError(f"{response.request.method} {response.request.url.path}: "
                                 f"answer is not JSON: {response.text[:200]!r}") from exc

    # ---- AgentServerClient --------------------------------------------------------------------

    def report_state(self, state: AgentState, timeout: float | None = None) -> ReportResult:
        response = self._call("POST", "/report_state", json=state.model_dump(), timeout=timeout)
        return ReportResult.model_validate(self._ok(response))

    def get_active_networks(self, host: str) -> list[NetworkRef]:
        body = self._ok(self._call("GET", f"/dhcp/{host}/networks"))
        return [NetworkRef.model_validate(n) for n in body["networks"]]

    def get_network_info(self, host: str, network_id: str) -> NetworkInfo | None:
        response = self._call("GET", f"/dhcp/{host}/networks/{network_id}")
        if response.status_code == 404:
            return None
        return NetworkInfo.model_validate(self._ok(response))

    def create_dhcp_port(self, request: DhcpPortRequest) -> PortInfo:
        response = self._call("POST", "/dhcp/ports", json=request.model_dump())
        return PortInfo.model_validate(self._ok(response))

    def update_dhcp_port(self, port_id: str, request: DhcpPortRequest) -> PortInfo:
        response = self._call("PUT", f"/dhcp/ports/{port_id}", json=request.model_dump())
        return PortInfo.model_validate(self._ok(response))

    def release_dhcp_port(self, network_id: str, device_id: str, host: str) -> None:
        self._ok(self._call("DELETE", "/dhcp/ports", params={
            "network_id": network_id, "device_id": device_id, "host": host}))

    def dhcp_ready_on_ports(self, port_ids: list[str]) -> None:
        self._ok(self._call("POST", "/dhcp/ports_ready", json={"port_ids": port_ids}))

    def networks_applied(self, host: str, networks: list[NetworkApplied]) -> None:
        self._ok(self._call("POST", f"/dhcp/{host}/applied",
                            json={"networks": [n.model_dump() for n in networks]}))

    def update_device_list(self, host: str, devices: DeviceList) -> None:
        self._ok(self._call("POST", f"/l2/{host}/devices", json=devices.model_dump()))

    def wait_events(self, host: str, after: int, timeout: float) -> EventBatch:
        response = self._call("GET", "/events",
                              params={"host": host, "after": after, "timeout": timeout},
                              timeout=timeout + self._timeout)
        return EventBatch.model_validate(self._ok(response))

    def get_l2_state(self, host: str) -> L2HostState:
        return L2HostState.model_validate(self._ok(self._call("GET", f"/l2/{host}")))

    def close(self) -> None:
        self._http.close()
