"""The inbox sensor against a temporary inbox, and the schedule (no run is launched here)."""
import datetime as dt
import os
import shutil

import dagster as dg

from orchestration.definitions import build_definitions
from orchestration.partitions import ECONOMICS_JOB, MONTHLY_JOB, REGISTRY_JOB, plan_launches
from orchestration.resources import Warehouse

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _tick(inbox, cursor, instance=None):
    """One evaluation: (a RunRequest-like result or SkipReason, the new cursor)."""
    defs = build_definitions()
    context = dg.build_sensor_context(
        cursor=cursor, instance=instance or dg.DagsterInstance.ephemeral(), definitions=defs,
        resources={"warehouse": Warehouse(inbox=str(inbox), warehouse_dir=str(inbox.parent / "wh"))})
    result = defs.resolve_sensor_def("inbox_sensor")(context)
    if isinstance(result, dg.SensorResult):
        return result, result.cursor
    return result, context.cursor


def _ranges(result):
    return [(r.job_name, r.tags[RANGE_START], r.tags[RANGE_END]) for r in result.run_requests]


def test_new_file_requests_a_run_same_file_does_nothing_changed_file_requests_again(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "power").mkdir(parents=True)
    bill = inbox / "power" / "202403.csv"
    bill.write_bytes(b"a,b\n1,2\n")

    first, cursor = _tick(inbox, None)
    assert isinstance(first, dg.SensorResult) and len(first.run_requests) == 1

    again, cursor = _tick(inbox, cursor)                      # same file, next tick or after a restart
    assert isinstance(again, dg.SkipReason)

    os.utime(bill, (1_700_000_000, 1_700_000_000))            # touched, unchanged
    touched, cursor = _tick(inbox, cursor)
    assert isinstance(touched, dg.SkipReason)

    bill.write_bytes(b"a,b\n1,3\n")                            # changed content
    changed, cursor = _tick(inbox, cursor)
    assert isinstance(changed, dg.SensorResult)
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key

    (inbox / "power" / "202404.csv").write_bytes(b"x\n")       # a new file
    new, _ = _tick(inbox, cursor)
    assert isinstance(new, dg.SensorResult) and new.run_requests[0].tags["dcw/changed_files"] == "1"


def test_missing_inbox_is_skipped_with_a_reason(tmp_path):
    result, _ = _tick(tmp_path / "nowhere", None)
    assert isinstance(result, dg.SkipReason) and "does not exist" in result.skip_message


def test_sensor_requests_the_partitions_of_the_files_it_sees(sample_inbox, tmp_path):
    """Real sample files: each kind's periods become partition keys of the right job."""
    inbox = tmp_path / "inbox"
    for rel in ("power/电费账单_202404.csv", "bureau/dc_ledger/数据中心台账_202405.xlsx",
                "bureau/projects/招商项目台账（2024-06）.xlsx", "registry/企业登记信息_20240331.csv",
                "bureau/economics/企业经济指标_2024Q3.xlsx"):
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample_inbox / rel, inbox / rel)

    result, cursor = _tick(inbox, None)
    # the April bill export re-issues February: months 2024-02..2024-09 (economics Q3 = Jul-Sep)
    assert _ranges(result) == [(REGISTRY_JOB, "2024-03-31", "2024-03-31"), (ECONOMICS_JOB, "2024-07", "2024-07"),
                               (MONTHLY_JOB, "2024-02", "2024-09")]
    assert result.dynamic_partitions_requests[0].partition_keys == ["2024-03-31"]

    nothing, cursor = _tick(inbox, cursor)
    assert isinstance(nothing, dg.SkipReason)

    # next month's bills: one monthly run for that month only
    shutil.copy(sample_inbox / "power/电费账单_202407.csv", inbox / "power/电费账单_202407.csv")
    following, _ = _tick(inbox, cursor)
    assert _ranges(following) == [(MONTHLY_JOB, "2024-07", "2024-07")]
    assert not following.dynamic_partitions_requests
    # no successful monthly run to build on in this instance: the whole job (see test_selection.py)
    assert following.run_requests[0].asset_selection is None


def test_plan_maps_quarters_snapshots_and_plans_to_months():
    d = dt.date
    plan = plan_launches({"economics": {d(2024, 4, 1)}}, "2026-10")
    assert [(x.job, x.start, x.end) for x in plan] == [(ECONOMICS_JOB, "2024-04", "2024-04"),
                                                        (MONTHLY_JOB, "2024-04", "2024-06")]
    plan = plan_launches({"plans": {d(2025, 1, 1)}}, "2025-06")        # plans alone: last month of the year
    assert [(x.job, x.start, x.end) for x in plan] == [(MONTHLY_JOB, "2025-06", "2025-06")]
    plan = plan_launches({"power": set()}, "2025-06")                   # an unreadable file is still registered
    assert [(x.job, x.start, x.end) for x in plan] == [(MONTHLY_JOB, "2025-06", "2025-06")]
    plan = plan_launches({"power": {d(2019, 5, 1), d(2024, 1, 1)}}, "2025-06")  # before the first partition
    assert [(x.start, x.end) for x in plan] == [("2024-01", "2024-01")]


def test_schedule_and_sensor_are_defined():
    defs = build_definitions()
    schedule = defs.resolve_schedule_def("monthly_after_bills")
    assert schedule.cron_schedule == "0 6 6 * *" and schedule.job_name == MONTHLY_JOB
    assert schedule.execution_timezone == "Asia/Shanghai"
    sensor = defs.resolve_sensor_def("inbox_sensor")
    assert {t.job_name for t in sensor.targets} == {MONTHLY_JOB, ECONOMICS_JOB, REGISTRY_JOB}
    # the schedule's tick on 6 April publishes March
    tick = schedule.evaluate_tick(dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2024, 4, 6, 6, tzinfo=dt.timezone(dt.timedelta(hours=8)))))
    assert [r.partition_key for r in tick.run_requests] == ["2024-03"]
