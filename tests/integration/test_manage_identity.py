"""neutrino-manage's identity commands on a real (SQLite) database: happy and error paths."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neutrino import manage
from neutrino.db.session import Database
from neutrino.identity.errors import (
    AccountLocked,
    AuthFailed,
    NotAuthorizedForProject,
    TokenRevoked,
)
from neutrino.identity.lockout import LockoutPolicy
from neutrino.identity.store import IdentityStore
from neutrino.identity.tokens import TokenService


class Manage:
    def __init__(self, conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.conf = conf
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = manage.main(["--config-file", str(self.conf), *argv])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *argv: str) -> str:
        code, out, err = self(*argv)
        assert code == 0, err
        assert err == ""
        return out


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/neutrino.db"


@pytest.fixture
def run(tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> Iterator[Manage]:
    conf = tmp_path / "neutron.conf"
    conf.write_text(f"[database]\nconnection = {db_url}\n")
    runner = Manage(conf, capsys)
    runner.ok("db", "upgrade")
    runner.ok("bootstrap", "--admin-password", "adminpw")
    runner.ok("user-create", "alice", "--password", "pw", "--project", "demo")
    yield runner


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


def test_help_lists_every_command_and_says_what_revokes(run: Manage) -> None:
    with pytest.raises(SystemExit) as exited:
        run("--help")
    assert exited.value.code == 0
    out = run.capsys.readouterr().out
    for command in ("user-delete", "user-disable", "user-enable", "user-password",
                    "role-add", "role-remove", "project-delete", "user-list"):
        assert command in out
    assert "cache_time" in out
    with pytest.raises(SystemExit):
        run("role-remove", "--help")
    sub_help = run.capsys.readouterr().out
    assert "--project" in sub_help and "revoked" in sub_help


def test_user_delete(run: Manage, db: Database) -> None:
    token = TokenService(db, 3600).issue(IdentityStore(db).authenticate("alice", "pw", "demo"))[0]
    out = run.ok("user-delete", "alice")
    assert out.startswith("User alice (") and "refused by every server within 1 s" in out
    assert "alice" not in run.ok("user-list")
    with pytest.raises(TokenRevoked):
        TokenService(db, 3600).validate(token)
    code, _, err = run("user-delete", "alice")
    assert code == 1
    assert err == ("neutrino-manage: No user has the name or id alice. neutrino-manage "
                   "user-list and project-list show what exists.\n")


def test_user_disable_and_enable(run: Manage, db: Database) -> None:
    assert "disabled;" in run.ok("user-disable", "alice")
    assert "alice\t" in run.ok("user-list") and "\tdisabled" in run.ok("user-list")
    with pytest.raises(AuthFailed):
        IdentityStore(db).authenticate("alice", "pw", "demo")
    assert "enabled; it may log in again" in run.ok("user-enable", "alice")
    assert IdentityStore(db).authenticate("alice", "pw", "demo").user_name == "alice"
    for command in ("user-disable", "user-enable"):
        code, _, err = run(command, "ghost")
        assert code == 1 and "No user has the name or id ghost." in err


def test_user_enable_ends_a_lockout(run: Manage, db: Database) -> None:
    store = IdentityStore(db, lockout=LockoutPolicy(failure_attempts=2, duration=None))
    for _ in range(2):
        with pytest.raises(AuthFailed):
            store.authenticate("alice", "wrong", "demo")
    with pytest.raises(AccountLocked):
        store.authenticate("alice", "pw", "demo")
    run.ok("user-enable", "alice")
    assert store.authenticate("alice", "pw", "demo").user_name == "alice"


def test_user_password(run: Manage, db: Database) -> None:
    assert "old tokens are refused" in run.ok("user-password", "alice", "--password", "new")
    with pytest.raises(AuthFailed):
        IdentityStore(db).authenticate("alice", "pw", "demo")
    assert IdentityStore(db).authenticate("alice", "new", "demo").user_name == "alice"
    code, _, err = run("user-password", "ghost", "--password", "x")
    assert code == 1 and "No user has the name or id ghost." in err
    with pytest.raises(SystemExit) as exited:
        run("user-password", "alice")  # --password is required
    assert exited.value.code == 2


def test_role_add_and_remove(run: Manage, db: Database) -> None:
    assert "has role service on project demo" in run.ok(
        "role-add", "alice", "--project", "demo", "--role", "service")
    assert IdentityStore(db).authenticate("alice", "pw", "demo").roles == ("member", "service")
    out = run.ok("role-remove", "alice", "--project", "demo", "--role", "member")
    assert "tokens on that project are refused" in out
    assert IdentityStore(db).authenticate("alice", "pw", "demo").roles == ("service",)
    for argv, message in (
        (("alice", "--project", "demo", "--role", "member"),
         "User alice has no role member on project demo."),
        (("ghost", "--project", "demo", "--role", "member"), "No user has the name or id ghost."),
        (("alice", "--project", "nowhere", "--role", "service"),
         "No project has the name or id nowhere."),
    ):
        code, _, err = run("role-remove", *argv)
        assert code == 1 and message in err, err
    code, _, err = run("role-add", "alice", "--project", "demo", "--role", "no-such-role")
    assert code == 1 and "No role has the name or id no-such-role" in err


def test_project_delete(run: Manage, db: Database) -> None:
    assert "demo\t" in run.ok("project-list")
    out = run.ok("project-delete", "demo")
    assert out.startswith("Project demo (") and "tokens scoped to it are refused" in out
    assert "demo" not in run.ok("project-list")
    with pytest.raises(NotAuthorizedForProject):
        IdentityStore(db).authenticate("alice", "pw", "demo")
    code, _, err = run("project-delete", "demo")
    assert code == 1 and "No project has the name or id demo." in err


def test_commands_refuse_a_database_without_the_schema(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "empty.conf"
    conf.write_text(f"[database]\nconnection = sqlite:///{tmp_path}/empty.db\n")
    code = manage.main(["--config-file", str(conf), "user-delete", "alice"])
    assert code == 3
    assert "db upgrade" in capsys.readouterr().err
