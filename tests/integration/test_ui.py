"""`make ui` for real: the Dagster webserver on 127.0.0.1 serves the app and the asset graph by layer.

The webserver is started as `make ui` starts it (same module, same instance configuration, a
temporary Dagster home), and asked what an operator sees: the app page, and through its GraphQL
API the assets with their groups, descriptions, owners, partitions and checks, plus the jobs,
schedule and sensor. Then one run is recorded in that instance and its materializations, with
row counts, are read back through the same API.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.integration.conftest import pointed_at

pytestmark = pytest.mark.integration

ASSETS = """{ assetNodes { assetKey { path } groupName description isPartitioned hasAssetChecks
  owners { ... on TeamAssetOwner { team } } } }"""
REPOSITORY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  jobs { name } schedules { name cronSchedule } sensors { name } } } } }"""
LATEST = """query ($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) { ... on AssetNode {
  assetMaterializations(limit: 1) { metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, data: dict | None = None) -> bytes:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


@pytest.fixture
def webserver(pipeline, tmp_path, monkeypatch):
    """The webserver over a copy of the pipeline's warehouse, with its own Dagster home; yields
    (base URL, warehouse, Dagster home)."""
    from orchestration.instance import ensure_dagster_home

    warehouse = tmp_path / "warehouse"
    shutil.copytree(pipeline.warehouse, warehouse)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = ensure_dagster_home()
    port = _free_port()
    env = {**os.environ, "DCW_INBOX": str(pipeline.inbox), "DCW_WAREHOUSE": str(warehouse)}
    webserver = Path(sys.executable).with_name("dagster-webserver")
    proc = subprocess.Popen([str(webserver), "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                _get(f"{base}/server_info")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail("the webserver did not start:\n" + (proc.stdout.read() or "")[-3000:])
                time.sleep(1)
        yield base, warehouse, home
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _graphql(base: str, query: str, variables: dict | None = None) -> dict:
    answer = json.loads(_get(f"{base}/graphql", {"query": query, "variables": variables or {}}))
    assert "errors" not in answer, answer.get("errors")
    return answer["data"]


def test_the_ui_serves_the_asset_graph_by_layer_with_its_checks(webserver):
    base, _, _ = webserver
    page = _get(base + "/").decode()
    assert "<html" in page.lower() and "script" in page.lower()   # the app itself

    nodes = {"/".join(n["assetKey"]["path"]): n for n in _graphql(base, ASSETS)["assetNodes"]}
    groups = {n["groupName"] for n in nodes.values()}
    assert {"ingestion", "staging", "intermediate", "core", "marts", "audit", "publish"} <= groups
    assert nodes["raw/power_bills"]["groupName"] == "ingestion" and nodes["raw/power_bills"]["isPartitioned"]
    assert nodes["marts/fct_power_bill"]["groupName"] == "core" and nodes["marts/mart_center_plan"]["groupName"] == "marts"
    assert nodes["published/warehouse"]["groupName"] == "publish"
    for key in ("raw/registry", "marts/dim_firm", "marts/mart_center_plan", "published/warehouse"):
        assert nodes[key]["description"], key
        assert {"team": "data-engineering"} in nodes[key]["owners"], key
    assert nodes["marts/fct_center_month"]["hasAssetChecks"] and nodes["raw/power_bills"]["hasAssetChecks"]

    (repository,) = _graphql(base, REPOSITORY)["repositoriesOrError"]["nodes"]
    assert {"monthly", "economics", "registry_refresh"} <= {j["name"] for j in repository["jobs"]}
    assert [s["name"] for s in repository["schedules"]] == ["monthly_after_bills"]
    assert [s["name"] for s in repository["sensors"]] == ["inbox_sensor"]


def test_a_run_shows_in_the_ui_with_row_counts(webserver, pipeline):
    """A backfill recorded in the UI's instance (as `make backfill` does) is read back through the UI."""
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.runs import run_months

    base, warehouse, home = webserver
    month = pipeline.query("select strftime(max(month), '%Y-%m') from marts.fct_center_month")[0][0]
    with pointed_at(pipeline.inbox, warehouse), dg.DagsterInstance.from_config(str(home)) as instance:
        (result,) = run_months(build_definitions(), month, month, instance)
    assert result.success
    node = _graphql(base, LATEST, {"path": ["marts", "dim_center"]})["assetNodeOrError"]
    entries = {e["label"]: e.get("intValue") for e in node["assetMaterializations"][0]["metadataEntries"]}
    assert entries["dagster/row_count"] == pipeline.query("select count(*) from marts.dim_center")[0][0] > 0
