"""Publication: copy the checked ``marts`` and ``audit`` schemas into a new file, swap it in atomically.

A reader of ``published.duckdb`` always sees the previous complete publication or the new
complete one: the new file is written beside it under a temporary name and renamed over it
(``os.replace``, atomic on one filesystem). Table and column descriptions travel as comments.

What does not belong here: deciding whether to publish (the asset graph and the blocking checks
do) beyond the last-line refusal when the check history holds a failed blocking check.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS = ("marts", "audit")
_IN_PUBLISHED = "(" + ", ".join(f"'{x}'" for x in PUBLISHED_SCHEMAS) + ")"

# Descriptions of the two audit tables written here rather than by dbt.
OWN_TABLES = {
    "audit.check_results": ("Every quality check of every run: dbt tests and the quality suites.", {
        "check_name": "Name of the check (dbt test or quality-suite check).",
        "asset": "The checked asset (schema/table).",
        "passed": "Whether the check passed.",
        "severity": "ERROR blocks publication; WARN is recorded only (see docs/quality.md).",
        "observed_value": "What the check observed (JSON), e.g. the count of offending rows.",
        "failing_sample": "A few failing values (JSON), when the check provides them.",
        "run_id": "Dagster run id of the run that ran the check.",
        "checked_at": "When the check ran.",
    }),
    "audit.publication": ("When and by which pipeline run this file was published.", {
        "run_id": "Dagster run id of the publishing run.",
        "published_at": "When the file was written.",
    }),
}


class PublicationRefused(Exception):
    pass


def _quote(text: str | None) -> str:
    return "'" + (text or "").replace("'", "''") + "'"


def failed_blocking_checks(con: duckdb.DuckDBPyConnection, database: str,
                           current: set[tuple[str, str]] | None = None) -> list[str]:
    """Blocking checks whose latest result failed (from any run); only checks still defined when
    ``current`` ((check name, asset) pairs) is given, so a removed check cannot block for ever."""
    return [f"{name} on {asset}" for name, asset in con.execute(f"""
        select check_name, asset from (
            select *, row_number() over (partition by check_name, asset order by checked_at desc) as rn
            from {database}.ops.check_results)
        where rn = 1 and not passed and severity = 'ERROR' order by 1, 2""").fetchall()
        if current is None or (name, asset) in current]


def publish(working_db: Path, published_db: Path, run_id: str,
            current_checks: set[tuple[str, str]] | None = None) -> dict[str, int]:
    """Write a new published file from the working file and swap it in; returns table → row count."""
    published_db.parent.mkdir(parents=True, exist_ok=True)
    tmp = published_db.with_name(f".{published_db.stem}-{run_id[:8]}.tmp.duckdb")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"attach {_quote(str(working_db))} as w (read_only)")
        failed = failed_blocking_checks(con, "w", current_checks)
        if failed:
            raise PublicationRefused("blocking checks failed: " + "; ".join(failed))
        relations = con.execute(f"""
            select table_schema, table_name from information_schema.tables
            where table_catalog = 'w' and table_schema in {_IN_PUBLISHED} order by 1, 2""").fetchall()
        for schema, table in relations:
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create table {schema}.{table} as select * from w.{schema}.{table}")
            counts[f"{schema}.{table}"] = con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
        con.execute("create schema if not exists audit")
        con.execute("create table audit.check_results as select * from w.ops.check_results order by checked_at")
        counts["audit.check_results"] = con.execute("select count(*) from audit.check_results").fetchone()[0]
        _copy_comments(con)
        con.execute("create table audit.publication as select ? as run_id, ? as published_at",
                    [run_id, dt.datetime.now()])
        for table, (description, columns) in OWN_TABLES.items():
            con.execute(f"comment on table {table} is {_quote(description)}")
            for column, text in columns.items():
                con.execute(f"comment on column {table}.{column} is {_quote(text)}")
        con.execute("detach w")
        con.execute("checkpoint")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, published_db)
    return counts


def _copy_comments(con: duckdb.DuckDBPyConnection) -> None:
    for schema, table, comment in con.execute(f"""
            select schema_name, table_name, comment from duckdb_tables()
            where database_name = 'w' and schema_name in {_IN_PUBLISHED} and comment is not null
            union all
            select schema_name, view_name, comment from duckdb_views()
            where database_name = 'w' and schema_name in {_IN_PUBLISHED} and comment is not null""").fetchall():
        con.execute(f"comment on table {schema}.{table} is {_quote(comment)}")
    for schema, table, column, comment in con.execute(f"""
            select schema_name, table_name, column_name, comment from duckdb_columns()
            where database_name = 'w' and schema_name in {_IN_PUBLISHED} and comment is not null""").fetchall():
        con.execute(f'comment on column {schema}.{table}."{column}" is {_quote(comment)}')
