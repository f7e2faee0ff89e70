"""When runs happen: the inbox sensor, the monthly schedule and the daily registry refresh.

Why a sensor plus schedules rather than declarative automation: files arrive irregularly (the
sensor reacts within a minute and runs exactly what changed), while the monthly publication
after the grid company's bills (by the 5th) and the daily registry pick-up are calendar promises
the bureau can read off a schedule. Every run goes through the same job, whose blocking checks
gate publication.
"""
import hashlib
import json

import dagster as dg

from ingestion.manifest import inbox_changes
from orchestration.resources import Warehouse

PIPELINE_JOB = "pipeline"
REGISTRY_JOB = "registry_refresh"
TIMEZONE = "Asia/Shanghai"

pipeline_job = dg.define_asset_job(
    PIPELINE_JOB, selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor,
    description="The whole monthly run: inbox → raw → dbt build (tests gate) → checks → publish.")

registry_job = dg.define_asset_job(
    REGISTRY_JOB,
    selection=dg.AssetSelection.keys(["ops", "file_manifest"])
    | dg.AssetSelection.keys(["raw", "registry"]).downstream(),
    executor_def=dg.in_process_executor,
    description="Registry snapshots only, and what depends on them (firms, marts, publication).")

monthly_schedule = dg.ScheduleDefinition(
    name="monthly_after_bills", job=pipeline_job, cron_schedule="0 6 6 * *", execution_timezone=TIMEZONE,
    description="06:00 on the 6th of each month: the grid company's bills are due by the 5th.")

registry_schedule = dg.ScheduleDefinition(
    name="daily_registry_refresh", job=registry_job, cron_schedule="0 7 * * *", execution_timezone=TIMEZONE,
    description="07:00 every day: pick up a new registry extract.")


@dg.sensor(job=pipeline_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Watches DCW_INBOX; a new or changed file (by sha256) requests one pipeline run. A touched "
                       "but unchanged file does nothing. The cursor remembers size, mtime and sha256 per file.")
def inbox_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    inbox = warehouse.inbox_path
    if not inbox.is_dir():
        return dg.SkipReason(f"the inbox {inbox} does not exist")
    known = json.loads(context.cursor) if context.cursor else {}
    changed, state = inbox_changes(inbox, known)
    context.update_cursor(json.dumps(state))
    if not changed:
        return dg.SkipReason("no new or changed file in the inbox")
    run_key = hashlib.sha256(json.dumps([[p, state[p][2]] for p in changed]).encode()).hexdigest()[:16]
    return dg.RunRequest(run_key=run_key, tags={"dcw/changed_files": str(len(changed))})
