"""Running the jobs in-process, for the CLI and the tests: the whole inbox, or a range of months.

``run_inbox`` is ``make run``: it probes every inbox file's periods (the monthly files' while the
first runs load), registers the registry snapshot partitions, and runs the registry, economics and
monthly jobs over the ranges found (the monthly run tagged for a full dbt rebuild).
``run_new_files`` is ``make update``: what the inbox sensor requests, for the files not in the
manifest yet and those no publication has included yet (the affected partitions, and of the
monthly job only the assets those files affect).
``run_months`` is a backfill: the monthly job over ``[first, last]`` in one run, dbt replacing those
months only. All stop at the first failed run.
"""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import duckdb

from ingestion.column_maps import kinds_by_period
from ingestion.manifest import classify, unpublished, unregistered
from ingestion.periods import periods_by_kind
from orchestration.partitions import (
    FULL_REFRESH_TAG,
    MONTHLY_JOB,
    REGISTRY_SNAPSHOTS,
    Launch,
    last_month_key,
    monthly,
    plan_launches,
)
from orchestration.recovery import release_lease
from orchestration.selection import monthly_selection

MONTHLY_KINDS = kinds_by_period("month", "year")  # their periods matter to the monthly run only


def inbox_files(inbox: Path) -> list[str]:
    return sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file())


def execute(defs: dg.Definitions, launches: list[Launch], instance: dg.DagsterInstance,
            run_config: dict | None = None) -> list[dg.ExecuteInProcessResult]:
    """Run each launch in order, in this process; stop after the first failure. A monthly launch
    with ``kinds`` runs the assets those kinds affect (as the sensor requests it)."""
    results = []
    for launch in launches:
        job = defs.resolve_job_def(launch.job)
        selection = (monthly_selection(instance, job, defs.resolve_asset_graph(), launch.kinds)
                     if launch.job == MONTHLY_JOB else None)
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config,
                                        tags=launch.run_tags(), asset_selection=selection)
        release_lease(result.run_id)  # taken by the Warehouse resource as the run started (recovery.py)
        results.append(result)
        if not result.success:
            break
    return results


def run_inbox(defs: dg.Definitions, inbox: Path, instance: dg.DagsterInstance,
              run_config: dict | None = None) -> list[dg.ExecuteInProcessResult]:
    """The registry and economics runs, then the monthly run (a full dbt rebuild). The monthly
    files' periods are probed in a thread while the first runs load (reading a province's bureau
    workbooks takes ~5 s; the registry's parse workers leave a core to spare)."""
    files = inbox_files(inbox)
    monthly = [rel for rel in files if classify(rel)[0] in MONTHLY_KINDS]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="period-probe") as probe:
        monthly_periods = probe.submit(periods_by_kind, inbox, monthly)
        periods = periods_by_kind(inbox, [rel for rel in files if classify(rel)[0] not in MONTHLY_KINDS])
        _add_snapshot_partitions(instance, periods)
        first = [launch for launch in plan_launches(periods, last_month_key(), files_seen=False)
                 if launch.job != MONTHLY_JOB]
        results = execute(defs, first, instance, run_config)
        periods.update(monthly_periods.result())
    if any(not r.success for r in results):
        return results
    launches = [Launch(launch.job, launch.start, launch.end, {**launch.tags, FULL_REFRESH_TAG: "true"})
                for launch in plan_launches(periods, last_month_key()) if launch.job == MONTHLY_JOB]
    return results + execute(defs, launches, instance, run_config)


def run_new_files(defs: dg.Definitions, inbox: Path, working_db: Path, instance: dg.DagsterInstance,
                  run_config: dict | None = None) -> list[dg.ExecuteInProcessResult]:
    """The runs the inbox sensor would request for the files not in the manifest yet, and for the
    files no publication has included yet (a run that died or failed before publishing them); []
    if there are none. Files of the second kind that left the inbox since count for nothing."""
    if working_db.exists():
        with duckdb.connect(str(working_db), read_only=True) as con:
            new = unregistered(con, inbox)
            new += [rel for rel in unpublished(con) if rel not in new and (inbox / rel).is_file()]
    else:
        new = unregistered(None, inbox)
    if not new:
        return []
    periods = periods_by_kind(inbox, new)
    _add_snapshot_partitions(instance, periods)
    return execute(defs, plan_launches(periods, last_month_key()), instance, run_config)


def _add_snapshot_partitions(instance: dg.DagsterInstance, periods: dict[str, set[dt.date]]) -> None:
    snapshots = sorted(d.isoformat() for kind in kinds_by_period("date") for d in periods.get(kind, set()))
    known = set(instance.get_dynamic_partitions(REGISTRY_SNAPSHOTS.name))
    instance.add_dynamic_partitions(REGISTRY_SNAPSHOTS.name, [k for k in snapshots if k not in known])


def check_month_range(first: str, last: str) -> None:
    """Raise ValueError, with what to type instead, unless [first, last] is a range of monthly partitions."""
    keys = monthly().get_partition_keys()
    for key in (first, last):
        if key not in keys:
            raise ValueError(f"{key} is not a report month of the warehouse ({keys[0]} to {keys[-1]}, as YYYY-MM)")
    if first > last:
        raise ValueError(f"the range {first} to {last} is empty: the first month comes first")


def run_months(defs: dg.Definitions, first: str, last: str, instance: dg.DagsterInstance,
               run_config: dict | None = None) -> list[dg.ExecuteInProcessResult]:
    check_month_range(first, last)
    return execute(defs, [Launch(MONTHLY_JOB, first, last)], instance, run_config)
