"""Dagster assets, one module per layer: ingestion (files → raw), dbt (raw → marts), publish."""
