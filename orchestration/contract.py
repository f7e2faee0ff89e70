"""The published file's contract with its readers, and the check of a published file against it.

The contract is ``docs/tables.md``: every table of the schemas ``marts`` and ``audit`` a reader may
rely on, each column with its DuckDB type and meaning. This module parses that page and compares a
published file with it: every documented table and column present with its documented type, nothing
published that the page does not document, and every marts table holding rows unless the page
marks it "may be empty". ``render`` writes the page's tables from a published file (the column
comments come from the dbt models' descriptions), keeping the page's own introduction; a change of
the published structure is therefore a reviewed change of the page.

Usage: ``python -m orchestration.contract PUBLISHED_DB`` (exit 1 with one line per problem) and
``python -m orchestration.contract PUBLISHED_DB --write`` to refresh the page after a deliberate
change. What the tables hold (values) is the tests' business, not this module's.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "tables.md"
SCHEMAS = ("marts", "audit")
_HEADING = re.compile(r"^### `(\w+)\.(\w+)`( \(may be empty\))?\s*$")
_ROW = re.compile(r"^\| `(\w+)` \| `([^`]+)` \|")
_TABLES_START = "<!-- tables: written by `python -m orchestration.contract PUBLISHED_DB --write` -->"


@dataclass
class Table:
    description: str = ""
    may_be_empty: bool = False
    columns: dict[str, str] = field(default_factory=dict)  # name -> DuckDB type


def parse(text: str) -> dict[str, Table]:
    """``schema.table`` → its documented columns and types, in the page's order."""
    tables: dict[str, Table] = {}
    current = None
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = tables.setdefault(f"{heading[1]}.{heading[2]}", Table(may_be_empty=bool(heading[3])))
            continue
        row = _ROW.match(line)
        if row and current is not None:
            current.columns[row[1]] = row[2]
    return tables


def published_structure(con) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for schema, table, comment in con.execute(
            "select schema_name, table_name, comment from duckdb_tables() "
            f"where database_name = current_database() and schema_name in {SCHEMAS} order by 1, 2").fetchall():
        tables[f"{schema}.{table}"] = Table(description=(comment or "").strip())
    for schema, table, column, dtype in con.execute(
            "select schema_name, table_name, column_name, data_type from duckdb_columns() "
            f"where database_name = current_database() and schema_name in {SCHEMAS} "
            "order by schema_name, table_name, column_index").fetchall():
        tables[f"{schema}.{table}"].columns[column] = dtype
    return tables


def check(published: Path, doc: Path = DOC) -> list[str]:
    """Problems of ``published`` against the page, one readable line each; empty when it holds."""
    import duckdb

    wanted = parse(doc.read_text(encoding="utf-8"))
    con = duckdb.connect(str(published), read_only=True)
    try:
        have = published_structure(con)
        problems = []
        for name, table in wanted.items():
            if name not in have:
                problems.append(f"missing table {name}")
                continue
            for column, dtype in table.columns.items():
                got = have[name].columns.get(column)
                if got is None:
                    problems.append(f"{name}: missing column {column}")
                elif got != dtype:
                    problems.append(f"{name}.{column}: {got}, documented as {dtype}")
            problems += [f"{name}.{column}: published but not documented"
                         for column in have[name].columns if column not in table.columns]
            if name.startswith("marts.") and not table.may_be_empty and \
                    con.execute(f"select count(*) from {name}").fetchone()[0] == 0:
                problems.append(f"empty table {name} (documented as holding rows)")
        problems += [f"{name}: published but not documented" for name in have if name not in wanted]
        return problems
    finally:
        con.close()


def _cell(text: str) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def render(published: Path, doc: Path = DOC) -> str:
    """The page with its tables written from ``published`` (its introduction and "may be empty"
    marks kept)."""
    import duckdb

    old = doc.read_text(encoding="utf-8") if doc.exists() else _TABLES_START + "\n"
    intro = old.split(_TABLES_START)[0]
    may_be_empty = {name for name, table in parse(old).items() if table.may_be_empty}
    con = duckdb.connect(str(published), read_only=True)
    try:
        have = published_structure(con)
        comments = {(f"{s}.{t}", c): (text or "") for s, t, c, text in con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            f"where database_name = current_database() and schema_name in {SCHEMAS}").fetchall()}
    finally:
        con.close()
    out = [intro.rstrip("\n"), "", _TABLES_START, ""]
    for schema in SCHEMAS:
        out += [f"## {schema}", ""]
        for name, table in have.items():
            if not name.startswith(schema + "."):
                continue
            mark = " (may be empty)" if name in may_be_empty else ""
            out += [f"### `{name}`{mark}", "", _cell(table.description), "",
                    "| column | type | meaning |", "| --- | --- | --- |"]
            out += [f"| `{column}` | `{dtype}` | {_cell(comments.get((name, column)))} |"
                    for column, dtype in table.columns.items()]
            out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2) or (len(argv) == 2 and argv[1] != "--write"):
        print("usage: python -m orchestration.contract PUBLISHED_DB [--write]", file=sys.stderr)
        return 2
    published = Path(argv[0])
    if len(argv) == 2:
        DOC.write_text(render(published), encoding="utf-8")
        print(f"wrote {DOC}")
        return 0
    problems = check(published)
    for line in problems:
        print(line)
    print(f"contract ({DOC.name}): {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
