"""One real end-to-end run, shared by the integration tests: generated inbox → Dagster → published file.

The pipeline runs in-process (Dagster's in-process executor, real dbt, real DuckDB files) against
a temporary inbox and warehouse; tests read the published file and compare with the generator's
truth.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"
CHECK_CONTRACT = SHARED / "tools" / "check_contract.py"


@dataclass
class Run:
    inbox: Path
    warehouse: Path
    result: object

    @property
    def published(self) -> Path:
        return self.warehouse / "published.duckdb"

    @property
    def working(self) -> Path:
        return self.warehouse / "working.duckdb"

    def query(self, sql: str, params=None, db: Path | None = None) -> list[tuple]:
        con = duckdb.connect(str(db or self.published), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def df(self, sql: str, db: Path | None = None):
        con = duckdb.connect(str(db or self.published), read_only=True)
        try:
            return con.execute(sql).df()
        finally:
            con.close()


@contextmanager
def pointed_at(inbox: Path, warehouse: Path):
    saved = {k: os.environ.get(k) for k in ("DCW_INBOX", "DCW_WAREHOUSE", "DCW_WORKING_DB")}
    os.environ["DCW_INBOX"], os.environ["DCW_WAREHOUSE"] = str(inbox), str(warehouse)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_pipeline(inbox: Path, warehouse: Path, instance=None) -> Run:
    """What ``make run`` does: every partition the inbox covers; ``result`` is the last run (the monthly one)."""
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.runs import run_inbox

    with pointed_at(inbox, warehouse):
        results = run_inbox(build_definitions(), inbox, instance or dg.DagsterInstance.ephemeral())
    failed = next((r for r in results if not r.success), results[-1])
    return Run(inbox, warehouse, failed)


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    """The default sample inbox and its truth."""
    from ingestion.sample import generate

    inbox = tmp_path_factory.mktemp("inbox")
    truth = generate(inbox)
    return inbox, truth


@pytest.fixture(scope="session")
def pipeline(sample, tmp_path_factory) -> Run:
    inbox, _ = sample
    run = run_pipeline(inbox, tmp_path_factory.mktemp("warehouse"))
    failures = [e.step_failure_data.error.message for e in run.result.all_events if e.is_step_failure]
    assert run.result.success, "the pipeline failed on the sample inbox:\n" + "\n".join(failures)
    return run


@pytest.fixture
def copy_of(tmp_path):
    """A private copy of an inbox, for tests that add files to it."""
    def _copy(inbox: Path) -> Path:
        target = tmp_path / "inbox"
        shutil.copytree(inbox, target)
        return target
    return _copy
