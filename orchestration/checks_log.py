"""The check history: every check result of every run, appended to ``ops.check_results``."""
from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass

import duckdb

from ingestion.manifest import ensure_schema


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
