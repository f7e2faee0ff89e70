"""Jobs, and when runs happen: the inbox sensor and the monthly schedule.

One asset job per partitioning (Dagster runs one partitions definition per job):

- ``monthly`` (report month): the manifest, bills, ledgers, plans, every dbt model, the checks and
  publication. A range of months runs as one run (single-run backfill policy).
- ``economics`` (quarter) and ``registry_refresh`` (snapshot date): the manifest and that source.
  The dbt models that read them are rebuilt by the monthly run the sensor requests after them.

Why a sensor plus a schedule rather than declarative automation: files arrive irregularly (the
sensor reacts within a minute and runs exactly the partitions the files cover), while the monthly
publication after the grid company's bills (by the 5th) is a calendar promise the bureau can read
off a schedule. Every publication goes through the monthly job, whose blocking checks gate it.
"""
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from ingestion.column_maps import kinds_by_period, source_map
from ingestion.manifest import inbox_changes
from ingestion.periods import periods_by_kind
from orchestration.partitions import (
    ECONOMICS_JOB,
    MONTHLY_JOB,
    REGISTRY_JOB,
    REGISTRY_SNAPSHOTS,
    TIMEZONE,
    last_month_key,
    monthly,
    plan_launches,
    quarterly,
)
from orchestration.recovery import recover
from orchestration.resources import Warehouse
from orchestration.selection import monthly_selection

MANIFEST = dg.AssetKey(["ops", "file_manifest"])
ECONOMICS = dg.AssetKey(["raw", source_map(kinds_by_period("quarter")[0]).table])  # the quarterly source
REGISTRY = dg.AssetKey(["raw", source_map(kinds_by_period("date")[0]).table])    # the snapshot source


@dataclass(frozen=True)
class Automation:
    """The jobs, the schedule and the sensor, over the partitions configured when they were built."""

    jobs: list
    schedule: dg.ScheduleDefinition
    sensor: dg.SensorDefinition


def build_automation() -> Automation:
    """The jobs (one per partitioning), the monthly schedule and the inbox sensor; the partitions are read now."""
    monthly_job = dg.define_asset_job(
        MONTHLY_JOB, selection=dg.AssetSelection.all() - dg.AssetSelection.keys(ECONOMICS, REGISTRY),
        partitions_def=monthly(), executor_def=dg.in_process_executor,
        description="Report months: inbox → bills, ledgers, plans → dbt build for the months' window (tests gate) "
                    "→ checks → publish. A month range is one run.")

    economics_job = dg.define_asset_job(
        ECONOMICS_JOB, selection=dg.AssetSelection.keys(MANIFEST, ECONOMICS), partitions_def=quarterly(),
        executor_def=dg.in_process_executor,
        description="Quarters: load the economic-indicator files into raw.economics (dbt runs in the monthly job).")

    registry_job = dg.define_asset_job(
        REGISTRY_JOB, selection=dg.AssetSelection.keys(MANIFEST, REGISTRY), partitions_def=REGISTRY_SNAPSHOTS,
        executor_def=dg.in_process_executor,
        description="Registry snapshots: load the extracts into raw.registry (firm history is rebuilt by the "
                    "monthly run that follows).")

    monthly_schedule = dg.build_schedule_from_partitioned_job(
        monthly_job, name="monthly_after_bills", day_of_month=6, hour_of_day=6,
        description="06:00 on the 6th of each month (Asia/Shanghai), for the month just ended: the grid "
                    "company's bills are due by the 5th.")

    @dg.sensor(jobs=[registry_job, economics_job, monthly_job], minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.STOPPED,
               description="Watches DCW_INBOX; new or changed files (by sha256) request runs for the partitions they "
                           "cover: registry snapshots, economics quarters, then one monthly run over the affected "
                           "months, of the assets the files affect. A touched but unchanged file does nothing. The "
                           "cursor remembers size, mtime and sha256 per file.")
    def inbox_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
        inbox = warehouse.inbox_path
        if not inbox.is_dir():
            return dg.SkipReason(f"the inbox {inbox} does not exist")
        for line in recover(context.instance, Path(warehouse.warehouse_dir)).lines():
            context.log.warning(line)  # a run whose worker died no longer holds the working file's pool
        known = json.loads(context.cursor) if context.cursor else {}
        changed, state = inbox_changes(inbox, known)
        if not changed:
            context.update_cursor(json.dumps(state))
            return dg.SkipReason("no new or changed file in the inbox")
        periods = periods_by_kind(inbox, changed, context.log.warning)
        launches = plan_launches(periods, last_month_key())
        files_key = json.dumps([[p, state[p][2]] for p in changed])
        monthly_def = context.repository_def.get_job(MONTHLY_JOB)
        requests = [dg.RunRequest(
            job_name=launch.job, run_key=hashlib.sha256(f"{launch.job}:{files_key}".encode()).hexdigest()[:16],
            tags={**launch.run_tags(), "dcw/changed_files": str(len(changed))},
            asset_selection=monthly_selection(context.instance, monthly_def, context.repository_def.asset_graph,
                                              launch.kinds) if launch.job == MONTHLY_JOB else None)
            for launch in launches]
        snapshots = sorted(d.isoformat() for kind in kinds_by_period("date") for d in periods.get(kind, set()))
        return dg.SensorResult(
            run_requests=requests, cursor=json.dumps(state),
            dynamic_partitions_requests=[REGISTRY_SNAPSHOTS.build_add_request(snapshots)] if snapshots else None)

    return Automation([monthly_job, economics_job, registry_job], monthly_schedule, inbox_sensor)


__all__ = ["TIMEZONE", "Automation", "build_automation"]
