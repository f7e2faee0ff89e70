"""The dbt unit tests (``unit_tests:`` in the models' yml): each business rule's SQL on hand-worked rows.

They are kept out of production builds (``dbt build --exclude-resource-type unit_test``, see
orchestration/assets/dbt.py) and run here, with real dbt on DuckDB, against a copy of the warehouse
built from tests/fixtures/raw_minimal.sql (dbt reads the input relations' column types from it).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.integration

# the rules of the December 2026 contract, each with at least one unit test
RULES = {"int_revenue_attribution", "int_center_month_stock", "int_header_resemblances", "mart_center_accounting", "mart_operator_year",
         "mart_cluster_month", "mart_compute_capacity", "mart_center_plan", "mart_center_scorecard", "mart_alerts"}


def test_every_unit_test_passes(fixture_build, tmp_path):
    from orchestration.dbt_project import DBT_DIR, DBT_EXECUTABLE

    work = tmp_path / "working.duckdb"
    shutil.copy(fixture_build.db, work)
    env = {**os.environ, "DCW_WORKING_DB": str(work), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run([DBT_EXECUTABLE, "test", "--select", "test_type:unit", "--project-dir", str(DBT_DIR),
                           "--profiles-dir", str(DBT_DIR), "--target-path", str(tmp_path / "target")],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-6000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    ran = {r["unique_id"] for r in results if r["status"] == "pass"}
    tested = {manifest["unit_tests"][uid]["model"] for uid in ran}
    assert RULES <= tested, RULES - tested


def test_production_builds_leave_unit_tests_out():
    from orchestration.assets.dbt import BUILD

    assert BUILD[:1] == ["build"] and BUILD[1:] == ["--exclude-resource-type", "unit_test"]
