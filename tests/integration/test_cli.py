"""The real command line in a real process: a quiet console whose one check count is the audit's,
and permanent errors that fail at once, without a retry, with what to do as the last line."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 40


def dcw(*args: str, inbox: Path, warehouse: Path, preexec: list[str] | None = None,
        **settings: str) -> subprocess.CompletedProcess:
    """``python -m orchestration.cli ARGS`` with its output piped (no terminal: no progress bars),
    standard error folded into standard output in the order written."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_HOME")}
    env.update({"DCW_INBOX": str(inbox), "DCW_WAREHOUSE": str(warehouse), "PYTHONUNBUFFERED": "1", **settings})
    return subprocess.run([*(preexec or []), sys.executable, "-m", "orchestration.cli", *args], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)


def run_ids(warehouse: Path) -> list[str]:
    """The runs in the warehouse's Dagster instance (none when it was never created)."""
    import dagster as dg

    home = warehouse / ".dagster_home"
    if not (home / "dagster.yaml").exists():
        return []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return [run.run_id for run in instance.get_runs()]


def test_run_prints_a_short_console_and_one_check_count_the_audit_agrees_with(sample, tmp_path):
    inbox, _ = sample
    warehouse = tmp_path / "warehouse"
    done = dcw("run", inbox=inbox, warehouse=warehouse)
    assert done.returncode == 0, done.stdout[-4000:]
    lines = done.stdout.splitlines()
    assert len(lines) <= MAX_LINES, done.stdout
    assert "\x1b" not in done.stdout
    assert not [line for line in lines if re.search(r"Warning\b|WARNING|Traceback|dbt=", line)], done.stdout

    counts = [int(m.group(1)) for line in lines if (m := re.match(r"checks: (\d+) ", line))]
    assert len(counts) == 1, done.stdout  # one check count, and no other total of checks
    assert not [line for line in lines if re.search(r"\d+ of \d+ passed|PASS=|TOTAL=", line)], done.stdout
    runs = run_ids(warehouse)
    assert len(runs) == 3  # registry, economics, monthly
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as con:
        audited = con.execute("select count(*) from audit.check_results where list_contains(?, run_id)",
                              [runs]).fetchone()[0]
        everything = con.execute("select count(*) from audit.check_results").fetchone()[0]
    assert counts[0] == audited == everything  # a fresh warehouse: every check result is this command's

    logs = [line.removeprefix("full log: ") for line in lines if line.startswith("full log: ")]
    assert len(logs) == 1
    log = Path(logs[0])
    assert log.parent == warehouse / "logs"
    text = log.read_text(encoding="utf-8")
    assert "Running with dbt=" in text and " of 237 " not in done.stdout  # dbt's lines are in the log only
    assert "\x1b" not in text


def _without_file_capabilities() -> list[str]:
    """As root, chmod stops nobody: run the command without the capabilities that bypass it."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("setpriv (util-linux) is needed to test permissions as root")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}"]


def _assert_fails_at_once(done: subprocess.CompletedProcess, warehouse: Path, *words: str) -> None:
    """Exit status 2, the cause and the fix on the last line, and no run started (so no step was tried, let
    alone retried)."""
    assert done.returncode == 2, done.stdout[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("error: ") and all(w in last for w in words), done.stdout[-3000:]
    assert "Traceback" not in done.stdout and "max_retries" not in done.stdout
    assert run_ids(warehouse) == []


@pytest.mark.parametrize("command", [["run"], ["update"], ["backfill", "--from", "2025-06"]])
def test_a_missing_inbox_fails_at_once(tmp_path, command):
    warehouse = tmp_path / "warehouse"
    done = dcw(*command, inbox=tmp_path / "nowhere", warehouse=warehouse)
    _assert_fails_at_once(done, warehouse, f"the inbox {tmp_path / 'nowhere'} does not exist", "set DCW_INBOX")


def test_an_unreadable_inbox_fails_at_once(sample, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(sample[0], inbox)
    inbox.chmod(0)
    try:
        done = dcw("run", inbox=inbox, warehouse=tmp_path / "warehouse", preexec=_without_file_capabilities())
    finally:
        inbox.chmod(0o755)
    _assert_fails_at_once(done, tmp_path / "warehouse", f"the inbox {inbox} cannot be read",
                          "give this user read access")


def test_an_unwritable_warehouse_fails_at_once(sample, tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    warehouse.chmod(0o555)
    try:
        done = dcw("run", inbox=sample[0], warehouse=warehouse, preexec=_without_file_capabilities())
    finally:
        warehouse.chmod(0o755)
    _assert_fails_at_once(done, warehouse, f"the warehouse folder {warehouse} cannot be written",
                          "set DCW_WAREHOUSE")


@pytest.mark.parametrize(("setting", "value"), [("DCW_SETTLE_SECONDS", "abc"), ("DCW_INGEST_WORKERS", "0"),
                                                ("DCW_LOCK_WAIT_SECONDS", "soon"), ("DCW_MAX_FILE_BYTES", "4G"),
                                                ("DCW_MEMORY_LIMIT", "lots")])
def test_a_setting_with_a_bad_value_fails_at_once(sample, tmp_path, setting, value):
    warehouse = tmp_path / "warehouse"
    done = dcw("run", inbox=sample[0], warehouse=warehouse, **{setting: value})
    _assert_fails_at_once(done, warehouse, setting, repr(value), "unset it")


def test_a_permanent_error_inside_a_run_is_tried_once(tmp_path):
    """Past the command line's checks (a run from the UI or the sensor), the inbox gone: the step
    fails once, with the cause, and nothing is retried."""
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.runs import run_months
    from tests.integration.conftest import pointed_at

    inbox, warehouse = tmp_path / "gone", tmp_path / "warehouse"
    instance = dg.DagsterInstance.ephemeral()
    with pointed_at(inbox, warehouse):
        [result] = run_months(build_definitions(), "2025-06", "2025-06", instance)
    assert not result.success
    events = [r.event_log_entry.dagster_event for r in instance.get_records_for_run(result.run_id).records
              if r.event_log_entry.dagster_event is not None]
    kinds = [e.event_type_value for e in events if e.step_key == "ops__file_manifest"]
    assert kinds.count("STEP_START") == 1 and "STEP_UP_FOR_RETRY" not in kinds and "STEP_RESTARTED" not in kinds
    [failure] = [e for e in events if e.is_step_failure]
    assert f"the inbox {inbox} does not exist" in failure.step_failure_data.error.message
