"""dbt models as Dagster assets: one ``dbt build`` per run; dbt tests are the asset checks.

Every check result of the build is appended to ``ops.check_results`` (published as
``audit.check_results``). A failing error-severity test fails the step, so publication, which
depends on the marts, does not run.
"""

import datetime as dt
import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.assets.ingestion import WORKING_DB_POOL
from orchestration.checks_log import CheckRecord, record_checks
from orchestration.dbt_project import DBT_PROJECT, TRANSLATOR, ensure_manifest
from orchestration.resources import Warehouse


@dbt_assets(manifest=ensure_manifest(), project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR,
            pool=WORKING_DB_POOL)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    invocation = dbt.cli(["build"], context=context, raise_on_error=False)
    records: list[CheckRecord] = []
    now = dt.datetime.now()
    for event in invocation.stream():
        if isinstance(event, dg.AssetCheckResult):
            meta = {k: getattr(v, "value", v) for k, v in (event.metadata or {}).items()}
            records.append(CheckRecord(
                check_name=event.check_name, asset="/".join(event.asset_key.path),
                passed=event.passed, severity=event.severity.value,
                observed_value=json.dumps(meta.get("dagster_dbt/failed_row_count", meta.get("status")), default=str),
                failing_sample=None, run_id=context.run_id, checked_at=now))
        yield event
    with warehouse.connect() as con:
        record_checks(con, records)
    if not invocation.is_successful():
        failed = [f"{r.check_name} on {r.asset}" for r in records if not r.passed and r.severity == "ERROR"]
        detail = ("blocking checks failed: " + "; ".join(failed)) if failed else "a model failed to build"
        raise dg.Failure(f"dbt build failed, nothing is published ({detail}). See the dbt log in the run "
                         "and audit.check_results.", metadata={"failed_checks": failed})
