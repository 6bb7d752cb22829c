"""Bounds on what an agent may put in a message, checked by pydantic on receipt.

Whatever the transport (HTTP bodies are also bounded before parsing, RabbitMQ messages are
not), a value that passes these fits every database column it lands in: strings within
their column's length and free of NUL (PostgreSQL cannot store it), free-form JSON such as
`configurations` shallow, small, with 64-bit integers and finite numbers only.
"""
from __future__ import annotations

import math
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, Field, StringConstraints

MAX_TEXT = 255  # the agents table's host, binary, topic and zone columns; port columns too
MAX_JSON_DEPTH = 8
MAX_JSON_BYTES = 16384
INT64 = (-(2**63), 2**63 - 1)
NO_NUL = "^[^\\u0000]*$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    return value


def _walk(value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"is nested more than {MAX_JSON_DEPTH} levels deep")
    if isinstance(value, dict):
        for item in value.values():
            _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)
    elif isinstance(value, bool) or value is None or isinstance(value, str):
        return
    elif isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise ValueError("holds an integer outside the signed 64-bit range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("holds NaN or Infinity, which JSON does not have")
        if abs(value) >= 2.0**63:
            # A JSON parser may turn 18446744073709551616 into a float: the same refusal.
            raise ValueError("holds a number outside the signed 64-bit range")


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    _walk(value, 1)
    try:
        size = len(orjson.dumps(value))
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, a non-string key
        raise ValueError("holds text that is not valid Unicode") from None
    if size > MAX_JSON_BYTES:
        raise ValueError(f"is {size} bytes of JSON; at most {MAX_JSON_BYTES} are accepted")
    return value


_NUL_FREE = (AfterValidator(_no_nul), Field(json_schema_extra={"pattern": NO_NUL}))

# A host name as agents report it: Neutron's agents.host is 255 characters.
Host = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT), *_NUL_FREE]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), *_NUL_FREE]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64), *_NUL_FREE]
# The document describes two levels of it (what agents send); the check allows eight.
_SCALAR: dict[str, Any] = {"type": ["string", "integer", "number", "boolean", "null"]}
_FREE_JSON_SCHEMA: dict[str, Any] = {
    "description": f"Free-form JSON: at most {MAX_JSON_DEPTH} levels deep and "
                   f"{MAX_JSON_BYTES} bytes, 64-bit integers.",
    "additionalProperties": {"anyOf": [
        _SCALAR, {"type": "array", "items": _SCALAR, "maxItems": 16},
        {"type": "object", "additionalProperties": _SCALAR, "maxProperties": 16}]},
    "maxProperties": 32}
FreeJson = Annotated[dict[str, Any], AfterValidator(_bounded_json),
                     Field(json_schema_extra=_FREE_JSON_SCHEMA)]
