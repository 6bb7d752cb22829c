"""Filters, fields, sorting and limit/marker paging on the real API."""
from __future__ import annotations

import uuid

from tests.support.server import RunningServer


def test_list_filters_fields_sorting_and_paging(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    with server.client() as c:
        ids = []
        for i in range(5):
            r = c.post("/v2.0/networks", json={"network": {"name": f"p{tag}-{i}",
                                                           "admin_state_up": i % 2 == 0}})
            ids.append(r.json()["network"]["id"])
        ours = [("name", f"p{tag}-{i}") for i in range(5)]
        body = c.get("/v2.0/networks", params=ours + [("fields", "id"), ("fields", "name"),
                                                      ("sort_key", "name"),
                                                      ("sort_dir", "desc")]).json()
        assert [n["name"] for n in body["networks"]] == [f"p{tag}-{i}" for i in (4, 3, 2, 1, 0)]
        assert all(set(n) == {"id", "name"} for n in body["networks"])
        down = c.get("/v2.0/networks", params=ours + [("admin_state_up", "false")]).json()
        assert sorted(n["name"] for n in down["networks"]) == [f"p{tag}-1", f"p{tag}-3"]
        page = c.get("/v2.0/networks", params=ours + [("sort_key", "name"),
                                                      ("sort_dir", "asc"), ("limit", "2")]).json()
        assert [n["name"] for n in page["networks"]] == [f"p{tag}-0", f"p{tag}-1"]
        assert page["networks_links"][0]["rel"] == "next"
        marker = page["networks"][-1]["id"]
        rest = c.get("/v2.0/networks", params=ours + [("sort_key", "name"), ("sort_dir", "asc"),
                                                      ("limit", "2"), ("marker", marker)]).json()
        assert [n["name"] for n in rest["networks"]] == [f"p{tag}-2", f"p{tag}-3"]
        shown = c.get(f"/v2.0/networks/{ids[0]}", params={"fields": "name"}).json()
        assert shown == {"network": {"name": f"p{tag}-0"}}
        bad = c.get("/v2.0/networks", params={"sort_key": "nope"})
        assert bad.status_code == 400 and "sort_key" in bad.json()["NeutronError"]["message"]
