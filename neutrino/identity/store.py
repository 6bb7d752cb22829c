"""Users, projects, roles and their assignments; password authentication.

One domain only: Keystone's "Default" (id "default"). Domain fields in requests are accepted
when they name it, so stock clients that always send a domain keep working.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.db.models import Project, Role, RoleAssignment, User
from neutrino.db.session import Database
from neutrino.identity.context import RequestContext
from neutrino.identity.errors import (
    AccountLocked,
    AlreadyExists,
    AuthFailed,
    NotAuthorizedForProject,
    NotFound,
)
from neutrino.identity.lockout import LockoutPolicy, failures_after_a_wrong_password, is_locked
from neutrino.identity.passwords import dummy_hash, hash_password, verify_password
from neutrino.services.clock import from_epoch, to_epoch

LOG = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"
STANDARD_ROLES = ("admin", "member", "service")


@dataclass(frozen=True)
class ProjectInfo:
    id: str
    name: str
    domain_id: str
    description: str
    enabled: bool


@dataclass(frozen=True)
class UserInfo:
    id: str
    name: str
    domain_id: str
    enabled: bool


@dataclass(frozen=True)
class RoleInfo:
    id: str
    name: str


def is_default_domain(domain: str | None) -> bool:
    """True when `domain` (a name or an id, or None for "not given") is the one domain we have."""
    return domain is None or domain in (DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME)


def _new_id() -> str:
    # Keystone ids are 32 hex digits; clients and policies never parse them, but look alike.
    return uuid.uuid4().hex


def project_info(row: Project) -> ProjectInfo:
    return ProjectInfo(row.id, row.name, row.domain_id, row.description, row.enabled)


def user_info(row: User) -> UserInfo:
    return UserInfo(row.id, row.name, row.domain_id, row.enabled)


def find_user(session: Session, name_or_id: str) -> User | None:
    rows = session.scalars(
        select(User).where(or_(User.id == name_or_id, User.name == name_or_id))).all()
    # An id match wins over a name match: ids are what a client sends when it has one.
    return next((r for r in rows if r.id == name_or_id), rows[0] if rows else None)


def find_project(session: Session, name_or_id: str) -> Project | None:
    rows = session.scalars(
        select(Project).where(or_(Project.id == name_or_id, Project.name == name_or_id))).all()
    return next((r for r in rows if r.id == name_or_id), rows[0] if rows else None)


def find_role(session: Session, name_or_id: str) -> Role | None:
    rows = session.scalars(
        select(Role).where(or_(Role.id == name_or_id, Role.name == name_or_id))).all()
    return next((r for r in rows if r.id == name_or_id), rows[0] if rows else None)


def _role_names(session: Session, user_id: str, project_id: str) -> tuple[str, ...]:
    names = session.scalars(
        select(Role.name).join(RoleAssignment, RoleAssignment.role_id == Role.id)
        .where(RoleAssignment.user_id == user_id, RoleAssignment.project_id == project_id)
        .order_by(Role.name)).all()
    return tuple(names)


def _ensure_role(session: Session, name: str) -> Role:
    role = find_role(session, name)
    if role is None:
        role = Role(id=_new_id(), name=name)
        session.add(role)
        session.flush()
    return role


def _ensure_assignment(session: Session, user_id: str, project_id: str, role_id: str) -> None:
    if session.get(RoleAssignment, (user_id, project_id, role_id)) is None:
        session.add(RoleAssignment(user_id=user_id, project_id=project_id, role_id=role_id))
        session.flush()


class IdentityStore:
    """Identity data and password checks (with lockout) over the shared database."""

    def __init__(self, db: Database, *, lockout: LockoutPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._lockout = lockout or LockoutPolicy()
        self._clock = clock

    def _write(self, work: Callable[[Session], T], conflict: str) -> T:
        try:
            return self._db.run(work)
        except IntegrityError as exc:
            raise AlreadyExists(conflict) from exc

    # ---- administration ---------------------------------------------------------------------

    def bootstrap(self, admin_user: str, admin_password: str, admin_project: str = "admin", *,
                  reset_password: bool = False) -> RequestContext:
        """Ensure the standard roles and an admin user with `admin` on `admin_project`.

        Idempotent: existing rows are kept; the password of an existing user is replaced only
        when `reset_password` is true.
        """
        password_hash = hash_password(admin_password)

        def work(session: Session) -> RequestContext:
            roles = {name: _ensure_role(session, name) for name in STANDARD_ROLES}
            project = find_project(session, admin_project)
            if project is None:
                project = Project(id=_new_id(), name=admin_project, domain_id=DEFAULT_DOMAIN_ID,
                                  description="Bootstrap project for the cloud administrator.",
                                  enabled=True)
                session.add(project)
                LOG.info("bootstrap: created project %s (%s)", admin_project, project.id)
            user = find_user(session, admin_user)
            if user is None:
                user = User(id=_new_id(), name=admin_user, domain_id=DEFAULT_DOMAIN_ID,
                            password_hash=password_hash, enabled=True)
                session.add(user)
                LOG.info("bootstrap: created user %s (%s)", admin_user, user.id)
            elif reset_password:
                user.password_hash = password_hash
                LOG.info("bootstrap: reset the password of user %s (%s)", admin_user, user.id)
            session.flush()
            _ensure_assignment(session, user.id, project.id, roles["admin"].id)
            return RequestContext(user.id, user.name, project.id, project.name,
                                  _role_names(session, user.id, project.id))

        try:
            return self._db.run(work)
        except IntegrityError:
            # Another replica bootstrapped at the same moment; its rows are now visible.
            return self._db.run(work)

    def create_project(self, name: str, description: str = "", *,
                       project_id: str | None = None) -> ProjectInfo:
        """Create a project; raise AlreadyExists if the name or id is taken."""
        def work(session: Session) -> ProjectInfo:
            if find_project(session, name) is not None:
                raise AlreadyExists(f"A project named {name} already exists.")
            row = Project(id=project_id or _new_id(), name=name, domain_id=DEFAULT_DOMAIN_ID,
                          description=description, enabled=True)
            session.add(row)
            session.flush()
            return project_info(row)

        info = self._write(work, f"A project named {name} already exists.")
        LOG.info("created project %s (%s)", info.name, info.id)
        return info

    def create_user(self, name: str, password: str, project: str | None = None,
                    role: str = "member", *, user_id: str | None = None) -> UserInfo:
        """Create a user, and give it `role` on `project` when a project is named."""
        password_hash = hash_password(password)  # slow on purpose: outside the transaction

        def work(session: Session) -> UserInfo:
            if find_user(session, name) is not None:
                raise AlreadyExists(f"A user named {name} already exists.")
            row = User(id=user_id or _new_id(), name=name, domain_id=DEFAULT_DOMAIN_ID,
                       password_hash=password_hash, enabled=True)
            session.add(row)
            session.flush()
            if project is not None:
                self._assign(session, row.id, project, role)
            return user_info(row)

        info = self._write(work, f"A user named {name} already exists.")
        LOG.info("created user %s (%s)", info.name, info.id)
        return info

    def _assign(self, session: Session, user: str, project: str, role: str) -> None:
        user_row = find_user(session, user)
        if user_row is None:
            raise NotFound(f"No user has the name or id {user}.")
        project_row = find_project(session, project)
        if project_row is None:
            raise NotFound(f"No project has the name or id {project}.")
        role_row = find_role(session, role)
        if role_row is None:
            raise NotFound(f"No role has the name or id {role}; known roles include "
                           f"{', '.join(STANDARD_ROLES)}.")
        _ensure_assignment(session, user_row.id, project_row.id, role_row.id)

    def assign_role(self, user: str, project: str, role: str) -> None:
        """Give `user` `role` on `project` (names or ids); a no-op if already given."""
        self._db.run(lambda session: self._assign(session, user, project, role))

    def create_role(self, name: str) -> RoleInfo:
        """Create a role if it does not exist yet."""
        def work(session: Session) -> RoleInfo:
            role = _ensure_role(session, name)
            return RoleInfo(role.id, role.name)

        return self._write(work, f"A role named {name} already exists.")

    # ---- lookups ----------------------------------------------------------------------------

    def get_user(self, name_or_id: str) -> UserInfo:
        with self._db.session() as session:
            row = find_user(session, name_or_id)
            if row is None:
                raise NotFound(f"No user has the name or id {name_or_id}.")
            return user_info(row)

    def get_project(self, name_or_id: str) -> ProjectInfo:
        with self._db.session() as session:
            row = find_project(session, name_or_id)
            if row is None:
                raise NotFound(f"No project has the name or id {name_or_id}.")
            return project_info(row)

    def list_projects(self) -> list[ProjectInfo]:
        with self._db.session() as session:
            rows = session.scalars(select(Project).order_by(Project.name))
            return [project_info(r) for r in rows]

    def list_users(self) -> list[UserInfo]:
        with self._db.session() as session:
            return [user_info(r) for r in session.scalars(select(User).order_by(User.name))]

    def projects_of(self, user_id: str) -> list[ProjectInfo]:
        """Enabled projects on which the user holds at least one role."""
        with self._db.session() as session:
            rows = session.scalars(
                select(Project).join(RoleAssignment, RoleAssignment.project_id == Project.id)
                .where(RoleAssignment.user_id == user_id, Project.enabled.is_(True))
                .distinct().order_by(Project.name)).all()
            return [project_info(r) for r in rows]

    def roles(self, names: tuple[str, ...]) -> list[RoleInfo]:
        """Role ids for role names, in the order given; unknown names are left out."""
        with self._db.session() as session:
            rows = session.scalars(select(Role).where(Role.name.in_(names))).all()
            by_name = {r.name: r for r in rows}
            return [RoleInfo(by_name[n].id, n) for n in names if n in by_name]

    # ---- authentication ---------------------------------------------------------------------

    def authenticate(self, user: str, password: str, project: str | None = None, *,
                     user_domain: str | None = None,
                     project_domain: str | None = None) -> RequestContext:
        """Check a password and return the caller's context on `project` (name or id).

        With no project the context is scoped to the user's first project by name, or is
        unscoped (empty project, no roles) when the user has no role anywhere.
        """
        with self._db.session() as session:
            row = find_user(session, user) if is_default_domain(user_domain) else None
            stored = row.password_hash if row is not None else dummy_hash()
            user_id = row.id if row is not None else ""
            enabled = row is not None and row.enabled
            failures = row.failed_auth_count if row is not None else 0
            last_failure = (to_epoch(row.failed_auth_at)
                            if row is not None and row.failed_auth_at is not None else None)
        now = self._clock()
        if row is not None and is_locked(self._lockout, failures, last_failure, now):
            raise AccountLocked(self._locked_message())
        # Verify even for unknown users so that timing does not reveal which names exist.
        matches = verify_password(password, stored)
        if row is None or not matches or not enabled:
            if row is not None and enabled and self._lockout.enabled:
                self._db.run(lambda session: self._count_failure(session, user_id, now))
            raise AuthFailed("The user name or password is incorrect.")
        if failures:
            self._db.run(lambda session: self._reset_failures(session, user_id))
        return self.scope(user_id, project, project_domain=project_domain)

    def _locked_message(self) -> str:
        # The message never names the user: a client learns nothing it did not send.
        until = ("when an administrator enables the user again" if self._lockout.duration is None
                 else f"{self._lockout.duration:g} seconds after the last failure, or when an "
                      "administrator enables the user again")
        return ("The account is locked after too many failed logins in a row; it unlocks "
                f"{until}.")

    def _count_failure(self, session: Session, user_id: str, now: float) -> None:
        # Row lock: failures counted on two replicas at once both count.
        row = session.get(User, user_id, with_for_update=True)
        if row is None:
            return
        last = to_epoch(row.failed_auth_at) if row.failed_auth_at is not None else None
        row.failed_auth_count = failures_after_a_wrong_password(
            self._lockout, row.failed_auth_count, last, now)
        row.failed_auth_at = from_epoch(now)
        if row.failed_auth_count == self._lockout.failure_attempts:
            LOG.warning("user %s (%s) is locked out after %d failed logins in a row",
                        row.name, row.id, row.failed_auth_count)

    def _reset_failures(self, session: Session, user_id: str) -> None:
        row = session.get(User, user_id, with_for_update=True)
        if row is not None:
            row.failed_auth_count = 0
            row.failed_auth_at = None

    def scope(self, user_id: str, project: str | None = None, *,
              project_domain: str | None = None) -> RequestContext:
        """The context of an already authenticated user on `project`; used to rescope tokens."""
        with self._db.session() as session:
            user = session.get(User, user_id)
            if user is None or not user.enabled:
                raise AuthFailed("The user no longer exists or is disabled.")
            if project is None:
                first = session.scalars(
                    select(Project).join(RoleAssignment, RoleAssignment.project_id == Project.id)
                    .where(RoleAssignment.user_id == user_id, Project.enabled.is_(True))
                    .order_by(Project.name).limit(1)).first()
                if first is None:
                    return RequestContext(user.id, user.name, "", "", ())
                target: Project | None = first
            else:
                target = find_project(session, project) if is_default_domain(
                    project_domain) else None
            roles = _role_names(session, user.id, target.id) if target is not None else ()
            if target is None or not target.enabled or not roles:
                raise NotAuthorizedForProject(
                    f"User {user.name} has no role on project {project}.")
            return RequestContext(user.id, user.name, target.id, target.name, roles)
