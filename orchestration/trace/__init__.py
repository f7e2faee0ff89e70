"""The auditor's trace: one published figure back to the inbox cells behind it, in one command.

``run_trace("fct_center_month", ["center_code=GA-DC-003", "month=2025-03", "facility_energy_kwh"])``
prints the figure, its rule, every contributing source cell (inbox-relative path, sheet, row,
header as written, raw text, normalised value, unit conversion), what was not counted and why,
and the arithmetic; ``fmt="json"`` gives the same as data. Reads ``published.duckdb`` read-only and
the inbox files read-only. Returns 0, or 2 after one line on stderr for an unknown table, column
or key.

What belongs here: the command's entry point (argument words → row → trace → output). How a
figure maps to upstream rows is data (``recipes.yaml``) followed by ``figures.py``; cells are read
by ``cells.py``; the text layout is ``render.py``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_trace(table: str, args: list[str], *, fmt: str = "text", limit: int | None = None,
              warehouse: Path | None = None, inbox: Path | None = None) -> int:
    try:
        trace = build_trace(table, args, limit=limit, warehouse=warehouse, inbox=inbox)
    except LookupError as exc:
        print(f"trace: {exc.args[0]}", file=sys.stderr)
        return 2
    if fmt == "json":
        print(json.dumps(trace, ensure_ascii=False, indent=2))
    else:
        from orchestration.trace.render import render

        print(render(trace))
    return 0


def build_trace(table: str, args: list[str], *, limit: int | None = None, warehouse: Path | None = None,
                inbox: Path | None = None) -> dict:
    """The trace of one figure as plain data. Raises LookupError (one line) for an unknown table,
    column or key, or a published file that is absent."""
    import duckdb

    from orchestration.trace.cells import Inbox
    from orchestration.trace.figures import Tracer, recipes
    from orchestration.trace.render import annotate

    warehouse = Path(warehouse or os.environ.get("DCW_WAREHOUSE") or PROJECT_ROOT / "warehouse")
    inbox = Path(inbox or os.environ.get("DCW_INBOX") or PROJECT_ROOT / "sample_inbox").resolve()
    published = warehouse / "published.duckdb"
    if not published.is_file():
        raise LookupError(f"no published warehouse at {published} (run `make run` first)")
    name = table.removeprefix("marts.")
    if "." in name or name not in recipes():
        raise LookupError(f"unknown table {table!r}: one of " + ", ".join(f"marts.{t}" for t in recipes()))
    keys, columns = {}, []
    for word in args:
        if "=" in word:
            k, v = word.split("=", 1)
            keys[k.strip()] = v.strip()
        else:
            columns.append(word)
    if len(columns) != 1:
        raise LookupError(f"name exactly one column of marts.{name} to trace (got {len(columns)})")
    column = columns[0]
    con = duckdb.connect(str(published), read_only=True)
    try:
        tracer = Tracer(con, Inbox(inbox), limit)
        types = tracer.columns(name)
        if column not in types:
            raise LookupError(f"unknown column {column!r} of marts.{name}")
        bad = [k for k in keys if k not in types]
        if bad:
            raise LookupError(f"unknown key column {bad[0]!r} of marts.{name} (key: "
                              + " ".join(f"{k}=…" for k in tracer.key_of(name)) + ")")
        try:
            row = _the_row(con, name, types, keys, tracer.key_of(name))
        except LookupError as exc:
            raise LookupError(exc.args[0] + _refused_instead(tracer, name, types, keys)) from None
        figure = tracer.figure(name, row, column)
        trace = {"table": f"marts.{name}", "key": figure["key"] or keys, "column": column,
                 "value": figure["value"], "type": types[column], "published": str(published),
                 "inbox": str(inbox), "limit": limit, "figure": figure,
                 "not_counted": list(tracer.not_counted.values()), "notes": tracer.notes}
    finally:
        con.close()
    annotate(trace["figure"])
    return trace


def _refused_instead(tracer, table: str, types: dict[str, str], keys: dict[str, str]) -> str:
    """For a key with no row: the refused source rows of that key, if any (why the row is absent)."""
    import duckdb

    given = {k: dt.date.fromisoformat(v + "-01" if len(v) == 7 else v) if types[k] == "DATE" else v
             for k, v in keys.items()}
    try:
        tracer.not_counted_of(table, given)
    except (ValueError, duckdb.Error):
        return ""
    refused = [i for i in tracer.not_counted.values() if i["kind"] == "refused_row"]
    if not refused:
        return ""
    return "; its source row was refused: " + "; ".join(
        f"{i['path']}" + (f" sheet {i['sheet']}" if i.get("sheet") else "") + f" row {i['row']} ({i['reason_code']})"
        for i in refused)


def _the_row(con, table: str, types: dict[str, str], keys: dict[str, str], key_columns: list[str]) -> dict:
    where, params = [], []
    for k, v in keys.items():
        if types[k] == "DATE" and len(v) == 7:  # a month as 2025-03
            v += "-01"
        where.append(f'cast("{k}" as varchar) = ?')
        params.append(v)
    sql = f"select * from marts.{table}" + (" where " + " and ".join(where) if where else "")
    cur = con.execute(sql + " limit 2", params)
    names = [d[0] for d in cur.description]
    found = cur.fetchall()
    given = " ".join(f"{k}={v}" for k, v in keys.items()) or "(no key given)"
    hint = " ".join(f"{k}=…" for k in key_columns)
    if not found:
        raise LookupError(f"no row of marts.{table} with {given} (key: {hint})")
    if len(found) > 1:
        raise LookupError(f"more than one row of marts.{table} with {given}: give its key ({hint})")
    return {n: (v if not isinstance(v, dt.datetime) else v) for n, v in zip(names, found[0], strict=True)}
