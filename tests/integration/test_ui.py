"""`make ui` for real: Dagster on 127.0.0.1 serves the app and the asset graph by layer, and runs backfills.

The UI is started as `make ui` starts it (`dagster dev`: webserver and daemon; same module, same
instance configuration, a temporary Dagster home), and asked what an operator sees: the app page,
and through its GraphQL API the assets with their groups, descriptions, owners, partitions and
checks, plus the jobs, schedule and sensor. A run recorded in that instance shows with row counts.
Then a backfill of two months is launched the way the UI launches it, and the daemon runs it.
"""
import json
import os
import shutil
import signal
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


@pytest.fixture(scope="module")
def webserver(pipeline, tmp_path_factory):
    """`make ui` (dagster dev: the webserver and the daemon) over a copy of the pipeline's
    warehouse, with its own Dagster home; yields (base URL, warehouse, Dagster home)."""
    from orchestration.instance import ensure_dagster_home

    tmp = tmp_path_factory.mktemp("ui")
    warehouse = tmp / "warehouse"
    shutil.copytree(pipeline.warehouse, warehouse)
    saved = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(tmp / "home")
    try:
        home = ensure_dagster_home()
    finally:
        os.environ.pop("DAGSTER_HOME") if saved is None else os.environ.__setitem__("DAGSTER_HOME", saved)
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "DCW_INBOX": str(pipeline.inbox), "DCW_WAREHOUSE": str(warehouse)}
    dagster = Path(sys.executable).with_name("dagster")
    log = (tmp / "dagster_dev.log").open("w")  # a file, not a pipe: a full pipe would block the runs' output
    # as `make ui`: the code location named in pyproject.toml ([tool.dagster]), read from the project's folder
    proc = subprocess.Popen([str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port)], cwd=Path(__file__).parents[2],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                _get(f"{base}/server_info")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    pytest.fail("the UI did not start:\n" + (tmp / "dagster_dev.log").read_text()[-3000:])
                time.sleep(1)
        yield base, warehouse, home
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # dagster dev stops its webserver, daemon and code server
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


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


LAUNCH_BACKFILL = """mutation ($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
BACKFILL = """query ($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill {
  status runs { runId status tags { key value } } } } }"""
LOCATION = """{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"""


def test_a_backfill_of_two_months_launched_from_the_ui_is_one_run_that_publishes(webserver, pipeline):
    import duckdb

    base, warehouse, _ = webserver
    months = [m for (m,) in pipeline.query(
        "select distinct strftime(month, '%Y-%m') from marts.fct_center_month order by 1")][1:3]
    (repository,) = _graphql(base, LOCATION)["repositoriesOrError"]["nodes"]
    assert repository["location"]["name"] == "dc_cluster_warehouse"  # the project's name, not a module's
    selector = {"partitionSetName": "monthly_partition_set", "repositorySelector": {
        "repositoryLocationName": repository["location"]["name"], "repositoryName": repository["name"]}}
    launched = _graphql(base, LAUNCH_BACKFILL, {"params": {"selector": selector, "partitionNames": months,
                                                           "fromFailure": False}})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    deadline = time.monotonic() + 600
    while True:
        backfill = _graphql(base, BACKFILL, {"id": launched["backfillId"]})["partitionBackfillOrError"]
        runs = backfill["runs"]
        if runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
            break
        assert time.monotonic() < deadline, f"the backfill did not finish: {backfill}; see {warehouse.parent}"
        time.sleep(3)
    (run,) = runs  # the single-run backfill policy: the range is one run
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert run["status"] == "SUCCESS"
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == tuple(months)
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as con:
        assert con.execute("select run_id from audit.publication").fetchone()[0] == run["runId"]
