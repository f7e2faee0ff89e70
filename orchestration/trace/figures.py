"""From one published figure to the rows and cells behind it, following the recipes (recipes.yaml).

``Tracer.figure`` builds a tree of plain dicts (the JSON output): a figure node holds its value,
rule (the column's SQL expression from ``audit.column_lineage``, and the recipe in words), the
arithmetic over its operands (sum, ratio, parts added, difference, copy), the operands themselves
(figures of other published rows, down to source cells) and, for counts and inputs, the rows listed.
What was not counted (superseded files and bills, duplicates, refused rows of the same key) is
gathered for the whole trace. Reads the published file only; cells come from ``cells.py``.

What does not belong here: the recipes themselves (data), reading files, printing.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import yaml

from ingestion.column_maps import source_map
from ingestion.normalize import squeeze
from ingestion.raw_schema import raw_columns
from orchestration.trace.cells import Inbox, cell

RECIPES = Path(__file__).with_name("recipes.yaml")
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_OPTIONS = ("factor", "when")  # recipe keys beside the kind
_LINEAGE = re.compile(r"^(.*)_source_(?:file_sha256|sheet|row)$")


class TraceError(Exception):
    """An unknown table, column or key: one line for the auditor."""


@functools.cache
def recipes() -> dict:
    return yaml.safe_load(RECIPES.read_text(encoding="utf-8"))


def jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def qualified(table: str) -> str:
    return table if "." in table else f"marts.{table}"


class Tracer:
    def __init__(self, con: duckdb.DuckDBPyConnection, inbox: Inbox, limit: int | None):
        self.con = con
        self.inbox = inbox
        self.limit = limit
        self.not_counted: dict[tuple, dict] = {}
        self.notes: list[str] = []
        self.has_column_lineage = bool(con.execute(
            "select count(*) from information_schema.tables where table_schema = 'audit' "
            "and table_name = 'column_lineage'").fetchone()[0])
        if not self.has_column_lineage:
            self.notes.append("audit.column_lineage is not in this publication: rules are given as the trace's "
                              "recipe only, without the column's SQL expression")

    # --- the published file -------------------------------------------------------------------

    @functools.cache  # noqa: B019 -- one tracer per command
    def columns(self, table: str) -> dict[str, str]:
        schema, name = qualified(table).split(".")
        return dict(self.con.execute("select column_name, data_type from information_schema.columns "
                                     "where table_schema = ? and table_name = ? order by ordinal_position",
                                     [schema, name]).fetchall())

    def query(self, sql: str, row: dict) -> list[dict]:
        names = dict.fromkeys(_PARAM.findall(sql))
        missing = [n for n in names if n not in row]
        if missing:
            raise ValueError(f"recipe refers to ${missing[0]}, not a column of the row")
        cur = self.con.execute(sql, {n: row[n] for n in names})
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def rows(self, spec: dict, row: dict) -> list[dict]:
        table = qualified(spec["table"])
        inner = f"select * from {table} where {spec['where']}"
        if spec.get("latest_per"):
            inner += f" qualify row_number() over (partition by {spec['latest_per']} order by month desc) = 1"
        sql = f"select * from ({inner}) as t" + (f" where {spec['and']}" if spec.get("and") else "")
        key = self.key_of(spec["table"])
        if key:
            sql += " order by " + ", ".join(key)
        return self.query(sql, row)

    def key_of(self, table: str) -> list[str]:
        recipe = recipes().get(table.removeprefix("marts."))
        return list(recipe["key"]) if recipe else []

    def rule(self, table: str, column: str) -> str | None:
        """The column's SQL from audit.column_lineage, followed down through plain copies to the model
        that computes it: one line per model, ``model.column = expression``."""
        if not self.has_column_lineage:
            return None
        lines: list[str] = []
        seen = set()
        while (table, column) not in seen and len(lines) < 8:
            seen.add((table, column))
            edges = self.con.execute(
                "select upstream_table, upstream_column, transformation, expression from audit.column_lineage "
                "where published_table = ? and published_column = ? and expression is not null "
                "order by upstream_table, upstream_column", [table, column]).fetchall()
            if not edges:
                break
            lines.append(f"{table}.{column} = {edges[0][3]}")
            upstream, upstream_column, transformation, _ = edges[0]
            if len(edges) > 1 or transformation not in ("copy", "rename") or upstream.startswith("raw."):
                break
            table, column = upstream, upstream_column
        return "\n".join(lines) or None

    # --- figures --------------------------------------------------------------------------------

    def figure(self, table: str, row: dict, column: str, depth: int = 0) -> dict:
        recipe = recipes().get(table, {})
        spec = (recipe.get("columns") or {}).get(column)
        types = self.columns(table)
        node = {"table": table, "key": {k: jsonable(row.get(k)) for k in self.key_of(table)},
                "column": column, "type": types.get(column), "value": jsonable(row.get(column)),
                "expression": self.rule(table, column) if depth == 0 else None}
        source = recipe.get("source")
        if depth == 0 or source:
            self.not_counted_of(table, row)
        raw = (recipe.get("raw") or {}).get(column, column)
        if spec is None and source and raw in raw_columns(source_map(source["kind"])):
            return self.copy(node, source, row, raw)
        if spec is None and (m := _LINEAGE.match(column)):
            sha = row.get(f"{m[1]}_source_file_sha256")
            node.update(kind="lineage", rule=f"names the {m[1]} source row of this row's {m[1]} figures"
                        + (f": {self.path_of(sha)}" if sha else ""))
            return node
        if spec is None and column in self.key_of(table):
            node.update(kind="key", rule=f"part of the row's key ({', '.join(self.key_of(table))})")
            return node
        if spec is None:
            node.update(kind="derived", rule="computed by its model's SQL (the expression) from the inputs "
                                             "audit.lineage names; not traced to cells")
            return node
        return self.apply(node, spec, table, row, depth)

    def apply(self, node: dict, spec, table: str, row: dict, depth: int) -> dict:
        if isinstance(spec, str):  # a column of this row
            return self.figure(table, row, spec, depth + 1)
        kind = next(k for k in spec if k not in _OPTIONS)
        arg = spec[kind]
        if spec.get("when") is not None:
            (holds,) = self.query(f"select ({spec['when']}) as holds", row)[0].values()
            node["condition"] = {"when": self.bound({"where": spec["when"]}, row), "holds": holds}
        if kind == "copy_of":
            found = self.rows(arg, row)
            node.update(kind="copy_of", rule=f"the {arg['column']} of {arg['table']} where {self.bound(arg, row)}")
            if len(found) != 1:
                node["note"] = f"{len(found)} rows of {arg['table']} match"
                node["operands"] = []
                return node
            node["operands"] = [self.figure(arg["table"], found[0], arg["column"], depth + 1)]
            return node
        if kind in ("sum", "count"):
            found = self.rows(arg, row)
            shown = found if self.limit is None else found[:self.limit]
            where = self.bound(arg, row)
            carry = f", each {arg['latest_per']}'s latest row" if arg.get("latest_per") else ""
            node.update(total=len(found), shown=len(shown))
            if kind == "count":
                node.update(kind="count", rule=f"the number of rows of {arg['table']} where {where}{carry}",
                            rows=[self.row_label(arg["table"], r) for r in shown])
                return node
            node.update(kind="sum", rule=f"the sum of {arg['table']}.{arg['column']} where {where}{carry} "
                                         "(NULLs skipped)",
                        terms=[jsonable(r[arg["column"]]) for r in found],
                        operands=[self.figure(arg["table"], r, arg["column"], depth + 1) for r in shown])
            return node
        if kind == "ratio":
            sides = arg if isinstance(arg, list) else arg
            factor = spec.get("factor") if isinstance(spec, dict) else None
            node.update(kind="ratio", factor=factor, operands=[self.side(s, table, row, depth) for s in sides[:2]],
                        rule="numerator / denominator" + (f" × {factor}" if factor else "")
                        + " (NULL when either is NULL or the denominator is 0)")
            return node
        if kind == "add":
            node.update(kind="add", rule="the known parts added (NULL when all are NULL)",
                        operands=[self.side(s, table, row, depth) for s in arg])
            return node
        if kind == "difference":
            node.update(kind="difference", rule="first − second (NULL when either is NULL)",
                        operands=[self.side(s, table, row, depth) for s in arg])
            return node
        if kind == "inputs":
            node.update(kind="inputs", rule="computed from these inputs by its model's SQL (not recomputed here)")
            if "raw" in arg:
                source = recipes()[table]["source"]
                node["operands"] = [self.copy({"table": table, "key": {}, "column": c, "type": None, "value": None},
                                              source, row, c)
                                    for c in arg["raw"]]
            else:
                found = self.rows(arg["rows"], row)
                shown = found if self.limit is None else found[:self.limit]
                node.update(total=len(found), shown=len(shown), input_table=arg["rows"]["table"],
                            rows=[self.row_label(arg["rows"]["table"], r, full=True) for r in shown])
            return node
        raise ValueError(f"unknown recipe kind {kind!r} for {table}.{node['column']}")

    def side(self, side, table: str, row: dict, depth: int) -> dict:
        if isinstance(side, str):
            return self.figure(table, row, side, depth + 1)
        kind = next(k for k in side if k not in _OPTIONS)
        arg = side[kind]
        label = arg.get("column", kind)
        node = {"table": table, "key": {}, "column": f"{kind} of {arg['table']}.{label}", "type": None,
                "value": None, "expression": None}
        node = self.apply(node, side, table, row, depth + 1)
        if node.get("kind") == "sum":
            node["value"] = _sum(node["terms"])
        elif node.get("kind") == "copy_of" and node["operands"]:
            node["value"] = node["operands"][0]["value"]
        return node

    def bound(self, spec: dict, row: dict) -> str:
        text = spec["where"] + (f" and {spec['and']}" if spec.get("and") else "")
        return _PARAM.sub(lambda m: _literal(row.get(m[1])), text)

    def row_label(self, table: str, row: dict, *, full: bool = False) -> dict:
        key = self.key_of(table) or list(row)[:2]
        label = {k: jsonable(row.get(k)) for k in key}
        if full:
            label.update({k: jsonable(v) for k, v in row.items() if k not in label and "_source_" not in k
                          and not k.endswith("_key")})
        return label

    def copy(self, node: dict, source: dict, row: dict, raw: str) -> dict:
        sha, sheet, number = (row.get(f"{source['lineage']}_source_{c}") for c in ("file_sha256", "sheet", "row"))
        node.update(kind="copy", rule=f"the {raw} cell of the {source['kind']} row this row was loaded from")
        if sha is None:
            node["cells"] = []
            node["note"] = "the row names no source row"
            return node
        path = self.path_of(sha)
        node["cells"] = [cell(self.inbox, source["kind"], path, sha, sheet, number, raw)]
        if (node.get("type") or "").startswith("DECIMAL"):
            node["cast"] = node["type"]
        return node

    @functools.cache  # noqa: B019
    def path_of(self, sha256: str) -> str:
        """The inbox path of a loaded file (a byte-identical duplicate shares the sha256, never loaded)."""
        found = self.con.execute("select path from audit.file_manifest where sha256 = ? "
                                 "order by ingest_status <> 'loaded', status <> 'loaded', delivery_seq limit 1",
                                 [sha256]).fetchone()
        return found[0] if found else f"(sha256 {sha256[:12]}… not in audit.file_manifest)"

    # --- what was not counted ---------------------------------------------------------------------

    def not_counted_of(self, table: str, row: dict) -> None:
        recipe = recipes().get(table, {})
        source = recipe.get("source")
        sha = source and row.get(f"{source['lineage']}_source_file_sha256")
        if sha:
            for path, seq in self.con.execute("select path, delivery_seq from audit.file_manifest "
                                              "where sha256 = ? and status = 'duplicate'", [sha]).fetchall():
                self.add("duplicate_file", path=path, sheet=None, row=None,
                         reason=f"a byte-identical copy of {self.path_of(sha)} (delivery {seq}): adds nothing")
        if recipe.get("superseded"):
            for b in self.query("select * from audit.superseded_bills where " + recipe["superseded"]
                                + " order by delivery_seq, source_row_number", row):
                self.add("superseded_bill", path=b["source_path"], sheet=b["source_sheet"],
                         row=b["source_row_number"], account_no=b["account_no"], month=jsonable(b["month"]),
                         kwh_total=b["kwh_total"], total_cny=jsonable(b["total_cny"]), bill_type=b["bill_type"],
                         reason=f"{b['supersession_reason']}: superseded by {b['superseded_by_path']} row "
                                f"{b['superseded_by_row_number']}")
        refused = recipe.get("refused")
        if not refused:
            return
        files = self.query(
            "select distinct m.path, m.sha256, m.status, m.reason, m.delivery_seq, m.superseded_by_sha256 from ("
            "  select f.*, case when length(p) = 4 then cast(p || '-01-01' as date) "
            "                   else try_cast(p || '-01' as date) end as month"
            "  from audit.file_manifest as f, unnest(string_split(coalesce(f.period, ''), ',')) as t(p)"
            f"  where f.source_kind = '{refused['kind']}') as m where " + refused["months"], row)
        for f in files:
            if f["status"] == "superseded":
                self.add("superseded_file", path=f["path"], sheet=None, row=None,
                         reason=f"superseded as a whole by a later delivery for the same period "
                                f"({self.path_of(f['superseded_by_sha256'])})" if f["superseded_by_sha256"]
                         else "superseded as a whole by a later delivery for the same period")
        shas = [f["sha256"] for f in files]
        if not shas:
            return
        key = {k: (row.get(v[1:]) if isinstance(v, str) and v.startswith("$") else v)
               for k, v in (refused.get("key") or {}).items()}
        headers: dict[tuple[str, str], str] = {
            (s, c): h for s, c, h in self.con.execute(
                "select file_sha256, column_name, header from audit.file_columns where header is not null "
                "and list_contains(?, file_sha256)", [shas]).fetchall()}
        for r in self.con.execute("select path, file_sha256, sheet, row_number, reason_code, message, raw_values "
                                  "from audit.rejected_rows where list_contains(?, file_sha256) "
                                  "order by delivery_seq, sheet, row_number", [shas]).fetchall():
            path, sha, sheet, number, code, message, raw_values = r
            values = json.loads(raw_values or "{}")
            if all(_same(values.get(headers.get((sha, col), "")), want) for col, want in key.items()):
                self.add("refused_row", path=path, sheet=sheet, row=number, reason_code=code,
                         reason=message, raw_values=values)

    def add(self, kind: str, **item) -> None:
        self.not_counted.setdefault((kind, item.get("path"), item.get("sheet"), item.get("row")),
                                    {"kind": kind, **item})


def _same(text, want) -> bool:
    if want is None:
        return True
    return text is not None and (squeeze(text) or "").upper() == str(want).upper()


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return f"'{jsonable(value)}'"


def _sum(terms: list):
    known = [t for t in terms if t is not None]
    if not known:
        return None
    if all(isinstance(t, str) for t in known):  # DECIMAL as exact text
        return str(sum(Decimal(t) for t in known))
    return sum(known)
