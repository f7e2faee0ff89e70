"""The published file's contract (docs/tables.md) and its check (orchestration/contract.py)."""
from __future__ import annotations

import re

import duckdb
import pytest

from orchestration.contract import DOC, check, parse, render

PAGE = """# intro kept as written

<!-- tables: written by `python -m orchestration.contract PUBLISHED_DB --write` -->

### `marts.fct_a`

| column | type | meaning |
| --- | --- | --- |
| `a_code` | `VARCHAR` | code |
| `month` | `DATE` | month |
| `cost_cny` | `DECIMAL(18,2)` | money |

### `marts.mart_b` (may be empty)

| column | type | meaning |
| --- | --- | --- |
| `n` | `BIGINT` | a count |
"""


def _published(path, ddl: list[str]):
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema audit")
    for statement in ddl:
        con.execute(statement)
    con.close()
    return path


GOOD = ["create table marts.fct_a (a_code varchar, month date, cost_cny decimal(18,2))",
        "insert into marts.fct_a values ('X', date '2025-01-01', 1.5)",
        "create table marts.mart_b (n bigint)"]


@pytest.fixture
def page(tmp_path):
    doc = tmp_path / "tables.md"
    doc.write_text(PAGE, encoding="utf-8")
    return doc


def test_a_file_as_documented_passes(tmp_path, page):
    assert check(_published(tmp_path / "p.duckdb", GOOD), page) == []


@pytest.mark.parametrize(("ddl", "problem"), [
    (GOOD[:2], "missing table marts.mart_b"),
    (["create table marts.fct_a (a_code varchar, month date)", "insert into marts.fct_a values ('X', date '2025-01-01')",
      GOOD[2]], "marts.fct_a: missing column cost_cny"),
    (["create table marts.fct_a (a_code varchar, month varchar, cost_cny decimal(18,2))",
      "insert into marts.fct_a values ('X', '2025-01', 1.5)", GOOD[2]],
     "marts.fct_a.month: VARCHAR, documented as DATE"),
    (["create table marts.fct_a (a_code varchar, month date, cost_cny double)",
      "insert into marts.fct_a values ('X', date '2025-01-01', 1.5)", GOOD[2]],
     "marts.fct_a.cost_cny: DOUBLE, documented as DECIMAL(18,2)"),
    ([*GOOD, "alter table marts.fct_a add column extra integer"], "marts.fct_a.extra: published but not documented"),
    ([*GOOD, "create table audit.secret (x integer)"], "audit.secret: published but not documented"),
    ([GOOD[0], GOOD[2]], "empty table marts.fct_a (documented as holding rows)"),
])
def test_each_departure_is_named(tmp_path, page, ddl, problem):
    assert check(_published(tmp_path / "p.duckdb", ddl), page) == [problem]


def test_render_writes_what_check_accepts_and_keeps_the_page_s_own_words(tmp_path, page):
    published = _published(tmp_path / "p.duckdb", [*GOOD, "comment on column marts.fct_a.a_code is 'the | code'",
                                                    "create table audit.extra (x integer)"])
    text = render(published, page)
    assert text.startswith("# intro kept as written")
    assert "### `marts.mart_b` (may be empty)" in text
    assert "| `a_code` | `VARCHAR` | the \\| code |" in text
    page.write_text(text, encoding="utf-8")
    assert check(published, page) == []
    assert parse(text)["audit.extra"].columns == {"x": "INTEGER"}


def test_the_project_s_page_follows_its_own_conventions():
    """Money is DECIMAL(18,2), months are DATE (``year_month`` is the one text label) and codes text in every
    documented marts table."""
    tables = parse(DOC.read_text(encoding="utf-8"))
    assert {"marts.fct_center_month", "marts.mart_cluster_month", "audit.file_manifest"} <= set(tables)
    wrong = [f"{name}.{column} {dtype}" for name, table in tables.items() if name.startswith("marts.")
             for column, dtype in table.columns.items()
             if (column.endswith("_cny") and dtype != "DECIMAL(18,2)")
             or (re.fullmatch(r"(\w+_)?month|quarter_start|valid_(from|to)", column) and column != "year_month"
                 and dtype != "DATE")
             or (re.fullmatch(r"\w*(_code|uscc|account_no)", column) and dtype != "VARCHAR")]
    assert wrong == []
