"""One real end-to-end run, shared by the integration tests: generated inbox → Dagster → published file.

The pipeline runs in-process (Dagster's in-process executor, real dbt, real DuckDB files) against
a temporary inbox and warehouse; tests read the published file and compare with the generator's
truth.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

RAW_MINIMAL = Path(__file__).resolve().parents[1] / "fixtures" / "raw_minimal.sql"


@dataclass
class Run:
    inbox: Path
    warehouse: Path
    result: object
    instance: object = None  # the Dagster instance that holds the run history of this warehouse

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


def pointed_at(inbox: Path, warehouse: Path):
    """The environment of a run against this inbox and warehouse while the block runs (dbt's
    working file included, as ``build_definitions`` points it); the former values afterwards."""
    from orchestration.resources import environment

    return environment({"DCW_INBOX": str(inbox), "DCW_WAREHOUSE": str(warehouse),
                        "DCW_WORKING_DB": str(warehouse / "working.duckdb")})


def run_pipeline(inbox: Path, warehouse: Path, instance=None) -> Run:
    """What ``make run`` does: every partition the inbox covers; ``result`` is the last run (the monthly one)."""
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.runs import run_inbox

    instance = instance or dg.DagsterInstance.ephemeral()
    with pointed_at(inbox, warehouse):
        results = run_inbox(build_definitions(), inbox, instance)
    failed = next((r for r in results if not r.success), results[-1])
    return Run(inbox, warehouse, failed, instance)


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


@dataclass
class Build:
    """A working file built by dbt from tests/fixtures/raw_minimal.sql (every error-severity test green)."""

    db: Path        # the built file; shared, never written: tests that change data work on copies
    work: Path      # the path it was built at, free now: dbt's parse in ``target`` is valid for a file there
    target: Path


@pytest.fixture(scope="session")
def fixture_build(tmp_path_factory) -> Build:
    from orchestration.dbt_project import DBT_DIR, DBT_EXECUTABLE

    root = tmp_path_factory.mktemp("dbt")
    work, db = root / "work" / "working.duckdb", root / "built" / "working.duckdb"   # catalog "working" for both
    work.parent.mkdir()
    db.parent.mkdir()
    con = duckdb.connect(str(work))
    con.execute(RAW_MINIMAL.read_text(encoding="utf-8"))
    con.close()
    env = {**os.environ, "DCW_WORKING_DB": str(work), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run([DBT_EXECUTABLE, "build", "--exclude-resource-type", "unit_test",
                           "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                           "--target-path", str(root / "target")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]
    shutil.move(work, db)
    return Build(db, work, root / "target")
