"""dbt models as Dagster assets: one ``dbt build`` per run; dbt tests are the asset checks.

The models are not partitioned (they are tables of the whole history), but the monthly job's runs
are: a run over a month range passes its window to dbt as environment variables (``DCW_MONTH_FROM``
inclusive, ``DCW_MONTH_TO`` exclusive, ISO dates: unlike --vars, they do not make dbt re-parse the
whole project), and the incremental fact tables replace those months only
(and any month whose cross-month attributes went stale, decided in SQL); the other models are
tables rebuilt whole. A run tagged ``dcw/full_refresh=true`` (what ``make run`` does) runs ``dbt
build --full-refresh``: every month rebuilt from raw. Any other run (the models materialised alone
from the UI, say) replaces every month. Each model's materialization names the run's months
(metadata ``months``: the incremental facts replaced those, the other tables were rebuilt whole)
and, for a table, its row count (``dagster/row_count``, read once dbt is done: the
materializations are reported then, the test results as they come).

Every test result of the build is appended to ``ops.check_results`` (published as
``audit.check_results``), with a sample of the failing rows for tests that failed. A failing
error-severity test fails the step, so publication, which depends on the marts, does not run.

Tests on dbt sources are no Dagster checks (a blocking check on the raw/ops assets, which the
ingestion step writes, would make Dagster split the dbt step around ingestion): their results are
read from dbt's run_results.json and recorded under the source's asset all the same.

After a successful build, the project's column lineage is derived from the build's manifest
(``orchestration/column_lineage.py``, no database), written to ``ops.column_lineage`` (published
as ``audit.column_lineage``) and attached to each model's materialization as Dagster's
``dagster/column_lineage``.
"""
import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import get_asset_check_key_for_test

from orchestration.assets.ingestion import WORKING_DB_POOL
from orchestration.checks_log import CheckRecord, failing_rows_sample, record_checks
from orchestration.dbt_project import DBT_PROJECT, TRANSLATOR, compile_models, ensure_manifest, wait_for_parse
from orchestration.partitions import FULL_REFRESH_TAG, MONTHLY_JOB, dbt_month_window, months_of_run
from orchestration.resources import Warehouse, environment

# What dagster-dbt yields for a dbt test: AssetCheckResult inside an asset run, AssetCheckEvaluation outside one.
CHECK_EVENTS = (dg.AssetCheckResult, dg.AssetCheckEvaluation)


LINEAGE_CACHE = "column_lineage_cache.json"  # beside the manifest: compiled SQL and each model's lineage, by content
NO_WINDOW = {"DCW_MONTH_FROM": "", "DCW_MONTH_TO": ""}
# dbt unit tests (unit_tests: in the models' yml) test SQL on hand-made rows: they run in `make test`
# (tests/integration/test_dbt_unit_tests.py), not in a production build
BUILD = ["build", "--exclude-resource-type", "unit_test"]


def dbt_build_args(context: dg.AssetExecutionContext) -> tuple[list[str], dict[str, str], str]:
    """``dbt build`` (``--full-refresh`` for a full run), the environment giving it the monthly run's
    window (every month without one), and which months that replaces, in words."""
    if context.run.tags.get(FULL_REFRESH_TAG) == "true":
        return [*BUILD, "--full-refresh"], NO_WINDOW, "all (rebuilt from raw)"
    months = months_of_run(context.run.tags) if context.run.job_name == MONTHLY_JOB else None
    if months is None:
        return BUILD, NO_WINDOW, "all"
    return BUILD, dbt_month_window(*months), f"{months[0]} to {months[1]}"


@dbt_assets(manifest=ensure_manifest(), project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR,
            pool=WORKING_DB_POOL)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    args, env, months = dbt_build_args(context)
    context.log.info(f"dbt {' '.join(args)} ({', '.join(f'{k}={v}' for k, v in env.items() if v) or 'every month'})")
    wait_for_parse()  # a parse the command line started in the background (orchestration/dbt_project.py)
    with warehouse.connect():  # a lock held by another process: waited for, then reported with its PID
        pass
    with environment(env):
        invocation = dbt.cli(args, context=context, raise_on_error=False)
    checks, outputs = [], []
    for event in invocation.stream():
        if isinstance(event, dg.Output):
            outputs.append(event)  # held until dbt is done: their row counts are read from the file dbt writes
            continue
        if isinstance(event, CHECK_EVENTS):
            checks.append(event)
        yield event
    # column lineage from the build's compiled SQL (no database); not for a failed build, which publishes nothing
    manifest = invocation.target_path / "manifest.json"
    lineage = column_lineage_of(manifest) if invocation.is_successful() else None
    with warehouse.connect() as con:
        records = record_dbt_checks(con, checks, invocation.target_path / "run_results.json", context.run.run_id)
        counts = table_row_counts(con)
        if lineage is not None:
            write_column_lineage(con, lineage)
    by_model = column_lineage_metadata(lineage, manifest) if lineage else {}
    for output in outputs:
        key = context.asset_key_for_output(output.output_name)
        rows = counts.get(tuple(key.path))
        yield output.with_metadata({**output.metadata, "months": months,
                                    **({"dagster/row_count": rows} if rows is not None else {}),
                                    **({"dagster/column_lineage": by_model[key]} if key in by_model else {})})
    if not invocation.is_successful():
        failed = [f"{r.check_name} on {r.asset}" for r in records if not r.passed and r.severity == "ERROR"]
        detail = ("blocking checks failed: " + "; ".join(failed)) if failed else "a model failed to build"
        raise dg.Failure(f"dbt build failed, nothing is published ({detail}). See the dbt log in the run "
                         "and audit.check_results.", metadata={"failed_checks": failed})


def column_lineage_of(manifest: Path) -> list:
    """The project's column lineage (orchestration/column_lineage.py) from the build's manifest."""
    from orchestration.column_lineage import derive  # sqlglot: imported when a build needs it

    return derive(manifest, DBT_PROJECT.manifest_path.with_name(LINEAGE_CACHE), compile_models=compile_models)


def write_column_lineage(con: duckdb.DuckDBPyConnection, lineage: list) -> None:
    from orchestration.column_lineage import write

    write(con, lineage)


def column_lineage_metadata(lineage: list, manifest: Path) -> dict[dg.AssetKey, dg.TableColumnLineage]:
    """Each model's asset key → its columns' upstream columns, as Dagster's column lineage."""
    keys = _asset_keys(manifest)
    deps: dict[dg.AssetKey, dict[str, list[dg.TableColumnDep]]] = {}
    for edge in lineage:
        columns = deps.setdefault(keys[edge.published_node], {})
        columns.setdefault(edge.published_column, [])
        if edge.upstream_node is not None:
            columns[edge.published_column].append(
                dg.TableColumnDep(asset_key=keys[edge.upstream_node], column_name=edge.upstream_column))
    return {key: dg.TableColumnLineage(deps_by_column=columns) for key, columns in deps.items()}


def _asset_keys(manifest_path: Path) -> dict[str, dg.AssetKey]:
    """dbt unique id → asset key, as the translator keys the models and sources."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return {uid: TRANSLATOR.get_asset_key(props)
            for uid, props in {**manifest["nodes"], **manifest["sources"]}.items()
            if props["resource_type"] in ("model", "source")}


def table_row_counts(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """(schema, table) → rows, for the tables dbt builds (views have no stored rows to count)."""
    tables = con.execute("select schema_name, table_name from duckdb_tables() where database_name = current_database() "
                         "and schema_name not in ('raw', 'ops')").fetchall()
    return {(schema, table): con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            for schema, table in tables}


# dagster-dbt gives a passing test the severity ERROR whatever its dbt severity; the history records the configured one.
BLOCKING_DBT_CHECKS = {spec.key for spec in warehouse_models.check_specs if spec.blocking}


def _dbt_tests() -> dict[str, tuple[dg.AssetCheckKey, str]]:
    """unique_id → (check key, configured severity) of every dbt test, keyed as dagster-dbt keys its check events
    (a test dagster-dbt cannot key is recorded under its first parent)."""
    manifest = json.loads(ensure_manifest().read_text(encoding="utf-8"))
    nodes = {**manifest["nodes"], **manifest["sources"]}
    tests = {}
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "test":
            continue
        key = get_asset_check_key_for_test(manifest, TRANSLATOR, unique_id, DBT_PROJECT) or dg.AssetCheckKey(
            TRANSLATOR.get_asset_key(nodes[node["depends_on"]["nodes"][0]]), node["name"])
        tests[unique_id] = (key, str(node["config"]["severity"]).upper())
    return tests


DBT_TESTS = _dbt_tests()


def record_dbt_checks(con: duckdb.DuckDBPyConnection, checks: Iterable[dg.AssetCheckResult | dg.AssetCheckEvaluation],
                      run_results: Path, run_id: str) -> list[CheckRecord]:
    """Append the test results of one dbt invocation to ``ops.check_results``; return the records.

    The asset checks come from dagster-dbt's check events; the tests that are no asset check (on
    dbt sources) from dbt's run_results.json. Failing tests get a sample of their failing rows, from
    the compiled SQL in run_results.json.
    """
    results = _test_results(run_results)
    compiled = {uid: r.get("compiled_code") for uid, r in results.items() if r.get("status") != "pass"}
    now = dt.datetime.now()
    records, seen = [], set()
    for event in checks:
        meta = {k: getattr(v, "value", v) for k, v in (event.metadata or {}).items()}
        seen.add(meta.get("unique_id"))
        records.append(CheckRecord(
            check_name=event.check_name, asset="/".join(event.asset_key.path), passed=event.passed,
            severity=event.severity.value if not event.passed else (
                "ERROR" if dg.AssetCheckKey(event.asset_key, event.check_name) in BLOCKING_DBT_CHECKS else "WARN"),
            observed_value=json.dumps({"failed_rows": meta.get("dagster_dbt/failed_row_count"),
                                       "status": meta.get("status")}, default=str),
            failing_sample=None if event.passed else failing_rows_sample(con, compiled.get(meta.get("unique_id"))),
            run_id=run_id, checked_at=now))
    for unique_id, result in results.items():  # tests that are no asset check: dbt sources' tests
        status = result.get("status")
        if unique_id in seen or unique_id not in DBT_TESTS or status == "skipped":
            continue
        key, configured = DBT_TESTS[unique_id]
        passed = status == "pass"
        records.append(CheckRecord(
            check_name=key.name, asset="/".join(key.asset_key.path), passed=passed,
            severity="WARN" if status == "warn" or (passed and configured == "WARN") else "ERROR",
            observed_value=json.dumps({"failed_rows": result.get("failures"), "status": status}),
            failing_sample=None if passed else failing_rows_sample(con, compiled.get(unique_id)),
            run_id=run_id, checked_at=now))
    record_checks(con, records)
    return records


def _test_results(run_results: Path) -> dict[str, dict]:
    """unique_id → result of the tests in dbt's run_results.json (status, failures, compiled SQL)."""
    try:
        results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return {}
    return {r["unique_id"]: r for r in results if r["unique_id"].startswith("test.")}
