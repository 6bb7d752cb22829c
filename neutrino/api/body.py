"""Request bodies: JSON only, with messages a person can act on."""
from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from neutrino.errors import InvalidInput

MAX_BODY = 1 << 20


async def json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInput(f"Request body is {len(raw)} bytes; at most {MAX_BODY} are accepted.")
    if content_type and content_type != "application/json":
        raise InvalidInput(f"Content type {content_type!r} is not supported; send "
                           "application/json.")
    if not raw:
        raise InvalidInput("The request body is empty; a JSON object is required.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Malformed JSON in request body: {exc}.") from None
