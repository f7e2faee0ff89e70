"""Every blocking dbt test, fed data that violates it: dbt fails it and publication is refused, naming it.

The blocking tests (severity error) are read from the dbt manifest, so a new one is covered without
editing this file; one for which no violating data can be generated fails its own item here, with
a message naming it. Violations are made by test kind from the manifest's test metadata (unique:
a duplicated row; not_null_columns: each column NULL in a row of its own, every one of which the
test must report; accepted_values: a value outside the list; relationships: an orphan key;
accepted_range, sum_of_parts, sums_match, expression_is_true: a value that breaks them; singular
tests: one hand-written violation each).

They are written into copies of a working file built by dbt from tests/fixtures/raw_minimal.sql
(whose build passed every blocking test), in which each staging view is replaced by a table of
exactly its rows, so a violation of one relation does not leak into the views above it; the dbt
sources are the raw/ops tables themselves. No model declares column constraints
(contracts here enforce names and types only), so every violation can be written; were the
database to refuse one, the test's item fails saying it must be proven by a build refusal instead.

Speed: tests whose violations cannot interfere (no violation writes a column that another test of
the batch reads, and at most one added row per relation) share one copy and one ``dbt test``. Each
batch goes through the pipeline's own code: the definitions' DbtCliResource and translator turn
dbt's results into check events, ``record_dbt_checks`` (what the dbt asset calls) appends them to
ops.check_results, and ``publish`` (what the publish asset calls) must refuse, naming every
failed test, while the previously published file stays byte-identical.
"""
from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from orchestration.dbt_project import DBT_DIR, ensure_manifest
from orchestration.publish import PublicationRefused, publish

pytestmark = pytest.mark.integration

MANIFEST = json.loads(ensure_manifest().read_text(encoding="utf-8"))
BLOCKING = sorted(uid for uid, n in MANIFEST["nodes"].items()
                  if n["resource_type"] == "test" and str(n["config"]["severity"]).lower() == "error")
LIST_LIMIT = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]["dcw_max_list_items"]
HERE = Path(__file__).name

Col = tuple[str, str]  # (relation, column); column "*" stands for every column, ROWS for the set of rows
# A violation that adds a row writes ROWS; tests comparing rows with each other (unique, sums) read it. Tests of
# one row at a time do not: the added row copies an existing one, so it brings no violation that was not there.
ROWS = "+rows"


class NoViolation(Exception):
    """No violating data could be generated for a test."""


# --- relations and values ------------------------------------------------------------------------

def relation(node: dict) -> str:
    return f"{node['schema']}.{node.get('alias') or node.get('identifier') or node['name']}"


def resolve(expr: str) -> dict:
    """The node of "ref('x')", "source('a', 'b')" or a generic test's "{{ get_where_subquery(...) }}"."""
    if m := re.search(r"source\(\s*'(\w+)'\s*,\s*'(\w+)'\s*\)", expr):
        return next(n for n in MANIFEST["sources"].values() if (n["source_name"], n["name"]) == m.groups())
    if m := re.search(r"ref\(\s*'(\w+)'\s*\)", expr):
        return next(n for n in MANIFEST["nodes"].values()
                    if n["resource_type"] in ("model", "seed", "snapshot") and n["name"] == m.group(1))
    raise NoViolation(f"cannot resolve {expr!r} to a model or source")


def identifiers(sql: str | None, columns: dict[str, str]) -> set[str]:
    """The columns of ``columns`` that a SQL fragment mentions."""
    return {w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql or "") if w in columns}


def first_row(rel: str, *conditions: str | None) -> str:
    """A predicate selecting one row of ``rel``: the first one meeting every condition given."""
    where = " and ".join(f"({c})" for c in conditions if c) or "true"
    return f"rowid = (select min(rowid) from {rel} where {where})"


NUMERIC = re.compile(r"(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|FLOAT|DOUBLE|REAL|DECIMAL.*)")


def odd_values(dtype: str) -> list[str]:
    """SQL literals of a type that no clean row holds (orphan keys, values outside a list)."""
    dtype = dtype.upper()
    if NUMERIC.fullmatch(dtype):
        return ["-987654", "987654"]
    if dtype == "DATE":
        return ["DATE '1900-01-01'", "DATE '2999-12-01'"]
    if dtype.startswith("TIMESTAMP"):
        return ["TIMESTAMP '1900-01-01 00:00:00'"]
    if dtype == "BOOLEAN":
        return ["true", "false"]
    if dtype == "VARCHAR":
        return ["'zz-violation'", "'ZZ-999'"]
    raise NoViolation(f"no odd value for the type {dtype}")


def changes(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run an UPDATE or INSERT that must change a row."""
    if not con.execute(sql).fetchone()[0]:
        raise NoViolation(f"no row to change: {sql}")


# --- one violation per blocking test -------------------------------------------------------------

@dataclass
class Violation:
    test_id: str
    name: str
    kind: str
    what: str                                            # in words, for failure messages
    apply: Callable[[duckdb.DuckDBPyConnection], int | None]  # may return the failing rows the test must report
    writes: set[Col]
    reads: set[Col]

    def clashes_with(self, other: Violation) -> bool:
        def touch(a: set[Col], b: set[Col]) -> bool:
            return any(ra == rb and (ca == cb or "*" in (ca, cb)) for ra, ca in a for rb, cb in b)
        return touch(self.writes, other.reads) or touch(other.writes, self.reads) or touch(self.writes, other.writes)


class Planner:
    """Builds the violation of each blocking test from its manifest metadata and the built database."""

    def __init__(self, built: duckdb.DuckDBPyConnection):
        self.types: dict[str, dict[str, str]] = {}
        for schema, table, column, dtype in built.execute(
                "select table_schema, table_name, column_name, data_type from information_schema.columns "
                "where table_catalog = current_database()").fetchall():
            self.types.setdefault(f"{schema}.{table}", {})[column] = dtype

    def plan(self, test_id: str) -> Violation:
        test = MANIFEST["nodes"][test_id]
        meta = test.get("test_metadata")
        if not meta:
            return self.singular(test)
        kind, kw = meta["name"], meta.get("kwargs", {})
        node = MANIFEST["nodes"][test["attached_node"]] if test.get("attached_node") else resolve(kw["model"])
        rel = relation(node)
        cols = self.types.get(rel)
        if not cols:
            raise NoViolation(f"{rel} is not in the built database")
        constraints = [c.get("type") for c in node.get("constraints", [])] + [
            c.get("type") for column in node.get("columns", {}).values() for c in column.get("constraints", [])]
        if constraints:  # none today; then the build refusing is the proof, not a mutated table
            raise NoViolation(f"{rel} declares constraints {constraints}: prove this test by the build refusing")
        make = getattr(self, f"kind_{kind}", None)
        if make is None:
            raise NoViolation(f"no violation generator for the test kind {kind!r}: add one to {HERE}")
        where = test["config"].get("where")
        apply, writes, read, what = make(rel, cols, kw, where)
        reads = {(rel, c) for c in read | identifiers(where, cols)}
        if "to" in kw:
            reads.add((relation(resolve(kw["to"])), kw["field"]))
        if "compare_model" in kw:
            other = relation(resolve(kw["compare_model"]))
            used = identifiers(f"{kw['compare_column']} {kw.get('compare_condition', '')}", self.types.get(other, {}))
            reads |= {(other, c) for c in used or {"*"}} | {(other, ROWS)}
        return Violation(test_id, test["name"], kind, what, apply, writes, reads)

    # One method per generic test kind: (apply, writes, columns read on the tested relation, in words).

    def kind_not_null(self, rel, cols, kw, where):
        c = kw["column_name"]
        sql = f"update {rel} set {c} = null where {first_row(rel, f'{c} is not null', where)}"
        return lambda con: changes(con, sql), {(rel, c)}, {c}, f"{c} set to NULL in one row of {rel}"

    def kind_not_null_columns(self, rel, cols, kw, where):
        """Each column NULL in a row of its own (as many rows as there are): the test must fail on each of
        those rows, so a column the test forgot to check shows as a missing failure."""
        columns = kw["columns"]

        def apply(con):
            rows = [r[0] for r in con.execute(f"select rowid from {rel} where {where or 'true'} order by rowid "
                                              f"limit {len(columns)}").fetchall()]
            if not rows:
                raise NoViolation(f"{rel} has no row to set to NULL")
            for i, c in enumerate(columns):
                changes(con, f"update {rel} set {c} = null where rowid = {rows[i % len(rows)]}")
            return len(rows)  # the failing rows the test must report
        # reads the set of rows too: a row another violation adds (a copy of one of these) would be one more failure
        return apply, {(rel, c) for c in columns}, {*columns, ROWS}, \
            f"each of {', '.join(columns)} set to NULL in a row of its own of {rel}"

    def kind_unique(self, rel, cols, kw, where):
        c = kw["column_name"]
        sql = f"insert into {rel} select * from {rel} where {first_row(rel, f'{c} is not null', where)}"
        return lambda con: changes(con, sql), {(rel, ROWS)}, {c, ROWS}, f"a row of {rel} duplicated (same {c})"

    def kind_unique_combination_of_columns(self, rel, cols, kw, where):
        combo = kw["combination_of_columns"]
        sql = f"insert into {rel} select * from {rel} where {first_row(rel, where)}"
        read = set().union(*(identifiers(c, cols) for c in combo)) | {ROWS}
        return lambda con: changes(con, sql), {(rel, ROWS)}, read, f"a row of {rel} duplicated ({', '.join(combo)})"

    def kind_accepted_values(self, rel, cols, kw, where):
        c, allowed = kw["column_name"], {str(v).lower() for v in kw["values"]}
        value = next((v for v in odd_values(cols[c]) if v.strip("'").lower() not in allowed), None)
        if value is None:
            raise NoViolation(f"no value of type {cols[c]} outside {kw['values']}")
        sql = f"update {rel} set {c} = {value} where {first_row(rel, where)}"
        return lambda con: changes(con, sql), {(rel, c)}, {c}, f"{c} = {value} (not accepted) in one row of {rel}"

    def kind_relationships(self, rel, cols, kw, where):
        c, parent, key = kw["column_name"], relation(resolve(kw["to"])), kw["field"]

        def apply(con):
            value = next((v for v in odd_values(cols[c])
                          if not con.execute(f"select count(*) from {parent} where {key} = {v}").fetchone()[0]), None)
            if value is None:
                raise NoViolation(f"every candidate orphan of {c} exists in {parent}")
            changes(con, f"update {rel} set {c} = {value} where {first_row(rel, where)}")
        return apply, {(rel, c)}, {c}, f"{c} set to a key absent from {parent} in one row of {rel}"

    def kind_accepted_range(self, rel, cols, kw, where):
        c, step = kw["column_name"], 1 if kw.get("inclusive", True) else 0
        if kw.get("max_value") is not None:
            value = f"{kw['max_value']} + {step}"
        elif kw.get("min_value") is not None:
            value = f"{kw['min_value']} - {step}"
        else:
            raise NoViolation("an accepted_range without bounds cannot fail")
        sql = f"update {rel} set {c} = {value} where {first_row(rel, f'{c} is not null', where)}"
        return lambda con: changes(con, sql), {(rel, c)}, {c}, f"{c} = {value} (out of range) in one row of {rel}"

    def kind_sum_of_parts(self, rel, cols, kw, where):
        c, parts = kw["column_name"], kw["parts"]
        total = " + ".join(f"coalesce({p}, 0)" for p in parts)
        sql = f"update {rel} set {c} = {total} + 1000 where {first_row(rel, where)}"
        return lambda con: changes(con, sql), {(rel, c)}, {c, *parts}, f"{c} = its parts + 1000 in one row of {rel}"

    def kind_sums_match(self, rel, cols, kw, where):
        c, condition = kw["column_name"], kw.get("model_condition")
        sql = f"update {rel} set {c} = coalesce({c}, 0) + 1000 where {first_row(rel, condition, where)}"
        return (lambda con: changes(con, sql), {(rel, c)}, {c, ROWS} | identifiers(condition, cols),
                f"{c} + 1000 in one row of {rel}, so its total no longer matches")

    def kind_expression_is_true(self, rel, cols, kw, where):
        expression, mentioned = kw["expression"], identifiers(kw["expression"], cols)
        null_fails = not kw.get("allow_null", True)

        def apply(con):
            row = first_row(rel, where)
            for c in sorted(mentioned):
                for value in [*odd_values(cols[c]), *(["0", "-1"] if NUMERIC.fullmatch(cols[c].upper()) else []),
                              *(["null"] if null_fails else [])]:
                    breaks = f"not ({expression})" + (f" or ({expression}) is null" if null_fails else "")
                    probe = f"select count(*) from (select * replace ({value} as {c}) from {rel} where {row}) " \
                            f"where {breaks}"
                    if con.execute(probe).fetchone()[0]:
                        changes(con, f"update {rel} set {c} = {value} where {row}")
                        return
            raise NoViolation(f"no single-column change of one row makes {expression!r} false")
        return apply, {(rel, c) for c in mentioned}, mentioned, f"one row of {rel} made to break {expression!r}"

    def singular(self, test: dict) -> Violation:
        """Singular tests: one hand-written violation each."""
        name = test["name"]

        def make(what, sql, writes, reads):
            return Violation(test["unique_id"], name, "singular", what, lambda con: changes(con, sql), writes, reads)
        if name == "assert_no_raw_legal_rep_published":
            def add_column(con):  # ALTER returns no count; the column is then checked by the test itself
                con.execute("alter table marts.dim_firm add column legal_representative varchar")
            return Violation(test["unique_id"], name, "singular", "marts.dim_firm given a legal_representative column",
                             add_column,
                             {("marts.dim_firm", "legal_representative"), ("information_schema.columns", "*")},
                             {("information_schema.columns", "*")})
        if name == "assert_list_items_within_limit":
            rel = "staging.stg_raw__center_months"
            items = ",".join(f"{i:012d}" for i in range(LIST_LIMIT + 1))
            return make(f"{LIST_LIMIT + 1} power accounts in one cell of {rel}",
                        f"update {rel} set power_accounts = '{items}' where {first_row(rel)}",
                        {(rel, "power_accounts")},
                        {(rel, "power_accounts"), ("staging.stg_raw__firm_snapshots", "former_names")})
        if name == "assert_manifest_rows_match_raw":
            rel, loaded = "staging.stg_ops__files", "status = 'loaded'"  # what it reads of ops.file_manifest
            raw = {(relation(MANIFEST["sources"][s]), "*") for s in test["depends_on"]["nodes"] if s.startswith("source.")}
            return make("a loaded file's rows_loaded one more than its rows in raw",
                        f"update {rel} set rows_loaded = rows_loaded + 1 where {first_row(rel, loaded)}",
                        {(rel, "rows_loaded")}, raw | {(rel, "*"), ("staging.stg_ops__rejected_rows", "*")})
        raise NoViolation(f"the singular test {name} has no hand-written violation: add one to {HERE}")


def pack(violations: list[Violation]) -> list[list[Violation]]:
    """Batches of violations that leave each other's tests alone (first fit, most-read tests first)."""
    batches: list[list[Violation]] = []
    for v in sorted(violations, key=lambda v: (-len(v.reads), v.name)):
        home = next((b for b in batches if not any(v.clashes_with(o) for o in b)), None)
        if home is None:
            batches.append(home := [])
        home.append(v)
    return batches


def views_as_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Replace every view by a table of exactly its rows (a violation written there stays there)."""
    views = con.execute("select schema_name, view_name from duckdb_views() "
                        "where not internal and database_name = current_database()").fetchall()
    for schema, name in views:
        con.execute(f'create table {schema}."{name}__rows" as select * from {schema}."{name}"')
        for a, b in ((name, f"{name}__rows"), (f"{name}__rows", name)):
            extra = con.execute(f'select count(*) from (select * from {schema}."{a}" except all '
                                f'select * from {schema}."{b}")').fetchone()[0]
            assert extra == 0, f"{schema}.{name}: the table does not hold exactly the view's rows"
    for schema, name in views:
        con.execute(f'drop view {schema}."{name}"')
        con.execute(f'alter table {schema}."{name}__rows" rename to "{name}"')


# --- running the batches through the pipeline's code ---------------------------------------------

@dataclass
class Outcome:
    name: str
    what: str = ""
    problem: str | None = None                              # why no violating data could be fed
    batch: int | None = None
    status: str | None = None                               # dbt's status for the test
    failures: int | None = None                             # the failing rows dbt reported
    expected_failures: int | None = None                    # those the violation must make it report, if known
    recorded: list[tuple] = field(default_factory=list)     # its (asset, passed, severity) in ops.check_results
    refusal: str | None = None                              # publish's refusal
    published_unchanged: bool | None = None


@dataclass
class Batch:
    tests: list[str]
    failed_blocking: set[str]                               # "check on asset": failed ERROR records of the batch
    refusal: str | None
    published_unchanged: bool


@pytest.fixture(scope="module")
def gates(fixture_build, tmp_path_factory):
    """Plan, pack and run every violation; returns (test id → Outcome, batches)."""
    from orchestration.assets.dbt import CHECK_EVENTS, build_dbt_assets, record_dbt_checks
    from orchestration.assets.publish import current_checks
    from orchestration.dbt_project import TRANSLATOR, dbt_resource

    warehouse_models, tests = build_dbt_assets(ensure_manifest())
    CURRENT_CHECKS = current_checks(warehouse_models, tests)

    # The fixture's build passed every blocking test. The base holds the same rows, views turned into tables.
    root = tmp_path_factory.mktemp("gates")
    base, published = root / "base" / "working.duckdb", root / "published.duckdb"
    base.parent.mkdir()
    shutil.copy(fixture_build.db, base)
    with duckdb.connect(str(base)) as con:
        views_as_tables(con)
        planner = Planner(con)
    outcomes = {t: Outcome(MANIFEST["nodes"][t]["name"]) for t in BLOCKING}
    planned = []
    for test_id in BLOCKING:
        try:
            planned.append(planner.plan(test_id))
        except NoViolation as exc:
            outcomes[test_id].problem = str(exc)

    # The copies go where the fixture was built, so dbt's parse there (partial parsing) stays valid.
    working = fixture_build.work
    shutil.copy(base, working)
    publish(working, published, "clean-base", CURRENT_CHECKS)  # the previous publication, by the same function
    previous = published.read_bytes()
    dbt = dbt_resource()
    batches = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DCW_WORKING_DB", str(working))
        env.setenv("DBT_TARGET_PATH", str(fixture_build.target))  # where dagster-dbt finds partial_parse.msgpack
        for number, batch in enumerate(pack(planned), start=1):
            shutil.copy(base, working)
            fed = []
            with duckdb.connect(str(working)) as con:
                for v in batch:
                    outcomes[v.test_id].what, outcomes[v.test_id].batch = v.what, number
                    try:
                        outcomes[v.test_id].expected_failures = v.apply(con)
                        fed.append(v)
                    except NoViolation as exc:
                        outcomes[v.test_id].problem = str(exc)
                    except duckdb.ConstraintException as exc:
                        outcomes[v.test_id].problem = f"the database refused it ({exc}): prove it by a build refusal"
            invocation = dbt.cli(["test", "--select", " ".join(v.name for v in fed)], manifest=MANIFEST,
                                 dagster_dbt_translator=TRANSLATOR, raise_on_error=False,
                                 target_path=root / f"target-{number}")
            # In a run, dagster-dbt reports check results only for the dbt asset's check keys (source tests become
            # observations, recorded from run_results.json); outside a run it reports every test it can key.
            checks = [e for e in invocation.stream() if isinstance(e, CHECK_EVENTS)
                      and dg.AssetCheckKey(e.asset_key, e.check_name) in warehouse_models.check_keys]
            run_results = invocation.target_path / "run_results.json"
            results = {r["unique_id"]: r for r in json.loads(run_results.read_text())["results"]}
            status = {uid: r["status"] for uid, r in results.items()}
            run_id = f"gates-{number:02d}"
            with duckdb.connect(str(working)) as con:
                record_dbt_checks(con, checks, run_results, run_id, tests)
                recorded = con.execute("select check_name, asset, passed, severity from ops.check_results "
                                       "where run_id = ?", [run_id]).fetchall()
            try:
                publish(working, published, run_id, CURRENT_CHECKS)
                refusal = None
            except PublicationRefused as exc:
                refusal = str(exc)
            unchanged = published.read_bytes() == previous
            if not unchanged:
                published.write_bytes(previous)  # keeps the other batches' comparison meaningful
            for v in fed:
                o = outcomes[v.test_id]
                o.status, o.refusal, o.published_unchanged = status.get(v.test_id), refusal, unchanged
                o.failures = results.get(v.test_id, {}).get("failures")
                o.recorded = [(a, p, s) for n, a, p, s in recorded if n == v.name]
            batches.append(Batch([v.name for v in fed], {f"{n} on {a}" for n, a, p, s in recorded
                                                         if not p and s == "ERROR"}, refusal, unchanged))
    return outcomes, batches


def test_blocking_dbt_tests_are_read_from_the_manifest():
    kinds = {(MANIFEST["nodes"][t].get("test_metadata") or {}).get("name", "singular") for t in BLOCKING}
    assert len(BLOCKING) > 120 and {"unique", "not_null_columns", "relationships", "accepted_values", "singular"} <= kinds


def test_every_blocking_dbt_test_is_known_to_the_publish_gate():
    """A dbt test the gate does not know is ignored by it (it could not block) even when its failure is recorded."""
    from orchestration.assets.dbt import build_dbt_assets
    from orchestration.assets.publish import current_checks

    models, tests = build_dbt_assets(ensure_manifest())
    DBT_TESTS, CURRENT_CHECKS = tests.by_id, current_checks(models, tests)
    unknown = [MANIFEST["nodes"][t]["name"] for t in BLOCKING if t not in DBT_TESTS
               or (DBT_TESTS[t][0].name, "/".join(DBT_TESTS[t][0].asset_key.path)) not in CURRENT_CHECKS]
    assert not unknown, f"blocking dbt tests unknown to the publish gate: {unknown}"


@pytest.mark.parametrize("test_id", BLOCKING, ids=[MANIFEST["nodes"][t]["name"] for t in BLOCKING])
def test_blocking_dbt_test_refuses_its_violation(gates, test_id):
    o = gates[0][test_id]
    if o.problem:
        pytest.fail(f"blocking dbt test {o.name}: no violating data could be fed to it: {o.problem}")
    assert o.status == "fail", f"{o.name} did not fail ({o.status!r}) after: {o.what} (batch {o.batch})"
    if o.expected_failures is not None:
        assert o.failures == o.expected_failures, f"{o.name} reported {o.failures} failing rows after: {o.what}"
    assert len(o.recorded) == 1, (f"{o.name}: one result expected in ops.check_results, found {o.recorded} "
                                  "(each dbt test result must be recorded once)")
    asset, passed, severity = o.recorded[0]
    assert (passed, severity) == (False, "ERROR"), f"{o.name} recorded as passed={passed}, severity={severity}"
    assert o.refusal and f"{o.name} on {asset}" in o.refusal, f"publication not refused naming {o.name}: {o.refusal}"
    assert o.published_unchanged, f"the previous published.duckdb changed in batch {o.batch}"


def test_each_batch_is_refused_naming_every_failed_blocking_check(gates):
    _, batches = gates
    assert len(batches) <= 6, "more batches than expected: the violations interfere more than they should"
    for batch in batches:
        assert batch.refusal, f"published although {batch.tests} were violated"
        assert set(batch.refusal.removeprefix("blocking checks failed: ").split("; ")) == batch.failed_blocking
        assert batch.published_unchanged
