"""Publication to a real PostgreSQL server (the session's ``postgres`` fixture) from small published files.

Each test gets a fresh database owned by a fresh pipeline role (CREATEROLE, not a superuser) and
its own reader role. Readers use REPEATABLE READ, as docs/bi.md tells BI users to.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from orchestration.publish_outputs import OutputsBehind, bring_up_to_date
from orchestration.publish_parquet import current_run_id
from orchestration.publish_postgres import PostgresBusy, pg_type, postgres_run_id, publish_to_postgres
from tests import postgres_server
from tests.publication_files import duckdb_checksums, make_published, postgres_checksums

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def target(pg_database, postgres):
    """(pipeline URL, reader name, reader URL) of a fresh database."""
    url, database = pg_database
    reader = "reader_" + uuid.uuid4().hex[:8]
    return url, reader, postgres.url(reader, "reader-secret", database)


def publish(db: Path, url: str, reader: str, lock_timeout: float = 10.0) -> dict[str, int]:
    return publish_to_postgres(db, url, lock_timeout=lock_timeout, reader=reader, reader_password="reader-secret")


def reader_run_id(pg: psycopg.Connection) -> str:
    return pg.execute("select run_id from audit.publication").fetchone()[0]


def test_type_mapping():
    assert pg_type("DECIMAL(18,2)") == "numeric(18,2)"
    assert pg_type("DOUBLE") == "double precision"
    assert pg_type("VARCHAR") == "text"
    assert pg_type("DATE") == "date"
    assert pg_type("TIMESTAMP WITH TIME ZONE") == "timestamptz"
    assert pg_type("VARCHAR[]") == "text[]"
    assert pg_type("INTEGER[]") == "text"


def test_contents_types_and_comments_equal_the_duckdb_publication(tmp_path, target):
    url, reader, _ = target
    first = make_published(tmp_path / "p1.duckdb", "run-1", 1)
    counts = publish(first, url, reader)
    assert counts == {relation: n for relation, (n, _) in duckdb_checksums(first).items()}
    assert postgres_checksums(url) == duckdb_checksums(first)
    second = make_published(tmp_path / "p2.duckdb", "run-2", 2)   # other rows, one more column
    publish(second, url, reader)
    assert postgres_checksums(url) == duckdb_checksums(second)
    assert postgres_run_id(url) == "run-2"
    with psycopg.connect(url) as pg:
        types = dict(pg.execute("""select column_name, format_type(atttypid, atttypmod)
            from information_schema.columns c join pg_attribute a
              on a.attrelid = 'marts.fct_center_month'::regclass and a.attname = c.column_name
            where table_schema = 'marts' and table_name = 'fct_center_month'""").fetchall())
        assert types == {"center_code": "text", "month": "date", "electricity_cost_cny": "numeric(18,2)",
                         "pue": "double precision", "it_energy_kwh": "double precision", "is_corrected": "boolean",
                         "status": "text", "racks": "bigint", "loaded_at": "timestamp without time zone"}
        assert pg.execute("select obj_description('marts.fct_center_month'::regclass)").fetchone()[0] == \
            "Center × report month: racks, compute, energy."
        comments = dict(pg.execute("""select attname, col_description(attrelid, attnum) from pg_attribute
            where attrelid = 'marts.fct_center_month'::regclass and attnum > 0""").fetchall())
        assert comments["electricity_cost_cny"] == "电费（元）, current bills"
        assert comments["pue"] == "facility kWh / IT kWh; it's NULL when unknown"
        owners = {row[0] for row in pg.execute(
            "select tableowner from pg_tables where schemaname in ('marts', 'audit')").fetchall()}
        assert owners == {pg.info.user}
        assert pg.execute("select count(*) from pg_namespace where nspname like '%%_staging'").fetchone()[0] == 0


def test_reader_reads_marts_and_audit_only(tmp_path, target):
    url, reader, reader_url = target
    publish(make_published(tmp_path / "p1.duckdb", "run-1", 1), url, reader)
    with psycopg.connect(url, autocommit=True) as pg:   # the pipeline's own tables elsewhere
        pg.execute("create schema private; create table private.secret as select 1 as x")
        pg.execute("create table public.secret as select 1 as x")
        pg.execute("create schema marts_staging; create table marts_staging.t as select 1 as x")
    with psycopg.connect(reader_url, autocommit=True) as pg:
        assert pg.execute("select count(*) from marts.fct_center_month").fetchone()[0] == 21
        assert reader_run_id(pg) == "run-1"
        refused = ["insert into marts.dim_month values (date '2030-01-01', 2030)",
                   "delete from audit.publication",
                   "update marts.fct_center_month set racks = 0",
                   "truncate marts.dim_month",
                   "drop table marts.dim_month",
                   "create table marts.mine (x int)",
                   "create table audit.mine (x int)",
                   "create table public.mine (x int)",
                   "select * from private.secret",
                   "select * from public.secret",
                   "select * from marts_staging.t"]
        for sql in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pg.execute(sql)
    with pytest.raises(psycopg.OperationalError):   # the password is the setting's
        psycopg.connect(reader_url.replace("reader-secret", "wrong")).close()


@pytest.mark.parametrize("first_read, read_all_stats", [("select 1", True), ("select 1", False),
                                                        ("select count(*) from audit.publication", True)])
def test_a_reader_in_a_transaction_sees_the_old_publication_until_it_commits(tmp_path, postgres, first_read,
                                                                            read_all_stats):
    """``select 1`` only takes the snapshot (the swap must wait for it: it would find the new tables
    with an old snapshot), with or without the privilege to see when the reader's transaction
    started; reading a published table also holds a lock on it."""
    url, database = postgres.new_database(read_all_stats)
    reader = "reader_" + uuid.uuid4().hex[:8]
    reader_url = postgres.url(reader, "reader-secret", database)
    old = make_published(tmp_path / "p1.duckdb", "run-1", 1)
    new = make_published(tmp_path / "p2.duckdb", "run-2", 2)
    publish(old, url, reader)
    with psycopg.connect(reader_url) as pg:
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        pg.execute(first_read)                           # the transaction's snapshot: run-1
        done: list = []
        publisher = threading.Thread(target=lambda: done.append(publish(new, url, reader, lock_timeout=30)))
        publisher.start()
        time.sleep(2.5)                                  # several swap attempts
        assert publisher.is_alive(), "the swap did not wait for the reader's transaction"
        assert reader_run_id(pg) == "run-1"
        assert pg.execute("select count(*), max(racks) from marts.fct_center_month").fetchone() == (21, 2001)
        assert pg.execute("select count(*) from marts.dim_month").fetchone()[0] == 12
        pg.commit()
        publisher.join(30)
        assert done, "the publication did not finish after the reader committed"
        assert reader_run_id(pg) == "run-2"
        assert pg.execute("select count(*), max(racks) from marts.fct_center_month").fetchone() == (22, 2102)
        pg.commit()
    assert postgres_checksums(url) == duckdb_checksums(new)


def test_a_reader_idle_in_transaction_past_the_timeout_fails_the_publication_and_the_next_run_publishes(
        tmp_path, target, monkeypatch):
    url, reader, reader_url = target
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    published = warehouse / "published.duckdb"
    make_published(published, "run-1", 1)
    monkeypatch.setenv("DCW_POSTGRES_URL", url)
    monkeypatch.setenv("DCW_POSTGRES_READER", reader)
    monkeypatch.setenv("DCW_POSTGRES_READER_PASSWORD", "reader-secret")
    monkeypatch.setenv("DCW_POSTGRES_LOCK_TIMEOUT", "1.5")
    assert bring_up_to_date(published, warehouse).postgres is not None
    before = postgres_checksums(url)
    make_published(published, "run-2", 2)
    with psycopg.connect(reader_url) as pg:
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        reader_run_id(pg)
        pid = pg.info.backend_pid
        started = time.monotonic()
        with pytest.raises(PostgresBusy) as busy:
            publish_to_postgres(published, url, lock_timeout=1.5, reader=reader)
        assert 1.5 <= time.monotonic() - started < 10
        message = str(busy.value)
        assert f"pid {pid}, user {reader}, state idle in transaction, in transaction since" in message
        assert "previous PostgreSQL publication is intact" in message
        assert reader_run_id(pg) == "run-1"
        assert postgres_checksums(url) == before
        assert postgres_run_id(url) == "run-1"
    # the reader is gone: the next run, with nothing new to load, publishes what the file has
    outcome = bring_up_to_date(published, warehouse)
    assert outcome.postgres is not None
    assert postgres_checksums(url) == duckdb_checksums(published)
    assert bring_up_to_date(published, warehouse).postgres is None   # up to date: nothing done


def test_a_publication_killed_while_loading_leaves_the_previous_one_intact(tmp_path, target, postgres):
    url, reader, _ = target
    old = make_published(tmp_path / "p1.duckdb", "run-1", 1)
    new = make_published(tmp_path / "p2.duckdb", "run-2", 2, big_rows=1_000_000)
    publish(old, url, reader)
    before = postgres_checksums(url)
    code = ("import sys; from pathlib import Path; from orchestration.publish_postgres import publish_to_postgres; "
            "publish_to_postgres(Path(sys.argv[1]), sys.argv[2], reader=sys.argv[3])")
    child = subprocess.Popen([sys.executable, "-c", code, str(new), url, reader], cwd=ROOT)
    database = url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(postgres.url(), autocommit=True) as admin:
            deadline = time.monotonic() + 60
            while not admin.execute("select count(*) from pg_stat_progress_copy where datname = %s and "   # fct_big:
                                    "bytes_processed > 1000000", [database]).fetchone()[0]:            # the only big one
                assert child.poll() is None, "the publication ended before it was killed"
                assert time.monotonic() < deadline, "the load of marts_staging.fct_big never started"
                time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert postgres_checksums(url) == before
    assert postgres_run_id(url) == "run-1"
    publish(new, url, reader)  # the next publication drops the dead one's staging schemas and lands
    big = ("marts.fct_big",)   # counted only: hashing a million rows twice would double the test's time
    assert postgres_checksums(url, big) == duckdb_checksums(new, big)


def test_missing_postgres_binaries_fail_naming_the_package(monkeypatch):
    monkeypatch.setattr(postgres_server.glob, "glob", lambda pattern: [])
    with pytest.raises(RuntimeError) as missing:
        postgres_server.start()
    assert "install the Debian package `postgresql`" in str(missing.value)
    assert "\n" not in str(missing.value)


def test_an_unreachable_server_leaves_parquet_done_and_says_so_without_the_password(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    published = make_published(warehouse / "published.duckdb", "run-1", 1)
    port = postgres_server.free_port()   # nothing listens there
    monkeypatch.setenv("DCW_POSTGRES_URL", f"postgresql://dcw_pipeline:s3cret@127.0.0.1:{port}/dcw")
    with pytest.raises(OutputsBehind) as behind:
        bring_up_to_date(published, warehouse)
    message = str(behind.value)
    assert f"PostgreSQL not updated (postgresql://dcw_pipeline:***@127.0.0.1:{port}/dcw)" in message
    assert "s3cret" not in message and "next run (or update) publishes this one" in message
    assert current_run_id(warehouse) == "run-1"


def test_a_reader_reading_table_after_table_is_never_broken_by_the_swap(tmp_path, target, postgres):
    """The swap locks the old tables one by one (in name order). A reader whose transaction began
    after the load (so the swap does not wait for it to end first), holding the last table and
    then asking for another, waits for a lock the swap holds while the swap waits for it: a
    deadlock, which PostgreSQL breaks after deadlock_timeout (1 s) by aborting one side. The
    swap's attempts give up before that, so the side aborted is never the reader."""
    url, reader, reader_url = target
    old = make_published(tmp_path / "p1.duckdb", "run-1", 1)
    new = make_published(tmp_path / "p2.duckdb", "run-2", 2)
    publish(old, url, reader)
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(reader_url) as early, psycopg.connect(reader_url) as pg, \
            psycopg.connect(postgres.url(database=database), autocommit=True) as admin:
        early.isolation_level = pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        early.execute("select 1")          # holds the swap in its first phase while the load finishes
        done: list = []
        publisher = threading.Thread(target=lambda: done.append(publish(new, url, reader, lock_timeout=30)))
        publisher.start()
        deadline = time.monotonic() + 20
        while admin.execute("select to_regclass('marts_staging.fct_center_month')").fetchone()[0] is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)                    # the load is committed: pg's transaction begins after it
        assert pg.execute("select count(*) from marts.fct_center_month").fetchone()[0] == 21   # last in name order
        early.commit()                     # the swap now takes its locks: it gets the others, waits for this one
        time.sleep(0.3)
        for _ in range(3):                 # over several swap attempts
            for relation, rows in [("audit.file_manifest", 3), ("audit.publication", 1), ("marts.dim_month", 12)]:
                assert pg.execute(f"select count(*) from {relation}").fetchone()[0] == rows
            time.sleep(0.4)
        assert reader_run_id(pg) == "run-1"
        assert publisher.is_alive()
        pg.commit()
        publisher.join(30)
        assert done
        assert reader_run_id(pg) == "run-2"
