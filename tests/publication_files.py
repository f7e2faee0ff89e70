"""Small published DuckDB files made by hand (marts and audit schemas), and how to compare tables.

``checksum`` hashes a table's rows as Python values, sorted: DuckDB, PostgreSQL (psycopg) and
Parquet read back through DuckDB all give ``Decimal``, ``date``, ``datetime``, ``float``, ``bool``
and ``str``, so equal checksums mean equal contents, value by value.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb


def make_published(path: Path, run_id: str, version: int, big_rows: int = 0) -> Path:
    """A publication as ``orchestration/publish.py`` writes one; ``version`` changes every table's
    contents (and adds a column in version 2), ``big_rows`` adds a large table."""
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema audit")
    con.execute(f"""
        create table marts.fct_center_month as
        select 'GA-DC-' || lpad(cast(i as varchar), 3, '0') as center_code,
               cast(date '2024-01-01' + to_months(i % 12) as date) as month,
               cast(i * 1234.5 + {version} / 100 as decimal(18,2)) as electricity_cost_cny,
               (i + {version}) / 7.0 as pue,
               case when i % 5 = 0 then null else (i * 1.1e7 + {version})::double end as it_energy_kwh,
               i % 3 = 0 as is_corrected,
               case i % 4 when 0 then '运营' when 1 then '在建' when 2 then '' else null end as status,
               cast(i * 100 + {version} as bigint) as racks,
               timestamp '2024-05-01 10:00:00.123456' + to_seconds(i) as loaded_at
        from range({20 + version}) t(i)""")
    con.execute("comment on table marts.fct_center_month is 'Center × report month: racks, compute, energy.'")
    con.execute("comment on column marts.fct_center_month.electricity_cost_cny is '电费（元）, current bills'")
    con.execute("comment on column marts.fct_center_month.pue is 'facility kWh / IT kWh; it''s NULL when unknown'")
    con.execute(f"""create table marts.dim_month as select cast(d as date) as month, year(d) as year
                    from range(date '2024-01-01', date '2024-01-01' + to_months({12 * version}), interval 1 month) t(d)""")
    if version >= 2:
        con.execute("alter table marts.dim_month add column quarter integer default 1")
    con.execute("""create table audit.file_manifest as select 'power/2024-0' || i || '.csv' as path,
                   'a"b,c' || chr(10) || 'line' as note,
                   case i when 0 then ['户号', 'a"b,c\\d{}', null] when 1 then []::varchar[] end as aliases
                   from range(3) t(i)""")
    if big_rows:
        con.execute(f"create table marts.fct_big as select i as id, 'row ' || i as label, i * 0.5 as v "
                    f"from range({big_rows}) t(i)")
    con.execute("create table audit.publication as select ? as run_id, ? as published_at",
                [run_id, dt.datetime(2026, 12, 1, 8, 0) + dt.timedelta(hours=version)])
    con.close()
    return path


def tables(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [f"{s}.{t}" for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in ('marts', 'audit') "
            "order by 1, 2").fetchall()]
    finally:
        con.close()


def checksum(rows: list[tuple]) -> tuple[int, str]:
    """(row count, sha256 of the rows' values sorted)."""
    digest = hashlib.sha256()
    for line in sorted(repr(tuple(row)) for row in rows):
        digest.update(line.encode() + b"\n")
    return len(rows), digest.hexdigest()


def duckdb_checksums(path: Path, only_count: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    """relation → checksum; for the relations in ``only_count``, (row count, "")."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {relation: (con.execute(f"select count(*) from {relation}").fetchone()[0], "")
                if relation in only_count else checksum(con.execute(f"select * from {relation}").fetchall())
                for relation in tables(path)}
    finally:
        con.close()


def postgres_checksums(url: str, only_count: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    import psycopg

    with psycopg.connect(url) as pg:
        relations = [f"{s}.{t}" for s, t in pg.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'audit') order by 1, 2").fetchall()]
        return {relation: (pg.execute(f"select count(*) from {relation}").fetchone()[0], "")
                if relation in only_count else checksum(pg.execute(f"select * from {relation}").fetchall())
                for relation in relations}
