"""Transports that carry the CLI's requests: keystoneauth for real use, httpx for
in-process tests."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session

from neutrino.cli.api import CliError, JsonBody, ServerUnreachable
from neutrino.tls import explain_failure, tls_failure


def strip_version(endpoint: str) -> str:
    """Drop a trailing /v2.0 so catalog entries with and without it both work."""
    base = endpoint.rstrip("/")
    # Neutron catalogs list the bare service URL, but some deployments register ".../v2.0";
    # our paths already start with /v2.0.
    return base.removesuffix("/v2.0")


def _decode(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


class SessionTransport:
    """Sends requests through a keystoneauth session to the catalog's network endpoint."""

    def __init__(self, session: ks_session.Session, auth_url: str | None,
                 endpoint_override: str | None = None, interface: str = "public",
                 region_name: str | None = None, trust: str = "the system's CAs",
                 client_cert: bool = False) -> None:
        self._session = session
        # What certificates are verified against, and whether we show one: for messages.
        self._trust = trust
        self._client_cert = client_cert
        self._auth_url = auth_url
        self._endpoint_override = endpoint_override
        self._interface = interface
        self._region_name = region_name
        self._endpoint: str | None = None

    def endpoint(self) -> str:
        """The network API base URL, looked up in the catalog once (authenticating if needed)."""
        if self._endpoint is None:
            if self._endpoint_override:
                self._endpoint = strip_version(self._endpoint_override)
            else:
                found = self._guarded(lambda: self._session.get_endpoint(
                    service_type="network", interface=self._interface,
                    region_name=self._region_name), self._auth_url or "")
                if not found:
                    raise CliError(
                        "The service catalog has no 'network' endpoint for interface "
                        f"'{self._interface}'; pass --os-url to name the server directly.")
                self._endpoint = strip_version(found)
        return self._endpoint

    def request(self, method: str, path: str, json: JsonBody = None) -> tuple[int, Any]:
        """Send one request; raise ServerUnreachable when no connection can be made."""
        url = self.endpoint() + path
        kwargs: dict[str, Any] = {"raise_exc": False, "headers": {"Accept": "application/json"}}
        if json is not None:
            kwargs["json"] = json
        response = self._guarded(lambda: self._session.request(url, method, **kwargs), url)
        return response.status_code, _decode(response)

    def _guarded(self, call: Any, url: str) -> Any:
        # keystoneauth reports refused connections and bad credentials with its own exception
        # types; turn them into sentences that name the URL the user can check.
        try:
            return call()
        except (ks_exceptions.ConnectFailure, ks_exceptions.ConnectTimeout) as error:
            # Under TLS 1.3 a server that wants a client certificate says so with an alert
            # after the handshake: depending on timing that arrives as a connection error
            # holding the ssl error, or as a bare reset.
            failure = tls_failure(error)
            if failure is not None:
                raise self._tls_error(url, failure) from error
            hint = ""
            if url.startswith("https:") and not self._client_cert and _reset(error):
                hint = (" (the connection was reset: if the server requires client "
                        f"certificates, {CERT_HINT})")
            raise ServerUnreachable(
                f"Unable to connect to {url}: is the server running and reachable?{hint}"
            ) from error
        except ks_exceptions.SSLError as error:
            failure = tls_failure(error)
            if failure is None:
                raise CliError(f"TLS handshake with {url} failed: {error}") from error
            raise self._tls_error(url, failure) from error
        except ks_exceptions.Unauthorized as error:
            raise CliError(
                f"Authentication failed at {self._auth_url}: check the user name, password "
                f"and project (tenant) name. ({error})") from error
        except ks_exceptions.EndpointNotFound as error:
            raise CliError(
                "The service catalog has no 'network' endpoint; pass --os-url to name the "
                "server directly.") from error
        except ks_exceptions.ClientException as error:
            raise CliError(f"Request to {url} failed: {error}") from error


    def _tls_error(self, url: str, failure: ssl.SSLError) -> CliError:
        return CliError(explain_failure(
            url, self._trust, failure,
            "pass --os-cacert (or env[OS_CACERT]) with the CA that signed the server's "
            "certificate.", CERT_HINT, self._client_cert))


CERT_HINT = "pass --os-cert and --os-key (or env[OS_CERT], env[OS_KEY])."


def _reset(error: BaseException) -> bool:
    """Whether a connection failure was the peer resetting or closing it, not a refusal."""
    text = repr(error)
    return "ConnectionResetError" in text or "RemoteDisconnected" in text or \
        "Connection aborted" in text or "EOF occurred" in text


class HttpxTransport:
    """Sends requests through an httpx.Client, e.g. FastAPI's TestClient, with an optional token."""

    def __init__(self, client: httpx.Client, token: str | None = None,
                 base_url: str = "") -> None:
        self._client = client
        self._token = token
        self._base_url = strip_version(base_url) if base_url else ""

    def request(self, method: str, path: str, json: JsonBody = None) -> tuple[int, Any]:
        """Send one request; raise ServerUnreachable when no connection can be made."""
        url = self._base_url + path
        headers = {"Accept": "application/json"}
        if self._token:
            headers["X-Auth-Token"] = self._token
        try:
            response = self._client.request(method, url, json=json, headers=headers)
        except httpx.ConnectError as error:
            raise ServerUnreachable(
                f"Unable to connect to {url}: is the server running and reachable?"
            ) from error
        return response.status_code, _decode(response)
