"""The Dagster instance of the warehouse: where it lives, its ``dagster.yaml``, its event log.

The instance (the run history the UI shows) lives in ``$DCW_WAREHOUSE/.dagster_home`` unless
``DAGSTER_HOME`` is set. Its ``dagster.yaml`` allows one run and one writer of the working file at
a time, turns telemetry off and stores events with ``KeptConnectionSqliteEventLogStorage``.

Why a storage class of our own: Dagster's SQLite event log opens a new SQLite engine and connection
for every event and closes it afterwards; closing the last connection checkpoints the WAL with an
fsync. A pipeline run stores thousands of events (every dbt model and test is an asset or a check),
and that cost about 28 ms per event, more than half of a sample run's wall time. This subclass
keeps one connection per database file with ``synchronous=NORMAL`` (WAL mode: no corruption on a
crash; at worst the last events are lost on a power cut), and touches a run's database file after
each stored event, because the UI follows a running run by watching that file change. It also
remembers the tables it has found (the stock class opens an engine to look one up before most
writes). Everything else (schema, queries, sharding by run, the files on disk) is Dagster's own,
so an instance can go back to the stock class by editing ``dagster.yaml``.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)

from orchestration.resources import warehouse_from_env

KEPT_RUN_DATABASES = 16  # run databases kept open at once (the UI may read many runs)

HEADER = "# Written by dc-cluster-warehouse (orchestration/instance.py); rewritten when that file changes.\n"


def dagster_yaml(home: Path) -> str:
    return HEADER + f"""\
telemetry:
  enabled: false
# One run at a time and one writer of the working file at a time (pool working_duckdb): DuckDB
# allows a single writer, and the UI's runs, the schedules and the sensor share this instance.
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 1
# Runs whose worker died: the inbox sensor marks them failed and frees their slots before it
# requests runs (orchestration/recovery.py); the daemon also frees the slots of ended runs and
# fails runs stuck starting.
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  free_slots_after_run_end_seconds: 30
event_log_storage:
  module: orchestration.instance
  class: KeptConnectionSqliteEventLogStorage
  config:
    base_dir: {home / "history" / "runs"}
"""


def ensure_dagster_home() -> Path:
    """The instance's home (created if absent) with our ``dagster.yaml``.

    A ``dagster.yaml`` we wrote is brought up to date; one written by someone else is left alone.
    """
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(warehouse_from_env() / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = dagster_yaml(home.resolve())
    if not config.exists() or (config.read_text(encoding="utf-8").startswith(HEADER)
                               and config.read_text(encoding="utf-8") != wanted):
        config.write_text(wanted, encoding="utf-8")
    return home


def _normal_sync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class KeptConnectionSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, with one kept connection per database file."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    def has_table(self, table_name: str) -> bool:
        """As the stock class, which opens a new engine for every look-up and is asked before most
        writes (~1 s of a month's run); a table once found is not looked up again."""
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> KeptConnectionSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)  # the stock class returns itself, not cls

    def _engine(self, shard: str) -> sa.Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        url = self.conn_string_for_shard(shard)
        if shard not in self._initialized_dbs:  # as the stock class does, on a throwaway engine
            init_engine = sa.create_engine(url, poolclass=sa.pool.NullPool,
                                           connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            self._initdb(init_engine)
            init_engine.dispose()
            self._initialized_dbs.add(shard)
        engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=1, max_overflow=0,
                                  connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
        sa.event.listen(engine, "connect", _normal_sync)
        self._engines[shard] = engine
        runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
        for old in runs[:-KEPT_RUN_DATABASES]:
            self._engines.pop(old).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock:
            with self._engine(shard).connect() as conn:
                with conn.begin():
                    yield conn

    def store_event(self, event: Any) -> None:
        super().store_event(event)
        path = self.path_for_shard(event.run_id)
        if os.path.exists(path):
            os.utime(path)  # wakes the UI's watcher of this run (it watches the file, not the WAL)

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()
        self._tables_found.clear()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
