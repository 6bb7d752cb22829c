"""The layering of ../shared/DESIGN.md ("Layout") and DEVELOPERS.md, checked on the source.

"api -> services -> db; agent -> transport; scheduler and ipam depend on nothing of ours",
and only db/ and services/ (and identity/, the identity service: the same tier) open
database sessions or hook SQLAlchemy. The imports are read with `ast`, nothing is imported.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import neutrino

ROOT = Path(neutrino.__file__).parent

# The wire contract: what agents and the server share (agent_protocol/__init__.py).
CONTRACT = {"neutrino.agent_protocol.messages", "neutrino.agent_protocol.bounds"}
# Anyone may import these: domain errors and Neutron's fixed names import nothing of ours.
# So may any other top-level module of ours that imports nothing of ours beyond them (a
# leaf such as tls.py or backoff.py: it cannot carry a dependency upwards), unless a row
# of RULES names it (ipam.py: the scheduler must not lean on it).
FOUNDATION = {"neutrino.errors", "neutrino.neutron_names"}
# What the agent protocol's server side may use of the HTTP app: auth, bodies, the one
# mapping of errors to NeutronError, and OpenAPI documentation; never the app factory.
API_HELPERS = {"neutrino.api.auth", "neutrino.api.body", "neutrino.api.errors",
               "neutrino.api.openapi", "neutrino.api.responses"}
SERVER_SIDE = {"neutrino.services", "neutrino.identity", "neutrino.config",
               "neutrino.scheduler", *CONTRACT}

# The rule table. A module follows the most specific row that names it or a package above
# it, and may import what that row lists, anything under the row's own name, and
# FOUNDATION. Modules no row covers (entry points, cli/, lab/, config, tls, …) are not
# checked. A new module of ours that a checked one imports needs a place here.
RULES: dict[str, set[str]] = {
    # Pure cores.
    "neutrino.scheduler": set(),
    "neutrino.ipam": set(),
    # The wire contract depends on nothing but itself (pydantic).
    "neutrino.agent_protocol.messages": {"neutrino.agent_protocol.bounds"},
    "neutrino.agent_protocol.bounds": set(),
    "neutrino.db": set(),
    "neutrino.services": {"neutrino.db", "neutrino.config", "neutrino.scheduler",
                          "neutrino.ipam", *CONTRACT},
    # HTTP: services and identity, never the database or the agent protocol's endpoints.
    # loops.py names TransportError: a broker outage is an expected state of a loop.
    "neutrino.api": {*SERVER_SIDE, "neutrino.transport.client", "neutrino.metrics"},
    # Server-sent events framing and push loop: plain asyncio, so the connection protocol
    # (connection_guard.py) can import its stop signal without pulling in the app.
    "neutrino.api.event_stream": set(),
    # The app factory wires everything: it alone may see the Database and both endpoints.
    "neutrino.api.app": {*SERVER_SIDE, "neutrino.api", "neutrino.agent_protocol",
                         "neutrino.wiring", "neutrino.db.session", "neutrino.metrics"},
    # The server's metrics: fleet aggregates come from services, read when a scrape asks.
    "neutrino.metrics": {"neutrino.services", "neutrino.config"},
    # The server side of the agent protocol: services and the HTTP helpers, no database.
    # rabbit_server.py shares the broker link and topology with the agent-side driver.
    "neutrino.agent_protocol": {*SERVER_SIDE, *API_HELPERS, "neutrino.wiring",
                                "neutrino.transport.client", "neutrino.transport.rabbit_link",
                                "neutrino.transport.rabbit_topology"},
    # Agent side: the transport drivers and the contract, nothing of the server.
    "neutrino.transport": {*CONTRACT, "neutrino.tls", "neutrino.backoff"},
    "neutrino.agent": {"neutrino.transport", *CONTRACT, "neutrino.config", "neutrino.tls",
                       "neutrino.backoff", "neutrino.logs"},
}

# Who may open sessions, run transactions or hook session events.
DATABASE_TIER = ("neutrino.db", "neutrino.services", "neutrino.identity")
# The ways into the database: Database.session/run/connect/listen/unlisten, and SQLAlchemy's
# own (sessionmaker, Session(), engine.connect()/begin(), event hooks).
DB_METHODS = {"session", "run", "connect", "listen", "unlisten", "begin"}
SA_FACTORIES = {"Session", "sessionmaker", "scoped_session", "create_engine", "listens_for"}
# What a Database or an engine is called where it is held: `db`, `self._database`, `engine`…
DB_OWNERS = {"db", "_db", "database", "_database", "engine", "_engine"}
# SQLAlchemy's exceptions may be named anywhere (server.py waits out OperationalError at
# start-up); its queries and statements belong to the database tier, like its sessions.
SA_ANYWHERE = ("sqlalchemy.exc",)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(module: str, is_package: bool, tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, module of ours) for every import in `tree`, relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _under(alias.name, "neutrino"):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if not _under(base, "neutrino"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if _is_module(sub) else base


def _leaves() -> set[str]:
    leaves = set()
    for path in ROOT.glob("*.py"):
        module = f"neutrino.{path.stem}"
        if path.stem == "__init__" or module in RULES:
            continue
        targets = {t for _, t in _imports(module, False, ast.parse(path.read_text()))}
        if all(any(_under(t, f) for f in FOUNDATION) for t in targets):
            leaves.add(module)
    return leaves


LEAVES = _leaves()


def governing_rule(module: str) -> str | None:
    rows = [row for row in RULES if _under(module, row)]
    return max(rows, key=len) if rows else None


def import_violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """The imports of `module` (its source text) that the rule table forbids."""
    row = governing_rule(module)
    if row is None:
        return []
    allowed = {row, *RULES[row], *FOUNDATION, *LEAVES}
    return [f"{module}:{line} imports {target} (rule {row!r} allows {sorted(RULES[row])})"
            for line, target in _imports(module, is_package, ast.parse(source))
            if not any(_under(target, ok) for ok in allowed)]


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func) + "()"
    return "?"


def session_violations(module: str, source: str) -> list[str]:
    """Where `module`, outside the database tier, opens a session or hooks SQLAlchemy."""
    if any(_under(module, tier) for tier in DATABASE_TIER):
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and _under(
                node.module, "sqlalchemy") and not node.module.startswith(SA_ANYWHERE):
            found.append(f"{module}:{node.lineno} imports {node.module} "
                         f"({', '.join(a.name for a in node.names)})")
        elif isinstance(node, ast.Import) and any(
                _under(a.name, "sqlalchemy") and not a.name.startswith(SA_ANYWHERE)
                for a in node.names):
            found.append(f"{module}:{node.lineno} imports SQLAlchemy")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else \
                func.id if isinstance(func, ast.Name) else ""
            # keystoneauth's session.Session (cli/auth.py) is no database session.
            sa_owner = isinstance(func, ast.Name) or (isinstance(func, ast.Attribute) and _dotted(
                func.value).rsplit(".", 1)[-1] in ("sqlalchemy", "orm", "event"))
            if name in SA_FACTORIES and sa_owner:
                found.append(f"{module}:{node.lineno} calls {name}()")
            elif isinstance(func, ast.Attribute) and name in DB_METHODS:
                owner = _dotted(func.value).rsplit(".", 1)[-1]
                if owner in DB_OWNERS:
                    found.append(f"{module}:{node.lineno} calls {_dotted(func)}()")
    return found


def _tree() -> Iterator[tuple[str, str, bool]]:
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        is_package = rel.name == "__init__"
        parts = rel.parts[:-1] if is_package else rel.parts
        yield ".".join(parts), path.read_text(), is_package


def test_every_import_of_ours_follows_the_layering() -> None:
    found = [v for module, source, pkg in _tree() for v in import_violations(module, source, pkg)]
    assert not found, "imports against the layering:\n" + "\n".join(found)


def test_only_db_and_services_open_database_sessions() -> None:
    found = [v for module, source, _ in _tree() for v in session_violations(module, source)]
    assert not found, "database sessions opened outside db/ and services/:\n" + "\n".join(found)


def test_leaves_are_top_level_modules_that_import_nothing_of_ours() -> None:
    assert "neutrino.backoff" in LEAVES
    assert LEAVES.isdisjoint({"neutrino.ipam", "neutrino.config", "neutrino.wiring"})


def test_the_table_covers_the_packages_the_design_names() -> None:
    for package in ("neutrino.api", "neutrino.services", "neutrino.scheduler",
                    "neutrino.agent", "neutrino.agent_protocol", "neutrino.transport"):
        assert governing_rule(package + ".anything") is not None, package
        assert _is_module(package), package


# ---- the checker itself, on modules that break the rules -------------------------------------

@pytest.mark.parametrize(("module", "source"), [
    ("neutrino.agent.rogue", "from neutrino.services.ports import Ports\n"),
    ("neutrino.agent.rogue", "from neutrino.agent_protocol import rabbit_endpoints\n"),
    ("neutrino.agent.rogue", "import neutrino.db.models\n"),
    ("neutrino.scheduler.rogue", "from neutrino.db.models import Agent\n"),
    ("neutrino.scheduler.rogue", "from neutrino import ipam\n"),
    ("neutrino.ipam", "from neutrino.services import events\n"),
    ("neutrino.services.rogue", "from neutrino.api.errors import status_of\n"),
    ("neutrino.services.rogue", "from neutrino.agent_protocol.signal import ChangeSignal\n"),
    ("neutrino.services.rogue", "from neutrino.transport.http_client import HttpAgentClient\n"),
    ("neutrino.api.rogue", "from neutrino.db.models import Port\n"),
    ("neutrino.api.rogue", "from neutrino.agent_protocol import http_endpoints\n"),
    ("neutrino.agent_protocol.rogue", "from neutrino.api.app import create_app\n"),
    ("neutrino.agent_protocol.rogue", "from neutrino.db.session import Database\n"),
    ("neutrino.agent_protocol.rogue", "from ..db import models\n"),
    ("neutrino.agent_protocol.messages", "from neutrino.agent_protocol.signal import X\n"),
    ("neutrino.agent_protocol.messages", "from neutrino.services import views\n"),
    ("neutrino.transport.rogue", "from neutrino.agent_protocol.rabbit_server import X\n"),
    ("neutrino.transport.rogue", "from neutrino.services.agents import Agents\n"),
])
def test_an_import_against_the_layering_is_found(module: str, source: str) -> None:
    assert len(import_violations(module, source)) == 1


@pytest.mark.parametrize(("module", "source"), [
    ("neutrino.agent.fine", "from neutrino.transport.client import AgentClient\n"
                            "from neutrino.agent_protocol.messages import PortInfo\n"
                            "from neutrino.neutron_names import AGENT_TYPE_DHCP\n"),
    ("neutrino.services.fine", "from neutrino.db.models import Port\nfrom neutrino import ipam\n"),
    ("neutrino.api.fine", "from neutrino.services.ports import Ports\n"),
    ("neutrino.agent_protocol.fine", "from neutrino.api.body import parse_message\n"
                                     "from neutrino.wiring import Services\n"
                                     "from .signal import ChangeSignal\n"),
    ("neutrino.api.app", "from neutrino.agent_protocol import rabbit_endpoints\n"),
    ("neutrino.lab.anything", "from neutrino.services.ports import Ports\n"),  # no row
])
def test_an_import_the_layering_allows_passes(module: str, source: str) -> None:
    assert import_violations(module, source) == []


@pytest.mark.parametrize("source", [
    "def f(db):\n    with db.session() as session:\n        return session\n",
    "def f(self):\n    return self._db.run(lambda s: s)\n",
    "def f(services):\n    services.db.listen('after_commit', print)\n",
    "def f(db):\n    with db.engine.connect():\n        pass\n",
    "from sqlalchemy.orm import Session\n",
    "from sqlalchemy import event\n",
    "from sqlalchemy.orm import sessionmaker\nmake = sessionmaker()\n",
    "import sqlalchemy\nengine = sqlalchemy.create_engine('sqlite://')\n",
    "def f(self):\n    with self._database.session() as session:\n        return session\n",
    "def f(database):\n    return database.run(lambda s: s)\n",
    "def f(engine):\n    with engine.begin() as conn:\n        return conn\n",
    "from sqlalchemy import select\n",
    "import sqlalchemy.orm\n",
])
def test_a_database_session_outside_db_and_services_is_found(source: str) -> None:
    assert session_violations("neutrino.agent_protocol.rogue", source)
    assert session_violations("neutrino.api.rogue", source)
    assert session_violations("neutrino.services.fine", source) == []
    assert session_violations("neutrino.db.fine", source) == []


def test_running_a_subprocess_or_an_agent_is_no_database_session() -> None:
    source = ("import subprocess\nsubprocess.run(['ip'])\n"
              "from sqlalchemy.exc import OperationalError\n"
              "from keystoneauth1 import session\nsession.Session(auth=None)\n"
              "def f(agent, stop):\n    agent.run(stop)\n")
    assert session_violations("neutrino.agent.fine", source) == []
