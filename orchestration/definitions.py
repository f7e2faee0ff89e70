"""Everything Dagster knows, assembled: assets, checks, resources, jobs, the schedule and the sensor.

``build_definitions`` reads the environment (``DCW_INBOX``, ``DCW_WAREHOUSE``, ``DCW_FIRST_MONTH``) and prepares dbt's
manifest when called, never at import: ``defs`` is Dagster's lazy entry point (``dagster dev -m
orchestration.definitions`` calls it), and tests point it at a temporary inbox and warehouse.
"""
from __future__ import annotations

import dagster as dg

from orchestration.assets.dbt import build_dbt_assets
from orchestration.assets.ingestion import build_raw_assets, inbox_manifest
from orchestration.assets.publish import build_publish_asset
from orchestration.automation import build_automation
from orchestration.checks.asset_checks import quality_checks
from orchestration.dbt_project import dbt_resource, ensure_manifest
from orchestration.resources import Warehouse

__all__ = ["build_definitions", "defs"]


def build_definitions() -> dg.Definitions:
    warehouse = Warehouse.from_env()
    models, tests = build_dbt_assets(ensure_manifest())  # re-parsed only when stale or for another working file
    automation = build_automation()  # the partitions from DCW_FIRST_MONTH
    return dg.Definitions(
        assets=[inbox_manifest, *build_raw_assets(), models, build_publish_asset(models, tests)],
        asset_checks=quality_checks,
        jobs=automation.jobs,
        schedules=[automation.schedule],
        sensors=[automation.sensor],
        resources={
            "warehouse": warehouse,
            "dbt": dbt_resource(),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
