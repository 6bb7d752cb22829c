from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neutrino.db.models import Base
from neutrino.db.session import Database

from .fake_clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/identity.db")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()
