"""The scheduled registry refresh really runs: registry, firm models, checks and publication only."""
import shutil

import dagster as dg
import pytest

from tests.integration.conftest import pointed_at

pytestmark = pytest.mark.integration


def test_registry_refresh_job_publishes_without_touching_the_other_sources(pipeline, tmp_path):
    from orchestration.definitions import build_definitions

    warehouse = tmp_path / "warehouse"
    shutil.copytree(pipeline.warehouse, warehouse)
    with pointed_at(pipeline.inbox, warehouse):
        result = build_definitions().resolve_job_def("registry_refresh").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"raw/registry", "marts/dim_firm", "published/warehouse"} <= materialized
    assert not {"raw/power_bills", "raw/dc_ledger", "marts/fct_power_bill"} & materialized
    run_ids = {r for (r,) in pipeline.query("select run_id from audit.publication",
                                            db=warehouse / "published.duckdb")}
    assert run_ids == {result.run_id}
