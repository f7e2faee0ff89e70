"""The publish asset: after every blocking check of the run passed, swap in a new published.duckdb, then
bring the outputs derived from it (Parquet, the dashboard, PostgreSQL when configured) up to date."""

import dagster as dg

from orchestration.assets.dbt import DBT_TESTS, warehouse_models
from orchestration.assets.ingestion import WORKING_DB_POOL
from orchestration.checks.asset_checks import quality_checks
from orchestration.publish import PublicationRefused, publish
from orchestration.publish_outputs import OutputsBehind, bring_up_to_date
from orchestration.resources import Warehouse

PUBLISHED_INPUTS = [key for key in warehouse_models.keys if key.path[0] in ("marts", "audit")]
# The checks defined now (asset checks, and the dbt tests on sources, which are no asset check): a failed result
# of a check that no longer exists cannot block.
CURRENT_CHECKS = {(key.name, "/".join(key.asset_key.path))
                  for definition in (warehouse_models, *quality_checks) for key in definition.check_keys} | {
                     (key.name, "/".join(key.asset_key.path)) for key, _ in DBT_TESTS.values()}


@dg.asset(
    key=["published", "warehouse"],
    deps=PUBLISHED_INPUTS,
    group_name="publish",
    kinds={"duckdb"},
    owners=["team:data-engineering"],
    pool=WORKING_DB_POOL,
    description="published.duckdb: the marts and audit schemas of a fully checked warehouse, replaced "
                "atomically. BI tools and auditors read this file, or its copies made from it alone: "
                "parquet/<schema>/<table>.parquet, the dashboard (dashboard/index.html) and, when "
                "DCW_POSTGRES_URL is set, PostgreSQL.",
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    try:
        counts = publish(warehouse.working_db, warehouse.published_db, context.run.run_id, CURRENT_CHECKS)
    except PublicationRefused as exc:
        raise dg.Failure(f"nothing published: {exc}. The previous {warehouse.published_db} is unchanged.") from None
    context.log.info(f"published {warehouse.published_db}")
    try:
        outputs = bring_up_to_date(warehouse.published_db, warehouse.published_db.parent)
    except OutputsBehind as exc:
        raise dg.Failure(f"{warehouse.published_db} is published (run {context.run.run_id[:8]}); {exc}") from None
    for note in outputs.notes:
        context.log.info(note)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(warehouse.published_db)),
        "tables": dg.MetadataValue.json(counts),
        "outputs": dg.MetadataValue.json(outputs.notes),
        "output_seconds": dg.MetadataValue.json(outputs.seconds),   # read by bench/run.py
    })
