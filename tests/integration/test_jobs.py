"""Partitioned runs for real: a registry snapshot, a month picked by the sensor, a two-month backfill.

Each test copies the session's fully built warehouse, so only the partitions under test run.
"""
import csv
import shutil

import dagster as dg
import pytest

from orchestration.dbt_project import DBT_PROJECT
from orchestration.partitions import MONTHLY_JOB
from tests.integration.conftest import pointed_at

pytestmark = pytest.mark.integration

FACTS = {"fct_power_bill": "bill", "fct_center_month": "ledger", "fct_project_month": "project"}  # → lineage prefix
MONTH_COLUMN = {"fct_power_bill": 1, "fct_center_month": 2, "fct_project_month": 2}  # position of `month`


def _facts(run, db=None) -> dict[str, set]:
    """The fact rows, floats rounded (a sum recomputed in another order differs in the last bits)."""
    def row(r):
        return tuple(round(v, 6) if isinstance(v, float) else v for v in r)
    return {t: {row(r) for r in run.query(f"select * exclude ({prefix}_source_row) from marts.{t}", db=db)}
            for t, prefix in FACTS.items()}


def _materialized(result) -> dict[str, set]:
    """Asset → the partitions materialised; for the (unpartitioned) dbt models, the months they replaced."""
    out: dict[str, set] = {}
    for e in result.get_asset_materialization_events():
        mat = e.step_materialization_data.materialization
        months = mat.metadata.get("months")
        out.setdefault(e.asset_key.to_user_string(), set()).add(months.value if months else e.partition)
    return out


def test_registry_refresh_loads_one_snapshot_partition(pipeline, tmp_path):
    from orchestration.definitions import build_definitions

    warehouse = tmp_path / "warehouse"
    shutil.copytree(pipeline.warehouse, warehouse)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("registry_snapshots", ["2025-06-30"])
    with pointed_at(pipeline.inbox, warehouse):
        result = build_definitions().resolve_job_def("registry_refresh").execute_in_process(
            instance=instance, partition_key="2025-06-30", raise_on_error=False)
    assert result.success
    assert _materialized(result) == {"ops/file_manifest": {None}, "raw/registry": {"2025-06-30"}}


def test_next_months_file_through_the_sensor_replaces_that_month_only(pipeline, tmp_path):
    """A re-issued bill for one month: the sensor asks for that month and the assets bills affect;
    the run rebuilds those alone, and the published facts then equal a full rebuild of the same inbox."""
    from orchestration.automation import inbox_sensor
    from orchestration.definitions import build_definitions
    from orchestration.resources import Warehouse
    from orchestration.runs import run_inbox

    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    shutil.copytree(pipeline.inbox, inbox)
    shutil.copytree(pipeline.warehouse, warehouse)
    # the run history of the copied warehouse: its last monthly run (the full build) succeeded
    instance = pipeline.instance
    with pointed_at(inbox, warehouse):
        defs = build_definitions()
    resources = {"warehouse": Warehouse(inbox=str(inbox), warehouse_dir=str(warehouse))}

    def tick(cursor):
        return inbox_sensor(dg.build_sensor_context(cursor=cursor, resources=resources, instance=instance,
                                                    definitions=defs))
    first = tick(None)  # the inbox as already loaded: remembered, then the new file
    before = _facts(pipeline)

    account, month, kwh, cny = pipeline.query(
        "select account_no, month, kwh_total, total_cny from marts.fct_power_bill where center_code is not null "
        "and month = (select min(month) from marts.fct_power_bill) order by account_no limit 1")[0]
    with (inbox / "power" / "电费账单_更正_补发.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["户号", "电费年月", "总有功电量（千瓦时）", "应收电费（元）", "账单类型"],
                                 [account, month.strftime("%Y%m"), f"{kwh:.0f}", f"{cny + 100:.2f}", "更正"]])
    (request,) = tick(first.cursor).run_requests
    key = month.strftime("%Y-%m")
    assert (request.job_name, request.tags["dagster/asset_partition_range_start"],
            request.tags["dagster/asset_partition_range_end"]) == (MONTHLY_JOB, key, key)

    with pointed_at(inbox, warehouse):  # (build_definitions points dbt at this warehouse's working file)
        result = build_definitions().resolve_job_def(MONTHLY_JOB).execute_in_process(
            instance=instance, tags=request.tags, asset_selection=request.asset_selection, raise_on_error=False)
    assert result.success
    materialized = _materialized(result)
    assert materialized["raw/power_bills"] == {key} and materialized["marts/fct_power_bill"] == {f"{key} to {key}"}
    assert materialized["published/warehouse"] == {None}
    # what bills do not feed is not rebuilt: other sources, the firm history
    assert not {"raw/dc_ledger", "raw/projects", "intermediate/int_firm_versions", "marts/dim_firm"} & set(materialized)
    dbt_calls = [e.user_message for e in instance.all_logs(result.run_id) if (e.user_message or "").startswith("dbt build")]
    assert len(dbt_calls) == 1 and f"DCW_MONTH_FROM={key}-01" in dbt_calls[0]
    # the window came as environment variables: dbt re-parsed the files that read them, not the project
    (dbt_log,) = (DBT_PROJECT.project_dir / "target").glob(f"warehouse_models-{result.run_id[:7]}-*/dbt.log")
    assert "Unable to do partial parsing" not in dbt_log.read_text(encoding="utf-8")

    after = _facts(pipeline, db=warehouse / "published.duckdb")
    bill = [r for r in after["fct_power_bill"] if r[0] == account and r[1] == month]
    assert len(bill) == 1 and bill[0][18] == pytest.approx(cny + 100)   # total_cny, the re-issue is current
    for table in FACTS:   # every other month is untouched
        i = MONTH_COLUMN[table]
        assert {r for r in after[table] if r[i] != month} == {r for r in before[table] if r[i] != month}, table
        assert {r[i] for r in after[table]} == {r[i] for r in before[table]}, table

    # `make update` afterwards: the new file is in the manifest now, so there is nothing to run
    from orchestration.runs import run_new_files
    with pointed_at(inbox, warehouse):
        assert run_new_files(build_definitions(), inbox, warehouse / "working.duckdb", instance) == []

    full = tmp_path / "full"
    shutil.copytree(warehouse, full)
    with pointed_at(inbox, full):
        assert all(r.success for r in run_inbox(build_definitions(), inbox, dg.DagsterInstance.ephemeral()))
    assert _facts(pipeline, db=full / "published.duckdb") == after


def test_backfill_of_two_months_is_one_run_and_changes_nothing_else(pipeline, tmp_path):
    from orchestration.definitions import build_definitions
    from orchestration.runs import run_months

    warehouse = tmp_path / "warehouse"
    shutil.copytree(pipeline.warehouse, warehouse)
    months = sorted({m.strftime("%Y-%m") for (m,) in pipeline.query("select distinct month from marts.fct_power_bill")})
    first, last = months[1], months[2]
    with pointed_at(pipeline.inbox, warehouse):
        (result,) = run_months(build_definitions(), first, last, dg.DagsterInstance.ephemeral())
    assert result.success
    materialized = _materialized(result)
    assert materialized["raw/dc_ledger"] == {first, last}
    assert materialized["marts/fct_center_month"] == materialized["marts/dim_center"] == {f"{first} to {last}"}
    # each table model reports its row count (read once dbt is done)
    counts = {e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata["dagster/row_count"].value
              for e in result.get_asset_materialization_events() if e.asset_key.path[0] == "marts"}
    for table in ("dim_center", "fct_center_month", "mart_center_ledger"):
        assert counts[f"marts/{table}"] == pipeline.query(f"select count(*) from marts.{table}")[0][0] > 0, table
    assert _facts(pipeline, db=warehouse / "published.duckdb") == _facts(pipeline)
