"""The trace as text for a terminal, and the arithmetic line of each figure (text and JSON alike).

What does not belong here: finding rows or cells (``figures.py``, ``cells.py``).
"""
from __future__ import annotations

from orchestration.trace.cells import describe


def _fmt(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.10g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def annotate(node: dict) -> None:
    """Give every figure node its arithmetic, as one line an auditor can recompute."""
    for op in node.get("operands") or []:
        annotate(op)
    kind, value = node.get("kind"), _fmt(node.get("value"))
    ops = node.get("operands") or []
    if kind == "copy":
        cells = node.get("cells") or []
        got = _fmt(cells[0]["value"]) if cells else "?"
        cast = f" → {value} as {node['cast']}" if node.get("cast") else ""
        node["arithmetic"] = f"cell value {got}{cast} = {value}"
    elif kind == "copy_of":
        node["arithmetic"] = f"= {_fmt(ops[0]['value'])}" if ops else f"= {value}"
    elif kind == "sum":
        terms = [t for t in node.get("terms", []) if t is not None]
        skipped = len(node.get("terms", [])) - len(terms)
        body = " + ".join(_fmt(t) for t in terms) or "(nothing)"
        node["arithmetic"] = (f"{body} = {value}  (sum of {len(terms)} row(s)"
                              + (f", {skipped} NULL skipped" if skipped else "") + ")")
    elif kind == "ratio" and len(ops) == 2:
        factor = f" × {node['factor']}" if node.get("factor") else ""
        node["arithmetic"] = f"{_fmt(ops[0]['value'])} / {_fmt(ops[1]['value'])}{factor} = {value}"
    elif kind == "add":
        node["arithmetic"] = " + ".join(_fmt(o["value"]) for o in ops if o["value"] is not None) + f" = {value}"
    elif kind == "difference" and len(ops) == 2:
        node["arithmetic"] = f"{_fmt(ops[0]['value'])} − {_fmt(ops[1]['value'])} = {value}"
    elif kind == "count":
        node["arithmetic"] = f"{node.get('total')} row(s) = {value}"
    if node.get("condition") and "arithmetic" in node:
        cond = node["condition"]
        node["arithmetic"] = (f"{cond['when']} holds: " + node["arithmetic"] if cond["holds"]
                              else f"{cond['when']} does not hold: NULL = {value}")


def render(trace: dict) -> str:
    key = " ".join(f"{k}={v}" for k, v in trace["key"].items())
    lines = [f"{trace['table']} {key} {trace['column']} = {_fmt(trace['value'])} ({trace['type']})"]
    _node(trace["figure"], lines, 0, top=True)
    if trace["not_counted"]:
        lines.append("not counted:")
        for item in trace["not_counted"]:
            where = item.get("path") or ""
            if item.get("sheet"):
                where += f", sheet {item['sheet']}"
            if item.get("row") is not None:
                where += f", row {item['row']}"
            what = item["kind"].replace("_", " ")
            extra = ""
            if item["kind"] == "superseded_bill":
                extra = (f" (account {item['account_no']}, {item['month'][:7]}, {item['bill_type']}, "
                         f"{_fmt(item['kwh_total'])} kWh, {item['total_cny']} CNY)")
            code = f" [{item['reason_code']}]" if item.get("reason_code") else ""
            lines.append(f"  - {what}: {where}{extra}{code}: {item['reason']}")
    else:
        lines.append("not counted: nothing (no superseded file or bill, duplicate or refused row of this key)")
    for note in trace["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _node(node: dict, lines: list[str], depth: int, *, top: bool = False) -> None:
    pad = "  " * depth
    if not top:
        key = " ".join(f"{k}={v}" for k, v in node["key"].items())
        name = f"{node['table']} {key} {node['column']}" if key else node["column"]
        lines.append(f"{pad}{name} = {_fmt(node['value'])}")
    inner = pad + "  "
    lines.append(f"{inner}rule: {node.get('rule', '')}")
    if top and node.get("expression"):
        for i, sql in enumerate(node["expression"].splitlines()):
            lines.append(f"{inner}{'SQL:  ' if i == 0 else '      '}{sql}")
    if node.get("arithmetic"):
        lines.append(f"{inner}arithmetic: {node['arithmetic']}")
    if node.get("note"):
        lines.append(f"{inner}note: {node['note']}")
    for c in node.get("cells") or []:
        lines.append(f"{inner}cell: {_cell(c)}")
    for r in node.get("rows") or []:
        lines.append(f"{inner}row: " + ", ".join(f"{k}={_fmt(v)}" for k, v in r.items()))
    if "total" in node and node.get("shown") is not None and node["shown"] < node["total"]:
        lines.append(f"{inner}({node['shown']} of {node['total']} shown: --limit)")
    for op in node.get("operands") or []:
        _node(op, lines, depth + 1)


def _cell(c: dict) -> str:
    where = c["path"] + (f", sheet {c['sheet']}" if c.get("sheet") else "") + f", row {c['row']}"
    if c.get("note") and c.get("raw") is None and c.get("header") is None:
        return f"{where}, {c['raw_column']}: {c['note']}"
    col = f", column {c['column_letter']}" if c.get("column_letter") else f", column {c.get('column_number')}"
    raw = c["raw"]
    shown = repr(raw) if isinstance(raw, str) else _fmt(raw)
    header = (c.get("header_written") or c["header"] or "").replace("\n", "\\n")
    return (f"{where}{col} '{header}' ({c['raw_column']}): raw {shown} → {_fmt(c['value'])} "
            f"[{describe(c.get('normalisation'))}]")
