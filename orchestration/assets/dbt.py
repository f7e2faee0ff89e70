"""dbt models as Dagster assets: one ``dbt build`` per run; dbt tests are the asset checks.

The models are partitioned by report month. A run over a month range passes the window to dbt as
vars (``dcw_month_from`` inclusive, ``dcw_month_to`` exclusive, ISO dates): the incremental fact
tables replace those months only (and any month whose cross-month attributes went stale, decided
in SQL); the other models are tables rebuilt whole. A run tagged ``dcw/full_refresh=true`` (what
``make run`` does) runs ``dbt build --full-refresh``: every month rebuilt from raw.

Every check result of the build is appended to ``ops.check_results`` (published as
``audit.check_results``), with a sample of the failing rows for tests that failed. A failing
error-severity test fails the step, so publication, which depends on the marts, does not run.
"""
import datetime as dt
import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.assets.ingestion import WORKING_DB_POOL
from orchestration.checks_log import CheckRecord, failing_rows_sample, record_checks
from orchestration.dbt_project import DBT_PROJECT, TRANSLATOR, ensure_manifest
from orchestration.partitions import FULL_REFRESH_TAG, MONTHLY
from orchestration.resources import Warehouse


def dbt_build_args(context: dg.AssetExecutionContext) -> list[str]:
    """``dbt build`` with the run's month window as vars, or ``--full-refresh`` for a full run."""
    if context.run.tags.get(FULL_REFRESH_TAG) == "true":
        return ["build", "--full-refresh"]
    window = context.partition_time_window
    months = {"dcw_month_from": window.start.date().isoformat(), "dcw_month_to": window.end.date().isoformat()}
    return ["build", "--vars", json.dumps(months)]


@dbt_assets(manifest=ensure_manifest(), project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR,
            pool=WORKING_DB_POOL, partitions_def=MONTHLY, backfill_policy=dg.BackfillPolicy.single_run())
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    args = dbt_build_args(context)
    context.log.info(f"dbt {' '.join(args)}")
    invocation = dbt.cli(args, context=context, raise_on_error=False)
    checks: list[tuple[dg.AssetCheckResult, dict]] = []
    for event in invocation.stream():
        if isinstance(event, dg.AssetCheckResult):
            checks.append((event, {k: getattr(v, "value", v) for k, v in (event.metadata or {}).items()}))
        yield event
    compiled = _compiled_tests(invocation.target_path / "run_results.json")
    now = dt.datetime.now()
    with warehouse.connect() as con:
        records = [CheckRecord(
            check_name=event.check_name, asset="/".join(event.asset_key.path), passed=event.passed,
            severity=event.severity.value,
            observed_value=json.dumps({"failed_rows": meta.get("dagster_dbt/failed_row_count"),
                                       "status": meta.get("status")}, default=str),
            failing_sample=None if event.passed else failing_rows_sample(con, compiled.get(meta.get("unique_id"))),
            run_id=context.run_id, checked_at=now) for event, meta in checks]
        record_checks(con, records)
    if not invocation.is_successful():
        failed = [f"{r.check_name} on {r.asset}" for r in records if not r.passed and r.severity == "ERROR"]
        detail = ("blocking checks failed: " + "; ".join(failed)) if failed else "a model failed to build"
        raise dg.Failure(f"dbt build failed, nothing is published ({detail}). See the dbt log in the run "
                         "and audit.check_results.", metadata={"failed_checks": failed})


def _compiled_tests(run_results) -> dict[str, str]:
    """unique_id → compiled SQL of the tests that did not pass (from dbt's run_results.json)."""
    try:
        results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return {}
    return {r["unique_id"]: r.get("compiled_code") for r in results
            if r["unique_id"].startswith("test.") and r.get("status") not in ("pass", "success")}
