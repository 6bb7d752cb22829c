from __future__ import annotations

from neutrino.identity import documents
from neutrino.identity.context import RequestContext
from neutrino.identity.store import RoleInfo
from neutrino.identity.tokens import TokenInfo

SCOPED = TokenInfo(RequestContext("u1", "alice", "p1", "demo", ("member",)),
                   1_800_000_000.0, 1_800_003_600.0, "audit", ("password",))
UNSCOPED = TokenInfo(RequestContext("u1", "alice", "", "", ()),
                     1_800_000_000.0, 1_800_003_600.0, "audit", ("password",))
ROLES = [RoleInfo("r1", "member")]


def test_isotime_is_utc_with_z() -> None:
    assert documents.isotime(0) == "1970-01-01T00:00:00.000000Z"
    assert documents.isotime(0, subsecond=False) == "1970-01-01T00:00:00Z"


def test_v3_version_links_to_v3_under_base() -> None:
    version = documents.v3_version("http://ctl:9696")
    assert version["links"] == [{"rel": "self", "href": "http://ctl:9696/v3/"}]
    assert version["status"] == "stable"


def test_v3_catalog_has_network_endpoint_for_each_interface() -> None:
    catalog = documents.v3_catalog("http://ctl:9696/", "http://ctl:9696/")
    network = next(s for s in catalog if s["type"] == "network")
    assert network["name"] == "neutron"
    assert {e["interface"] for e in network["endpoints"]} == {"public", "internal", "admin"}
    assert {e["url"] for e in network["endpoints"]} == {"http://ctl:9696/"}
    assert catalog == documents.v3_catalog("http://ctl:9696/", "http://ctl:9696/")


def test_v3_token_scoped_and_unscoped() -> None:
    scoped = documents.v3_token(SCOPED, ROLES, [])["token"]
    assert scoped["project"]["id"] == "p1"
    assert scoped["roles"] == [{"id": "r1", "name": "member"}]
    assert scoped["expires_at"] == documents.isotime(SCOPED.expires_at)
    unscoped = documents.v3_token(UNSCOPED, [], [])["token"]
    assert "project" not in unscoped and "catalog" not in unscoped


def test_v2_access_has_tenant_catalog_and_roles() -> None:
    catalog = documents.v2_catalog("http://ctl:9696/", "http://ctl:9696/")
    access = documents.v2_access("tok", SCOPED, ROLES, catalog)["access"]
    assert access["token"]["id"] == "tok"
    assert access["token"]["tenant"] == {"id": "p1", "name": "demo", "enabled": True,
                                         "description": None}
    assert access["user"]["roles"] == [{"name": "member"}]
    network = next(s for s in access["serviceCatalog"] if s["type"] == "network")
    assert network["endpoints"][0]["publicURL"] == "http://ctl:9696/"
    assert network["endpoints"][0]["region"] == "RegionOne"


def test_error_body_is_keystone_shaped() -> None:
    assert documents.error(401, "Unauthorized", "no") == {
        "error": {"code": 401, "title": "Unauthorized", "message": "no"}}
