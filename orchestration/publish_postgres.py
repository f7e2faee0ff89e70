"""Publication to PostgreSQL: the ``marts`` and ``audit`` schemas of the published DuckDB file, for BI tools.

Pure: it takes the published DuckDB file (the source of truth) and a connection URL, and knows
nothing of Dagster. What belongs here: the type mapping, the load into staging schemas, the swap,
the read-only role and its grants, and the comparison that says whether PostgreSQL lags the file.
What does not: deciding whether to publish (the asset graph and the DuckDB publication do), the
settings' defaults beyond this module's own (``orchestration/publish_outputs.py`` reads them).

How a publication lands (see docs/bi.md, "BI tools over PostgreSQL"):

1. One publisher at a time: a session-level advisory lock (released by the server when the
   process dies).
2. Load: ``marts_staging`` and ``audit_staging`` are dropped and recreated, every table is
   created with PostgreSQL types and filled with ``COPY ... FROM STDIN`` from a CSV that DuckDB
   writes, then the descriptions are set as comments. A process killed here leaves staging
   schemas only, which the next publication drops: ``marts`` and ``audit`` are not touched.
3. Swap, in one transaction: the old schemas are dropped, the staging ones renamed, the reader's
   grants given. Before it, the swap waits for sessions whose snapshot predates the load (they
   would otherwise find the new tables and read them with an old snapshot; without ``pg_read_all_stats``
   the pipeline's role cannot see when another role's transaction started, and waits for every
   session holding a snapshot); it then locks the old
   tables (ACCESS EXCLUSIVE, which waits for every open transaction that read them) with a short
   ``lock_timeout`` per attempt, retrying until the publication's lock timeout is spent. A waiting
   attempt queues new readers behind it, and must give up before a deadlock with a reader could be
   broken by aborting the reader, hence short attempts. When the time is spent it raises
   ``PostgresBusy`` naming the blocking sessions; the previous publication stays as it was.
"""
from __future__ import annotations

import datetime as dt
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

SCHEMAS = ("marts", "audit")
STAGING = {schema: f"{schema}_staging" for schema in SCHEMAS}
ADVISORY_KEY = 0x64637770  # one publisher per database ("dcwp")
ATTEMPT_SECONDS = 0.5      # the lock_timeout of one swap attempt at most: new readers queue behind a waiting
                           # attempt, and it must give up before deadlock_timeout (see _swap)
POLL_SECONDS = 0.2
CONNECT_TIMEOUT = 15       # seconds: an unreachable server fails the publication rather than hanging it


class PostgresBusy(Exception):
    """The swap could not get its locks within the lock timeout; the previous publication is intact."""


@dataclass(frozen=True)
class Column:
    name: str
    duckdb_type: str
    comment: str | None


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    comment: str | None
    columns: tuple[Column, ...]


def pg_type(duckdb_type: str) -> str:
    """The PostgreSQL type of a DuckDB column type; text for anything without a faithful peer."""
    t = duckdb_type.upper()
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t)
    if decimal:
        return f"numeric({decimal[1]},{decimal[2]})"
    return {
        "BOOLEAN": "boolean",
        "TINYINT": "smallint", "SMALLINT": "smallint", "INTEGER": "integer", "BIGINT": "bigint",
        "UTINYINT": "smallint", "USMALLINT": "integer", "UINTEGER": "bigint", "UBIGINT": "numeric(20,0)",
        "HUGEINT": "numeric(38,0)", "UHUGEINT": "numeric(39,0)",
        "FLOAT": "real", "DOUBLE": "double precision",
        "DATE": "date", "TIME": "time", "TIMESTAMP": "timestamp", "TIMESTAMP_NS": "timestamp",
        "TIMESTAMP_MS": "timestamp", "TIMESTAMP_S": "timestamp",
        "TIMESTAMP WITH TIME ZONE": "timestamptz", "INTERVAL": "interval", "UUID": "uuid",
        "JSON": "jsonb", "VARCHAR[]": "text[]",
    }.get(t, "text")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def published_run_id(published_db: Path) -> str | None:
    """The run id of the publication in the DuckDB file; None when there is no readable one."""
    if not published_db.exists():
        return None
    try:
        con = duckdb.connect(str(published_db), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute("select run_id from audit.publication").fetchone()
        return row[0] if row else None
    except duckdb.Error:
        return None
    finally:
        con.close()


def postgres_run_id(url: str) -> str | None:
    """The run id of the publication in PostgreSQL; None when there is none."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as pg:
        exists = pg.execute("select to_regclass('audit.publication') is not null").fetchone()[0]
        if not exists:
            return None
        row = pg.execute("select run_id from audit.publication").fetchone()
        return row[0] if row else None


def read_tables(con: duckdb.DuckDBPyConnection) -> list[Table]:
    """Every table of the published schemas, with its columns (in order) and descriptions."""
    tables = []
    for schema, name, comment in con.execute("""
            select schema_name, table_name, comment from duckdb_tables()
            where database_name = current_database() and schema_name in ('marts', 'audit')
            order by 1, 2""").fetchall():
        columns = tuple(Column(*row) for row in con.execute("""
            select column_name, data_type, comment from duckdb_columns()
            where database_name = current_database() and schema_name = ? and table_name = ?
            order by column_index""", [schema, name]).fetchall())
        tables.append(Table(schema, name, comment, columns))
    return tables


def publish_to_postgres(published_db: Path, url: str, *, lock_timeout: float = 60.0, reader: str = "dcw_reader",
                        reader_password: str | None = None) -> dict[str, int]:
    """Land the file's ``marts`` and ``audit`` in PostgreSQL (load, then swap); returns table → row count.

    Raises ``PostgresBusy`` when the swap waited ``lock_timeout`` seconds in vain."""
    import psycopg

    run_id = published_run_id(published_db)
    if run_id is None:
        raise ValueError(f"{published_db} holds no publication")
    deadline = time.monotonic() + lock_timeout
    with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as pg:
        _one_publisher(pg, deadline)
        _ensure_reader(pg, reader, reader_password)
        con = duckdb.connect(str(published_db), read_only=True)
        try:   # the file is not held open while the swap waits (a process that keeps a connection to a
            counts = _load_staging(con, pg, read_tables(con))   # file sees that file, even once replaced)
        finally:
            con.close()
        loaded_at = pg.execute("select clock_timestamp()").fetchone()[0]
        _swap(pg, deadline, loaded_at, reader, lock_timeout)
    return counts


def _one_publisher(pg, deadline: float) -> None:
    import psycopg

    remaining = max(deadline - time.monotonic(), 0.1)
    pg.execute(f"set lock_timeout = '{int(remaining * 1000)}ms'")
    try:
        pg.execute("select pg_advisory_lock(%s)", [ADVISORY_KEY])
    except psycopg.errors.LockNotAvailable:
        raise PostgresBusy("another publication to this database is still running "
                           f"({_describe(_sessions(pg, _advisory_holders_sql()))})") from None
    finally:
        pg.execute("reset lock_timeout")


def _ensure_reader(pg, reader: str, password: str | None) -> None:
    """Create the read-only role when it does not exist (needs CREATEROLE); an existing role is left
    as its administrator made it, except for its password when one is given and we may set it."""
    import psycopg

    exists = pg.execute("select 1 from pg_roles where rolname = %s", [reader]).fetchone()
    try:
        if not exists:
            if password:
                pg.execute(psycopg.sql.SQL("create role {} login password {}").format(
                    psycopg.sql.Identifier(reader), psycopg.sql.Literal(password)))
            else:
                pg.execute(psycopg.sql.SQL("create role {} login").format(psycopg.sql.Identifier(reader)))
        elif password:
            pg.execute(psycopg.sql.SQL("alter role {} password {}").format(
                psycopg.sql.Identifier(reader), psycopg.sql.Literal(password)))
    except psycopg.errors.InsufficientPrivilege as exc:
        if not exists:
            raise PermissionError(
                f"the reader role {reader} does not exist and the pipeline's role may not create it "
                f"(it needs CREATEROLE); an administrator can run: CREATE ROLE {reader} LOGIN PASSWORD '...'"
            ) from exc


def _load_staging(con: duckdb.DuckDBPyConnection, pg, tables: list[Table]) -> dict[str, int]:
    """Drop and recreate the staging schemas, then load every table in its own transaction."""
    for staging in STAGING.values():
        pg.execute(f"drop schema if exists {staging} cascade")
        pg.execute(f"create schema {staging}")
    counts = {}
    with tempfile.TemporaryDirectory(prefix="dcw-pg-") as tmp:
        csv = Path(tmp) / "table.csv"
        for table in tables:
            relation = f"{STAGING[table.schema]}.{ident(table.name)}"
            select = ", ".join(_exported(c) for c in table.columns)
            con.execute(f"copy (select {select} from {table.schema}.{ident(table.name)}) to '{csv}' "
                        "(format csv, header false)")
            with pg.transaction():
                pg.execute(f"create table {relation} ("
                           + ", ".join(f"{ident(c.name)} {pg_type(c.duckdb_type)}" for c in table.columns) + ")")
                with pg.cursor().copy(f"copy {relation} from stdin with (format csv)") as copy, \
                        csv.open("rb") as source:
                    while chunk := source.read(1 << 20):
                        copy.write(chunk)
                if table.comment:
                    pg.execute(f"comment on table {relation} is {_literal(table.comment)}")
                for c in table.columns:
                    if c.comment:
                        pg.execute(f"comment on column {relation}.{ident(c.name)} is {_literal(c.comment)}")
                counts[f"{table.schema}.{table.name}"] = pg.execute(f"select count(*) from {relation}").fetchone()[0]
    return counts


# A list of text as a PostgreSQL array literal: {"a","b"}, every element quoted, NULL elements as NULL.
_TEXT_ARRAY = ("case when {c} is null then null else '{{' || array_to_string(list_transform({c}, x -> "
               "case when x is null then 'NULL' else '\"' || replace(replace(x, '\\', '\\\\'), '\"', '\\\"') "
               "|| '\"' end), ',') || '}}' end")


def _exported(column: Column) -> str:
    """The column as DuckDB writes it into the CSV: as it is when PostgreSQL reads the text back
    to the same value, a list of text as an array literal, as varchar (other lists, structs,
    maps: their DuckDB text) otherwise."""
    if pg_type(column.duckdb_type) == "text[]":
        return _TEXT_ARRAY.format(c=ident(column.name))
    if pg_type(column.duckdb_type) == "text" and column.duckdb_type.upper() != "VARCHAR":
        return f"cast({ident(column.name)} as varchar)"
    return ident(column.name)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _swap(pg, deadline: float, loaded_at: dt.datetime, reader: str, lock_timeout: float) -> None:
    import psycopg

    while True:  # sessions whose snapshot predates the load: they would read the new tables with it
        stale = _sessions(pg, """
            select pid from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and usename is not null
              and backend_xmin is not null and (xact_start < %s or xact_start is null)""", [loaded_at])
        if not stale:
            break
        if time.monotonic() >= deadline:
            raise _busy(stale, lock_timeout)
        time.sleep(POLL_SECONDS)
    # A reader holding one old table and asking for another that this attempt already locked waits
    # for us while we wait for it: PostgreSQL breaks such a deadlock after deadlock_timeout by
    # aborting one side. An attempt gives up within half of deadlock_timeout, before the reader's
    # wait (which began after ours) can reach it: the reader is never the side aborted.
    deadlock_ms = pg.execute("select setting::int from pg_settings where name = 'deadlock_timeout'").fetchone()[0]
    while True:
        attempt = max(min(ATTEMPT_SECONDS, deadlock_ms / 2000, deadline - time.monotonic()), 0.05)
        try:
            with pg.transaction():
                pg.execute(f"set local lock_timeout = '{int(attempt * 1000)}ms'")
                old = [row[0] for row in pg.execute(
                    "select format('%%I.%%I', n.nspname, c.relname) from pg_class c "
                    "join pg_namespace n on n.oid = c.relnamespace "
                    "where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p', 'f') order by 1",
                    [list(SCHEMAS)]).fetchall()]
                if old:
                    pg.execute("lock table " + ", ".join(old) + " in access exclusive mode")
                for schema, staging in STAGING.items():
                    pg.execute(f"drop schema if exists {schema} cascade")
                    pg.execute(f"alter schema {staging} rename to {schema}")
                    pg.execute(f"grant usage on schema {schema} to {ident(reader)}")
                    pg.execute(f"grant select on all tables in schema {schema} to {ident(reader)}")
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            if time.monotonic() >= deadline:
                blockers = _sessions(pg, """
                    select distinct l.pid from pg_locks l join pg_class c on c.oid = l.relation
                    join pg_namespace n on n.oid = c.relnamespace
                    where l.granted and n.nspname = any(%s) and l.pid <> pg_backend_pid()""", [list(SCHEMAS)])
                raise _busy(blockers, lock_timeout) from None
            time.sleep(POLL_SECONDS)


def _advisory_holders_sql() -> str:
    return f"select pid from pg_locks where locktype = 'advisory' and granted and objid = {ADVISORY_KEY}"


def _sessions(pg, pids_sql: str, params: list | None = None) -> list[tuple]:
    """(pid, user, state, since) of the sessions whose pids the query returns."""
    return pg.execute(f"""
        select pid, usename, state, xact_start from pg_stat_activity
        where pid in ({pids_sql}) order by xact_start nulls last, pid""", params or []).fetchall()


def _describe(sessions: list[tuple]) -> str:
    return "; ".join(f"pid {pid}, user {user}, state {state}, in transaction since "
                     f"{since.isoformat(timespec='seconds')}" if state else
                     f"pid {pid}, user {user}, state and start hidden (grant pg_read_all_stats to the pipeline's role)"
                     for pid, user, state, since in sessions) or "no session found"


def _busy(sessions: list[tuple], lock_timeout: float) -> PostgresBusy:
    return PostgresBusy(
        f"PostgreSQL not updated: after waiting {lock_timeout:g} s, readers' open transactions still block "
        f"the swap of marts and audit (blocking sessions: {_describe(sessions)}). The previous PostgreSQL "
        "publication is intact; the next run (or update) publishes this one.")
