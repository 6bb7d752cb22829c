"""A real neutrino-server (uvicorn, real database) on a loopback port, in-process."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from neutrino.api.app import create_app
from neutrino.api.connection_guard import uvicorn_options
from neutrino.config import ServerSettings, load_server_settings
from neutrino.db import migrate
from neutrino.db.session import Database
from neutrino.identity.errors import AlreadyExists
from tests.support.ports import free_port as free_port  # tests reach it as server.free_port
from tests.support.waiting import wait_until


def body_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a request that had to succeed (200/201); the server's text if not."""
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def settings_for(db_url: str, state_path: str, **overrides: Any) -> ServerSettings:
    base = load_server_settings([], overrides={"db_connection": db_url,
                                               "state_path": state_path})
    defaults: dict[str, Any] = {"vni_ranges": [(1000, 2999)], "tenant_network_types": ["vxlan"],
                                "bind_host": "127.0.0.1"}
    defaults.update(overrides)
    return base.replace(**defaults)


@dataclass
class RunningServer:
    url: str
    settings: ServerSettings
    db: Database
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None = "admin") -> httpx.Client:
        headers = {"X-Auth-Token": self.tokens[who]} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def login(self, user: str, password: str, project: str) -> str:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        response = httpx.post(self.url + "/v3/auth/tokens", json=body, timeout=30)
        assert response.status_code == 201, response.text
        return response.headers["x-subject-token"]


USERS = {
    "admin": ("admin", "adminpassword", "admin"),
    "member": ("demo", "demopassword", "demo"),
    "other": ("alice", "alicepassword", "alice"),
    "agent": ("neutrino-agent", "agentpassword", "service"),
}
ADMIN_PASSWORD = USERS["admin"][1]
AGENT_USER, AGENT_PASSWORD = USERS["agent"][:2]


@contextmanager
def running_server(settings: ServerSettings, *, background: bool = True,
                   port: int | None = None) -> Iterator[RunningServer]:
    """`port`: reuse a stopped server's port, so its clients find the restarted one."""
    db = Database(settings.db_connection, retry_interval=0.01)
    migrate.upgrade(db.engine)
    port = port or free_port()
    app = create_app(settings, db, background=background)
    server = RunningServer(f"http://127.0.0.1:{port}", settings.replace(bind_port=port), db, app)
    store = app.state.services.identity
    store.bootstrap(*USERS["admin"])
    for who, role in (("member", "member"), ("other", "member"), ("agent", "service")):
        name, password, project = USERS[who]
        # A restarted server (same database) finds them already there.
        with contextlib.suppress(AlreadyExists):
            store.create_project(project)
        with contextlib.suppress(AlreadyExists):
            store.create_user(name, password, project, role)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", **uvicorn_options(settings))
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    wait_until(lambda: uv.started, 20, message="uvicorn to start")
    try:
        for who, (name, password, project) in USERS.items():
            server.tokens[who] = server.login(name, password, project)
        yield server
    finally:
        uv.should_exit = True
        thread.join(10)
        db.dispose()
