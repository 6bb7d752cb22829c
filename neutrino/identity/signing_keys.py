"""The token-signing secret, kept in the database so that every server replica shares it."""
from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.db.models import SigningKey
from neutrino.db.session import Database

LOG = logging.getLogger(__name__)

SECRET_BYTES = 32
# One row with a fixed id: two replicas starting together both try to insert it, the primary
# key lets exactly one win, and the loser reads the winner's secret.
CURRENT_KEY_ID = 1


def _read(session: Session) -> str | None:
    return session.scalar(select(SigningKey.secret).where(SigningKey.id == CURRENT_KEY_ID))


def load_or_create_secret(db: Database) -> bytes:
    """Return the shared signing secret, creating it on the first call against a new database."""
    with db.session() as session:
        existing = _read(session)
    if existing is not None:
        return bytes.fromhex(existing)

    def create(session: Session) -> str:
        found = _read(session)
        if found is not None:
            return found
        secret = secrets.token_hex(SECRET_BYTES)
        session.add(SigningKey(id=CURRENT_KEY_ID, secret=secret,
                               created_at=datetime.now(UTC).replace(tzinfo=None)))
        session.flush()
        LOG.info("created the token signing key")
        return secret

    try:
        return bytes.fromhex(db.run(create))
    except IntegrityError:
        # Another replica inserted it between our read and our insert.
        with db.session() as session:
            winner = _read(session)
        if winner is None:
            raise
        return bytes.fromhex(winner)
