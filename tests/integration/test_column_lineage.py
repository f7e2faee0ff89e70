"""Column-level lineage (audit.column_lineage, Dagster's column lineage metadata), derived from the dbt project.

The expected upstreams are read from the column maps' YAML and the SQL files here, not from the
derivation; the last test changes a model in a copy of the dbt project and sees the change in the
derived lineage, which no hand-kept list could do.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest
import yaml

from orchestration.column_lineage import derive, walk_to_raw
from orchestration.dbt_project import DBT_DIR, DBT_EXECUTABLE, compile_models

pytestmark = pytest.mark.integration

COLUMN_MAPS = Path(__file__).resolve().parents[2] / "ingestion" / "column_maps"

# The auditor's walk in SQL: from a published column down the edges to the raw columns.
WALK = """
with recursive walk(tbl, col) as (
    select ?, ?
    union
    select e.upstream_table, e.upstream_column
    from walk join audit.column_lineage e on e.published_table = walk.tbl and e.published_column = walk.col
    where e.upstream_table is not null
)
select distinct e.upstream_table, e.upstream_column, e.source_kind, e.header_aliases
from walk join audit.column_lineage e on e.published_table = walk.tbl and e.published_column = walk.col
where e.upstream_table like 'raw.%'
order by 1, 2
"""


def _aliases(source: str, column: str) -> list[str]:
    spec = yaml.safe_load((COLUMN_MAPS / f"{source}.yaml").read_text(encoding="utf-8"))["columns"][column]
    return [*spec["aliases"], column]


def test_every_column_of_every_published_marts_table_has_lineage(pipeline):
    published = set(pipeline.query("select table_name, column_name from duckdb_columns() where schema_name = 'marts'"))
    explained = set(pipeline.query("select published_table, published_column from audit.column_lineage"))
    assert len(published) > 300
    assert published - explained == set()
    kinds = {k for (k,) in pipeline.query("select distinct transformation from audit.column_lineage")}
    assert kinds == {"copy", "rename", "expression", "aggregate"}


def test_facility_energy_leads_to_the_power_bills_kwh_not_the_ledger(pipeline):
    raw = pipeline.query(WALK, ["fct_center_month", "facility_energy_kwh"])
    assert raw == [("raw.power_bills", "kwh_total", "power", _aliases("power", "kwh_total"))]
    it = pipeline.query(WALK, ["fct_center_month", "it_energy_kwh"])
    assert [(t, c, k) for t, c, k, _ in it] == [("raw.dc_ledger", "it_energy_kwh", "dc_ledger")]
    assert it[0][3] == _aliases("dc_ledger", "it_energy_kwh")
    # a ratio lists both sides, and the model's expression is the sum of the bills over the ledger's IT energy
    pue = {(t, c) for t, c, _, _ in pipeline.query(WALK, ["mart_center_plan", "actual_pue"])}
    assert pue == {("raw.power_bills", "kwh_total"), ("raw.dc_ledger", "it_energy_kwh")}
    (expression, kind), = set(pipeline.query(
        "select expression, transformation from audit.column_lineage "
        "where published_table = 'mart_center_plan' and published_column = 'actual_pue'"))
    assert kind == "aggregate" and "SUM(int_center_months.facility_energy_kwh)" in expression
    assert "SUM(int_center_months.it_energy_kwh)" in expression
    # the sum of the bills happens in int_center_bill_months
    assert pipeline.query("select transformation, expression from audit.column_lineage where published_table = "
                          "'int_center_bill_months' and published_column = 'facility_energy_kwh'") == [
        ("aggregate", "SUM(stg_raw__power_bills.kwh_total)")]


def test_model_materializations_carry_dagster_column_lineage(pipeline):
    lineage = {}
    for event in pipeline.result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if "dagster/column_lineage" in mat.metadata:
            lineage[event.asset_key.path[-1]] = mat.metadata["dagster/column_lineage"].value
    assert {"fct_center_month", "int_center_bill_months", "stg_raw__power_bills"} <= set(lineage)
    deps = lineage["fct_center_month"].deps_by_column["facility_energy_kwh"]
    assert [(d.asset_key.path[-1], d.column_name) for d in deps] == [("int_center_months", "facility_energy_kwh")]
    raw = lineage["stg_raw__power_bills"].deps_by_column["kwh_total"]
    assert [(d.asset_key.path, d.column_name) for d in raw] == [(["raw", "power_bills"], "kwh_total")]


def test_a_column_added_to_a_model_appears_in_the_derived_lineage(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    model = project / "models" / "intermediate" / "int_center_months.sql"
    sql = model.read_text(encoding="utf-8")
    anchor = "    resolved.servers,\n"
    assert anchor in sql
    model.write_text(sql.replace(anchor, anchor + "    resolved.racks_built - resolved.racks_in_use as racks_idle,\n"),
                     encoding="utf-8")
    parsed = subprocess.run([DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(project), "--profiles-dir",
                             str(project), "--target-path", str(tmp_path / "target")],
                            env={**os.environ, "DCW_WORKING_DB": str(tmp_path / "none.duckdb"),
                                 "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}, capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    manifest = tmp_path / "target" / "manifest.json"
    assert not any(n.get("compiled_code") for n in json.loads(manifest.read_text())["nodes"].values())
    # a parse has no compiled SQL: every model is compiled (against empty raw tables), then derived
    edges = derive(manifest, tmp_path / "cache.json", compile_models=partial(compile_models, project_dir=project))
    assert {e.published_table for e in edges} >= {"fct_center_month", "mart_alerts", "stg_ops__files"}
    added = sorted((e.upstream_table, e.upstream_column, e.transformation) for e in edges
                   if (e.published_table, e.published_column) == ("int_center_months", "racks_idle"))
    assert added == [("stg_raw__center_months", "racks_built", "expression"),
                     ("stg_raw__center_months", "racks_in_use", "expression")]
    assert walk_to_raw(edges, "int_center_months", "racks_idle") == {("raw.dc_ledger", "racks_built"),
                                                                       ("raw.dc_ledger", "racks_in_use")}
    # the cache now holds every model's SQL: derived again from the parse alone, without compiling, and fast
    started = time.perf_counter()
    again = derive(manifest, tmp_path / "cache.json")
    assert time.perf_counter() - started < 2
    assert set(again) == set(edges)
