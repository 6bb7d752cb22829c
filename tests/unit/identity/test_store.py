from __future__ import annotations

import pytest

from neutrino.db.session import Database
from neutrino.identity.errors import AlreadyExists, AuthFailed, NotAuthorizedForProject, NotFound
from neutrino.identity.store import STANDARD_ROLES, IdentityStore


@pytest.fixture
def store(db: Database) -> IdentityStore:
    identity = IdentityStore(db)
    identity.bootstrap("admin", "adminpassword")
    return identity


def test_bootstrap_gives_admin_the_admin_role_on_admin(store: IdentityStore) -> None:
    context = store.authenticate("admin", "adminpassword", "admin")
    assert context.project_name == "admin"
    assert context.is_admin
    assert [r.name for r in store.roles(STANDARD_ROLES)] == list(STANDARD_ROLES)


def test_bootstrap_again_keeps_ids_and_password(store: IdentityStore) -> None:
    before = store.authenticate("admin", "adminpassword", "admin")
    again = store.bootstrap("admin", "otherpassword")
    assert again == before
    store.authenticate("admin", "adminpassword", "admin")
    with pytest.raises(AuthFailed):
        store.authenticate("admin", "otherpassword", "admin")


def test_bootstrap_resets_password_when_asked(store: IdentityStore) -> None:
    store.bootstrap("admin", "newpassword", reset_password=True)
    store.authenticate("admin", "newpassword", "admin")
    with pytest.raises(AuthFailed):
        store.authenticate("admin", "adminpassword", "admin")


def test_wrong_password_and_unknown_user_fail_alike(store: IdentityStore) -> None:
    with pytest.raises(AuthFailed) as wrong_password:
        store.authenticate("admin", "nope", "admin")
    with pytest.raises(AuthFailed) as unknown_user:
        store.authenticate("nobody", "nope", "admin")
    assert str(wrong_password.value) == str(unknown_user.value)


def test_user_without_role_on_project_is_refused(store: IdentityStore) -> None:
    store.create_project("demo")
    store.create_user("alice", "pw", "admin", "member")
    with pytest.raises(NotAuthorizedForProject):
        store.authenticate("alice", "pw", "demo")
    with pytest.raises(NotAuthorizedForProject):
        store.authenticate("alice", "pw", "no-such-project")


def test_project_and_user_found_by_name_or_id(store: IdentityStore) -> None:
    project = store.create_project("demo", "a demo")
    user = store.create_user("alice", "pw", project.id, "member")
    by_id = store.authenticate(user.id, "pw", project.id)
    by_name = store.authenticate("alice", "pw", "demo")
    assert by_id == by_name
    assert by_name.roles == ("member",)
    assert store.get_project("demo") == store.get_project(project.id) == project
    assert store.get_user("alice") == store.get_user(user.id) == user


def test_assign_role_is_idempotent_and_adds_roles(store: IdentityStore) -> None:
    store.create_user("agent", "pw", "admin", "service")
    store.assign_role("agent", "admin", "member")
    store.assign_role("agent", "admin", "member")
    assert store.authenticate("agent", "pw", "admin").roles == ("member", "service")


def test_unscoped_login_picks_first_project_by_name(store: IdentityStore) -> None:
    store.create_project("zeta")
    store.create_project("beta")
    store.create_user("bob", "pw", "zeta", "member")
    store.assign_role("bob", "beta", "member")
    assert store.authenticate("bob", "pw").project_name == "beta"


def test_user_with_no_role_gets_unscoped_context(store: IdentityStore) -> None:
    store.create_user("loner", "pw")
    context = store.authenticate("loner", "pw")
    assert (context.project_id, context.roles) == ("", ())


def test_other_domains_are_refused(store: IdentityStore) -> None:
    assert store.authenticate("admin", "adminpassword", "admin", user_domain="Default",
                              project_domain="default").is_admin
    with pytest.raises(AuthFailed):
        store.authenticate("admin", "adminpassword", "admin", user_domain="other")
    with pytest.raises(NotAuthorizedForProject):
        store.authenticate("admin", "adminpassword", "admin", project_domain="other")


def test_duplicates_and_unknowns_are_reported(store: IdentityStore) -> None:
    with pytest.raises(AlreadyExists):
        store.create_project("admin")
    with pytest.raises(AlreadyExists):
        store.create_user("admin", "pw")
    with pytest.raises(NotFound):
        store.assign_role("admin", "admin", "no-such-role")
    with pytest.raises(NotFound):
        store.get_user("ghost")


def test_scope_refuses_deleted_or_unknown_user(store: IdentityStore) -> None:
    with pytest.raises(AuthFailed):
        store.scope("no-such-user-id", "admin")


def test_projects_of_lists_only_assigned_projects(store: IdentityStore) -> None:
    store.create_project("demo")
    store.create_user("carol", "pw", "demo", "member")
    assert [p.name for p in store.projects_of(store.get_user("carol").id)] == ["demo"]
    assert {p.name for p in store.list_projects()} == {"admin", "demo"}
