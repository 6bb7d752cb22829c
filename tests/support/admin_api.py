"""The admin's view of a deployment with one or several server replicas: a NeutronClient
transport that asks whichever replica answers, with one token for all of them."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from neutrino.cli.api import JsonBody, NeutronClient, ServerUnreachable

TIMEOUT = 10.0


def login(url: str, user: str, password: str, project: str) -> str:
    """A project-scoped token from the server's Keystone-compatible v3 endpoint."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    response = httpx.post(url + "/v3/auth/tokens", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.headers["x-subject-token"]


class ReplicaTransport:
    """Tries the replicas in order; a refused connection moves on to the next one (the
    replicas share the database, so any of them answers the same)."""

    def __init__(self, urls: Callable[[], list[str]], token: str) -> None:
        self._urls = urls
        self._token = token

    def request(self, method: str, path: str, json: JsonBody = None) -> tuple[int, Any]:
        last: Exception | None = None
        for url in self._urls():
            try:
                response = httpx.request(method, url + path, json=json, timeout=TIMEOUT,
                                         headers={"X-Auth-Token": self._token})
            except httpx.TransportError as exc:
                last = exc
                continue
            if not response.content:
                return response.status_code, None
            try:
                return response.status_code, response.json()
            except ValueError:
                return response.status_code, response.text
        raise ServerUnreachable(f"no server replica answered {method} {path}: {last}")


def admin_client(urls: Callable[[], list[str]], token: str) -> NeutronClient:
    return NeutronClient(ReplicaTransport(urls, token))
