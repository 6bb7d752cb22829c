"""The identity API against real keystoneauth1 clients, over a real socket and real SQLite."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic, v2, v3

from neutrino.api.identity_routes import identity_router
from neutrino.db.models import Base
from neutrino.db.session import Database
from neutrino.identity.errors import TokenExpired
from neutrino.identity.store import IdentityStore
from neutrino.identity.tokens import TokenService
from tests.support.server import ADMIN_PASSWORD, free_port
from tests.support.waiting import wait_until


class ShiftedClock:
    """Real time plus an offset the test can push forward, to expire tokens without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Server:
    base: str
    tokens: TokenService
    store: IdentityStore
    clock: ShiftedClock


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    path: Path = tmp_path_factory.mktemp("identity") / "neutrino.db"
    db = Database(f"sqlite:///{path}")
    Base.metadata.create_all(db.engine)
    clock = ShiftedClock()
    tokens = TokenService(db, 3600, clock=clock)
    store = IdentityStore(db)
    store.bootstrap("admin", ADMIN_PASSWORD, "admin")
    store.create_project("demo")
    store.create_user("demo", "demopassword", "demo", "member")
    store.assign_role("admin", "demo", "member")

    app = FastAPI()
    app.include_router(identity_router(tokens, store, lambda request: str(request.base_url)))

    # The real app serves Neutron's resource list on GET /v2.0; a v2.0 auth_url must survive it.
    @app.get("/v2.0")
    def neutron_v2(request: Request) -> dict[str, object]:
        return {"resources": [{"name": "network", "collection": "networks", "links": []}]}

    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: uv.started, 10, message="uvicorn to start")
        yield Server(f"http://127.0.0.1:{port}/", tokens, store, clock)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        db.dispose()


@pytest.fixture(autouse=True)
def _real_time(server: Server) -> Iterator[None]:
    yield
    server.clock.offset = 0.0


def _network_endpoint(auth: object) -> str:
    sess = ks_session.Session(auth=auth)  # type: ignore[arg-type]
    return str(sess.get_endpoint(service_type="network", interface="public"))


def test_v2_password_gets_network_endpoint(server: Server) -> None:
    auth = v2.Password(auth_url=server.base + "v2.0/", username="admin",
                       password=ADMIN_PASSWORD, tenant_name="admin")
    assert _network_endpoint(auth) == server.base
    token = ks_session.Session(auth=auth).get_token()
    assert server.tokens.validate(str(token)).is_admin


def test_v3_password_by_names_gets_network_endpoint(server: Server) -> None:
    auth = v3.Password(auth_url=server.base + "v3", username="demo", password="demopassword",
                       user_domain_name="Default", project_name="demo",
                       project_domain_name="Default")
    assert _network_endpoint(auth) == server.base
    for interface in ("internal", "admin"):
        url = ks_session.Session(auth=auth).get_endpoint(service_type="network",
                                                         interface=interface)
        assert url == server.base


def test_v3_password_by_ids(server: Server) -> None:
    user = server.store.get_user("demo")
    project = server.store.get_project("demo")
    auth = v3.Password(auth_url=server.base + "v3/", user_id=user.id, password="demopassword",
                       project_id=project.id)
    sess = ks_session.Session(auth=auth)
    assert sess.get_project_id() == project.id
    assert sess.get_user_id() == user.id


@pytest.mark.parametrize("path", ["v3", "v3/", "identity", "v2.0/"])
def test_generic_password_discovers_a_version(server: Server, path: str) -> None:
    auth = generic.Password(auth_url=server.base + path, username="admin",
                            password=ADMIN_PASSWORD, project_name="admin",
                            user_domain_id="default", project_domain_id="default")
    if path == "v2.0/":
        # Domain ids cannot be sent to v2.0, and OS_AUTH_URL=.../v2.0/ clients send none.
        auth = generic.Password(auth_url=server.base + path, username="admin",
                                password=ADMIN_PASSWORD, project_name="admin")
    assert _network_endpoint(auth) == server.base


def test_generic_password_without_domains(server: Server) -> None:
    auth = generic.Password(auth_url=server.base + "v3", username="demo",
                            password="demopassword", project_name="demo")
    assert _network_endpoint(auth) == server.base


@pytest.mark.parametrize("make_auth", [
    lambda base: v2.Password(auth_url=base + "v2.0", username="admin", password="wrong",
                             tenant_name="admin"),
    lambda base: v3.Password(auth_url=base + "v3", username="admin", password="wrong",
                             user_domain_id="default", project_name="admin",
                             project_domain_id="default"),
    lambda base: v3.Password(auth_url=base + "v3", username="ghost", password="wrong",
                             user_domain_id="default", project_name="admin",
                             project_domain_id="default"),
    lambda base: v3.Password(auth_url=base + "v3", username="demo", password="demopassword",
                             user_domain_id="default", project_name="admin",
                             project_domain_id="default"),
])
def test_bad_credentials_are_unauthorized(server: Server, make_auth: object) -> None:
    auth = make_auth(server.base)  # type: ignore[operator]
    with pytest.raises(ks_exceptions.Unauthorized):
        ks_session.Session(auth=auth).get_token()


def test_unauthorized_body_is_keystone_shaped(server: Server) -> None:
    body = {"auth": {"passwordCredentials": {"username": "admin", "password": "x"},
                     "tenantName": "admin"}}
    response = httpx.post(server.base + "v2.0/tokens", json=body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401
    assert response.json()["error"]["title"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


@pytest.mark.parametrize("url,content", [
    ("v3/auth/tokens", b"{not json"),
    ("v3/auth/tokens", b'{"auth": {"identity": {"methods": ["password"]}}}'),
    ("v2.0/tokens", b"[]"),
    ("v2.0/tokens", b'{"auth": {"passwordCredentials": {"username": "admin"}}}'),
])
def test_malformed_bodies_are_bad_requests(server: Server, url: str, content: bytes) -> None:
    response = httpx.post(server.base + url, content=content,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["title"] == "Bad Request"


def _v3_token(server: Server) -> str:
    auth = v3.Password(auth_url=server.base + "v3", username="admin", password=ADMIN_PASSWORD,
                       user_domain_id="default", project_name="admin",
                       project_domain_id="default")
    return str(ks_session.Session(auth=auth).get_token())


def test_v3_token_validation(server: Server) -> None:
    token = _v3_token(server)
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    response = httpx.get(server.base + "v3/auth/tokens", headers=headers)
    assert response.status_code == 200
    assert response.json()["token"]["project"]["name"] == "admin"
    assert [r["name"] for r in response.json()["token"]["roles"]] == ["admin"]
    headers["X-Subject-Token"] = token[:-2] + "xx"
    assert httpx.get(server.base + "v3/auth/tokens", headers=headers).status_code == 404
    assert httpx.get(server.base + "v3/auth/tokens").status_code == 401


def test_expired_token_is_refused(server: Server) -> None:
    token = _v3_token(server)
    server.clock.offset = 3601
    with pytest.raises(TokenExpired):
        server.tokens.validate(token)
    response = httpx.get(server.base + "v3/auth/catalog", headers={"X-Auth-Token": token})
    assert response.status_code == 401
    with pytest.raises(ks_exceptions.Unauthorized):
        ks_session.Session(auth=v3.Token(auth_url=server.base + "v3", token=token,
                                         project_name="demo",
                                         project_domain_id="default")).get_token()


def test_v3_token_method_rescopes(server: Server) -> None:
    token = _v3_token(server)
    auth = v3.Token(auth_url=server.base + "v3", token=token, project_name="demo",
                    project_domain_id="default")
    sess = ks_session.Session(auth=auth)
    assert sess.get_project_id() == server.store.get_project("demo").id
    assert server.tokens.validate(str(sess.get_token())).roles == ("member",)


def test_v2_admin_validates_a_token(server: Server) -> None:
    token = _v3_token(server)
    response = httpx.get(server.base + f"v2.0/tokens/{token}", headers={"X-Auth-Token": token})
    assert response.status_code == 200
    assert response.json()["access"]["token"]["tenant"]["name"] == "admin"


def test_auth_projects_lists_the_callers_projects(server: Server) -> None:
    response = httpx.get(server.base + "v3/auth/projects",
                         headers={"X-Auth-Token": _v3_token(server)})
    assert sorted(p["name"] for p in response.json()["projects"]) == ["admin", "demo"]


# ---- who may read or revoke a token; revoked tokens ----------------------------------------

def _login(server: Server, user: str, password: str, project: str) -> str:
    auth = v3.Password(auth_url=server.base + "v3", username=user, password=password,
                       user_domain_id="default", project_name=project,
                       project_domain_id="default")
    return str(ks_session.Session(auth=auth).get_token())


def _tokens_call(server: Server, method: str, caller: str, subject: str) -> httpx.Response:
    return httpx.request(method, server.base + "v3/auth/tokens",
                         headers={"X-Auth-Token": caller, "X-Subject-Token": subject})


def test_member_cannot_read_another_users_token(server: Server) -> None:
    admin = _v3_token(server)
    member = _login(server, "demo", "demopassword", "demo")
    for method, rule in (("GET", "identity:validate_token"), ("HEAD", "identity:check_token")):
        response = _tokens_call(server, method, member, admin)
        assert response.status_code == 403, method
        if method == "GET":
            assert response.json()["error"]["title"] == "Forbidden"
            assert rule in response.json()["error"]["message"]
            assert "token" not in response.json()
    # Their own tokens, and anyone's for an administrator.
    other_member_token = _login(server, "demo", "demopassword", "demo")
    assert _tokens_call(server, "GET", member, other_member_token).status_code == 200
    assert _tokens_call(server, "HEAD", member, member).status_code == 200
    assert _tokens_call(server, "GET", admin, member).json()["token"]["user"]["name"] == "demo"


def test_service_role_may_validate_but_not_check_or_revoke_others(server: Server) -> None:
    server.store.create_user("svc-validator", "svcpassword", "demo", "service")
    service = _login(server, "svc-validator", "svcpassword", "demo")
    member = _login(server, "demo", "demopassword", "demo")
    assert _tokens_call(server, "GET", service, member).status_code == 200
    assert _tokens_call(server, "HEAD", service, member).status_code == 403
    assert _tokens_call(server, "DELETE", service, member).status_code == 403
    assert _tokens_call(server, "GET", member, member).status_code == 200


def test_delete_revokes_the_token_everywhere_it_is_used(server: Server) -> None:
    admin = _v3_token(server)
    member = _login(server, "demo", "demopassword", "demo")
    response = _tokens_call(server, "DELETE", member, member)
    assert response.status_code == 204 and response.content == b""
    # Keystone's answers for a revoked token: 404 to validate it, 401 to use it.
    validated = _tokens_call(server, "GET", admin, member)
    assert validated.status_code == 404
    assert "revoked" in validated.json()["error"]["message"]
    assert _tokens_call(server, "HEAD", admin, member).status_code == 404
    assert httpx.get(server.base + "v3/auth/catalog",
                     headers={"X-Auth-Token": member}).status_code == 401
    assert httpx.get(server.base + f"v2.0/tokens/{member}",
                     headers={"X-Auth-Token": admin}).status_code == 404
    with pytest.raises(ks_exceptions.Unauthorized):
        ks_session.Session(auth=v3.Token(auth_url=server.base + "v3", token=member,
                                         project_name="demo",
                                         project_domain_id="default")).get_token()
    assert _tokens_call(server, "DELETE", admin, member).status_code == 404
    # The user's other tokens are untouched.
    assert _tokens_call(server, "GET", admin, _login(server, "demo", "demopassword",
                                                     "demo")).status_code == 200


def test_only_an_admin_or_the_owner_revokes_a_token(server: Server) -> None:
    admin = _v3_token(server)
    member = _login(server, "demo", "demopassword", "demo")
    refused = _tokens_call(server, "DELETE", member, admin)
    assert refused.status_code == 403
    assert "identity:revoke_token" in refused.json()["error"]["message"]
    assert _tokens_call(server, "GET", admin, admin).status_code == 200
    assert _tokens_call(server, "DELETE", admin, member).status_code == 204
    assert _tokens_call(server, "DELETE", admin, "not-a-token").status_code == 404
    assert _tokens_call(server, "DELETE", "not-a-token", admin).status_code == 401
