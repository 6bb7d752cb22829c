"""Changes that end access: delete or disable a user, change a password, remove a role,
delete a project. Each revokes, in the same transaction, the tokens it makes wrong (as
Keystone does), so that no replica honours them once the revocation cache has turned over.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import delete
from sqlalchemy.orm import Session

from neutrino.db.models import Project, RoleAssignment, User
from neutrino.db.session import Database
from neutrino.identity.errors import NotFound
from neutrino.identity.passwords import hash_password
from neutrino.identity.revocations import Revocations
from neutrino.identity.store import (
    ProjectInfo,
    UserInfo,
    find_project,
    find_role,
    find_user,
    project_info,
    user_info,
)

LOG = logging.getLogger(__name__)
T = TypeVar("T")


def _user(session: Session, name_or_id: str) -> User:
    row = find_user(session, name_or_id)
    if row is None:
        raise NotFound(f"No user has the name or id {name_or_id}.")
    return row


def _project(session: Session, name_or_id: str) -> Project:
    row = find_project(session, name_or_id)
    if row is None:
        raise NotFound(f"No project has the name or id {name_or_id}.")
    return row


class IdentityLifecycle:
    """Administrative changes to users, roles and projects that revoke tokens."""

    def __init__(self, db: Database, revocations: Revocations) -> None:
        self._db = db
        self._revocations = revocations

    def _revoking(self, work: Callable[[Session], T]) -> T:
        result = self._db.run(work)
        # This replica honours its own revocation at once, not after its cache turns over.
        self._revocations.invalidate()
        return result

    def delete_user(self, user: str) -> UserInfo:
        """Delete `user` (name or id) with its role assignments; revoke all its tokens."""
        def work(session: Session) -> UserInfo:
            row = _user(session, user)
            info = user_info(row)
            session.execute(delete(RoleAssignment).where(RoleAssignment.user_id == row.id))
            session.delete(row)
            self._revocations.record(session, "user deleted", user_id=info.id)
            return info

        info = self._revoking(work)
        LOG.info("deleted user %s (%s)", info.name, info.id)
        return info

    def set_user_enabled(self, user: str, enabled: bool) -> UserInfo:
        """Disable `user` (revoking its tokens) or enable it (which also ends a lockout)."""
        def work(session: Session) -> UserInfo:
            row = _user(session, user)
            row.enabled = enabled
            if enabled:
                # Keystone's way to unlock an account: set it enabled.
                row.failed_auth_count = 0
                row.failed_auth_at = None
            else:
                self._revocations.record(session, "user disabled", user_id=row.id)
            return user_info(row)

        info = self._revoking(work)
        LOG.info("%s user %s (%s)", "enabled" if enabled else "disabled", info.name, info.id)
        return info

    def set_password(self, user: str, password: str) -> UserInfo:
        """Replace the password of `user`; its tokens are revoked, as in Keystone."""
        password_hash = hash_password(password)  # slow on purpose: outside the transaction

        def work(session: Session) -> UserInfo:
            row = _user(session, user)
            row.password_hash = password_hash
            self._revocations.record(session, "password changed", user_id=row.id)
            return user_info(row)

        info = self._revoking(work)
        LOG.info("changed the password of user %s (%s)", info.name, info.id)
        return info

    def remove_role(self, user: str, project: str, role: str) -> None:
        """Take `role` on `project` from `user`; revoke the user's tokens on that project.

        The user's other roles there stay; a new token carries them.
        """
        def work(session: Session) -> None:
            user_row = _user(session, user)
            project_row = _project(session, project)
            role_row = find_role(session, role)
            assignment = (session.get(RoleAssignment, (user_row.id, project_row.id, role_row.id))
                          if role_row is not None else None)
            if assignment is None:
                raise NotFound(f"User {user_row.name} has no role {role} on project "
                               f"{project_row.name}.")
            session.delete(assignment)
            self._revocations.record(session, "role removed", user_id=user_row.id,
                                     project_id=project_row.id)

        self._revoking(work)
        LOG.info("removed role %s of user %s on project %s", role, user, project)

    def delete_project(self, project: str) -> ProjectInfo:
        """Delete `project` and every role on it; revoke every token scoped to it."""
        def work(session: Session) -> ProjectInfo:
            row = _project(session, project)
            info = project_info(row)
            session.execute(delete(RoleAssignment).where(RoleAssignment.project_id == row.id))
            session.delete(row)
            self._revocations.record(session, "project deleted", project_id=info.id)
            return info

        info = self._revoking(work)
        LOG.info("deleted project %s (%s)", info.name, info.id)
        return info
