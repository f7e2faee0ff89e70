"""The auditor's trace on a real run of the sample inbox: figures recomputed from the inbox files
themselves, the traps (更正 bill, re-delivered ledger, refused row), unknown names, changed files.

The cells a trace lists are read again here with the csv module and, for workbooks, straight from
the xlsx XML parts (zipfile and ElementTree: not the ingestion's readers); only the normalisation
and the arithmetic the trace printed are applied to them.
"""
from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import pytest
import yaml

from orchestration.trace import build_trace

RECIPES = yaml.safe_load((Path(__file__).resolve().parents[2] / "orchestration" / "trace" / "recipes.yaml")
                         .read_text(encoding="utf-8"))
NUMERIC = ("DOUBLE", "BIGINT", "INTEGER", "DECIMAL")
RECOMPUTED = ("copy_of", "sum", "ratio", "add", "difference")


def _raw_columns(kind: str) -> set[str]:
    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "ingestion" / "column_maps" / f"{kind}.yaml")
                          .read_text(encoding="utf-8"))
    return set(spec["columns"])


def _spec(table: str, column: str):
    return (RECIPES[table].get("columns") or {}).get(column)


def _recomputable(table: str, column: str, types: dict) -> bool:
    """A copy, sum or ratio of source values all the way down (ranks, flags, counts, texts are not)."""
    if not (types.get((table, column)) or "").startswith(NUMERIC):
        return False
    spec = _spec(table, column)
    if spec is None:
        source = RECIPES[table].get("source")
        raw = (RECIPES[table].get("raw") or {}).get(column, column)
        return bool(source) and raw in _raw_columns(source["kind"])
    kind = next(k for k in spec if k not in ("factor", "when"))
    if kind not in RECOMPUTED:
        return False
    if kind == "copy_of":
        return _recomputable(spec[kind]["table"], spec[kind]["column"], types)
    if kind == "sum":
        return _recomputable(spec[kind]["table"], spec[kind]["column"], types)
    return all(_recomputable(table, side, types) if isinstance(side, str)
               else _recomputable(side[next(iter(side))]["table"], side[next(iter(side))]["column"], types)
               for side in spec[kind])


# --- an independent reader of inbox cells -----------------------------------------------------------

@cache
def _csv_rows(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    return list(csv.reader(text.splitlines(keepends=True)))


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


@cache
def _sheet(path: Path, sheet: str) -> dict[tuple[int, int], object]:
    """Cells of one worksheet by (row, column), numbers as floats, text as written."""
    with zipfile.ZipFile(path) as book:
        strings = []
        if "xl/sharedStrings.xml" in book.namelist():
            for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", _NS):
                strings.append("".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")))
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        rid = next(s.get(f"{{{_NS['r']}}}id") for s in workbook.find("m:sheets", _NS) if s.get("name") == sheet)
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        target = next(r.get("Target") for r in rels.iter(_REL) if r.get("Id") == rid)
        part = ElementTree.fromstring(book.read("xl/" + target.removeprefix("/xl/")))
    cells = {}
    for c in part.iter(f"{{{_NS['m']}}}c"):
        ref, kind = c.get("r"), c.get("t")
        letters = "".join(ch for ch in ref if ch.isalpha())
        col = 0
        for ch in letters:
            col = col * 26 + ord(ch) - 64
        v = c.find("m:v", _NS)
        if kind == "s":
            value = strings[int(v.text)]
        elif kind == "inlineStr":
            value = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
        elif kind == "str":
            value = v.text
        else:
            value = None if v is None else float(v.text)
        cells[(int(ref[len(letters):]), col)] = value
    return cells


def _cell_in_file(inbox: Path, cell: dict):
    path = inbox / cell["path"]
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path)
        row = rows[cell["row"] - 1]
        return row[cell["column_number"] - 1] if cell["column_number"] <= len(row) else None
    return _sheet(path, cell["sheet"]).get((cell["row"], cell["column_number"]))


def _normalise(raw, steps: dict):
    """Only what the trace printed: full-width forms, spaces, thousands separators, percent, the unit factor."""
    percent = False
    if isinstance(raw, str):
        text = raw
        if steps.get("nfkc"):
            text = unicodedata.normalize("NFKC", text)
        text = text.strip()
        if steps.get("spaces_removed"):
            text = "".join(text.split())
        if steps.get("thousands_separators"):
            text = text.replace(",", "")
        if steps.get("percent"):
            text, percent = text.removesuffix("%"), True
        number = float(text)
    else:
        number = float(raw)
    value = number / 100 if percent else number * steps["factor"]
    return round(value) if steps["rounding"] == "integer" else round(value, 6)


def _to_type(value, type_: str | None):
    if value is None:
        return None
    if type_ and type_.startswith("DECIMAL"):
        scale = int(type_.rstrip(")").split(",")[1])
        return Decimal(repr(float(value)) if isinstance(value, float) else str(value)).quantize(
            Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN)
    if type_ in ("BIGINT", "INTEGER"):
        return int(value)
    return value


def _evaluate(node: dict, inbox: Path, checked: list):
    kind, ops = node["kind"], node.get("operands") or []
    if kind == "copy":
        (cell,) = node["cells"]
        assert cell["file_status"] == "ok", cell
        found = _cell_in_file(inbox, cell)
        if cell["raw"] is None:
            assert found in (None, ""), f"{cell['path']} row {cell['row']}: the file holds {found!r}, not an empty cell"
        elif isinstance(cell["raw"], str):
            assert found == cell["raw"], f"{cell['path']} row {cell['row']}: the file holds {found!r}, not {cell['raw']!r}"
        else:
            assert found is not None and float(found) == float(cell["raw"]), (cell, found)
        checked.append(cell)
        if cell["raw"] is None or (isinstance(cell["raw"], str) and cell["value"] is None):
            return None
        value = _normalise(found, cell["normalisation"])
        assert value == pytest.approx(cell["value"], rel=1e-12), (cell, value)
        return _to_type(value, node["type"])
    if kind == "copy_of":
        assert len(ops) == 1, node
        return _evaluate(ops[0], inbox, checked)
    values = [_evaluate(op, inbox, checked) for op in ops]
    if kind == "sum":
        assert node["shown"] == node["total"] == len(node["terms"]), "no --limit: every row is listed"
        known = [v for v in values if v is not None]
        if not known:
            return None
        return sum(known, Decimal(0)) if isinstance(known[0], Decimal) else sum(known)
    if kind == "add":
        known = [v for v in values if v is not None]
        return sum(known) if known else None
    if kind == "difference":
        return None if None in values else values[0] - values[1]
    if kind == "ratio":
        a, b = values
        if a is None or b is None or b == 0 or (node.get("condition") and not node["condition"]["holds"]):
            return None
        return float(a) / float(b) * (node.get("factor") or 1)
    raise AssertionError(f"not recomputable: {node['kind']} ({node['table']}.{node['column']})")


def _published(run, table: str, key: dict, column: str):
    where = " and ".join(f"cast({k} as varchar) = ?" for k in key)
    (value,) = run.query(f"select {column} from marts.{table} where {where}", [str(v) for v in key.values()])[0]
    return value


# --- the property test ------------------------------------------------------------------------------

def test_traced_figures_recompute_from_the_inbox_cells(pipeline):
    types = {(t, c): d for t, c, d in pipeline.query(
        "select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'")}
    tables = sorted({t for t, _ in types if t.startswith(("fct_", "mart_"))})
    eligible = {t: [c for (tt, c) in types if tt == t and t in RECIPES and _recomputable(t, c, types)] for t in tables}
    missing = [t for t in tables if not eligible[t] and t != "mart_alerts"]
    assert not missing, f"tables without a recomputable figure: {missing}"
    rng = random.Random(17)
    picks = []
    for table in tables:  # every table, then at random over all
        for column in eligible[table]:
            key = RECIPES[table]["key"]
            rows = pipeline.query(f"select {', '.join(key)} from marts.{table} where {column} is not null "
                                  f"order by {', '.join(key)}")
            for row in rows:
                picks.append((table, column, dict(zip(key, row, strict=True))))
    chosen = {t: [p for p in picks if p[0] == t] for t in tables}
    sample = [rng.choice(chosen[t]) for t in tables if chosen[t]]
    sample += rng.sample(picks, 60 - len(sample))
    assert len(sample) >= 50
    cells = []
    for table, column, key in sample:
        args = [f"{k}={v}" for k, v in key.items()] + [column]
        trace = build_trace(table, args, warehouse=pipeline.warehouse, inbox=pipeline.inbox)
        got = _evaluate(trace["figure"], pipeline.inbox, cells)
        want = _published(pipeline, table, key, column)
        where = f"{table}.{column} {key}"
        if isinstance(want, Decimal):
            assert got == want, where
        elif isinstance(want, int):
            assert got == want, where
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), where
    assert len(cells) >= 50  # cells really were read back and checked


# --- the traps ---------------------------------------------------------------------------------------

def _not_counted(trace: dict, kind: str) -> list[dict]:
    return [item for item in trace["not_counted"] if item["kind"] == kind]


def test_a_corrected_bill_is_listed_as_not_counted(pipeline):
    account, month, path, row = pipeline.query(
        "select account_no, month, source_path, source_row_number from audit.superseded_bills "
        "where source_path = superseded_by_path order by 1 limit 1")[0]  # superseded by a 更正 copy in its file
    (center,) = pipeline.query("select center_code from marts.fct_power_bill where account_no = ? and month = ?",
                               [account, month])[0]
    assert pipeline.query("select 1 from marts.fct_center_month where center_code = ? and month = ?", [center, month])
    trace = build_trace("fct_center_month", [f"center_code={center}", f"month={month:%Y-%m}", "facility_energy_kwh"],
                        warehouse=pipeline.warehouse, inbox=pipeline.inbox)
    bills = _not_counted(trace, "superseded_bill")
    assert any(b["path"] == path and b["row"] == row and b["account_no"] == account for b in bills), bills
    counted = [op["cells"][0] for op in trace["figure"]["operands"] if op["key"]["account_no"] == account]
    assert counted and counted[0]["row"] != row  # the 更正 bill is the one counted
    (bill_type,) = pipeline.query("select bill_type from marts.fct_power_bill where account_no = ? and month = ?",
                                  [account, month])[0]
    assert bill_type == "更正"


def test_a_redelivered_ledger_lists_the_superseded_file(pipeline):
    path, period = pipeline.query("select path, period from audit.file_manifest where source_kind = 'dc_ledger' "
                                  "and status = 'superseded' order by path limit 1")[0]
    center, month = pipeline.query("select center_code, month from marts.fct_center_month "
                                   "where strftime(month, '%Y-%m') = ? order by 1 limit 1", [period])[0]
    trace = build_trace("fct_center_month", [f"center_code={center}", f"month={month:%Y-%m}", "racks_built"],
                        warehouse=pipeline.warehouse, inbox=pipeline.inbox)
    assert [f["path"] for f in _not_counted(trace, "superseded_file")] == [path]
    assert trace["figure"]["cells"][0]["path"] != path  # the later delivery is the one read


def test_a_refused_row_of_the_key_is_listed_with_its_reason(pipeline):
    sha, path, row, message, raw = pipeline.query(
        "select file_sha256, path, row_number, message, raw_values from audit.rejected_rows "
        "where source_kind = 'dc_ledger' order by path, row_number limit 1")[0]
    (header,) = pipeline.query("select header from audit.file_columns where file_sha256 = ? "
                               "and column_name = 'center_code'", [sha])[0]
    center = json.loads(raw)[header]
    (period,) = pipeline.query("select period from audit.file_manifest where sha256 = ? and status = 'loaded'",
                               [sha])[0]
    trace = build_trace("mart_center_accounting", [f"center_code={center}", f"year={period[:4]}", "it_energy_kwh"],
                        warehouse=pipeline.warehouse, inbox=pipeline.inbox)
    refused = _not_counted(trace, "refused_row")
    assert (path, row, message) in [(r["path"], r["row"], r["reason"]) for r in refused]
    assert all(r["raw_values"][header] == center for r in refused)  # the same key only
    assert not any(op["key"]["month"].startswith(period) for op in trace["figure"]["operands"])
    done = _cli(pipeline, "marts.fct_center_month", f"center_code={center}", f"month={period}", "racks_built")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert f"its source row was refused: {path}" in done.stderr and f"row {row} " in done.stderr


# --- unknown names, changed files, the command line --------------------------------------------------

def _cli(run, *words: str, inbox: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DCW_WAREHOUSE": str(run.warehouse), "DCW_INBOX": str(inbox or run.inbox)}
    return subprocess.run([sys.executable, "-m", "orchestration.cli", "trace", *words], env=env,
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("words, says", [
    (["marts.fct_nothing", "month=2025-03", "pue"], "unknown table"),
    (["marts.fct_center_month", "center_code=GA-DC-003", "month=2025-03", "puee"], "unknown column"),
    (["marts.fct_center_month", "center_code=GA-DC-999", "month=2025-03", "pue"], "no row"),
    (["marts.fct_center_month", "centre=GA-DC-003", "month=2025-03", "pue"], "unknown key column"),
])
def test_unknown_names_get_one_line_and_exit_2(pipeline, words, says):
    done = _cli(pipeline, *words)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr


def test_json_on_the_command_line_and_a_limit(pipeline):
    (month,) = pipeline.query("select month from marts.mart_cluster_month where facility_energy_kwh is not null "
                              "order by month desc limit 1")[0]
    done = _cli(pipeline, "marts.mart_cluster_month", f"month={month:%Y-%m}", "facility_energy_kwh",
                "--format", "json", "--limit", "2")
    assert done.returncode == 0, done.stderr
    trace = json.loads(done.stdout)
    figure = trace["figure"]
    (bills,) = pipeline.query("select count(*) from marts.fct_power_bill where month = ? and center_key is not null",
                              [month])[0]
    assert figure["total"] == bills > 2 and figure["shown"] == len(figure["operands"]) == 2
    assert len(figure["terms"]) == bills  # the arithmetic stays whole
    text = _cli(pipeline, "marts.mart_cluster_month", f"month={month:%Y-%m}", "facility_energy_kwh", "--limit", "2")
    assert f"(2 of {bills} shown" in text.stdout


def test_a_changed_or_gone_file_is_reported(pipeline, copy_of):
    inbox = copy_of(pipeline.inbox)
    trace = build_trace("fct_center_month", ["center_code=GA-DC-003", "month=2025-03", "pue"],
                        warehouse=pipeline.warehouse, inbox=inbox)
    ledger = trace["figure"]["operands"][1]["cells"][0]["path"]
    bills = trace["figure"]["operands"][0]["operands"][0]["cells"][0]["path"]
    with (inbox / ledger).open("ab") as fh:
        fh.write(b"\0")
    (inbox / bills).unlink()
    done = _cli(pipeline, "marts.fct_center_month", "center_code=GA-DC-003", "month=2025-03", "pue", inbox=inbox)
    assert done.returncode == 0, done.stderr
    assert f"the file {ledger} has changed since it was loaded" in done.stdout
    assert f"the file {bills} is gone from the inbox" in done.stdout
    trace = build_trace("fct_center_month", ["center_code=GA-DC-003", "month=2025-03", "pue"],
                        warehouse=pipeline.warehouse, inbox=inbox)
    assert trace["figure"]["operands"][1]["cells"][0]["file_status"] == "changed"
    assert trace["figure"]["operands"][1]["cells"][0]["raw"] is None
    assert trace["figure"]["operands"][0]["operands"][0]["cells"][0]["file_status"] == "gone"


def test_a_legal_representative_stays_masked(pipeline):
    uscc, version, masked = pipeline.query("select uscc, version_no, legal_rep_masked from marts.dim_firm "
                                           "where legal_rep_masked is not null order by 1, 2 limit 1")[0]
    trace = build_trace("dim_firm", [f"uscc={uscc}", f"version_no={version}", "legal_rep_masked"],
                        warehouse=pipeline.warehouse, inbox=pipeline.inbox)
    cell = trace["figure"]["cells"][0]
    assert cell["raw"] == cell["value"] == masked and set(masked[1:]) == {"*"}


def test_every_column_of_every_table_traces(pipeline):
    """Every column of a row of every published marts table: a rule, and for the columns of the facts
    and marts that are figures, a trace to rows or cells (a derived column names no inputs)."""
    tables = [t for (t,) in pipeline.query("select table_name from information_schema.tables "
                                           "where table_schema = 'marts' order by 1")]
    assert sorted(tables) == sorted(RECIPES), "every published marts table has a recipe"
    untraced = []
    for table in tables:
        key = RECIPES[table]["key"]
        columns = [c for (c,) in pipeline.query("select column_name from information_schema.columns where "
                                                "table_schema = 'marts' and table_name = ?", [table])]
        row = pipeline.query(f"select {', '.join(key)} from marts.{table} order by all limit 1")[0]
        for column in columns:
            trace = build_trace(table, [f"{k}={v}" for k, v in zip(key, row, strict=True)] + [column],
                                limit=2, warehouse=pipeline.warehouse, inbox=pipeline.inbox)
            figure = trace["figure"]
            assert figure["rule"], (table, column)
            if figure["kind"] == "derived" and table.startswith(("fct_", "mart_")) and not column.endswith("_key"):
                untraced.append(f"{table}.{column}")
    # the rest are traced to rows or cells; these are computed from other columns of their own row
    assert sorted(untraced) == sorted([
        "fct_firm_quarter.superseded_rows", "mart_center_plan.expected_fraction",
        "mart_center_plan.expected_racks_in_use", "mart_center_plan.on_track", "mart_center_plan.operation_overdue",
        *(f"mart_alerts.{c}" for c in ("severity", "entity_kind", "entity_name", "since_month", "as_of_month",
                                       "metric_value", "threshold", "detail"))])


def test_the_rule_comes_from_the_column_lineage(pipeline, tmp_path):
    """The column's SQL expression is read from audit.column_lineage (contract schema) when the
    publication has it; without it the trace says so."""
    args = ["center_code=GA-DC-003", "month=2025-03", "pue"]
    has = pipeline.query("select count(*) from information_schema.tables where table_schema = 'audit' "
                         "and table_name = 'column_lineage'")[0][0]
    if not has:
        trace = build_trace("fct_center_month", args, warehouse=pipeline.warehouse, inbox=pipeline.inbox)
        assert trace["figure"]["expression"] is None
        assert any("audit.column_lineage is not in this publication" in n for n in trace["notes"])
    copy = tmp_path / "published.duckdb"
    shutil.copy(pipeline.published, copy)
    con = duckdb.connect(str(copy))
    con.execute("create or replace table audit.column_lineage (published_table varchar, published_column varchar, "
                "upstream_table varchar, upstream_column varchar, transformation varchar, expression varchar, "
                "source_kind varchar, header_aliases varchar[])")
    expression = "case when e.facility_energy_kwh > 0 and r.it_energy_kwh > 0 then e.facility_energy_kwh / r.it_energy_kwh end"
    for upstream in ("facility_energy_kwh", "it_energy_kwh"):
        con.execute("insert into audit.column_lineage values ('fct_center_month', 'pue', 'int_center_months', ?, "
                    "'expression', ?, null, null)", [upstream, expression])
    con.close()
    trace = build_trace("fct_center_month", args, warehouse=tmp_path, inbox=pipeline.inbox)
    assert trace["figure"]["expression"] == f"fct_center_month.pue = {expression}" and not trace["notes"]
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "trace", "marts.fct_center_month", *args],
                          env={**os.environ, "DCW_WAREHOUSE": str(tmp_path), "DCW_INBOX": str(pipeline.inbox)},
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert f"SQL:  fct_center_month.pue = {expression}" in done.stdout


def test_the_recipes_agree_with_every_published_row(pipeline):
    """Every row of every table, every figure a recipe computes (sum, ratio, parts, difference, copy of
    another row): the arithmetic over the published values the trace lists gives the published value."""
    from orchestration.trace.cells import Inbox
    from orchestration.trace.figures import Tracer

    con = duckdb.connect(str(pipeline.published), read_only=True)
    tracer = Tracer(con, Inbox(pipeline.inbox), limit=0)
    checked = []
    try:
        for table, recipe in RECIPES.items():
            cur = con.execute(f"select * from marts.{table}")
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            for column, spec in (recipe.get("columns") or {}).items():
                kind = next(k for k in spec if k not in ("factor", "when"))
                if kind not in ("sum", "ratio", "add", "difference", "copy_of"):
                    continue
                for row in rows:
                    node = tracer.figure(table, row, column)
                    got = _one_level(node, kind)
                    want = row[column]
                    checked.append(f"{table}.{column}")
                    if want is None or got is None:
                        assert got is None and want is None, (table, column, row, got)
                    elif isinstance(want, (int, float, Decimal)) and not isinstance(want, bool):
                        assert float(got) == pytest.approx(float(want), rel=1e-9, abs=1e-9), (table, column, row)
                    else:  # text and dates (the trace gives dates as ISO text)
                        assert got == (want.isoformat() if hasattr(want, "isoformat") else want), (table, column, row)
    finally:
        con.close()
    assert len(set(checked)) >= 60 and len(checked) > 2000


def _one_level(node: dict, kind: str):
    def value(v):
        return Decimal(v) if isinstance(v, str) and v.replace(".", "", 1).lstrip("-").isdigit() and len(v) < 17 else v
    values = [value(op["value"]) for op in node.get("operands") or []]
    if kind == "copy_of":
        return values[0] if values else None
    if kind == "sum":
        known = [value(t) for t in node["terms"] if t is not None]
        return sum(known) if known else None
    if kind == "add":
        known = [v for v in values if v is not None]
        return sum(known) if known else None
    if kind == "difference":
        return None if None in values else values[0] - values[1]
    a, b = values
    if a is None or b is None or b == 0 or (node.get("condition") and not node["condition"]["holds"]):
        return None
    return float(a) / float(b) * (node.get("factor") or 1)
