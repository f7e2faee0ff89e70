"""The check history: every check result of every run, appended to ``ops.check_results``."""
import datetime as dt
import json
from dataclasses import astuple, dataclass

import duckdb

from ingestion.manifest import ensure_schema

SAMPLE_ROWS = 5


@dataclass
class CheckRecord:
    check_name: str
    asset: str
    passed: bool
    severity: str
    observed_value: str | None
    failing_sample: str | None
    run_id: str
    checked_at: dt.datetime


def record_checks(con: duckdb.DuckDBPyConnection, records: list[CheckRecord]) -> None:
    ensure_schema(con)
    if records:
        con.executemany("insert into ops.check_results values (?, ?, ?, ?, ?, ?, ?, ?)",
                        [astuple(r) for r in records])


def failing_rows_sample(con: duckdb.DuckDBPyConnection, compiled_sql: str | None) -> str | None:
    """A few rows returned by a failing test's query (JSON), or None when it cannot be run."""
    if not compiled_sql:
        return None
    try:
        cur = con.execute(f"select * from ({compiled_sql}) as failing limit {SAMPLE_ROWS}")
        names = [d[0] for d in cur.description]
        return json.dumps([dict(zip(names, row, strict=True)) for row in cur.fetchall()],
                          ensure_ascii=False, default=str)
    except duckdb.Error:
        return None
