"""Which periods a file covers, found cheaply before it is loaded (for routing runs to partitions).

``probe_periods`` reads a file's grids, locates the source's header, and collects the period
column's values (report month, quarter, snapshot date, plan year); when the column is absent it
falls back to the title rows, then the file name, in the order the loader uses. No row rules, no
database: the loader stays the authority on what a file holds (it records the periods it really
loaded in ``ops.file_manifest.period``). A file that cannot be read or has no period gives ``[]``.
A csv or jsonl file larger than ``HEAD_BYTES`` is probed on its first lines only (a registry
extract of a million firms holds one snapshot date; reading it whole would double its load time).

What does not belong here: parsing rows (``rows.py``), which file is current for a period (dbt),
Dagster partition keys (``orchestration/partitions.py``).
"""
from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from ingestion.column_maps import source_map
from ingestion.load import period_from_title_or_name
from ingestion.manifest import classify, readable_in_inbox
from ingestion.normalize import (
    CellError,
    is_missing,
    parse_date,
    parse_month,
    parse_quarter,
)
from ingestion.spreadsheet import FileRefused, locate_table, read_grids


def _cell_period(kind: str, value) -> dt.date | None:
    if is_missing(value):
        return None
    try:
        if kind == "month":
            return parse_month(value)
        if kind == "quarter":
            return parse_quarter(value)
        if kind == "date":
            return parse_date(value)
        if kind == "year":
            year = int(float(str(value).strip().rstrip("年度")))
            return dt.date(year, 1, 1)
    except (CellError, ValueError):
        return None
    return None


HEAD_BYTES = 4 << 20


def _grids(path: Path):
    """The file's grids; for a big csv / jsonl, those of its first HEAD_BYTES (whole lines)."""
    if path.suffix.lower() not in (".csv", ".jsonl") or path.stat().st_size <= HEAD_BYTES:
        return read_grids(path)
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    head = head[:head.rfind(b"\n") + 1]
    with tempfile.TemporaryDirectory(prefix="dcw-probe-") as tmp:
        part = Path(tmp) / path.name  # same name: the period may be in it
        part.write_bytes(head)
        return read_grids(part)


def probe_periods(kind: str, path: Path) -> list[dt.date]:
    """First days of the periods (month, quarter, snapshot date, plan year as Jan 1) a file covers."""
    smap = source_map(kind)
    period, column = smap.period["kind"], smap.period["column"]
    found: set[dt.date] = set()
    try:
        grids = _grids(path)
    except (FileRefused, OSError):
        return []
    for grid in grids:
        table = locate_table(grid, smap)
        if table is None:
            continue
        cell = table.mapped.get(column)
        if cell is not None:
            values = {_cell_period(period, value) for value in table.distinct(cell.index)}
            values.discard(None)
            if values:
                found |= values
                continue
        default = period_from_title_or_name(smap, table.title, path.name)  # the loader's own rule
        if isinstance(default, int):  # a plan year
            default = dt.date(default, 1, 1)
        if default:
            found.add(default)
    return sorted(found)


def probe_inbox_file(inbox: Path, rel_path: str) -> tuple[str | None, list[dt.date]]:
    """(source kind, periods) of one inbox file; (None, []) for a file outside the known folders."""
    kind, refusal = classify(rel_path)
    if kind is None or refusal is not None or not readable_in_inbox(inbox, rel_path):
        return kind, []
    return kind, probe_periods(kind, inbox / rel_path)


def periods_by_kind(inbox: Path, rel_paths: Iterable[str],
                    warn: Callable[[str], object] | None = None) -> dict[str, set[dt.date]]:
    """Source kind → periods covered, over these inbox files. A file the probe cannot read still
    counts for its kind, without periods (the run registers it, and refuses it if unreadable);
    ``warn`` is told why."""
    periods: dict[str, set[dt.date]] = {}
    for rel in rel_paths:
        try:
            kind, found = probe_inbox_file(inbox, rel)
        except Exception as exc:
            if warn is not None:
                warn(f"period probe failed for {rel}: {exc}")
            kind, found = classify(rel)[0], []
        if kind:
            periods.setdefault(kind, set()).update(found)
    return periods
