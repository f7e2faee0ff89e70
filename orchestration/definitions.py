"""Everything Dagster knows, assembled: assets, checks, resources, jobs, the schedule and the sensor.

``build_definitions`` reads the environment (``DCW_INBOX``, ``DCW_WAREHOUSE``) when called, so
tests can point it at a temporary inbox and warehouse.
"""
from __future__ import annotations

import dagster as dg

from orchestration.assets.dbt import warehouse_models
from orchestration.assets.ingestion import inbox_manifest, raw_assets
from orchestration.assets.publish import published_warehouse
from orchestration.automation import economics_job, inbox_sensor, monthly_job, monthly_schedule, registry_job
from orchestration.checks.asset_checks import quality_checks
from orchestration.dbt_project import dbt_resource, ensure_manifest
from orchestration.resources import Warehouse, point_dbt_at_working_db

__all__ = ["build_definitions", "defs"]


def build_definitions() -> dg.Definitions:
    warehouse = Warehouse.from_env()
    point_dbt_at_working_db()
    ensure_manifest()  # re-parse only if the working file moved (keeps dbt's partial parsing valid)
    return dg.Definitions(
        assets=[inbox_manifest, *raw_assets, warehouse_models, published_warehouse],
        asset_checks=quality_checks,
        jobs=[monthly_job, economics_job, registry_job],
        schedules=[monthly_schedule],
        sensors=[inbox_sensor],
        resources={
            "warehouse": warehouse,
            "dbt": dbt_resource(),
        },
    )


defs = build_definitions()
