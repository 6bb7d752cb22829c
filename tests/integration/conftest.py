from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import ENGINES, fresh_database
from tests.support.server import RunningServer, running_server, settings_for


@pytest.fixture(scope="module", params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    with fresh_database(request.param, str(tmp_path_factory.mktemp("db"))) as url:
        yield url


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")), agent_down_time=5)
    with running_server(settings) as running:
        yield running
