"""Which assets of the monthly job new files affect, so a run for them rebuilds nothing else.

New files of some source kinds change the manifest, those kinds' raw tables, and the ops tables
every load writes (refused rows, parse warnings). A monthly run for them therefore materialises
the manifest, the monthly job's raw assets of those kinds, and every asset downstream of any of
these (dbt models, their checks, publication) — but no raw table of another kind, and no model
that reads none of them: the firm history is not rebuilt for a month of bills. One refinement:
a source's staging model (``stg_raw__<table>``, one per raw table) reads the manifest only for
its own source's files (``where source_kind = '…'``, held by tests/unit/test_selection.py), so
the manifest's new rows reach it only through its raw table. dbt runs only the
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
WRITTEN_BY_EVERY_LOAD = (dg.AssetKey(["ops", "rejected_rows"]), dg.AssetKey(["ops", "parse_warnings"]),
                         dg.AssetKey(["ops", "file_headers"]), dg.AssetKey(["ops", "column_aliases"]))
SOURCE_STAGING_PREFIX = "stg_raw__"  # a source's staging model: reads the manifest for its own files only


def raw_key(kind: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source_map(kind).table])


def affected_assets(graph: Any, job_keys: Iterable[dg.AssetKey], kinds: Iterable[str]) -> set[dg.AssetKey]:
    """The assets among ``job_keys`` that new files of ``kinds`` affect (see the module docstring);
    ``graph`` is the definitions' asset graph."""
    job_keys = set(job_keys)
    changed = {raw_key(kind) for kind in kinds}
    every_raw = {raw_key(kind) for kind in SOURCE_KINDS}
    from_sources = _downstream(graph, [*changed, *WRITTEN_BY_EVERY_LOAD], skip=every_raw)
    from_manifest = _downstream(graph, [MANIFEST], skip=lambda key: key in every_raw or _is_source_staging(key))
    return ({MANIFEST} | changed | from_sources | from_manifest) & job_keys


def _is_source_staging(key: dg.AssetKey) -> bool:
    return key.path[0] == "staging" and key.path[-1].startswith(SOURCE_STAGING_PREFIX)


def _downstream(graph: Any, starts: Iterable[dg.AssetKey], skip: Any) -> set[dg.AssetKey]:
    """Every asset below ``starts``, not entering (nor passing through) those ``skip`` holds."""
    excluded = skip if callable(skip) else skip.__contains__
    found: set[dg.AssetKey] = set()
    stack = [key for key in starts if graph.has(key)]
    while stack:
        for child in graph.get(stack.pop()).child_keys:
            if child not in found and not excluded(child):
                found.add(child)
                stack.append(child)
    return found


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
