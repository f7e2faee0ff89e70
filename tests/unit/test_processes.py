"""What the processes a run starts import, and the great-expectations process's failure handling.

Worker processes are spawned: each imports the parent's main module again (the command line's,
under ``python -m orchestration.cli``), then what its task needs. The registry's parse workers and
the great-expectations process must not pay for Dagster or dbt, and the pipeline's own process must
not pay for great-expectations, whose import would take turns with its work for the interpreter lock.
"""
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.checks import runner

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("dagster", "dagster_dbt", "dbt", "great_expectations")


def _imported_after(code: str) -> list[str]:
    """The heavy packages loaded in a fresh interpreter after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_what_a_spawned_worker_imports_loads_neither_dagster_nor_dbt_nor_gx():
    assert _imported_after("import orchestration.cli, orchestration.checks.runner, ingestion.load") == []


def test_gx_checks_run_in_their_own_process_and_still_refuse_a_violation(tmp_path):
    code = f"""
import duckdb
from orchestration.checks.runner import run_suite, suites
con = duckdb.connect({str(tmp_path / "w.duckdb")!r})
con.execute("create schema raw; create table raw.power_bills as select '12A4' as account_no, 5.0 as kwh_total, 0.9 as power_factor")
spec = next(s for s in suites()["raw/power_bills"] if s.name == "account_no_digits")
outcome = run_suite(con, [spec])[spec.name]
assert not outcome.passed and '"unexpected_count": 1' in outcome.observed, outcome
assert outcome.sample == '["12A4"]', outcome.sample
"""
    assert _imported_after(code) == []


def test_a_dead_gx_process_fails_the_check_clearly_and_the_next_check_starts_a_new_one(tmp_path):
    spec = next(s for s in runner.suites()["raw/power_bills"] if s.name == "account_no_digits")
    runner.start_gx_process()
    for process in runner.gx_processes():
        process.kill()
        process.join()
    with duckdb.connect(str(tmp_path / "working.duckdb")) as con:
        con.execute("create schema raw; create table raw.power_bills as select '1234' as account_no")
        with pytest.raises(RuntimeError, match="great-expectations process ended unexpectedly"):
            runner.run_suite(con, [spec])
        assert runner.run_suite(con, [spec])[spec.name].passed


def test_stopping_the_gx_process_while_it_starts_ends_it_and_a_later_check_starts_a_new_one(tmp_path):
    """The command line stops it as it ends, not waiting for GX's start-up (``make update`` with
    nothing new)."""
    runner.start_gx_process()
    processes = runner.gx_processes()
    runner.stop_gx_process()
    assert processes and not any(p.is_alive() for p in processes) and runner.gx_processes() == []
    spec = next(s for s in runner.suites()["raw/power_bills"] if s.name == "account_no_digits")
    with duckdb.connect(str(tmp_path / "working.duckdb")) as con:
        con.execute("create schema raw; create table raw.power_bills as select '12A4' as account_no")
        assert not runner.run_suite(con, [spec])[spec.name].passed
