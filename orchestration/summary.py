"""What a command says about a publication: its tables, its checks, its files and open alerts.

One count of checks only, the rows of ``audit.check_results`` for the runs asked about (a
command's runs, or the published run), so that the number printed is the number an auditor finds.

What does not belong here: how the command shows it (``orchestration/console.py``).
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

WIDTH = 110


def summary(published: Path, run_ids: Sequence[str] | None = None) -> str:
    """The publication's tables with their rows, the checks of ``run_ids`` (default: the published
    run), the inbox files by status and the open alerts."""
    import duckdb

    con = duckdb.connect(str(published), read_only=True)
    try:
        lines = [f"published warehouse: {published}"]
        tables: dict[str, list[str]] = {}
        for schema, table in con.execute("select table_schema, table_name from information_schema.tables "
                                         "order by 1, 2").fetchall():
            n = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
            tables.setdefault(schema, []).append(f"{table} {n:,}")
        for schema, items in tables.items():
            lines += textwrap.wrap(f"{schema} (rows): " + ", ".join(items), WIDTH, subsequent_indent="  ",
                                   break_on_hyphens=False)
        lines += check_lines(con, run_ids)
        statuses = con.execute("select status, count(*) from audit.file_manifest group by 1 order by 1").fetchall()
        lines.append("files: " + ", ".join(f"{n} {s}" for s, n in statuses))
        lines.extend(alert_lines(con))
        return "\n".join(lines)
    finally:
        con.close()


def check_lines(con, run_ids: Sequence[str] | None = None) -> list[str]:
    """One count of checks (rows of audit.check_results for these runs), and the names of those that warned."""
    if run_ids is None:
        run_ids = [con.execute("select run_id from audit.publication").fetchone()[0]]
    total, warned, failed = con.execute(
        "select count(*), count(*) filter (where not passed and severity = 'WARN'), "
        "count(*) filter (where not passed and severity <> 'WARN') "
        "from audit.check_results where list_contains(?, run_id)", [list(run_ids)]).fetchone()
    runs = "this run" if len(run_ids) == 1 else f"these {len(run_ids)} runs"
    lines = [f"checks: {total} run, {warned} warned (non-blocking), {failed} failed: the rows of "
             f"audit.check_results for {runs}"]
    warnings = [name for (name,) in con.execute(
        "select distinct check_name from audit.check_results where list_contains(?, run_id) and not passed "
        "and severity = 'WARN' order by 1", [list(run_ids)]).fetchall()]
    if warnings:
        lines.append("warnings: " + ", ".join(warnings))
    return lines


def alert_lines(con, shown: int = 5) -> list[str]:
    """Open alerts by severity, then at most ``shown`` high ones (and how many more)."""
    if not con.execute("select count(*) from information_schema.tables where table_schema = 'marts' "
                       "and table_name = 'mart_alerts'").fetchone()[0]:
        return []
    counts = dict(con.execute("select severity, count(*) from marts.mart_alerts group by 1").fetchall())
    lines = ["open alerts: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("high", "medium", "low"))]
    high = con.execute("select alert_kind, entity_code, detail from marts.mart_alerts where severity = 'high' "
                       "order by since_month, alert_kind, entity_code").fetchall()
    lines += [f"  {kind} {code}: {detail}" for kind, code, detail in high[:shown]]
    if len(high) > shown:
        lines.append(f"  and {len(high) - shown} more")
    return lines
