"""The served OpenAPI document says what the API reads, from the tables it validates with."""
from __future__ import annotations

import re
from typing import Any

import pytest

from neutrino.api import attributes, openapi
from neutrino.api.app import create_app
from neutrino.config import load_server_settings
from neutrino.db import migrate
from neutrino.db.session import Database

BODY_ROUTES = {
    ("post", "/v2.0/networks"), ("put", "/v2.0/networks/{item_id}"),
    ("post", "/v2.0/subnets"), ("put", "/v2.0/subnets/{item_id}"),
    ("post", "/v2.0/ports"), ("put", "/v2.0/ports/{item_id}"),
    ("put", "/v2.0/agents/{agent_id}"), ("post", "/v2.0/agents/{agent_id}/dhcp-networks"),
    ("post", "/v2.0/agents/{agent_id}/drain"),
    ("post", "/v3/auth/tokens"), ("post", "/v2.0/tokens"),
    ("post", "/agent-rpc/v1/report_state"), ("post", "/agent-rpc/v1/dhcp/ports"),
    ("put", "/agent-rpc/v1/dhcp/ports/{port_id}"), ("post", "/agent-rpc/v1/dhcp/ports_ready"),
    ("post", "/agent-rpc/v1/dhcp/{host}/applied"), ("post", "/agent-rpc/v1/l2/{host}/devices"),
}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("openapi")
    settings = load_server_settings([], overrides={
        "db_connection": f"sqlite:///{tmp}/n.db", "state_path": str(tmp)})
    db = Database(settings.db_connection)
    migrate.upgrade(db.engine)
    try:
        return create_app(settings, db, background=False).openapi()
    finally:
        db.dispose()


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m, p): op for p, item in document["paths"].items() for m, op in item.items()}


def test_every_route_that_reads_a_body_describes_it(document: dict[str, Any]) -> None:
    ops = _operations(document)
    with_body = {key for key, op in ops.items() if "requestBody" in op}
    assert with_body == BODY_ROUTES
    assert ("post", "/agent-rpc/v1/report_state") in ops  # a plain Starlette route


def test_resource_bodies_come_from_the_attribute_tables(document: dict[str, Any]) -> None:
    ops = _operations(document)
    for one, attrs in (("network", attributes.NETWORK_ATTRS),
                       ("subnet", attributes.SUBNET_ATTRS), ("port", attributes.PORT_ATTRS)):
        for method, path, creating in (("post", f"/v2.0/{one}s", True),
                                       ("put", f"/v2.0/{one}s/{{item_id}}", False)):
            schema = ops[(method, path)]["requestBody"]["content"]["application/json"]["schema"]
            inner = schema["properties"][one]
            allowed = {k for k, a in attrs.items() if (a.allow_post if creating else a.allow_put)}
            assert set(inner["properties"]) == allowed
            assert inner["additionalProperties"] is False
            required = {k for k, a in attrs.items() if a.required} if creating else set()
            assert set(inner.get("required", [])) == required
            assert inner["properties"]["name"] == attrs["name"].validate.schema


def test_lists_describe_filters_fields_sorting_and_paging(document: dict[str, Any]) -> None:
    ops = _operations(document)
    for path, names in (("/v2.0/networks", attributes.NETWORK_ATTRS),
                        ("/v2.0/ports", attributes.PORT_ATTRS),
                        ("/v2.0/agents", attributes.AGENT_ATTRS)):
        params = {p["name"]: p for p in ops[("get", path)]["parameters"]}
        assert {"fields", "sort_key", "sort_dir", "limit", "marker"} <= set(params)
        assert set(names) <= set(params)
        assert set(names) <= set(params["sort_key"]["schema"]["items"]["enum"])


def test_token_scheme_and_public_operations(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"][openapi.SECURITY_SCHEME]["name"] == \
        "X-Auth-Token"
    ops = _operations(document)
    public = {key for key, op in ops.items() if op.get("security") == []}
    assert ("post", "/v3/auth/tokens") in public and ("post", "/v2.0/tokens") in public
    assert ("get", "/v2.0/networks") not in public
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("validator", "good", "bad"), [
    (attributes.cidr_text, ["10.0.0.0/24", "2001:db8::/64"], ["10.0.0.0", "300.0.0.0/8"]),
    (attributes.mac_text, ["fa:16:3e:00:00:01"], ["fa-16-3e-00-00-01"]),
    (attributes.boolean, [True, "TRUE", "false"], ["yes", 1]),
])
def test_schemas_accept_what_validators_accept(validator: attributes.Validator,
                                               good: list[Any], bad: list[Any]) -> None:
    def matches(schema: dict[str, Any], value: Any) -> bool:
        if "anyOf" in schema:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return any(matches({**rest, **alt}, value) for alt in schema["anyOf"])
        kind = {"string": str, "boolean": bool}.get(schema.get("type", ""), object)
        if not isinstance(value, kind):
            return False
        return "pattern" not in schema or bool(re.search(schema["pattern"], str(value)))

    for value in good:
        validator("x", value)
        assert matches(validator.schema, value), value
    for value in bad:
        assert not matches(validator.schema, value), value
