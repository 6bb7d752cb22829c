"""The revision-numbered event log: written in the same transaction as the change it notes."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.orm import Session

from neutrino.agent_protocol.messages import Event as EventMessage
from neutrino.agent_protocol.messages import EventBatch
from neutrino.db.models import Event
from neutrino.db.session import Database
from neutrino.errors import InvalidInput, shown
from neutrino.services.clock import utcnow

# session.info key: the rows record() added in this transaction, told to the agent drivers
# once it commits (services/committed_events.py).
WRITTEN = "neutrino.written_events"
# Revisions are the log's BIGINT ids; a cursor beyond them is no cursor (and no query).
MAX_REVISION = 2**63 - 1
R = TypeVar("R", bound=Any)


def record(session: Session, event: str, resource: str, resource_id: str,
           network_id: str | None = None, host: str | None = None,
           now: datetime | None = None) -> None:
    row = Event(event=event, resource=resource, resource_id=resource_id,
                network_id=network_id, host=host, created_at=now or utcnow())
    session.add(row)
    session.info.setdefault(WRITTEN, []).append(row)


def message(row: Event) -> EventMessage:
    """The notice of one logged event, as agents receive it."""
    return EventMessage(revision=row.id, event=row.event, resource=row.resource,
                        resource_id=row.resource_id, network_id=row.network_id, host=row.host)


def take_written(session: Session) -> list[EventMessage]:
    """The events this session's transaction wrote (ids assigned by the flush), once."""
    rows: list[Event] = session.info.pop(WRITTEN, [])
    # A row added inside a savepoint that rolled back left the session with it.
    return [message(row) for row in rows if inspect(row).persistent]


def latest_revision(session: Session) -> int:
    return int(session.scalar(select(func.max(Event.id))) or 0)


# On PostgreSQL and MySQL an id is taken at INSERT but becomes visible at COMMIT, so id 101
# can appear after 102. A gap younger than this may still fill; an older one is a rollback.
GAP_GRACE = timedelta(seconds=2)


def safe_prefix(rows: Sequence[R], after: int, now: datetime) -> tuple[list[R], int]:
    """The rows (Event rows or plain rows with id and created_at) up to the first gap that
    may still fill, and the cursor that covers them."""
    expected = after + 1
    kept: list[R] = []
    for row in rows:
        if row.id != expected and now - row.created_at < GAP_GRACE:
            return kept, expected - 1
        kept.append(row)
        expected = row.id + 1
    return kept, expected - 1


def fetch(session: Session, host: str, after: int, limit: int = 500,
          now: datetime | None = None) -> EventBatch:
    """Events after `after` addressed to `host` or to everyone; `after < 0` asks for a cursor."""
    if after > MAX_REVISION:
        raise InvalidInput(f"after={shown(after)} is not a revision: revisions go up to "
                           f"{MAX_REVISION}; send -1 for the current one.")
    now = now or utcnow()
    latest = latest_revision(session)
    if after < 0:
        recent = session.scalars(
            select(Event).where(Event.id > latest - limit).order_by(Event.id)).all()
        _, cursor = safe_prefix(list(recent), max(latest - limit, 0), now)
        return EventBatch(events=[], latest_revision=cursor)
    oldest = session.scalar(select(func.min(Event.id)))
    if oldest is not None and after < oldest - 1 and after < latest:
        # What the agent missed was pruned: only a full resync can make it whole again.
        return EventBatch(events=[], latest_revision=latest, reset=True)
    rows = session.scalars(
        select(Event).where(Event.id > after).order_by(Event.id).limit(limit)).all()
    kept, cursor = safe_prefix(list(rows), after, now)
    # Events for other hosts advance the cursor too, so the agent does not ask for them again.
    events = [message(r) for r in kept if r.host is None or r.host == host]
    return EventBatch(events=events, latest_revision=max(cursor, after))


def prune(session: Session, keep: int) -> int:
    latest = latest_revision(session)
    result = session.execute(delete(Event).where(Event.id <= latest - keep))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def prune_log(db: Database, keep: int) -> int:
    """prune() in a transaction of its own (the server's housekeeping loop)."""
    return db.run(lambda session: prune(session, keep))
