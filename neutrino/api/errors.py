"""The one place where domain errors become HTTP statuses and NeutronError bodies."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from neutrino import errors
from neutrino.identity import documents

LOG = logging.getLogger(__name__)

STATUS: list[tuple[type[Exception], int]] = [
    (errors.NotFound, 404),
    (errors.InvalidInput, 400),
    (errors.Conflict, 409),
    (errors.SegmentsExhausted, 503),
    (errors.DatabaseUnavailable, 503),
    (errors.NotAuthenticated, 401),
    (errors.PolicyNotAuthorized, 403),
]

# Neutron's type names where ours differ, so that clients matching on `type` keep working.
NEUTRON_TYPE = {
    "InvalidInput": "HTTPBadRequest",
    "AddressExhausted": "IpAddressGenerationFailure",
    "SegmentsExhausted": "NoNetworkAvailable",
    "NetworkAlreadyHosted": "NetworkHostedByDHCPAgent",
    "NetworkNotHosted": "NetworkNotHostedByDhcpAgent",
    "AgentDisabled": "AgentNotFound",
    "AgentNotDhcp": "AgentNotFound",
    # neutron-lib's 503 exception; neutronclient turns it into its ServiceUnavailable.
    # (Neutron itself lets oslo.db's DBConnectionError through as a 500.)
    "DatabaseUnavailable": "ServiceUnavailable",
}
# Seconds a client is asked to wait before retrying a request refused for a database outage.
RETRY_AFTER = 5
# Keystone clients read Keystone's error body, not NeutronError (api/identity_routes.py).
IDENTITY_PATHS = ("/v3", "/v2.0/tokens", "/identity")


def neutron_error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"NeutronError": {"type": kind, "message": message,
                                                  "detail": ""}})


def status_of(exc: Exception) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def unavailable(request: Request, exc: errors.DatabaseUnavailable) -> JSONResponse:
    """503 with Retry-After, in the body the caller's client reads."""
    LOG.debug("%s %s answered 503: database unreachable (%s)", request.method,
              request.url.path, exc.reason)
    headers = {"Retry-After": str(RETRY_AFTER)}
    if request.url.path.startswith(IDENTITY_PATHS):
        return JSONResponse(documents.error(503, "Service Unavailable", str(exc)),
                            status_code=503, headers=headers)
    response = neutron_error(503, NEUTRON_TYPE["DatabaseUnavailable"], str(exc))
    response.headers.update(headers)
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.NeutrinoError)
    async def _domain(request: Request, exc: errors.NeutrinoError) -> JSONResponse:
        if isinstance(exc, errors.DatabaseUnavailable):
            return unavailable(request, exc)
        name = type(exc).__name__
        response = neutron_error(status_of(exc), NEUTRON_TYPE.get(name, name), str(exc))
        if isinstance(exc, errors.NotAuthenticated):
            response.headers["WWW-Authenticate"] = "Keystone uri='/v3'"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        message = "Invalid request: " + "; ".join(parts)
        return neutron_error(400, "HTTPBadRequest", message.rstrip(".") + ".")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "The resource could not be found.",
                    405: "The method is not allowed for the requested resource."}
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code not in messages \
            else messages.get(exc.status_code, str(exc.detail))
        return neutron_error(exc.status_code, "HTTP" + str(exc.status_code), message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        LOG.exception("request %s %s failed", request.method, request.url.path)
        return neutron_error(500, "InternalServerError",
                             "Request failed: internal server error while processing your "
                             "request.")
