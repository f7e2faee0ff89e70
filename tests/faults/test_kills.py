"""Crash-only: ``kill -9`` of a whole run at any point, then a plain ``run`` finishes the work.

Each test starts from a copy of the baseline warehouse (a publication without the inbox's latest
month), delivers the held-back files, starts ``run``, kills its whole process group at a point
(during ingestion, dbt, the checks, publication, or a seeded random instant), and checks:

- between the kill and the re-run, the previous publication is byte-identical and readable (or,
  when the kill came after the swap, is the new complete publication);
- a plain ``run`` with no manual step finishes within twice a clean run's wall time;
- its publication equals a clean run's of the whole inbox (every marts table, the manifest, the
  refused rows), and nothing temporary is left behind.
"""
from __future__ import annotations

import random
import shutil
import time

import pytest

from tests.faults.conftest import (
    cli,
    fingerprint,
    published_bytes,
    readable,
    temporary_files,
)

# (name, a pattern of the run's output at which to kill, seconds after it)
POINTS = {
    "ingestion": (r" - raw__registry - STEP_START", 0.0),       # the registry run, the first of `run`
    "dbt": (r"Running dbt command", 3.0),
    "checks": (r" - quality__marts__\w+ - STEP_START", 0.0),     # the monthly run's checks, after dbt
    "publication": (r" - published__warehouse - STEP_START", 0.2),
}
RANDOM_KILLS = 2
SEED = 20261207


def _kill_points():
    rng = random.Random(SEED)
    points = [pytest.param(name, pattern, delay, id=name) for name, (pattern, delay) in POINTS.items()]
    # seeded instants: a fraction of a clean run's wall time after the start. A run of the baseline with the
    # held-back files takes 0.55-0.6 of a clean run of the whole inbox (measured, on a quiet and a busy machine),
    # so the instants are drawn from its first two thirds.
    points += [pytest.param(f"random-{i}", None, rng.uniform(0.05, 0.4), id=f"random-{i}")
               for i in range(RANDOM_KILLS)]
    return points


@pytest.mark.parametrize(("name", "pattern", "delay"), _kill_points())
def test_kill_then_a_plain_run_recovers(world, tmp_path, name, pattern, delay):
    warehouse = world.warehouse_copy(tmp_path / "warehouse")
    before = published_bytes(warehouse)
    inbox = tmp_path / "inbox"
    shutil.copytree(world.inbox, inbox)  # the whole inbox: the held-back files are delivered now

    doomed = cli(["run"], inbox, warehouse, tmp_path / "killed.log", DCW_LOG_LEVEL="DEBUG")
    if pattern is None:
        time.sleep(delay * world.full.wall)
    else:
        doomed.wait_for(pattern)
        time.sleep(delay)
    assert doomed.process.poll() is None, f"the run ended before the kill ({name}):\n{doomed.output()[-2000:]}"
    doomed.kill()

    after = published_bytes(warehouse)
    assert readable(warehouse / "published.duckdb")
    if after != before:  # the kill came after the atomic swap: then it is the new, complete publication
        assert fingerprint(warehouse / "published.duckdb") == world.fingerprint(), (
            f"killed at {name}: the published file changed but is not the complete new publication")

    rerun = cli(["run"], inbox, warehouse, tmp_path / "rerun.log")
    assert rerun.finish() == 0, rerun.output()[-4000:]
    assert rerun.wall < 2 * world.full.wall, (
        f"the re-run took {rerun.wall:.0f} s, a clean run {world.full.wall:.0f} s:\n{rerun.output()[-2000:]}")
    assert fingerprint(warehouse / "published.duckdb") == world.fingerprint()
    assert temporary_files(warehouse) == []


def test_kill_during_dbt_then_update_publishes_what_the_run_had_loaded(world, tmp_path):
    """``update`` finishes the work too: the files the killed run loaded are in no publication yet."""
    warehouse = world.warehouse_copy(tmp_path / "warehouse")
    inbox = tmp_path / "inbox"
    shutil.copytree(world.inbox, inbox)
    doomed = cli(["update"], inbox, warehouse, tmp_path / "killed.log")
    doomed.wait_for(POINTS["dbt"][0])
    time.sleep(POINTS["dbt"][1])
    doomed.kill()
    again = cli(["update"], inbox, warehouse, tmp_path / "update.log")
    assert again.finish() == 0, again.output()[-4000:]
    assert "nothing to do" not in again.output()
    assert fingerprint(warehouse / "published.duckdb") == world.fingerprint()
    assert temporary_files(warehouse) == []


def test_the_inbox_sensor_recovers_a_run_whose_process_died(world, tmp_path):
    """Runs launched by the daemon (the sensor, the schedule, the UI) die too: the sensor, before it
    requests runs, marks such a run failed and frees the concurrency slot it held, as ``run`` does."""
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.instance import ensure_dagster_home
    from orchestration.resources import Warehouse, environment

    warehouse = world.warehouse_copy(tmp_path / "warehouse")
    inbox = tmp_path / "inbox"
    shutil.copytree(world.inbox, inbox)
    doomed = cli(["update"], inbox, warehouse, tmp_path / "killed.log")
    doomed.wait_for(POINTS["dbt"][0])
    doomed.kill()
    with environment({"DCW_INBOX": str(inbox), "DCW_WAREHOUSE": str(warehouse),
                      "DAGSTER_HOME": str(warehouse / ".dagster_home")}):
        ensure_dagster_home()
        with dg.DagsterInstance.get() as instance:
            started = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
            dead = [r.dagster_run.run_id for r in instance.get_run_records(filters=started)]
            assert len(dead) == 1 and instance.event_log_storage.get_concurrency_run_ids() == set(dead)
            defs = build_definitions()
            context = dg.build_sensor_context(instance=instance, definitions=defs, resources={
                "warehouse": Warehouse(inbox=str(inbox), warehouse_dir=str(warehouse))})
            defs.resolve_sensor_def("inbox_sensor")(context)
            assert instance.get_run_by_id(dead[0]).status == dg.DagsterRunStatus.FAILURE
            assert instance.event_log_storage.get_concurrency_run_ids() == set()
