from __future__ import annotations

from typing import Any

import pytest

from neutrino.identity.auth_requests import (
    AuthRequest,
    PasswordCredentials,
    TokenCredentials,
    parse_v2,
    parse_v3,
)
from neutrino.identity.errors import MalformedAuthRequest, UnsupportedAuth


def _v3(user: dict[str, Any], scope: Any = None) -> dict[str, Any]:
    auth: dict[str, Any] = {"identity": {"methods": ["password"],
                                         "password": {"user": user}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


def test_v3_password_by_name_and_project_by_name() -> None:
    body = _v3({"name": "admin", "domain": {"name": "Default"}, "password": "pw"},
               {"project": {"name": "admin", "domain": {"id": "default"}}})
    assert parse_v3(body) == AuthRequest(PasswordCredentials("admin", "pw", "Default"),
                                         "admin", "default")


def test_v3_password_by_id_and_project_by_id() -> None:
    body = _v3({"id": "u1", "password": "pw"}, {"project": {"id": "p1"}})
    assert parse_v3(body) == AuthRequest(PasswordCredentials("u1", "pw"), "p1")


def test_v3_unscoped() -> None:
    assert parse_v3(_v3({"id": "u1", "password": "pw"}, "unscoped")).project is None
    assert parse_v3(_v3({"id": "u1", "password": "pw"})).project is None


def test_v3_token_method() -> None:
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": "tok"}},
                     "scope": {"project": {"id": "p2"}}}}
    assert parse_v3(body) == AuthRequest(TokenCredentials("tok"), "p2")


@pytest.mark.parametrize("body", [
    None, [], "x", {}, {"auth": []}, {"auth": {}},
    {"auth": {"identity": {"methods": "password"}}},
    {"auth": {"identity": {"methods": ["password"]}}},
    {"auth": {"identity": {"methods": ["password"], "password": {"user": {"password": "x"}}}}},
    {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "a"}}}}},
    {"auth": {"identity": {"methods": ["password"],
                           "password": {"user": {"name": 5, "password": "x"}}}}},
    {"auth": {"identity": {"methods": ["token"], "token": {}}}},
    _v3({"name": "a", "password": "x", "domain": {}}),
    _v3({"name": "a", "password": "x"}, {"project": {"domain": {"id": "default"}}}),
    _v3({"name": "a", "password": "x"}, 7),
])
def test_v3_malformed_bodies_are_rejected(body: Any) -> None:
    with pytest.raises(MalformedAuthRequest):
        parse_v3(body)


@pytest.mark.parametrize("body", [
    _v3({"name": "a", "password": "x"}, {"domain": {"id": "default"}}),
    _v3({"name": "a", "password": "x"}, {"system": {"all": True}}),
    {"auth": {"identity": {"methods": ["totp"], "totp": {}}}},
])
def test_v3_unsupported_methods_and_scopes(body: Any) -> None:
    with pytest.raises(UnsupportedAuth):
        parse_v3(body)


def test_v2_password_with_tenant_name_or_id() -> None:
    by_name = {"auth": {"passwordCredentials": {"username": "admin", "password": "pw"},
                        "tenantName": "admin"}}
    by_id = {"auth": {"passwordCredentials": {"userId": "u1", "password": "pw"},
                      "tenantId": "p1"}}
    assert parse_v2(by_name) == AuthRequest(PasswordCredentials("admin", "pw"), "admin")
    assert parse_v2(by_id) == AuthRequest(PasswordCredentials("u1", "pw"), "p1")


def test_v2_token_rescope() -> None:
    body = {"auth": {"token": {"id": "tok"}, "tenantName": "demo"}}
    assert parse_v2(body) == AuthRequest(TokenCredentials("tok"), "demo")


@pytest.mark.parametrize("body", [
    None, {}, {"auth": {}}, {"auth": {"passwordCredentials": {"password": "x"}}},
    {"auth": {"passwordCredentials": {"username": "a"}}},
    {"auth": {"passwordCredentials": {"username": "a", "password": "x"}, "tenantName": 3}},
    {"auth": {"token": "abc"}},
])
def test_v2_malformed_bodies_are_rejected(body: Any) -> None:
    with pytest.raises(MalformedAuthRequest):
        parse_v2(body)
