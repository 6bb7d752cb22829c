"""Keystone v3 and v2.0 authentication request bodies -> one typed `AuthRequest`.

Pure parsing; the request shapes are Keystone's, field for field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neutrino.errors import shown
from neutrino.identity.errors import MalformedAuthRequest, UnsupportedAuth

# Names and ids are at most 255 characters in the identity tables; Keystone bounds passwords
# by [identity] max_password_length, 4096 by default.
MAX_NAME = 255
MAX_PASSWORD = 4096
# Our signed tokens carry their scope, roles and audit id (about 300-400 characters); 8 KiB is
# the longest a header line may be anyway.
MAX_TOKEN = 8192


@dataclass(frozen=True)
class PasswordCredentials:
    user: str  # a name or an id
    password: str
    user_domain: str | None = None  # a domain name or id, None when not given


@dataclass(frozen=True)
class TokenCredentials:
    token: str


@dataclass(frozen=True)
class AuthRequest:
    credentials: PasswordCredentials | TokenCredentials
    project: str | None = None  # a name or an id; None asks for the default scope
    project_domain: str | None = None


def _object(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise MalformedAuthRequest(f"Expecting to find {key} in {where} as a JSON object.")
    return value


def _string(parent: dict[str, Any], key: str, where: str, limit: int = MAX_NAME) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedAuthRequest(f"Expecting to find {key} in {where} as a non-empty string.")
    if len(value) > limit or "\x00" in value:
        raise MalformedAuthRequest(f"Expecting {key} in {where} to be at most {limit} "
                                   "characters, without NUL characters.")
    return value


def _password(parent: dict[str, Any], where: str) -> str:
    password = parent.get("password")
    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        raise MalformedAuthRequest(f"Expecting to find password in {where} as a string of at "
                                   f"most {MAX_PASSWORD} characters.")
    return password


def _optional_string(parent: dict[str, Any], key: str, where: str) -> str | None:
    if parent.get(key) is None:
        return None
    return _string(parent, key, where)


def _domain(parent: dict[str, Any], where: str) -> str | None:
    if parent.get("domain") is None:
        return None
    domain = _object(parent, "domain", where)
    found = (_optional_string(domain, "id", f"{where}.domain")
             or _optional_string(domain, "name", f"{where}.domain"))
    if found is None:
        raise MalformedAuthRequest(f"Expecting to find id or name in {where}.domain.")
    return found


def _v3_password(identity: dict[str, Any]) -> PasswordCredentials:
    user = _object(_object(identity, "password", "identity"), "user", "identity.password")
    where = "identity.password.user"
    name_or_id = _optional_string(user, "id", where) or _optional_string(user, "name", where)
    if name_or_id is None:
        raise MalformedAuthRequest(f"Expecting to find id or name in {where}.")
    return PasswordCredentials(name_or_id, _password(user, where), _domain(user, where))


def _v3_scope(auth: dict[str, Any]) -> tuple[str | None, str | None]:
    scope = auth.get("scope")
    if scope is None or scope == "unscoped":
        return None, None
    if not isinstance(scope, dict):
        raise MalformedAuthRequest("Expecting scope to be a JSON object or \"unscoped\".")
    if "project" not in scope:
        kinds = shown(", ".join(sorted(scope))) or "an empty scope"
        raise UnsupportedAuth(f"Only project scope is supported, not {kinds}.")
    project = _object(scope, "project", "scope")
    project_id = _optional_string(project, "id", "scope.project")
    if project_id is not None:
        return project_id, None
    return _string(project, "name", "scope.project"), _domain(project, "scope.project")


def parse_v3(body: Any) -> AuthRequest:
    """Parse the body of POST /v3/auth/tokens."""
    if not isinstance(body, dict):
        raise MalformedAuthRequest("Expecting a JSON object with an auth member.")
    auth = _object(body, "auth", "the request body")
    identity = _object(auth, "identity", "auth")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods:
        raise MalformedAuthRequest("Expecting identity.methods to be a non-empty list.")
    credentials: PasswordCredentials | TokenCredentials
    if "password" in methods:
        credentials = _v3_password(identity)
    elif "token" in methods:
        credentials = TokenCredentials(_string(_object(identity, "token", "identity"), "id",
                                               "identity.token", MAX_TOKEN))
    else:
        raise UnsupportedAuth(
            f"Unsupported auth methods {shown(methods)}; use password or token.")
    project, domain = _v3_scope(auth)
    return AuthRequest(credentials, project, domain)


def parse_v2(body: Any) -> AuthRequest:
    """Parse the body of POST /v2.0/tokens."""
    if not isinstance(body, dict):
        raise MalformedAuthRequest("Expecting a JSON object with an auth member.")
    auth = _object(body, "auth", "the request body")
    credentials: PasswordCredentials | TokenCredentials
    if "passwordCredentials" in auth:
        creds = _object(auth, "passwordCredentials", "auth")
        where = "auth.passwordCredentials"
        user = _optional_string(creds, "userId", where) or _optional_string(
            creds, "username", where)
        if user is None:
            raise MalformedAuthRequest(f"Expecting to find username or userId in {where}.")
        credentials = PasswordCredentials(user, _password(creds, where))
    elif "token" in auth:
        credentials = TokenCredentials(_string(_object(auth, "token", "auth"), "id",
                                               "auth.token", MAX_TOKEN))
    else:
        raise MalformedAuthRequest("Expecting to find passwordCredentials or token in auth.")
    project = (_optional_string(auth, "tenantId", "auth")
               or _optional_string(auth, "tenantName", "auth"))
    return AuthRequest(credentials, project)


# ---- the request bodies as JSON schemas, for the served OpenAPI document ------------------
# Written beside the parsers above and with their bounds; the parsers stay the authority
# and refuse, with Keystone's messages, the combinations left out here ("id or name",
# methods ["password"] without a password object): anyOf/if-then over bare "required"
# lists sends schemathesis's generator into a CPython 3.11 ast bug.

_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_NAME,
                         "pattern": "^[^\\u0000]*$"}
_PASSWORD: dict[str, Any] = {"type": "string", "maxLength": MAX_PASSWORD}
_TOKEN: dict[str, Any] = {**_NAME, "maxLength": MAX_TOKEN}


def _one_of_id_or_name(**more: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"id": _NAME, "name": _NAME, **more}}


_DOMAIN = _one_of_id_or_name()
_USER = {**_one_of_id_or_name(password=_PASSWORD, domain=_DOMAIN),
         "required": ["password"]}

V3_AUTH_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["auth"], "properties": {"auth": {
        "type": "object", "required": ["identity"], "properties": {
            "identity": {"type": "object", "required": ["methods"], "properties": {
                "methods": {"type": "array", "minItems": 1,
                            "items": {"type": "string", "enum": ["password", "token"]}},
                "password": {"type": "object", "required": ["user"],
                             "properties": {"user": _USER}},
                "token": {"type": "object", "required": ["id"], "properties": {"id": _TOKEN}},
            }},
            "scope": {"anyOf": [{"const": "unscoped"}, {
                "type": "object", "required": ["project"],
                "properties": {"project": _one_of_id_or_name(domain=_DOMAIN)}}]},
        }}}}

V2_AUTH_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["auth"], "properties": {"auth": {
        "type": "object", "properties": {
            "passwordCredentials": {
                "type": "object", "required": ["password"],
                "properties": {"username": _NAME, "userId": _NAME, "password": _PASSWORD}},
            "token": {"type": "object", "required": ["id"], "properties": {"id": _TOKEN}},
            "tenantId": _NAME, "tenantName": _NAME,
        }}}}
