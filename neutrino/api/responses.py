"""JSON responses serialised once with orjson.

Returning a dict would make FastAPI walk it with jsonable_encoder first, which costs more
than the database query for a list of 1,000 agents.
"""
from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response


def json_response(content: Any, status_code: int = 200) -> Response:
    # Naive datetimes (server UTC) come out as 2013-03-16T01:16:18.123456, as in the seed.
    return Response(orjson.dumps(content), status_code=status_code,
                    media_type="application/json")
