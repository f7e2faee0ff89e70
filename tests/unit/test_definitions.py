"""The Dagster definitions load, and hold the assets, checks, job and groups the operators rely on."""
import os
import shutil

import dagster as dg

from orchestration.definitions import build_definitions
from orchestration.partitions import ECONOMICS_JOB, MONTHLY_JOB, REGISTRY_JOB, REGISTRY_SNAPSHOTS, monthly, quarterly


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

    for key in ("raw/power_bills", "raw/dc_ledger", "raw/projects"):
        assert partitions(key) == monthly(), key
    assert partitions("raw/economics") == quarterly()
    assert partitions("raw/registry") == REGISTRY_SNAPSHOTS
    # the models are tables of the whole history: a monthly run passes its window to dbt instead
    for key in ("raw/plans", "ops/file_manifest", "published/warehouse", "marts/fct_power_bill",
                "marts/fct_center_month", "marts/mart_center_ledger", "staging/stg_raw__power_bills"):
        assert partitions(key) is None, key
    assert monthly().get_partition_keys()[:2] == ["2020-01", "2020-02"]  # DCW_FIRST_MONTH's default
    assert quarterly().get_partition_keys()[:2] == ["2020-01", "2020-04"]


def test_a_monthly_run_gives_dbt_the_window_of_its_months():
    from orchestration.partitions import dbt_month_window, months_of_run, range_tags

    assert months_of_run(range_tags("2024-11", "2025-02")) == ("2024-11", "2025-02")
    assert months_of_run({"dagster/partition": "2024-03"}) == ("2024-03", "2024-03")
    assert months_of_run({"dcw/full_refresh": "true"}) is None
    assert dbt_month_window("2024-11", "2025-02") == {"DCW_MONTH_FROM": "2024-11-01", "DCW_MONTH_TO": "2025-03-01"}
    assert dbt_month_window("2024-12", "2024-12") == {"DCW_MONTH_FROM": "2024-12-01", "DCW_MONTH_TO": "2025-01-01"}


def test_one_job_per_partitioning_and_ranges_run_as_one():
    defs = build_definitions()
    monthly_job = defs.resolve_job_def(MONTHLY_JOB)
    assert monthly_job.partitions_def == monthly()
    keys = {k.to_user_string() for k in monthly_job.asset_layer.selected_asset_keys}
    assert {"ops/file_manifest", "raw/power_bills", "raw/plans", "marts/fct_power_bill", "published/warehouse"} <= keys
    assert not {"raw/economics", "raw/registry"} & keys
    assert defs.resolve_job_def(ECONOMICS_JOB).partitions_def == quarterly()
    assert defs.resolve_job_def(REGISTRY_JOB).partitions_def == REGISTRY_SNAPSHOTS
    assert {k.to_user_string() for k in defs.resolve_job_def(REGISTRY_JOB).asset_layer.selected_asset_keys} == {
        "ops/file_manifest", "raw/registry"}
    graph = defs.resolve_asset_graph()
    for key in ("raw/power_bills", "raw/dc_ledger", "raw/projects"):
        assert graph.get(dg.AssetKey(key.split("/"))).backfill_policy == dg.BackfillPolicy.single_run(), key


def test_raw_tables_feed_dbt_sources_so_lineage_is_one_graph():
    graph = build_definitions().resolve_asset_graph()
    staging = dg.AssetKey(["staging", "stg_raw__power_bills"])
    assert dg.AssetKey(["raw", "power_bills"]) in graph.get(staging).parent_keys


def test_blocking_checks_exist_for_the_gates():
    graph = build_definitions().resolve_asset_graph()
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("marts/fct_center_month", "accepted_range_fct_center_month_pue__3__1") in checks  # a dbt test
    assert ("marts/dim_center", "unique_dim_center_center_code") in checks
    assert ("marts/dim_firm", "uscc_format") in checks  # a quality suite's


def test_a_new_working_file_is_parsed_for_in_the_background(tmp_path, monkeypatch):
    """The command line starts dbt's parse for a new warehouse in a process of its own, from the manifest
    last parsed in this checkout (the asset graph is the same); the manifest in the new warehouse's
    dbt_target/ stays readable meanwhile, the dbt step's wait puts the result in place, and the first
    warehouse's dbt_target/ is not touched."""
    from orchestration import dbt_project

    first = dbt_project.ensure_manifest()  # parsed for the current warehouse's working file
    first_files = {p.name: p.stat().st_mtime_ns for p in first.parent.iterdir() if p.is_file()}
    seeded_for = (dbt_project.SEED / "parsed_for.txt").read_text()  # the newest parse in this checkout
    warehouse = tmp_path / "elsewhere"
    working = warehouse / "working.duckdb"
    monkeypatch.setenv("DCW_WAREHOUSE", str(warehouse))
    target = dbt_project.dbt_target()
    assert target == warehouse / "dbt_target" and not target.exists()
    try:
        dbt_project.parse_in_background()
        assert str(working) in dbt_project._BACKGROUND
        assert dbt_project.ensure_manifest() == target / "manifest.json"  # the seed's, no second parse
        assert (target / "parsed_for.txt").read_text() == seeded_for
        dbt_project.wait_for_parse()
        assert (target / "parsed_for.txt").read_text() == str(working) and not dbt_project._BACKGROUND
        assert (target / "partial_parse.msgpack").exists() and not list(target.glob("parse-*"))
        dbt_project.parse_in_background()  # nothing to do for a file already parsed for
        assert not dbt_project._BACKGROUND
    finally:
        dbt_project.wait_for_parse()
    assert {p.name: p.stat().st_mtime_ns for p in first.parent.iterdir() if p.is_file()} == first_files
    assert (dbt_project.SEED / "parsed_for.txt").read_text() == str(working)  # the next new warehouse starts here
    shutil.rmtree(warehouse)  # the same folder anew: the seed's manifest is stamped for this very path
    try:
        dbt_project.parse_in_background()  # its partial-parsing state is not seeded: parse, or dbt build parses
        assert str(working) in dbt_project._BACKGROUND
    finally:
        dbt_project.wait_for_parse()
    assert (target / "partial_parse.msgpack").exists()

def test_the_runs_own_connections_hold_duckdb_to_a_memory_limit(tmp_path, monkeypatch):
    from orchestration.resources import Warehouse

    warehouse = Warehouse(inbox=str(tmp_path), warehouse_dir=str(tmp_path / "wh"))

    def limit() -> str:
        with warehouse.connect() as con:
            return con.execute("select current_setting('memory_limit')").fetchone()[0]

    monkeypatch.delenv("DCW_MEMORY_LIMIT", raising=False)
    assert limit() == "953.6 MiB"  # 1GB, as DuckDB prints it
    monkeypatch.setenv("DCW_MEMORY_LIMIT", "3GB")
    assert limit() == "2.7 GiB"


def test_importing_the_code_location_reads_nothing_and_changes_nothing(tmp_path):
    """Importing the modules runs no dbt, sets no environment variable and touches no warehouse: all that
    happens when the definitions are built (``defs()``, ``build_definitions()``)."""
    import subprocess
    import sys

    code = """
import os, subprocess
from pathlib import Path
stock = subprocess.Popen.__init__
def refuse_dbt(self, args, *rest, **kwargs):
    assert Path(str(args[0] if isinstance(args, list) else args).split()[0]).name != "dbt", f"dbt ran at import: {args}"
    stock(self, args, *rest, **kwargs)
subprocess.Popen.__init__ = refuse_dbt
before = dict(os.environ)
import orchestration.definitions, orchestration.assets.dbt, orchestration.assets.publish, orchestration.resources
assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())
"""
    warehouse = tmp_path / "warehouse"
    env = {**os.environ, "DCW_WAREHOUSE": str(warehouse), "DCW_INBOX": str(tmp_path / "inbox")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not warehouse.exists()


def test_the_monthly_partitions_start_at_the_configured_first_month(monkeypatch):
    import pytest

    from orchestration.partitions import plan_launches

    monkeypatch.setenv("DCW_FIRST_MONTH", "2023-02")
    defs = build_definitions()
    assert defs.resolve_job_def(MONTHLY_JOB).partitions_def.get_partition_keys()[:2] == ["2023-02", "2023-03"]
    assert defs.resolve_job_def(ECONOMICS_JOB).partitions_def.get_partition_keys()[0] == "2023-01"  # its quarter
    import datetime as dt

    plan = plan_launches({"power": {dt.date(2022, 12, 1), dt.date(2023, 5, 1)}}, "2025-06")
    assert [(x.start, x.end) for x in plan] == [("2023-05", "2023-05")]  # an earlier month is not a partition
    monkeypatch.setenv("DCW_FIRST_MONTH", "2023-13")
    with pytest.raises(ValueError, match="DCW_FIRST_MONTH='2023-13' is not a month: set it as YYYY-MM"):
        build_definitions()


def test_every_dbt_test_check_has_a_description_naming_its_severity():
    """The UI shows a description for each dbt test check (dagster-dbt alone gives "No description provided")."""
    import json

    from orchestration.assets.dbt import build_dbt_assets
    from orchestration.dbt_project import ensure_manifest

    manifest = json.loads(ensure_manifest().read_text(encoding="utf-8"))
    models, _ = build_dbt_assets(ensure_manifest())
    dbt_specs = list(models.check_specs)
    assert len(dbt_specs) > 100
    for spec in dbt_specs:
        node = manifest["nodes"][spec.metadata["dagster_dbt/unique_id"]]
        severity = str(node["config"]["severity"]).upper()
        assert spec.description and spec.description.startswith(f"[{severity}] "), (spec.key, spec.description)
        if node.get("column_name"):
            assert node["column_name"] in spec.description or node.get("description"), spec.description


def test_the_registry_of_source_kinds_drives_folders_and_partitions():
    """ingestion/column_maps/sources.yaml and each kind's column map: the inbox folder a file is classified
    by, and how the kind's raw asset is partitioned (by the kind of its period)."""
    from ingestion.column_maps import SOURCE_KINDS, SOURCES, source_map
    from ingestion.manifest import classify

    graph = build_definitions().resolve_asset_graph()
    expected = {"month": monthly(), "quarter": quarterly(), "date": REGISTRY_SNAPSHOTS, "year": None}
    assert SOURCE_KINDS == ("dc_ledger", "projects", "economics", "plans", "registry", "power")
    for kind, spec in SOURCES.items():
        for extension in spec["extensions"]:
            assert classify(f"{spec['folder']}/a file{extension}") == (kind, None), (kind, extension)
        smap = source_map(kind)
        assert smap.source == kind
        assert graph.get(dg.AssetKey(["raw", smap.table])).partitions_def == expected[smap.period["kind"]], kind
