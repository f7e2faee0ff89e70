"""Which assets of the monthly job new files affect, so a run for them rebuilds nothing else.

New files of some source kinds change the manifest, those kinds' raw tables, and the ops tables
every load writes (refused rows, parse warnings). A monthly run for them therefore materialises
the manifest, the monthly job's raw assets of those kinds, and every asset downstream of any of
these (dbt models, their checks, publication) — but no raw table of another kind, and no model
that reads none of them: the firm history is not rebuilt for a month of bills. dbt runs only the
selected models and their tests (dagster-dbt turns the selection into ``--select``); publication
still requires the latest result of every blocking check to have passed (``orchestration.publish``).

A subset is only safe on top of a complete build, so the whole job runs instead when the previous
monthly run did not succeed (or none ran yet): a failed or unfinished run may have left models
behind their raw tables.

What does not belong here: which months a run covers (``orchestration.partitions``).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dagster as dg

from ingestion.column_maps import SOURCE_KINDS, source_map
from orchestration.partitions import MONTHLY_JOB

MANIFEST = dg.AssetKey(["ops", "file_manifest"])
# ops tables every load writes besides its raw table: dbt sources without a Dagster asset of their own
WRITTEN_BY_EVERY_LOAD = (dg.AssetKey(["ops", "rejected_rows"]), dg.AssetKey(["ops", "parse_warnings"]))


def raw_key(kind: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source_map(kind).table])


def affected_assets(graph: Any, job_keys: Iterable[dg.AssetKey], kinds: Iterable[str]) -> set[dg.AssetKey]:
    """The assets among ``job_keys`` that new files of ``kinds`` affect (see the module docstring);
    ``graph`` is the definitions' asset graph."""
    job_keys = set(job_keys)
    changed = {raw_key(kind) for kind in kinds}
    every_raw = {raw_key(kind) for kind in SOURCE_KINDS}
    selected = {MANIFEST} | (changed & job_keys)
    stack = [MANIFEST, *changed, *WRITTEN_BY_EVERY_LOAD]
    seen = set(stack)
    while stack:
        key = stack.pop()
        if not graph.has(key):
            continue
        for child in graph.get(key).child_keys:
            if child in seen or child in every_raw:  # a raw table of another kind loads nothing new
                continue
            seen.add(child)
            stack.append(child)
            if child in job_keys:
                selected.add(child)
    return selected


def previous_monthly_run_succeeded(instance: dg.DagsterInstance) -> bool:
    """Whether the latest monthly run (queued, running or finished) succeeded."""
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=MONTHLY_JOB), limit=1)
    return bool(runs) and runs[0].status == dg.DagsterRunStatus.SUCCESS


def monthly_selection(instance: dg.DagsterInstance, job: dg.JobDefinition, graph: Any,
                      kinds: Iterable[str] | None) -> list[dg.AssetKey] | None:
    """The asset selection of a monthly run for new files of ``kinds``; None for the whole job
    (``kinds`` None, or no successful monthly run to build on)."""
    if kinds is None or not previous_monthly_run_succeeded(instance):
        return None
    return sorted(affected_assets(graph, job.asset_layer.selected_asset_keys, kinds), key=dg.AssetKey.to_user_string)
