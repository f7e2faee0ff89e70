"""Quality gates as Dagster asset checks: the suites of ``suites.yaml``, one multi-asset check per asset.

ERROR checks are blocking: a failure stops everything downstream in the run, publication
included. Every outcome is appended to ``ops.check_results`` (published as audit.check_results).
The dbt tests are checks too (``orchestration/assets/dbt.py``).
"""

import datetime as dt
import json

import dagster as dg

from orchestration.assets.ingestion import WORKING_DB_POOL
from orchestration.checks.runner import CheckSpec, run_suite, suites
from orchestration.checks_log import CheckRecord, record_checks
from orchestration.progress import report
from orchestration.resources import Warehouse


def _suite_check(asset: str, specs: list[CheckSpec]) -> dg.AssetChecksDefinition:
    key = dg.AssetKey(asset.split("/"))

    @dg.multi_asset_check(
        specs=[dg.AssetCheckSpec(name=s.name, asset=key, description=f"[{s.severity}] {s.description}",
                                 blocking=s.severity == "ERROR") for s in specs],
        name=f"quality__{asset.replace('/', '__')}",
        can_subset=True,
        pool=WORKING_DB_POOL,  # it appends to ops.check_results: a writer of the working file
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        selected = [s for s in specs if dg.AssetCheckKey(key, s.name) in context.selected_asset_check_keys]
        with warehouse.connect() as con:
            outcomes = run_suite(con, selected)
            now = dt.datetime.now()
            record_checks(con, [CheckRecord(s.name, asset, outcomes[s.name].passed, s.severity,
                                            outcomes[s.name].observed, outcomes[s.name].sample,
                                            context.op_execution_context.run.run_id, now) for s in selected])
        report("quality checks", advance=len(selected), note=asset.replace("/", "."))
        for s in selected:
            o = outcomes[s.name]
            yield dg.AssetCheckResult(
                asset_key=key, check_name=s.name, passed=o.passed,
                severity=dg.AssetCheckSeverity.ERROR if s.severity == "ERROR" else dg.AssetCheckSeverity.WARN,
                metadata={"observed": dg.MetadataValue.json(json.loads(o.observed)),
                          "failing_sample": o.sample or "", "table": s.table},
                description=s.description)

    return _check


quality_checks = [_suite_check(asset, specs) for asset, specs in suites().items()]
