"""Publication: copy the checked ``marts`` and ``audit`` schemas into a new file, swap it in atomically.

A reader of ``published.duckdb`` always sees the previous complete publication or the new
complete one: the new file is written beside it under a temporary name and renamed over it
(``os.replace``, atomic on one filesystem). Table and column descriptions travel as comments.
Besides dbt's tables, the publication writes ``audit.check_results`` (the check history),
``audit.column_lineage`` (from ``ops.column_lineage``, which the dbt step derives) and
``audit.publication``.

The new file starts as a copy of the previous publication when there is one: a table that dbt
has not rebuilt since (the same build in ``ops.model_builds``, stamped by dbt's post-hook, as the
one recorded in ``ops.published_builds`` for that publication) is kept as it is, and only the
others are copied from the working file. A month's run rebuilds neither the firm history nor the
firm quarters, the largest tables at province scale.

What does not belong here: deciding whether to publish (the asset graph and the blocking checks
do) beyond the last-line refusal when the check history holds a failed blocking check.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb

from ingestion.manifest import mark_published

PUBLISHED_SCHEMAS = ("marts", "audit")
_IN_PUBLISHED = "(" + ", ".join(f"'{x}'" for x in PUBLISHED_SCHEMAS) + ")"

# Descriptions of the audit tables written here rather than by dbt.
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
    "audit.column_lineage": (
        "Column-level lineage, one row per edge of one hop: a model column (published_table.published_column: a "
        "published table, or an intermediate or staging model it is built from) and a column of a relation its "
        "model reads directly. Follow upstream_table/upstream_column as the next published_table/published_column "
        "down to the raw tables (upstream_table 'raw.*'), whose rows name the source kind and the headers the "
        "column maps accept. Derived from the dbt project after each build.", {
            "published_table": "The table whose column this row explains: a published table (marts) or a model "
                               "it is built from (intermediate, staging, audit).",
            "published_column": "The column this row explains.",
            "upstream_table": "A relation its model reads directly: a model by name, or a raw or ops table as "
                              "'raw.power_bills'; NULL when the column is computed from no column (a constant, "
                              "a count of rows).",
            "upstream_column": "The column of upstream_table the value is computed from.",
            "transformation": "copy (the same column, maybe cast), rename (the same value under another name), "
                              "aggregate (summed, counted or otherwise aggregated over upstream rows on the way), "
                              "expression (anything else).",
            "expression": "The SQL computing published_column in its model, the model's CTEs and subqueries "
                          "written out, in terms of the upstream columns.",
            "source_kind": "For a raw upstream column: the inbox source kind (dc_ledger, projects, economics, "
                           "plans, registry, power); else NULL.",
            "header_aliases": "For a raw upstream column filled from a header: the headers the column maps accept "
                              "for it (its aliases, then its canonical name); else NULL.",
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
    for leftover in published_db.parent.glob(f".{published_db.stem}-*.duckdb*"):
        leftover.unlink(missing_ok=True)  # of a publication that died: one publishes at a time (pool, lock)
    tmp = published_db.with_name(f".{published_db.stem}-{run_id[:8]}.tmp.duckdb")
    previous_run = _start_from(published_db, tmp)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"attach {_quote(str(working_db))} as w")
        failed = failed_blocking_checks(con, "w", current_checks)
        if failed:
            raise PublicationRefused("blocking checks failed: " + "; ".join(failed))
        relations = [f"{schema}.{table}" for schema, table in con.execute(f"""
            select table_schema, table_name from information_schema.tables
            where table_catalog = 'w' and table_schema in {_IN_PUBLISHED} order by 1, 2""").fetchall()]
        builds = _latest_builds(con)
        kept = _unchanged_since(con, previous_run, builds) & set(relations)
        for schema, table in con.execute(f"""
                select schema_name, table_name from duckdb_tables()
                where database_name = current_database() and schema_name in {_IN_PUBLISHED}""").fetchall():
            if f"{schema}.{table}" not in kept:
                con.execute(f"drop table {schema}.{table}")
        con.execute("checkpoint")  # the dropped tables' blocks are free for the new ones
        for relation in relations:
            if relation not in kept:
                con.execute(f"create schema if not exists {relation.split('.')[0]}")
                con.execute(f"create table {relation} as select * from w.{relation}")
            counts[relation] = con.execute(f"select count(*) from {relation}").fetchone()[0]
        con.execute("create schema if not exists audit")
        con.execute("create table audit.check_results as select * from w.ops.check_results order by checked_at")
        counts["audit.check_results"] = con.execute("select count(*) from audit.check_results").fetchone()[0]
        if _has_table(con, "w", "ops", "column_lineage"):  # written by the dbt step (orchestration/column_lineage.py)
            con.execute("create table audit.column_lineage as select * from w.ops.column_lineage")
            counts["audit.column_lineage"] = con.execute("select count(*) from audit.column_lineage").fetchone()[0]
        _copy_comments(con)
        con.execute("create table audit.publication as select ? as run_id, ? as published_at",
                    [run_id, dt.datetime.now()])
        for table, (description, columns) in OWN_TABLES.items():
            if not _has_table(con, con.execute("select current_database()").fetchone()[0], *table.split(".")):
                continue
            con.execute(f"comment on table {table} is {_quote(description)}")
            for column, text in columns.items():
                con.execute(f"comment on column {table}.{column} is {_quote(text)}")
        _record_builds(con, run_id, {r: b for r, b in builds.items() if r in relations})
        con.execute("detach w")
        con.execute("checkpoint")
        con = _compacted(con, tmp)
    except BaseException:
        con.close()
        for path in (tmp, _compact_path(tmp)):
            path.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, published_db)
    with duckdb.connect(str(working_db)) as working:  # after the swap: a death before it leaves them unpublished
        mark_published(working, run_id)
    return counts


COMPACT_ABOVE = 0.10  # share of free blocks in the new file above which it is rewritten compactly


def _compact_path(tmp: Path) -> Path:
    return tmp.with_name(tmp.name.replace(".tmp.duckdb", ".compact.duckdb"))


def _compacted(con: duckdb.DuckDBPyConnection, tmp: Path) -> duckdb.DuckDBPyConnection:
    """The new file, rewritten without free space when more than ``COMPACT_ABOVE`` of its blocks are
    free. Starting from a copy of the previous publication and replacing its rebuilt tables leaves
    free blocks behind (DuckDB never shrinks a file); left alone, the file grew to about twice its
    size over repeated publications. The rewrite copies every table and comment (``COPY FROM
    DATABASE``) and happens only when it is worth it."""
    total, free = con.execute("select total_blocks, free_blocks from pragma_database_size() "
                              "where database_name = current_database()").fetchone()
    if not total or free / total <= COMPACT_ABOVE:
        return con
    compact = _compact_path(tmp)
    compact.unlink(missing_ok=True)
    con.execute(f"attach {_quote(str(compact))} as compact")
    con.execute(f"copy from database {con.execute('select current_database()').fetchone()[0]} to compact")
    con.execute("detach compact")
    con.close()
    os.replace(compact, tmp)
    return duckdb.connect(str(tmp))


def _start_from(published_db: Path, tmp: Path) -> str | None:
    """Copy the previous publication to ``tmp`` and return its run id; None (and no copy) when
    there is none or it is no readable publication."""
    if not published_db.exists():
        return None
    shutil.copyfile(published_db, tmp)
    try:
        with duckdb.connect(str(tmp)) as con:
            return con.execute("select run_id from audit.publication").fetchone()[0]
    except (duckdb.Error, TypeError):
        tmp.unlink(missing_ok=True)
        return None


def _has_table(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> bool:
    return con.execute("select count(*) from duckdb_tables() where database_name = ? and schema_name = ? "
                       "and table_name = ?", [database, schema, table]).fetchone()[0] > 0


def _latest_builds(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Published relation → dbt invocation of its latest build (``ops.model_builds``)."""
    exists = con.execute("select count(*) from duckdb_tables() where database_name = 'w' and schema_name = 'ops' "
                         "and table_name = 'model_builds'").fetchone()[0]
    if not exists:
        return {}
    return dict(con.execute("select relation, arg_max(invocation_id, built_at) from w.ops.model_builds "
                            "group by relation").fetchall())


def _unchanged_since(con: duckdb.DuckDBPyConnection, previous_run: str | None, builds: dict[str, str]) -> set[str]:
    """Relations whose latest build is the one the previous publication (``previous_run``) copied."""
    if previous_run is None:
        return set()
    con.execute(PUBLISHED_BUILDS_DDL)
    then = dict(con.execute("select relation, invocation_id from w.ops.published_builds where run_id = ?",
                            [previous_run]).fetchall())
    return {relation for relation, build in builds.items() if then.get(relation) == build}


PUBLISHED_BUILDS_DDL = """create table if not exists w.ops.published_builds (
    run_id varchar not null, relation varchar not null, invocation_id varchar not null)"""


def _record_builds(con: duckdb.DuckDBPyConnection, run_id: str, builds: dict[str, str]) -> None:
    """Which build of each relation this publication holds (only the latest publication's are kept),
    and drop the stamps of older builds."""
    con.execute("create schema if not exists w.ops")
    con.execute(PUBLISHED_BUILDS_DDL)
    con.execute("delete from w.ops.published_builds")
    if builds:
        con.executemany("insert into w.ops.published_builds values (?, ?, ?)",
                        [(run_id, relation, build) for relation, build in builds.items()])
        con.execute("delete from w.ops.model_builds as m where built_at < "
                    "(select max(built_at) from w.ops.model_builds as l where l.relation = m.relation)")


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
