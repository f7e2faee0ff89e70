"""The outputs of a real publication: Parquet beside the file, and PostgreSQL when ``DCW_POSTGRES_URL`` is set.

One run of the sample inbox with PostgreSQL configured (the session's server, a fresh database):
PostgreSQL then holds what the published file holds, table by table, and the BI queries of docs/bi.md give
the same answers over the reader role. Then the command line, as a real process, while a reader
holds the swap: a backfill publishes the file and Parquet and fails naming the reader; ``update``
with nothing new to load fails the same way; once the reader is gone, ``update`` publishes to
PostgreSQL what the file holds.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from orchestration.dashboard import dashboard_run_id
from orchestration.publish_parquet import current_run_id
from orchestration.publish_postgres import postgres_run_id, publish_to_postgres
from tests.integration.conftest import run_pipeline
from tests.publication_files import checksum, duckdb_checksums, make_published, postgres_checksums, tables

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BI_QUERIES = re.search(r"## Asking the warehouse.*?```sql\n(.*?)```", (ROOT / "docs" / "bi.md").read_text(), re.S)[1]


def normalised(rows: list[tuple]) -> list[tuple]:
    """The rows in a fixed order: rows that tie on a query's ORDER BY (NULLs, equal values) may come in
    either order from either engine, and text sorts by each server's collation."""
    return sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows), key=repr)


def test_the_sample_publication_reads_back_from_parquet(pipeline):
    import duckdb

    relations = tables(pipeline.published)
    con = duckdb.connect()
    try:
        from_parquet = {relation: checksum(con.execute(
            f"select * from read_parquet('{pipeline.warehouse / 'parquet' / relation.replace('.', '/')}.parquet')"
        ).fetchall()) for relation in relations}
    finally:
        con.close()
    assert from_parquet == duckdb_checksums(pipeline.published)
    assert (pipeline.warehouse / "parquet").is_symlink()


@pytest.fixture(scope="module")
def postgres_run(sample, postgres, tmp_path_factory):
    """The sample inbox run with PostgreSQL configured: (run, pipeline URL, reader URL, reader)."""
    inbox, _ = sample
    url, database = postgres.new_database()
    reader = "reader_" + uuid.uuid4().hex[:8]
    settings = {"DCW_POSTGRES_URL": url, "DCW_POSTGRES_READER": reader,
                "DCW_POSTGRES_READER_PASSWORD": "reader-secret", "DCW_POSTGRES_LOCK_TIMEOUT": "2"}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        run = run_pipeline(inbox, tmp_path_factory.mktemp("warehouse"))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    failures = [e.step_failure_data.error.message for e in run.result.all_events if e.is_step_failure]
    assert run.result.success, "\n".join(failures)
    return run, url, postgres.url(reader, "reader-secret", database), reader


def test_a_run_publishes_to_postgres_what_the_file_holds(postgres_run):
    run, url, reader_url, _ = postgres_run
    expected = duckdb_checksums(run.published)
    assert len(expected) > 20
    assert postgres_checksums(url) == expected
    with psycopg.connect(reader_url) as pg:
        types = dict(pg.execute("""select c.relname || '.' || a.attname, format_type(a.atttypid, a.atttypmod)
                                   from pg_attribute a join pg_class c on c.oid = a.attrelid
                                   join pg_namespace n on n.oid = c.relnamespace
                                   where n.nspname = 'marts' and c.relkind = 'r' and a.attnum > 0
                                     and not a.attisdropped""").fetchall())
        assert types["fct_center_month.month"] == "date"
        assert types["dim_center.center_code"] == "text"
        money = {name: kind for name, kind in types.items() if name.endswith("_cny")}
        assert money and set(money.values()) == {"numeric(18,2)"}, money
        assert pg.execute("select obj_description('marts.mart_center_ledger'::regclass)").fetchone()[0]


def test_the_readme_queries_give_the_same_answers_over_postgres(postgres_run):
    run, _, reader_url, _ = postgres_run
    queries = [q for q in BI_QUERIES.split(";") if "select" in q]
    assert len(queries) >= 4
    with psycopg.connect(reader_url) as pg:
        for sql in queries:
            assert normalised(pg.execute(sql).fetchall()) == normalised(run.query(sql)), sql


def cli(*args: str, warehouse: Path, inbox: Path, url: str, reader: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DCW_INBOX": str(inbox), "DCW_WAREHOUSE": str(warehouse), "DCW_POSTGRES_URL": url,
           "DCW_POSTGRES_READER": reader, "DCW_POSTGRES_LOCK_TIMEOUT": "1"}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_a_reader_holding_the_swap_fails_the_run_and_the_next_update_publishes(postgres_run, postgres, tmp_path):
    """Last in this module: the backfill publishes a new file in the fixture's warehouse."""
    run, _, _, reader = postgres_run
    url, database = postgres.new_database()    # a database holding an older publication
    make_published(tmp_path / "older.duckdb", "run-older", 1)
    publish_to_postgres(tmp_path / "older.duckdb", url, reader=reader)
    where = {"warehouse": run.warehouse, "inbox": run.inbox, "url": url, "reader": reader}
    with psycopg.connect(postgres.url(reader, "reader-secret", database)) as pg:   # a BI reader holds the swap
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        assert pg.execute("select run_id from audit.publication").fetchone()[0] == "run-older"
        holder = f"pid {pg.info.backend_pid}, user {reader}, state idle in transaction, in transaction since"
        before = run.query("select run_id from audit.publication")[0][0]
        backfill = cli("backfill", "--from", "2025-06", **where)
        assert backfill.returncode == 1, backfill.stdout + backfill.stderr
        assert f"RUN FAILED (monthly) after publishing {run.published}" in backfill.stderr
        assert holder in backfill.stderr and "previous PostgreSQL publication is intact" in backfill.stderr
        backfilled = run.query("select run_id from audit.publication")[0][0]
        assert backfilled != before                       # the file is the backfill's publication,
        assert current_run_id(run.warehouse) == backfilled  # and so is Parquet,
        assert dashboard_run_id(run.warehouse / "dashboard") == backfilled   # and the dashboard,
        assert postgres_run_id(url) == "run-older"          # not PostgreSQL
        update = cli("update", **where)        # nothing new to load, still held
        assert update.returncode == 1, update.stdout + update.stderr
        assert "nothing to do" in update.stdout and holder in update.stderr
        assert pg.execute("select run_id from audit.publication").fetchone()[0] == "run-older"
    update = cli("update", **where)            # the reader is gone
    assert update.returncode == 0, update.stdout + update.stderr
    assert f"caught up with publication {backfilled[:8]}" in update.stdout
    assert postgres_checksums(url) == duckdb_checksums(run.published)
