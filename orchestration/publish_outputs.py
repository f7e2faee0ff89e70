"""The outputs derived from the published DuckDB file (Parquet, the dashboard, PostgreSQL), brought up to date with it.

The DuckDB file is the source of truth; each output records which publication it holds (the
Parquet link's folder name, the dashboard page's ``dcw-publication`` meta tag, PostgreSQL's
``audit.publication``). ``bring_up_to_date`` exports
to every output that lags the file: the publish asset calls it right after a new file is swapped
in, and the command line at the start of every run, so an output missed by a run that died or
gave up (a reader blocking PostgreSQL's swap) is caught up by the next one, even one with nothing
new to load. Settings (environment): ``DCW_POSTGRES_URL`` (unset: no PostgreSQL publication),
``DCW_POSTGRES_LOCK_TIMEOUT`` (seconds, default 60), ``DCW_POSTGRES_READER`` (default
``dcw_reader``), ``DCW_POSTGRES_READER_PASSWORD``.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.dashboard import build_dashboard, dashboard_run_id
from orchestration.publish_parquet import current_run_id, export_parquet
from orchestration.publish_postgres import published_run_id

DASHBOARD = "dashboard"   # the dashboard's folder in the warehouse folder


class OutputsBehind(Exception):
    """An output could not be brought up to date; the message says which, why, and that the next run retries."""


@dataclass
class Outcome:
    run_id: str | None
    parquet: dict[str, int] | None = None      # table → rows, when exported now
    postgres: dict[str, int] | None = None     # table → rows, when published now
    dashboard: Path | None = None              # the page, when built now
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)   # output → seconds it took now


def postgres_settings() -> dict | None:
    url = os.environ.get("DCW_POSTGRES_URL")
    if not url:
        return None
    return {
        "url": url,
        "lock_timeout": float(os.environ.get("DCW_POSTGRES_LOCK_TIMEOUT") or 60),
        "reader": os.environ.get("DCW_POSTGRES_READER") or "dcw_reader",
        "reader_password": os.environ.get("DCW_POSTGRES_READER_PASSWORD") or None,
    }


def bring_up_to_date(published_db: Path, warehouse_dir: Path) -> Outcome:
    """Export the published file to every output that does not hold its publication yet.

    Raises ``OutputsBehind`` (after the outputs that could be done are done) when the dashboard
    could not be built or PostgreSQL could not be published."""
    run_id = published_run_id(published_db)
    outcome = Outcome(run_id)
    if run_id is None:
        return outcome
    if current_run_id(warehouse_dir) != run_id:
        started = time.monotonic()
        outcome.parquet = export_parquet(published_db, warehouse_dir)
        outcome.seconds["parquet"] = round(time.monotonic() - started, 2)
        outcome.notes.append(f"parquet: {warehouse_dir / 'parquet'} ({outcome.seconds['parquet']:.1f} s)")
    behind = []
    dashboard = warehouse_dir / DASHBOARD
    if dashboard_run_id(dashboard) != run_id:
        started = time.monotonic()
        try:
            outcome.dashboard = build_dashboard(published_db, dashboard)
        except Exception as exc:  # whatever it is, the publication and the other outputs stand
            behind.append(f"dashboard not rebuilt ({dashboard}): {type(exc).__name__}: {str(exc).strip()}. The "
                          "previous page is unchanged; the next run (or update, or make dashboard) builds it.")
        else:
            outcome.seconds["dashboard"] = round(time.monotonic() - started, 2)
            outcome.notes.append(f"dashboard: {outcome.dashboard} ({outcome.seconds['dashboard']:.1f} s)")
    settings = postgres_settings()
    if settings is not None:
        try:
            _postgres(published_db, run_id, settings, outcome)
        except OutputsBehind as exc:
            behind.append(str(exc))
    if behind:
        raise OutputsBehind(" ".join(behind))
    return outcome


def _postgres(published_db: Path, run_id: str, settings: dict, outcome: Outcome) -> None:
    import psycopg

    from orchestration.publish_postgres import PostgresBusy, postgres_run_id, publish_to_postgres

    where = _without_password(settings["url"])
    try:
        if postgres_run_id(settings["url"]) != run_id:
            started = time.monotonic()
            outcome.postgres = publish_to_postgres(published_db, **settings)
            outcome.seconds["postgres"] = round(time.monotonic() - started, 2)
            outcome.notes.append(f"postgres: published to {where} ({outcome.seconds['postgres']:.1f} s)")
    except PostgresBusy as exc:
        raise OutputsBehind(str(exc)) from None
    except (psycopg.Error, PermissionError) as exc:
        raise OutputsBehind(f"PostgreSQL not updated ({where}): {str(exc).strip()}. The previous PostgreSQL "
                            "publication is intact; the next run (or update) publishes this one.") from None


def _without_password(url: str) -> str:
    """The URL as it may be printed: no password."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def catch_up(warehouse_dir: Path) -> str | None:
    """For the command line, before a run: bring every output up to date with the published file
    (prints what it did); returns the reason when an output stays behind, else None."""
    try:
        outcome = bring_up_to_date(warehouse_dir / "published.duckdb", warehouse_dir)
    except OutputsBehind as exc:
        return str(exc)
    for note in outcome.notes:
        print(f"caught up with publication {outcome.run_id[:8]}: {note}")
    return None
