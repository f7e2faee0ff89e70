"""The Dagster definitions load, and hold the assets, checks, job and groups the operators rely on."""
import dagster as dg

from orchestration.definitions import PIPELINE_JOB, build_definitions


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
    assert defs.resolve_job_def(PIPELINE_JOB) is not None


def test_raw_tables_feed_dbt_sources_so_lineage_is_one_graph():
    graph = build_definitions().resolve_asset_graph()
    staging = dg.AssetKey(["staging", "stg_raw__power_bills"])
    assert dg.AssetKey(["raw", "power_bills"]) in graph.get(staging).parent_keys


def test_blocking_checks_exist_for_the_gates():
    graph = build_definitions().resolve_asset_graph()
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("marts/fct_center_month", "pue_within_1_3") in checks
    assert ("marts/dim_center", "center_code_unique") in checks
