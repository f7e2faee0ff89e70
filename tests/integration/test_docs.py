"""``make docs``: the dbt docs page describes the published file as readers see it, with owners."""
from __future__ import annotations

import hashlib
import json

import pytest

from orchestration.docs import build_docs

pytestmark = pytest.mark.integration

# Written by the publication itself, not by a dbt model (orchestration/publish.py): no dbt docs entry.
NOT_DBT = {("audit", "check_results"), ("audit", "column_lineage"), ("audit", "publication")}


def test_docs_describe_the_published_tables_with_their_owners(pipeline, tmp_path):
    before = hashlib.sha256(pipeline.published.read_bytes()).hexdigest()
    page = build_docs(pipeline.published, tmp_path / "docs", tmp_path / "target")
    assert hashlib.sha256(pipeline.published.read_bytes()).hexdigest() == before  # only read
    assert page.stat().st_size > 100_000
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text(encoding="utf-8"))
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text(encoding="utf-8"))
    published = set(pipeline.query("select schema_name, table_name from duckdb_tables()"))
    described = {(n["metadata"]["schema"], n["metadata"]["name"]) for n in catalog["nodes"].values()}
    assert described == published - NOT_DBT
    assert {n["metadata"]["database"] for n in catalog["nodes"].values()} == {"published"}
    # the types are the published file's
    types = dict(pipeline.query("select column_name, data_type from duckdb_columns() "
                                "where schema_name = 'marts' and table_name = 'fct_center_month'"))
    columns = catalog["nodes"]["model.dc_cluster_warehouse.fct_center_month"]["columns"]
    assert {c: v["type"] for c, v in columns.items()} == types
    # every table shown has a description and an owner; the layers no reader sees are hidden
    groups = manifest["groups"]
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "model":
            continue
        if node["schema"] in ("marts", "audit"):
            assert node["docs"]["show"] and node["description"].strip(), uid
            assert groups[f"group.dc_cluster_warehouse.{node['group']}"]["owner"]["name"], uid
        else:
            assert not node["docs"]["show"], uid
