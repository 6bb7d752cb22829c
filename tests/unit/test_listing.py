"""Neutron list semantics over plain dicts: filters, fields, sorting, paging."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.api.listing import ListQuery, apply, parse_query
from neutrino.errors import InvalidInput

KNOWN = {"id", "name", "admin_state_up", "mtu", "subnets", "description"}

ITEMS: list[dict[str, Any]] = [
    {"id": "a", "name": "net1", "admin_state_up": True, "mtu": 1500, "subnets": ["s1", "s2"],
     "description": None},
    {"id": "b", "name": "net2", "admin_state_up": False, "mtu": 9000, "subnets": [],
     "description": "x"},
    {"id": "c", "name": "net1", "admin_state_up": True, "mtu": 1450, "subnets": ["s3"],
     "description": "y"},
]


def run(params: list[tuple[str, str]], items: list[dict[str, Any]] | None = None
        ) -> tuple[list[dict[str, Any]], bool]:
    return apply(list(ITEMS if items is None else items), parse_query(params, KNOWN))


def ids(result: tuple[list[dict[str, Any]], bool]) -> list[str]:
    return [i["id"] for i in result[0]]


def test_parse_query_collects_everything() -> None:
    query = parse_query([("name", "a"), ("name", "b"), ("fields", "id"), ("sort_key", "name"),
                         ("sort_dir", "desc"), ("limit", "5"), ("marker", "m"),
                         ("page_reverse", "False")], KNOWN)
    assert query == ListQuery(filters={"name": ["a", "b"]}, fields=["id"], sort_keys=["name"],
                              sort_dirs=["desc"], limit=5, marker="m")


@pytest.mark.parametrize(("params", "words"), [
    ([("sort_key", "colour")], "colour is an invalid attribute for sort_key"),
    ([("sort_key", "name"), ("sort_dir", "up")], "up is an invalid value for sort_dir"),
    ([("limit", "ten")], "Limit must be an integer 0 or greater and not 'ten'"),
    ([("limit", "-1")], "Limit must be an integer 0 or greater and not '-1'"),
    ([("sort_key", "name"), ("sort_key", "id"), ("sort_dir", "asc")],
     "number of sort_keys and sort_dirs must be the same"),
])
def test_parse_query_rejects_with_a_clear_message(params: list[tuple[str, str]],
                                                  words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_query(params, KNOWN)


def test_filter_by_value_and_by_any_of_several_values() -> None:
    assert ids(run([("name", "net1")])) == ["a", "c"]
    assert ids(run([("name", "net2"), ("id", "c")])) == []
    assert ids(run([("id", "a"), ("id", "b")])) == ["a", "b"]


def test_filter_booleans_case_insensitively() -> None:
    assert ids(run([("admin_state_up", "false")])) == ["b"]
    assert ids(run([("admin_state_up", "True")])) == ["a", "c"]


def test_filter_lists_match_any_member_and_none_matches_empty() -> None:
    assert ids(run([("subnets", "s2")])) == ["a"]
    assert ids(run([("description", "")])) == ["a"]


def test_filter_on_unknown_attribute_is_ignored() -> None:
    assert ids(run([("colour", "red")])) == ["a", "b", "c"]


def test_fields_trim_items() -> None:
    items, _ = run([("fields", "id"), ("fields", "name")])
    assert items == [{"id": "a", "name": "net1"}, {"id": "b", "name": "net2"},
                     {"id": "c", "name": "net1"}]


def test_sort_by_several_keys_and_directions() -> None:
    assert ids(run([("sort_key", "name"), ("sort_dir", "asc"), ("sort_key", "id"),
                    ("sort_dir", "desc")])) == ["c", "a", "b"]


def test_sort_numbers_by_value_not_by_text() -> None:
    assert ids(run([("sort_key", "mtu")])) == ["c", "a", "b"]
    assert ids(run([("sort_key", "mtu"), ("sort_dir", "desc")])) == ["b", "a", "c"]
    items = [{"id": "x", "mtu": 10}, {"id": "y", "mtu": 9}, {"id": "z", "mtu": None}]
    assert ids(run([("sort_key", "mtu")], items)) == ["y", "x", "z"]


def test_limit_and_marker_page_through() -> None:
    first = run([("limit", "2")])
    assert ids(first) == ["a", "b"] and first[1] is True
    second = run([("limit", "2"), ("marker", "b")])
    assert ids(second) == ["c"] and second[1] is False


def test_limit_zero_means_no_limit() -> None:
    assert ids(run([("limit", "0")])) == ["a", "b", "c"]


def test_unknown_marker_is_an_error_naming_it() -> None:
    with pytest.raises(InvalidInput, match="Marker zz could not be found"):
        run([("marker", "zz")])


@given(st.lists(st.integers(min_value=-10**6, max_value=10**6), min_size=1, max_size=30,
                unique=True),
       st.integers(min_value=1, max_value=7))
def test_paging_visits_every_item_once_in_order(values: list[int], limit: int) -> None:
    items = [{"id": f"i{n}", "mtu": v} for n, v in enumerate(values)]
    seen: list[str] = []
    marker: str | None = None
    while True:
        params = [("sort_key", "mtu"), ("limit", str(limit))]
        if marker:
            params.append(("marker", marker))
        page, more = run(params, items)
        seen += [i["id"] for i in page]
        if not more:
            break
        marker = page[-1]["id"]
    expected = [i["id"] for i in sorted(items, key=lambda i: i["mtu"])]
    assert seen == expected
