"""Settings and fixtures shared by every test.

Test files are written and read at once: the inbox's settling time (a file modified in the last
``DCW_SETTLE_SECONDS`` is taken as still being written and left for the next run) is 0 here. The
fault-injection suite (``tests/faults/``) runs the real command with the default instead.

``postgres`` is a real PostgreSQL server for the session (``tests/postgres_server.py``).
"""
import os

import pytest

from tests import postgres_server

os.environ.setdefault("DCW_SETTLE_SECONDS", "0")


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
