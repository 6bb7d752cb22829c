"""Request bodies as the server reads them: JSON it can hold, agent messages within their
columns, and errors that repeat input only in a short, printable form."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent_protocol.bounds import MAX_JSON_BYTES, MAX_JSON_DEPTH
from neutrino.agent_protocol.messages import AgentState, DhcpPortRequest
from neutrino.api.body import MAX_DEPTH, MalformedJson, decode_json, nesting_depth, parse_message
from neutrino.errors import SHOWN_MAX, InvalidInput, shown

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=20)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(JSON)
def test_nesting_depth_is_the_depth_of_the_parsed_document(value: Any) -> None:
    # Strings full of brackets, quotes and backslashes must not confuse the scan.
    raw = json.dumps(value).encode()
    assert nesting_depth(raw) == _depth(value)


@pytest.mark.parametrize("raw", [
    b'{"a": "[[[[{{{{\\\\"}', b'"\\\\\\"[[["', b'{"k\\"[": ["]"]}',
])
def test_brackets_inside_strings_do_not_count(raw: bytes) -> None:
    assert nesting_depth(raw) == _depth(json.loads(raw))


def test_documents_nested_deeper_than_the_limit_are_refused_before_parsing() -> None:
    assert decode_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    with pytest.raises(MalformedJson, match=f"nested 100000 levels deep; at most {MAX_DEPTH}"):
        decode_json(b"[" * 100000 + b"]" * 100000)


def test_depth_scan_is_linear_on_the_worst_body_the_size_limit_lets_through() -> None:
    # Escaped quotes defeat a backtracking string regex; this scan stays in milliseconds.
    raw = b'"' + b'\\"' * 57000 + b"[" * 40
    started = time.perf_counter()
    nesting_depth(raw)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(("raw", "reason"), [
    (b'{"name": "\\ud800"}', "surrogate"),
    (b'{"name": "\xed\xa0\x80"}', "surrogates not allowed"),
    (b'{"mtu": NaN}', "unexpected character"),
    (b'{"mtu": 1e400}', "infinity"),
    (b'{"a": 1,}', "trailing comma"),
    (b"\xef\xbb\xbf{}", "BOM"),
])
def test_json_the_server_cannot_hold_is_malformed(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedJson, match=reason):
        decode_json(raw)


def test_paired_surrogates_are_ordinary_text() -> None:
    assert decode_json(b'"\\ud83d\\ude00"') == "\U0001f600"


@pytest.mark.parametrize(("value", "expected"), [
    ("short", "short"), (5, "5"), (True, "True"), (None, "None"), ("a\x00b", "a\\x00b"),
    ("\ud800", "\\ud800"), ("tab\there", "tab\\there"),
])
def test_shown_renders_input_printably(value: Any, expected: str) -> None:
    assert shown(value) == expected


@given(JSON)
def test_shown_is_always_short_and_printable(value: Any) -> None:
    text = shown(value)
    assert len(text) <= 6 * SHOWN_MAX + 1  # escapes may lengthen the kept characters
    assert text.isprintable()
    text.encode("utf-8")  # what a response body must be


def test_shown_of_huge_values_is_bounded() -> None:
    assert len(shown("x" * 10**6)) == SHOWN_MAX + 1
    assert len(shown([["x" * 1000] * 1000] * 1000)) <= SHOWN_MAX + 1


def _state(**fields: Any) -> dict[str, Any]:
    return {"agent_type": "DHCP agent", "binary": "neutrino-dhcp-agent", "host": "h", **fields}


def _nested(depth: int) -> dict[str, Any]:
    conf: dict[str, Any] = {}
    for _ in range(depth - 1):
        conf = {"n": conf}
    return conf


@pytest.mark.parametrize(("fields", "words"), [
    ({"host": ""}, "host: String should have at least 1 character"),
    ({"host": "h" * 256}, "host: String should have at most 255 characters"),
    ({"host": "a\x00b"}, "host: Value error, must not contain NUL"),
    ({"binary": "b" * 256}, "binary"), ({"topic": "t" * 256}, "topic"),
    ({"agent_type": "a" * 256}, "agent_type"), ({"availability_zone": "z" * 256}, "zone"),
    ({"configurations": {"n": 2**63}}, "configurations: .*signed 64-bit"),
    ({"configurations": {"n": -(2**63) - 1}}, "signed 64-bit"),
    ({"configurations": {"n": float(2**64)}}, "signed 64-bit"),
    ({"configurations": {"n": float("nan")}}, "NaN or Infinity"),
    ({"configurations": {"n": [float("inf")]}}, "NaN or Infinity"),
    ({"configurations": {"n": "\ud800"}}, "not valid Unicode"),
    ({"configurations": _nested(MAX_JSON_DEPTH + 1)}, f"more than {MAX_JSON_DEPTH} levels"),
    ({"configurations": {"n": "x" * MAX_JSON_BYTES}}, f"at most {MAX_JSON_BYTES}"),
    ({"resource_versions": {"n": 2**64}}, "resource_versions"),
])
def test_agent_state_out_of_bounds_is_invalid_input(fields: dict[str, Any], words: str
                                                   ) -> None:
    with pytest.raises(InvalidInput, match=f"Invalid AgentState: .*{words}"):
        parse_message(AgentState, _state(**fields))


def test_agent_state_within_bounds_is_kept() -> None:
    state = parse_message(AgentState, _state(
        host="h" * 255, configurations={**_nested(MAX_JSON_DEPTH), "n": 2**63 - 1,
                                        "m": -(2**63), "f": 1.5, "s": "ü" * 100}))
    assert state.host == "h" * 255 and state.configurations["n"] == 2**63 - 1


def test_dhcp_port_request_bounds_ids_and_lists() -> None:
    ok = {"network_id": "n", "device_id": "d", "host": "h"}
    assert parse_message(DhcpPortRequest, ok).host == "h"
    for bad, words in (({"network_id": ""}, "network_id"), ({"network_id": "n" * 65}, "64"),
                       ({"subnet_ids": ["s"] * 65}, "subnet_ids"), ({"host": "h" * 256}, "255"),
                       ({"mac_address": "m\x00"}, "NUL")):
        with pytest.raises(InvalidInput, match=words):
            parse_message(DhcpPortRequest, {**ok, **bad})


def test_validation_errors_never_repeat_the_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_message(AgentState, _state(host="SECRET" * 1000))
    assert "SECRET" not in str(caught.value) and len(str(caught.value)) < 300
