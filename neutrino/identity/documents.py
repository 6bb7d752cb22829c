"""Keystone-shaped JSON documents: version discovery, service catalogs, v3 tokens, v2.0 access.

Pure functions of plain data; the HTTP layer supplies URLs and serialises the result.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from neutrino.identity.store import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, RoleInfo
from neutrino.identity.tokens import TokenInfo

REGION = "RegionOne"
V3_VERSION = "v3.14"
INTERFACES = ("public", "internal", "admin")
_DOMAIN = {"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME}
# Catalog ids are derived from what they name, so every replica hands out the same ids.
_ID_NAMESPACE = uuid.UUID("0b1e43a4-9d7e-4f43-8f5e-6f0a3f1f6d21")


def _stable_id(*parts: str) -> str:
    return uuid.uuid5(_ID_NAMESPACE, "/".join(parts)).hex


def isotime(epoch: float, *, subsecond: bool = True) -> str:
    """Keystone's UTC timestamp text: 2026-01-02T03:04:05.000000Z."""
    moment = datetime.fromtimestamp(epoch, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f" if subsecond else "%Y-%m-%dT%H:%M:%S")
    return text + "Z"


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def v3_version(base_url: str) -> dict[str, Any]:
    """The v3 version entry; `base_url` is the server root, e.g. http://host:9696/."""
    return {
        "id": V3_VERSION,
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": _with_slash(base_url) + "v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}],
    }


def versions(base_url: str) -> dict[str, Any]:
    """The multiple-choice document of the identity root."""
    return {"versions": {"values": [v3_version(base_url)]}}


def _services(network_url: str, base_url: str, identity_path: str) -> list[tuple[str, str, str]]:
    return [("network", "neutron", network_url),
            ("identity", "keystone", _with_slash(base_url) + identity_path)]


def v3_catalog(network_url: str, base_url: str) -> list[dict[str, Any]]:
    catalog = []
    for kind, name, url in _services(network_url, base_url, "v3/"):
        endpoints = [{"id": _stable_id(kind, interface), "interface": interface,
                      "region": REGION, "region_id": REGION, "url": url}
                     for interface in INTERFACES]
        catalog.append({"id": _stable_id(kind), "type": kind, "name": name,
                        "endpoints": endpoints})
    return catalog


def v2_catalog(network_url: str, base_url: str) -> list[dict[str, Any]]:
    catalog = []
    for kind, name, url in _services(network_url, base_url, "v2.0/"):
        endpoint = {"id": _stable_id(kind, "v2"), "region": REGION, "publicURL": url,
                    "internalURL": url, "adminURL": url}
        catalog.append({"type": kind, "name": name, "endpoints": [endpoint],
                        "endpoints_links": []})
    return catalog


def v3_token(info: TokenInfo, roles: list[RoleInfo],
             catalog: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The body of a v3 token response; `catalog` None leaves it out (?nocatalog)."""
    context = info.context
    token: dict[str, Any] = {
        "methods": list(info.methods),
        "user": {"id": context.user_id, "name": context.user_name, "domain": dict(_DOMAIN),
                 "password_expires_at": None},
        "audit_ids": [info.audit_id],
        "issued_at": isotime(info.issued_at),
        "expires_at": isotime(info.expires_at),
    }
    if context.project_id:
        token["project"] = {"id": context.project_id, "name": context.project_name,
                            "domain": dict(_DOMAIN)}
        token["is_domain"] = False
        token["roles"] = [{"id": r.id, "name": r.name} for r in roles]
        if catalog is not None:
            token["catalog"] = catalog
    return {"token": token}


def v2_access(token_id: str, info: TokenInfo, roles: list[RoleInfo],
              catalog: list[dict[str, Any]]) -> dict[str, Any]:
    """The body of a v2.0 token response."""
    context = info.context
    token: dict[str, Any] = {"id": token_id, "issued_at": isotime(info.issued_at),
                             "expires": isotime(info.expires_at, subsecond=False),
                             "audit_ids": [info.audit_id]}
    if context.project_id:
        token["tenant"] = {"id": context.project_id, "name": context.project_name,
                           "enabled": True, "description": None}
    return {"access": {
        "token": token,
        "serviceCatalog": catalog if context.project_id else [],
        "user": {"id": context.user_id, "name": context.user_name,
                 "username": context.user_name,
                 "roles": [{"name": r.name} for r in roles], "roles_links": []},
        "metadata": {"is_admin": 0, "roles": [r.id for r in roles]},
    }}


def error(code: int, title: str, message: str) -> dict[str, Any]:
    """Keystone's error body."""
    return {"error": {"code": code, "title": title, "message": message}}
