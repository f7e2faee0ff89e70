"""Partitions of the warehouse, and which runs a set of files' periods calls for.

- Report month (``monthly()``, keys ``2024-03``, from ``DCW_FIRST_MONTH`` on): power bills, the
  data-center ledger, the project ledger, and the dbt models (incremental facts take the run's month window).
- Quarter (``quarterly()``, keys ``2024-01`` = the quarter starting in January): economics.
- Snapshot date (``REGISTRY_SNAPSHOTS``, dynamic, keys ``2024-03-31``): the registry.
- Plans (yearly, a handful of small files) and the file manifest are not partitioned.
- The dbt models are not partitioned either: they are tables of the whole history. A monthly run
  passes its months to dbt (``dbt_month_window``, as environment variables); the incremental fact
  tables replace those months, the other models are rebuilt whole. (Partitioned, every model would
  log a planned and a materialization event per month of the range: ~5,000 events for a five-year
  range.)

A file's periods come from ``ingestion.periods.probe_periods`` (a cheap read of its period column,
title or file name). ``plan_launches`` turns the periods of a set of files into at most three
runs, in order: registry snapshots, economics quarters, then one monthly run over the range of
affected months (a quarter counts for its three months, a snapshot for its month, plans alone for
the last month of their year), which rebuilds the dbt models for that window and publishes.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import dagster as dg

from ingestion.column_maps import kinds_by_period, source_map

# Dagster's run tags for a run's partition and a single-run partition range (what the UI shows on a run and
# what `dagster asset materialize --partition-range` sets); the dagster package exports no constants for them.
# tests/unit/test_partitions.py fails should Dagster stop reading or writing them.
PARTITION_NAME_TAG = "dagster/partition"
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"

TIMEZONE = "Asia/Shanghai"
# The earliest report month the warehouse accepts (DCW_FIRST_MONTH, YYYY-MM): the monthly partitions start
# there, the quarterly ones at its quarter. Read when the definitions are built.
DEFAULT_FIRST_MONTH = "2020-01"
REGISTRY_SNAPSHOTS = dg.DynamicPartitionsDefinition(name="registry_snapshots")


def first_month() -> str:
    """``DCW_FIRST_MONTH`` (default 2020-01); a ValueError naming the fix when it is no month."""
    value = (os.environ.get("DCW_FIRST_MONTH") or DEFAULT_FIRST_MONTH).strip()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ValueError(f"DCW_FIRST_MONTH={value!r} is not a month: set it as YYYY-MM (e.g. 2021-01), "
                         "the earliest report month the warehouse accepts")
    return value


@functools.cache
def _time_partitions(first: str) -> tuple[dg.MonthlyPartitionsDefinition, dg.TimeWindowPartitionsDefinition]:
    day = dt.date.fromisoformat(f"{first}-01")
    return (dg.MonthlyPartitionsDefinition(start_date=first, fmt="%Y-%m", timezone=TIMEZONE),
            dg.TimeWindowPartitionsDefinition(cron_schedule="0 0 1 1,4,7,10 *", start=quarter_key(day),
                                              fmt="%Y-%m", timezone=TIMEZONE))


def monthly() -> dg.MonthlyPartitionsDefinition:
    """Report months (keys ``2024-03``) from the first month on."""
    return _time_partitions(first_month())[0]


def quarterly() -> dg.TimeWindowPartitionsDefinition:
    """Quarters (keys ``2024-01`` = the quarter starting in January) from the first month's quarter on."""
    return _time_partitions(first_month())[1]


def partitions_of_kind(kind: str) -> dg.PartitionsDefinition | None:
    """How a source kind's raw asset is partitioned (None: not partitioned), by the kind of its period."""
    return {"month": monthly, "quarter": quarterly, "date": lambda: REGISTRY_SNAPSHOTS,
            "year": lambda: None}[source_map(kind).period["kind"]]()


MONTHLY_JOB = "monthly"
ECONOMICS_JOB = "economics"
REGISTRY_JOB = "registry_refresh"
FULL_REFRESH_TAG = "dcw/full_refresh"  # "true": dbt rebuilds every month (the whole history), not the window


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def quarter_key(day: dt.date) -> str:
    return f"{day.year:04d}-{(day.month - 1) // 3 * 3 + 1:02d}"


def months_of_run(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The first and last partition keys of a run (a range, or one key), from its tags; None without."""
    if ASSET_PARTITION_RANGE_START_TAG in tags:
        return tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]
    if PARTITION_NAME_TAG in tags:
        return tags[PARTITION_NAME_TAG], tags[PARTITION_NAME_TAG]
    return None


def dbt_month_window(first: str, last: str) -> dict[str, str]:
    """The environment that gives dbt report months [first, last]: ``DCW_MONTH_FROM`` inclusive,
    ``DCW_MONTH_TO`` exclusive (ISO dates; ``dbt_project/macros/month_window.sql``)."""
    window = monthly().time_window_for_partition_key(last)
    return {"DCW_MONTH_FROM": f"{first}-01", "DCW_MONTH_TO": window.end.date().isoformat()}


def range_tags(start: str, end: str) -> dict[str, str]:
    """Tags that make one run cover a partition range (what a single-run backfill does)."""
    return {ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}


@dataclass(frozen=True)
class Launch:
    """One run to request: a job over the partition range [start, end].

    ``kinds``: the source kinds with new files that called for a monthly run, which then
    materialises only the assets they affect (``orchestration.selection``); None: the whole job.
    """

    job: str
    start: str
    end: str
    tags: dict[str, str] = field(default_factory=dict)
    kinds: frozenset[str] | None = None

    def run_tags(self) -> dict[str, str]:
        return {**range_tags(self.start, self.end), **self.tags}


def _clamp_months(months: set[dt.date], last_month: str) -> list[str]:
    """Month keys within the partitions: earlier months are dropped, later ones run as the last month."""
    first = first_month()
    return sorted({min(month_key(m), last_month) for m in months if month_key(m) >= first})


def plan_launches(periods_by_kind: dict[str, set[dt.date]], last_month: str, *,
                  files_seen: bool = True) -> list[Launch]:
    """The runs a set of files calls for: registry, economics, then one monthly run.

    ``periods_by_kind`` maps a source kind to the first days of the periods its files cover (an
    empty set for files whose period could not be read); ``last_month`` is the newest monthly
    partition key. The monthly launch carries the kinds, for its asset selection. With files but
    no usable period (all unreadable, say), the monthly run is for ``last_month`` so the files are
    still registered.
    """
    def periods(*period_kinds: str) -> set[dt.date]:
        return {d for kind in kinds_by_period(*period_kinds) for d in periods_by_kind.get(kind, set())}

    launches: list[Launch] = []
    snapshots = sorted(d.isoformat() for d in periods("date"))
    if snapshots:
        launches.append(Launch(REGISTRY_JOB, snapshots[0], snapshots[-1]))
    quarters = sorted({quarter_key(d) for d in periods("quarter")} & set(quarterly().get_partition_keys()))
    if quarters:
        launches.append(Launch(ECONOMICS_JOB, quarters[0], quarters[-1]))
    months = set(periods("month"))
    for q in periods("quarter"):
        months |= {dt.date(q.year, q.month + i, 1) for i in range(3)}
    months |= {d.replace(day=1) for d in periods("date")}
    if not months:  # plans alone: the marts of the plan year, as of its last month
        months = {dt.date(d.year, 12, 1) for d in periods("year")}
    keys = _clamp_months(months, last_month)
    kinds = frozenset(periods_by_kind)
    if keys:
        launches.append(Launch(MONTHLY_JOB, keys[0], keys[-1], kinds=kinds))
    elif files_seen:
        launches.append(Launch(MONTHLY_JOB, last_month, last_month, kinds=kinds))
    return launches


def last_month_key() -> str:
    return monthly().get_last_partition_key()
