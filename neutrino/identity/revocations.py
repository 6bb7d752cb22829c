"""Revocation events in the shared database, and each server process's short-lived copy of them.

Writers add an event in the same transaction as the change that causes it (a user deleted,
a role removed...) and bump the one-row generation counter. Each process re-reads the
counter at most every `cache_seconds`, and the events only when the counter moved. So a
revocation committed on any replica holds on every replica for every request that starts
more than `cache_seconds` after the commit ([revoke] cache_time, default 1 s).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from neutrino.db.models import RevocationEvent, RevocationGeneration
from neutrino.db.session import Database
from neutrino.identity.revocation_rules import Revocation, RevocationIndex, TokenFacts
from neutrino.services.clock import from_epoch, to_epoch

LOG = logging.getLogger(__name__)

GENERATION_ROW = 1
DEFAULT_CACHE_SECONDS = 1.0


class Revocations:
    """Records revocation events and answers "is this token revoked?" from a cached copy.

    `token_lifetime` bounds how long an event matters: a token issued before the event is
    expired `token_lifetime` seconds after it ([token] expiration, the same on all replicas).
    """

    def __init__(self, db: Database, token_lifetime: float,
                 cache_seconds: float = DEFAULT_CACHE_SECONDS, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._lifetime = token_lifetime
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._index = RevocationIndex()
        self._generation: int | None = None
        self._checked_at: float | None = None
        self._failing = False

    # ---- writing ----------------------------------------------------------------------------

    def record(self, session: Session, reason: str, *, user_id: str | None = None,
               project_id: str | None = None, audit_id: str | None = None) -> None:
        """Add an event inside the caller's transaction: it holds when that commits."""
        now = self._clock()
        session.add(RevocationEvent(user_id=user_id, project_id=project_id, audit_id=audit_id,
                                    issued_before=from_epoch(now),
                                    revoked_at=from_epoch(now), reason=reason))
        bumped = session.execute(
            update(RevocationGeneration).where(RevocationGeneration.id == GENERATION_ROW)
            .values(generation=RevocationGeneration.generation + 1))
        if bumped.rowcount == 0:  # type: ignore[attr-defined]
            # A schema made by create_all (tests) rather than by the migration lacks the row.
            session.add(RevocationGeneration(id=GENERATION_ROW, generation=1))
        # Events older than a token lifetime match only expired tokens: drop them here, so
        # the table stays as small as the revocations of one token lifetime.
        session.execute(delete(RevocationEvent).where(
            RevocationEvent.issued_before < from_epoch(now - self._lifetime)))
        session.flush()
        LOG.info("revoked tokens (%s): user %s, project %s, audit id %s", reason,
                 user_id or "any", project_id or "any", audit_id or "any")

    def revoke(self, reason: str, *, user_id: str | None = None,
               project_id: str | None = None, audit_id: str | None = None) -> None:
        """Record an event in a transaction of its own."""
        self._db.run(lambda session: self.record(session, reason, user_id=user_id,
                                                 project_id=project_id, audit_id=audit_id))
        self.invalidate()

    def invalidate(self) -> None:
        """Make the next check re-read the database (after a local revocation committed)."""
        with self._lock:
            self._checked_at = None

    # ---- reading ----------------------------------------------------------------------------

    def is_revoked(self, token: TokenFacts) -> bool:
        return self._current().revokes(token)

    def refresh(self) -> None:
        """Re-read the database now (the server's background loop calls this)."""
        with self._lock:
            self._reload()

    def _current(self) -> RevocationIndex:
        checked_at = self._checked_at
        if checked_at is not None and self._monotonic() - checked_at < self.cache_seconds:
            return self._index
        with self._lock:
            checked_at = self._checked_at
            if checked_at is None or self._monotonic() - checked_at >= self.cache_seconds:
                self._reload()
            return self._index

    def _reload(self) -> None:
        # Taken before the query: the copy is then never older than it claims to be.
        started = self._monotonic()
        try:
            with self._db.session() as session:
                generation = session.scalar(
                    select(RevocationGeneration.generation)
                    .where(RevocationGeneration.id == GENERATION_ROW)) or 0
                if generation != self._generation:
                    cutoff = from_epoch(self._clock() - self._lifetime)
                    rows = session.execute(
                        select(RevocationEvent.issued_before, RevocationEvent.user_id,
                               RevocationEvent.project_id, RevocationEvent.audit_id)
                        .where(RevocationEvent.issued_before >= cutoff)).all()
                    self._index = RevocationIndex(
                        Revocation(to_epoch(r[0]), r[1], r[2], r[3]) for r in rows)
                    self._generation = generation
        except SQLAlchemyError as exc:
            # Keep answering from the last copy: nobody can revoke while the database is
            # unreachable anyway, and refusing every token would stop agents too.
            if not self._failing:
                LOG.error("cannot read token revocations (%s); using the %d known until the "
                          "database answers again", exc, len(self._index))
            self._failing = True
        else:
            if self._failing:
                LOG.info("token revocations readable again (%d events)", len(self._index))
            self._failing = False
        self._checked_at = started
