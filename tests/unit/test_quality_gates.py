"""Quality suites on real DuckDB files with data that violates them, and the publish refusal.

The end-to-end gate (a bad bill blocks a real run) is in tests/integration/test_gate.py; here each
blocking check of the issue is fed violating data directly, which no valid inbox can produce
(a duplicate center key, a mart total that disagrees with its facts).
"""
import datetime as dt
import json

import dagster as dg
import duckdb
import pytest

from orchestration.checks.asset_checks import quality_checks
from orchestration.checks.runner import run_suite, suites
from orchestration.checks_log import CheckRecord, record_checks
from orchestration.publish import PublicationRefused, publish


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "working.duckdb"))
    c.execute("create schema marts; create schema raw; create schema ops")
    yield c
    c.close()


def _outcome(con, asset, name):
    spec = next(s for s in suites()[asset] if s.name == name)
    return run_suite(con, [spec])[name]


def test_unknown_operating_model_only_warns(con):
    con.execute("create table marts.dim_center as select * from (values ('GA-DC-001', '共建共享')) "
                "t(center_code, operating_model)")
    spec = next(s for s in suites()["marts/dim_center"] if s.name == "operating_model_known")
    assert spec.severity == "WARN" and not run_suite(con, [spec])[spec.name].passed


def test_every_error_check_is_blocking_and_every_warn_is_not():
    specs = {(s.asset, s.name): s.severity for specs in suites().values() for s in specs}
    blocking = {}
    for checks_def in quality_checks:
        for spec in checks_def.check_specs:
            blocking[(spec.asset_key.to_user_string(), spec.name)] = spec.blocking
    assert set(blocking) == set(specs)
    assert all(blocking[k] == (sev == "ERROR") for k, sev in specs.items())


def test_publish_refuses_while_a_blocking_check_is_failed_and_keeps_the_previous_file(tmp_path, con):
    con.execute("create table marts.dim_month as select date '2024-01-01' as month")
    record_checks(con, [CheckRecord("center_code_unique", "marts/dim_center", False, "ERROR", "{}", None,
                                    "run-1", dt.datetime(2024, 1, 1))])
    con.close()
    published = tmp_path / "published.duckdb"
    published.write_bytes(b"previous publication")
    with pytest.raises(PublicationRefused, match="center_code_unique"):
        publish(tmp_path / "working.duckdb", published, "run-2")
    assert published.read_bytes() == b"previous publication"
    assert not list(tmp_path.glob(".published-*"))          # no half-written file left behind

    c = duckdb.connect(str(tmp_path / "working.duckdb"))      # the check passes in a later run
    record_checks(c, [CheckRecord("center_code_unique", "marts/dim_center", True, "ERROR", "{}", None,
                                  "run-3", dt.datetime(2024, 1, 2))])
    c.close()
    counts = publish(tmp_path / "working.duckdb", published, "run-3")
    assert counts["marts.dim_month"] == 1
    out = duckdb.connect(str(published), read_only=True)
    assert out.execute("select run_id from audit.publication").fetchone()[0] == "run-3"
    assert out.execute("select count(*) from audit.check_results").fetchone()[0] == 2
    out.close()


def _build(con, relation, sql, invocation):
    """What a dbt build of a published model leaves: the table, and its stamp (macros/record_build.sql)."""
    con.execute(f"create or replace table {relation} as {sql}")
    con.execute("create table if not exists ops.model_builds (relation varchar, invocation_id varchar, "
                "built_at timestamp)")
    con.execute("insert into ops.model_builds values (?, ?, current_localtimestamp())", [relation, invocation])


def test_publish_keeps_the_tables_not_rebuilt_since_the_previous_publication(tmp_path, con):
    working, published = tmp_path / "working.duckdb", tmp_path / "published.duckdb"
    record_checks(con, [])
    _build(con, "marts.dim_firm", "select 'firm v1' as name", "dbt-1")
    _build(con, "marts.dim_month", "select date '2024-01-01' as month", "dbt-1")
    _build(con, "marts.mart_old", "select 1 as x", "dbt-1")
    con.close()
    publish(working, published, "run-1")

    con = duckdb.connect(str(working))
    _build(con, "marts.dim_month", "select date '2024-02-01' as month", "dbt-2")  # rebuilt by the next run
    con.execute("drop table marts.mart_old")                                       # a model removed since
    # not rebuilt by dbt since run-1 (no new stamp): the publication keeps the copy it holds
    con.execute("update marts.dim_firm set name = 'changed without a build'")
    con.close()
    counts = publish(working, published, "run-2")
    out = duckdb.connect(str(published), read_only=True)
    assert out.execute("select month from marts.dim_month").fetchall() == [(dt.date(2024, 2, 1),)]
    assert out.execute("select name from marts.dim_firm").fetchall() == [("firm v1",)]
    assert "mart_old" not in {r[0] for r in out.execute("select table_name from duckdb_tables()").fetchall()}
    assert out.execute("select run_id from audit.publication").fetchall() == [("run-2",)]
    assert counts["marts.dim_firm"] == 1
    out.close()

    # a publication file other than the one recorded (an older one restored, say): every table copied again
    backup = tmp_path / "backup.duckdb"
    backup.write_bytes(published.read_bytes())
    publish(working, published, "run-3")
    backup.replace(published)
    publish(working, published, "run-4")
    out = duckdb.connect(str(published), read_only=True)
    assert out.execute("select name from marts.dim_firm").fetchall() == [("changed without a build",)]
    out.close()


def test_a_failed_blocking_check_stops_downstream_in_the_same_run(tmp_path):
    """Dagster semantics the gate relies on: a blocking check that fails skips its downstream assets."""
    @dg.asset
    def upstream():
        return 1

    @dg.asset_check(asset=upstream, blocking=True)
    def always_fails():
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR)

    @dg.asset(deps=[upstream])
    def downstream():
        return 2

    result = dg.materialize([upstream, downstream, always_fails], raise_on_error=False,
                            instance=dg.DagsterInstance.ephemeral())
    assert not result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"upstream"}


# --- every check of the suites, fed a violation ------------------------------------------------

def _violation(spec):
    """A one-table dataset (columns → values) that the GX expectation must refuse."""
    kw = spec.kwargs
    if spec.gx == "ExpectColumnValuesToNotBeNull":
        return {kw["column"]: ["x", None]}
    if spec.gx == "ExpectColumnValuesToBeBetween":
        bad = kw["min_value"] - 1 if kw.get("min_value") is not None else kw["max_value"] + 1
        return {kw["column"]: [kw.get("min_value", 0) or 0, bad]}
    if spec.gx == "ExpectColumnValuesToMatchRegex":
        return {kw["column"]: ["not-a-valid-value-I"]}
    if spec.gx == "ExpectColumnValuesToBeUnique":
        return {kw["column"]: ["A", "A"]}
    if spec.gx == "ExpectCompoundColumnsToBeUnique":
        return {c: ["k", "k"] for c in kw["column_list"]}
    if spec.gx == "ExpectColumnValuesToBeInSet":
        return {kw["column"]: ["something else"]}
    raise AssertionError(f"add a violation for {spec.gx}")


GX_SPECS = [s for specs in suites().values() for s in specs if s.gx]


@pytest.mark.parametrize("spec", GX_SPECS, ids=[f"{s.asset}:{s.name}" for s in GX_SPECS])
def test_every_expectation_refuses_its_violation(con, spec):
    import pandas as pd

    frame = pd.DataFrame(_violation(spec))  # noqa: F841 (read by DuckDB)
    schema, table = spec.table.split(".")
    con.execute(f"create schema if not exists {schema}")
    con.execute(f"create table {spec.table} as select * from frame")
    outcome = run_suite(con, [spec])[spec.name]
    assert not outcome.passed and json.loads(outcome.observed)["unexpected_count"] >= 1


SQL_VIOLATIONS = {
    ("raw/dc_ledger", "racks_in_order"):
        "create table raw.dc_ledger as select 10 as racks_in_use, 5 as racks_built, 20 as racks_designed",
    ("raw/dc_ledger", "rows_reconcile_with_manifest"):
        "create table raw.dc_ledger as select 1 as x; "
        "create table ops.file_manifest as select 'dc_ledger' as source_kind, 2 as rows_loaded",
    ("raw/power_bills", "rows_reconcile_with_manifest"):
        "create table raw.power_bills as select 1 as x; "
        "create table ops.file_manifest as select 'power' as source_kind, 0 as rows_loaded",
    ("audit/file_manifest", "every_file_reconciles"):
        "create schema audit; create table ops.file_manifest as select 'loaded' as status, "
        "3 as rows_read, 1 as rows_loaded, 1 as rows_rejected",
    ("audit/file_manifest", "refusals_have_reasons"):
        "create schema audit; create table ops.file_manifest as select 'rejected' as status, null as reason",
    ("audit/file_manifest", "duplicates_add_nothing"):
        "create table ops.file_manifest as select 'abc' as file_sha256, 'duplicate' as status; "
        "create table raw.dc_ledger as select 'abc' as file_sha256; "
        "create table raw.projects as select 'x' as file_sha256 where false; "
        "create table raw.power_bills as select 'x' as file_sha256 where false; "
        "create table raw.registry as select 'x' as file_sha256 where false",
    ("marts/fct_center_month", "latest_month_fresh"):
        "create table marts.fct_center_month as select date '2001-01-01' as month",
    ("marts/fct_power_bill", "unclaimed_accounts"):
        "create table marts.fct_power_bill as select '01' as account_no, null as center_key",
    ("marts/dim_firm", "one_current_version"):
        "create table marts.dim_firm as select * from (values ('U', true), ('U', true)) t(uscc, is_current)",
}
SQL_SPECS = [s for specs in suites().values() for s in specs if s.sql]


def test_every_sql_check_has_a_violation_case():
    assert {(s.asset, s.name) for s in SQL_SPECS} == set(SQL_VIOLATIONS)


@pytest.mark.parametrize("spec", SQL_SPECS, ids=[f"{s.asset}:{s.name}" for s in SQL_SPECS])
def test_every_sql_check_refuses_its_violation(con, spec):
    con.execute(SQL_VIOLATIONS[(spec.asset, spec.name)])
    outcome = run_suite(con, [spec])[spec.name]
    assert not outcome.passed and json.loads(outcome.observed)["offending_rows"] >= 1


def test_a_removed_check_cannot_block_publication_for_ever(tmp_path, con):
    con.execute("create table marts.dim_month as select date '2024-01-01' as month")
    record_checks(con, [CheckRecord("old_check", "marts/dim_month", False, "ERROR", "{}", None, "run-1",
                                    dt.datetime(2024, 1, 1))])
    con.close()
    published = tmp_path / "published.duckdb"
    with pytest.raises(PublicationRefused):
        publish(tmp_path / "working.duckdb", published, "run-2", {("old_check", "marts/dim_month")})
    assert publish(tmp_path / "working.duckdb", published, "run-2", {("new_check", "marts/dim_month")})


def test_dbt_check_history_keeps_each_tests_own_severity(tmp_path, con):
    """dagster-dbt reports every passing test as ERROR; a warn-only test must be recorded as WARN all the same."""
    from orchestration.assets.dbt import build_dbt_assets, record_dbt_checks
    from orchestration.dbt_project import ensure_manifest

    warehouse_models, tests = build_dbt_assets(ensure_manifest())
    warn = next(k for k in warehouse_models.check_keys if k not in tests.blocking)
    error = next(iter(tests.blocking))
    events = [dg.AssetCheckEvaluation(asset_key=k.asset_key, check_name=k.name, passed=passed,
                                      severity=dg.AssetCheckSeverity.ERROR if error_sev else dg.AssetCheckSeverity.WARN)
              for k, passed, error_sev in ((warn, True, True), (error, True, True), (warn, False, False),
                                           (error, False, True))]
    records = record_dbt_checks(con, events, tmp_path / "absent_run_results.json", "run-1", tests)
    assert [(r.passed, r.severity) for r in records] == [(True, "WARN"), (True, "ERROR"), (False, "WARN"),
                                                         (False, "ERROR")]
    assert con.execute("select count(*) from ops.check_results").fetchone()[0] == 4


# great-expectations expectations and the dbt generic tests that check the same rule
SAME_RULE = {"ExpectColumnValuesToBeBetween": {"accepted_range"}, "ExpectColumnValuesToBeUnique": {"unique"},
             "ExpectCompoundColumnsToBeUnique": {"unique_combination_of_columns", "unique"},
             "ExpectColumnValuesToBeInSet": {"accepted_values"},
             "ExpectColumnValuesToNotBeNull": {"not_null", "not_null_columns"}}


def test_no_rule_is_checked_both_by_a_quality_suite_and_by_dbt():
    """One owner per check (docs/quality.md): an expectation of suites.yaml is not also a dbt test of the same
    kind on the same table and columns."""
    from orchestration.dbt_project import ensure_manifest

    manifest = json.loads(ensure_manifest().read_text(encoding="utf-8"))
    dbt_rules = set()
    for node in manifest["nodes"].values():
        test = node.get("test_metadata")
        if node["resource_type"] != "test" or not test:
            continue
        parent = node["depends_on"]["nodes"][0]
        table = (manifest["sources"][parent]["name"] if parent in manifest["sources"]
                 else manifest["nodes"][parent].get("alias") or manifest["nodes"][parent]["name"])
        kwargs = test.get("kwargs") or {}
        columns = kwargs.get("columns") or kwargs.get("combination_of_columns") or [node.get("column_name")]
        dbt_rules |= {(table, test["name"], column) for column in columns}
    assert any(rule[1] == "accepted_range" for rule in dbt_rules)  # the manifest was read
    both = [(spec.asset, spec.name) for spec in GX_SPECS for kind in SAME_RULE.get(spec.gx, ())
            for column in spec.columns if (spec.table.split(".")[1], kind, column) in dbt_rules]
    assert both == [], f"checked both in suites.yaml and by dbt (keep one, docs/quality.md): {both}"
