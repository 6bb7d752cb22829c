"""Request bodies: JSON only, with messages a person can act on.

The guard in front of every route (api/request_guard.py) has already bounded the body's
size and the time it took to arrive; this module decides whether the bytes are JSON that
the rest of the server can hold: UTF-8, no NaN or Infinity, no lone surrogates (which no
database driver and no response can encode), and nested at most MAX_DEPTH levels.
"""
from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from neutrino.errors import InvalidInput, shown

# Neutron bodies are three or four levels deep; agents' configurations a few more.
MAX_DEPTH = 32

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_DELTA = [0] * 256
for _open, _close in (b"[]", b"{}"):
    _DELTA[_open], _DELTA[_close] = 1, -1


class MalformedJson(ValueError):
    """The body is not JSON this server accepts; the message says why."""


def nesting_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in `raw`, found without parsing (linear time)."""
    # Escapes go first, so that every '"' left delimits a string; brackets inside strings
    # then go with the strings. Each step is one pass of a regex without backtracking.
    structure = _STRING.sub(b"", _ESCAPE.sub(b"", raw)).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_DELTA.__getitem__, structure)), default=0)


def decode_json(raw: bytes) -> Any:
    """Parse a request body; raise MalformedJson with a short reason."""
    # Checked before parsing: a parser (and everything that walks its result) recurses.
    # Counting brackets is enough for nearly every body; only a bracket-rich one is scanned.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and \
            (depth := nesting_depth(raw)) > MAX_DEPTH:
        raise MalformedJson(f"the JSON is nested {depth} levels deep; at most {MAX_DEPTH} "
                            "are accepted")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedJson(str(exc)) from None


async def json_body(request: Request) -> Any:
    return parse_json_body(await raw_json_body(request))


async def raw_json_body(request: Request) -> bytes:
    """The body's bytes, once its content type says JSON and it is not empty."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if content_type and content_type != "application/json":
        raise InvalidInput(f"Content type '{shown(content_type)}' is not supported; send "
                           "application/json.")
    if not raw:
        raise InvalidInput("The request body is empty; a JSON object is required.")
    return raw


def parse_json_body(raw: bytes) -> Any:
    try:
        return decode_json(raw)
    except MalformedJson as exc:
        raise InvalidInput(f"Malformed JSON in request body: {exc}.") from None


def parse_message(model: type[BaseModel], body: Any) -> Any:
    """Validate an agent message; InvalidInput names each bad field, never repeating it."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(shown(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors(include_url=False)[:5])
        raise InvalidInput(f"Invalid {model.__name__}: {problems}.") from None
