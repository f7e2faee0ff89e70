"""The Dagster definitions load, and hold the assets, checks, job and groups the operators rely on."""
import dagster as dg

from orchestration.definitions import build_definitions
from orchestration.partitions import ECONOMICS_JOB, MONTHLY, MONTHLY_JOB, QUARTERLY, REGISTRY_JOB, REGISTRY_SNAPSHOTS


def test_definitions_load_with_every_layer():
    defs = build_definitions()
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for table in ("dc_ledger", "projects", "economics", "plans", "registry", "power_bills"):
        assert f"raw/{table}" in keys
    for mart in ("dim_center", "dim_firm", "fct_center_month", "mart_center_plan", "mart_investment_funnel"):
        assert f"marts/{mart}" in keys
    assert {"ops/file_manifest", "audit/file_manifest", "published/warehouse"} <= keys
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys() if graph.has(k) and graph.get(k).is_materializable}
    assert {"ingestion", "staging", "intermediate", "core", "marts", "audit", "publish"} <= groups
    assert defs.resolve_job_def(MONTHLY_JOB) is not None


def test_partitions_of_the_sources_and_models():
    graph = build_definitions().resolve_asset_graph()

    def partitions(key: str):
        return graph.get(dg.AssetKey(key.split("/"))).partitions_def

    for key in ("raw/power_bills", "raw/dc_ledger", "raw/projects", "marts/fct_power_bill", "marts/fct_center_month",
                "marts/mart_center_ledger", "staging/stg_raw__power_bills"):
        assert partitions(key) == MONTHLY, key
    assert partitions("raw/economics") == QUARTERLY
    assert partitions("raw/registry") == REGISTRY_SNAPSHOTS
    for key in ("raw/plans", "ops/file_manifest", "published/warehouse"):
        assert partitions(key) is None, key
    assert MONTHLY.get_partition_keys()[:2] == ["2020-01", "2020-02"]
    assert QUARTERLY.get_partition_keys()[:2] == ["2020-01", "2020-04"]
    # a month reads its quarter of economics, and every registry snapshot
    monthly = dg.AssetKey(["staging", "stg_raw__firm_quarters"])
    mapping = graph.get_partition_mapping(monthly, dg.AssetKey(["raw", "economics"]))
    upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
        MONTHLY.subset_with_partition_keys(["2024-05"]), MONTHLY, QUARTERLY).partitions_subset
    assert upstream.get_partition_keys() == ["2024-04"]
    firms = dg.AssetKey(["staging", "stg_raw__firm_snapshots"])
    assert isinstance(graph.get_partition_mapping(firms, dg.AssetKey(["raw", "registry"])), dg.AllPartitionMapping)


def test_one_job_per_partitioning_and_ranges_run_as_one():
    defs = build_definitions()
    monthly = defs.resolve_job_def(MONTHLY_JOB)
    assert monthly.partitions_def == MONTHLY
    keys = {k.to_user_string() for k in monthly.asset_layer.selected_asset_keys}
    assert {"ops/file_manifest", "raw/power_bills", "raw/plans", "marts/fct_power_bill", "published/warehouse"} <= keys
    assert not {"raw/economics", "raw/registry"} & keys
    assert defs.resolve_job_def(ECONOMICS_JOB).partitions_def == QUARTERLY
    assert defs.resolve_job_def(REGISTRY_JOB).partitions_def == REGISTRY_SNAPSHOTS
    assert {k.to_user_string() for k in defs.resolve_job_def(REGISTRY_JOB).asset_layer.selected_asset_keys} == {
        "ops/file_manifest", "raw/registry"}
    graph = defs.resolve_asset_graph()
    for key in ("raw/power_bills", "marts/fct_power_bill"):
        assert graph.get(dg.AssetKey(key.split("/"))).backfill_policy == dg.BackfillPolicy.single_run(), key


def test_raw_tables_feed_dbt_sources_so_lineage_is_one_graph():
    graph = build_definitions().resolve_asset_graph()
    staging = dg.AssetKey(["staging", "stg_raw__power_bills"])
    assert dg.AssetKey(["raw", "power_bills"]) in graph.get(staging).parent_keys


def test_blocking_checks_exist_for_the_gates():
    graph = build_definitions().resolve_asset_graph()
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("marts/fct_center_month", "pue_within_1_3") in checks
    assert ("marts/dim_center", "center_code_unique") in checks
