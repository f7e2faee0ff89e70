"""The inbox sensor against a temporary inbox, and the schedules (no run is launched here)."""
import os

import dagster as dg

from orchestration.automation import inbox_sensor, monthly_schedule, registry_schedule
from orchestration.definitions import build_definitions
from orchestration.resources import Warehouse


def _tick(inbox, cursor):
    context = dg.build_sensor_context(cursor=cursor, resources={
        "warehouse": Warehouse(inbox=str(inbox), warehouse_dir=str(inbox.parent / "wh"))})
    result = inbox_sensor(context)
    return result, context.cursor


def test_new_file_requests_a_run_same_file_does_nothing_changed_file_requests_again(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "power").mkdir(parents=True)
    bill = inbox / "power" / "202403.csv"
    bill.write_bytes(b"a,b\n1,2\n")

    first, cursor = _tick(inbox, None)
    assert isinstance(first, dg.RunRequest)

    again, cursor = _tick(inbox, cursor)                      # same file, next tick or after a restart
    assert isinstance(again, dg.SkipReason)

    os.utime(bill, (1_700_000_000, 1_700_000_000))            # touched, unchanged
    touched, cursor = _tick(inbox, cursor)
    assert isinstance(touched, dg.SkipReason)

    bill.write_bytes(b"a,b\n1,3\n")                            # changed content
    changed, cursor = _tick(inbox, cursor)
    assert isinstance(changed, dg.RunRequest) and changed.run_key != first.run_key

    (inbox / "power" / "202404.csv").write_bytes(b"x\n")       # a new file
    new, _ = _tick(inbox, cursor)
    assert isinstance(new, dg.RunRequest) and new.tags["dcw/changed_files"] == "1"


def test_missing_inbox_is_skipped_with_a_reason(tmp_path):
    result, _ = _tick(tmp_path / "nowhere", None)
    assert isinstance(result, dg.SkipReason) and "does not exist" in result.skip_message


def test_schedules_and_sensor_are_defined():
    defs = build_definitions()
    assert defs.resolve_schedule_def("monthly_after_bills").cron_schedule == "0 6 6 * *"
    assert defs.resolve_schedule_def("daily_registry_refresh").job_name == "registry_refresh"
    assert defs.resolve_sensor_def("inbox_sensor").job_name == "pipeline"
    assert monthly_schedule.execution_timezone == registry_schedule.execution_timezone == "Asia/Shanghai"
    registry_keys = {k.to_user_string() for k in defs.resolve_job_def("registry_refresh").asset_layer.selected_asset_keys}
    assert {"raw/registry", "marts/dim_firm", "published/warehouse"} <= registry_keys
    assert "raw/power_bills" not in registry_keys


def test_the_dagster_home_allows_one_run_and_one_writer_at_a_time(tmp_path, monkeypatch):
    from orchestration.cli import ensure_dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    ensure_dagster_home()
    instance = dg.DagsterInstance.from_config(str(tmp_path / "home"))
    config = instance.get_concurrency_config()
    assert config.pool_config.default_pool_limit == 1 and config.run_queue_config.max_concurrent_runs == 1
