"""Fixtures shared by unit and integration tests: a real PostgreSQL server for the session."""
from __future__ import annotations

import pytest

from tests import postgres_server


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server started for this test session (stopped and removed at its end)."""
    try:
        server = postgres_server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    postgres_server.stop(server)


@pytest.fixture
def pg_database(postgres):
    """A fresh database and pipeline role on the session's server: (pipeline URL, database name)."""
    return postgres.new_database()
