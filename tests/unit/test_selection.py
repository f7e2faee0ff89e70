"""Which assets a monthly run for new files materialises (orchestration/selection.py), on the real graph."""
import dagster as dg
import pytest

from ingestion.column_maps import SOURCE_KINDS
from orchestration.definitions import build_definitions
from orchestration.partitions import MONTHLY_JOB
from orchestration.selection import affected_assets, monthly_selection


@pytest.fixture(scope="module")
def defs():
    return build_definitions()


def _affected(defs, *kinds) -> set[str]:
    job = defs.resolve_job_def(MONTHLY_JOB)
    return {k.to_user_string() for k in affected_assets(defs.resolve_asset_graph(),
                                                         job.asset_layer.selected_asset_keys, kinds)}


def test_new_bills_rebuild_what_reads_bills_and_not_the_firm_history(defs):
    picked = _affected(defs, "power")
    assert {"ops/file_manifest", "raw/power_bills", "staging/stg_raw__power_bills", "marts/fct_power_bill",
            "marts/fct_center_month", "marts/mart_center_accounting", "audit/rejected_rows",
            "audit/file_manifest", "published/warehouse"} <= picked
    assert not {"raw/projects", "raw/dc_ledger", "raw/plans", "intermediate/int_firm_versions",
                "marts/dim_firm", "marts/fct_firm_quarter"} & picked


def test_a_registry_snapshot_rebuilds_the_firm_history_but_loads_no_monthly_source(defs):
    picked = _affected(defs, "registry")
    assert {"intermediate/int_firm_versions", "marts/dim_firm", "published/warehouse"} <= picked
    assert not {"raw/registry", "raw/power_bills", "raw/dc_ledger", "raw/projects"} & picked  # raw/registry: its own job


def test_new_files_of_every_kind_rebuild_every_asset_that_reads_files(defs):
    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def(MONTHLY_JOB)
    # audit.lineage is generated from the dbt graph alone: no file changes it
    reads_no_file = {k.to_user_string() for k in job.asset_layer.selected_asset_keys
                     if not graph.get(k).parent_keys and k.path != ["ops", "file_manifest"]}
    assert reads_no_file == {"audit/lineage"}
    assert _affected(defs, *SOURCE_KINDS) == {k.to_user_string() for k in job.asset_layer.selected_asset_keys} - reads_no_file


def test_no_picked_asset_leaves_an_asset_downstream_of_it_behind(defs):
    graph = defs.resolve_asset_graph()
    job_keys = set(defs.resolve_job_def(MONTHLY_JOB).asset_layer.selected_asset_keys)
    raw = {k for k in job_keys if k.path[0] == "raw"}  # a raw table of another kind has nothing new to load
    for kind in SOURCE_KINDS:
        picked = affected_assets(graph, job_keys, [kind])
        for key in picked:
            below = set(graph.get(key).child_keys) & job_keys
            if key.path[0] != "raw":  # a source's staging model follows the manifest only through its raw table
                below = {k for k in below if not k.path[-1].startswith("stg_raw__")}
            assert below - raw <= picked, (kind, key)


def test_the_whole_job_runs_without_a_successful_monthly_run_to_build_on(defs):
    job = defs.resolve_job_def(MONTHLY_JOB)
    instance = dg.DagsterInstance.ephemeral()
    assert monthly_selection(instance, job, defs.resolve_asset_graph(), ["power"]) is None
    assert monthly_selection(instance, job, defs.resolve_asset_graph(), None) is None


def test_a_source_staging_model_reads_the_manifest_for_its_own_files_only():
    """The rule selection.py relies on: stg_raw__<table> filters the manifest by its source's kind."""
    import json
    import re

    from orchestration.dbt_project import ensure_manifest

    nodes = json.loads(ensure_manifest().read_text(encoding="utf-8"))["nodes"].values()
    staging = [n for n in nodes if n["resource_type"] == "model" and n["name"].startswith("stg_raw__")]
    reading = [n for n in staging if re.search(r"stg_ops__|source\('ops'", n["raw_code"])]
    assert reading, "no source staging model reads the manifest: the rule is moot, simplify selection.py"
    for node in reading:
        kinds = re.findall(r"source_kind\s*=\s*'(\w+)'", node["raw_code"])
        assert len(set(kinds)) == 1, f"{node['name']} reads the manifest beyond its own source's files"
