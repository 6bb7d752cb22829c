"""Answers given before any route runs (a limit of size, time or characters was crossed).

The body is what the route behind the path would have answered with: a NeutronError, or
Keystone's error document on the identity paths. Each refusal closes the connection, since
the rest of the request (an unread body, say) cannot be trusted to frame a next one.
"""
from __future__ import annotations

from http import HTTPStatus

import orjson
from starlette.types import Send

from neutrino.identity import documents

IDENTITY_PREFIXES = ("/v3", "/v2.0/tokens", "/identity")
# Neutron's fault types for these statuses (webob's exception names).
NEUTRON_TYPES = {400: "HTTPBadRequest", 408: "HTTPRequestTimeout",
                 413: "HTTPRequestEntityTooLarge", 414: "HTTPRequestURITooLong",
                 431: "HTTPRequestHeaderFieldsTooLarge"}


def is_identity_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in IDENTITY_PREFIXES)


def error_body(path: str, status: int, message: str) -> bytes:
    if is_identity_path(path):
        return orjson.dumps(documents.error(status, HTTPStatus(status).phrase, message))
    return orjson.dumps({"NeutronError": {"type": NEUTRON_TYPES.get(status, f"HTTP{status}"),
                                          "message": message, "detail": ""}})


def headers(content: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode("ascii")), (b"connection", b"close")]


async def send_refusal(send: Send, path: str, status: int, message: str) -> None:
    """Answer an ASGI request with `status`; the server then closes the connection."""
    content = error_body(path, status, message)
    await send({"type": "http.response.start", "status": status, "headers": headers(content)})
    await send({"type": "http.response.body", "body": content})


def raw_refusal(path: str, status: int, message: str) -> bytes:
    """The same answer as bytes on the wire, for refusals made before a request exists."""
    content = error_body(path, status, message)
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers(content))
    return (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode("ascii") + head
            + b"\r\n" + content)
