"""Source cells as loading read them: one cell of an inbox file, its header, raw text and the
normalisation the ingestion applied (the column maps, ``ingestion.rows.Converter``), read-only.

Before a file's cells are read, its sha256 is compared with the one the manifest recorded: a file
that changed or is gone gives cells without values and a plain note. Personal names (the
registry's legal representative) are masked as the published file masks them.

What does not belong here: which rows a figure comes from (``figures.py``), printing (``render.py``).
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.column_maps import source_map
from ingestion.normalize import clean_text, squeeze
from ingestion.rows import Converter, RowError
from ingestion.spreadsheet import FileRefused, Table, locate_table, read_grids

PERSONAL = {("registry", "legal_rep")}  # raw columns holding personal names: masked as published


def mask(text: str | None) -> str | None:
    """张三丰 → 张** (the first character kept, the rest masked), as the published file does."""
    if not text:
        return text
    return text[0] + "*" * (len(text) - 1)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FileState:
    path: str            # inbox-relative
    sha256: str          # as the manifest recorded it
    status: str          # ok / changed / gone / unreadable
    note: str | None = None
    tables: list[Table] = field(default_factory=list)


class Inbox:
    """The inbox files a trace reads, each checked and parsed once."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[tuple[str, str, str], FileState] = {}

    def file(self, kind: str, rel: str, sha256: str) -> FileState:
        key = (kind, rel, sha256)
        if key not in self.files:
            self.files[key] = self._open(kind, rel, sha256)
        return self.files[key]

    def _open(self, kind: str, rel: str, sha256: str) -> FileState:
        path = self.root / rel
        if not path.is_file():
            return FileState(rel, sha256, "gone", f"the file {rel} is gone from the inbox {self.root}: "
                             "its cells cannot be shown (the published values stand as loaded)")
        actual = sha256_of(path)
        if actual != sha256:
            return FileState(rel, sha256, "changed", f"the file {rel} has changed since it was loaded (sha256 "
                             f"{actual[:12]}… now, {sha256[:12]}… when loaded): its cells are not shown, since "
                             "they may not be what was loaded")
        smap = source_map(kind)
        try:
            tables = [t for g in read_grids(path) if (t := locate_table(g, smap)) is not None]
        except FileRefused as exc:
            return FileState(rel, sha256, "unreadable", f"the file {rel} cannot be read now: {exc}")
        return FileState(rel, sha256, "ok", None, tables)


def cell(inbox: Inbox, kind: str, rel: str, sha256: str, sheet: str | None, row: int, raw_column: str) -> dict:
    """One source cell: where it is, its header as written, its raw value and its normalisation."""
    state = inbox.file(kind, rel, sha256)
    out = {"path": rel, "sha256": sha256, "sheet": sheet, "row": row, "raw_column": raw_column,
           "header": None, "raw": None, "value": None, "normalisation": None, "file_status": state.status}
    if state.note:
        out["note"] = state.note
        return out
    table = next((t for t in state.tables if t.sheet == sheet), None)
    if table is None:
        out["note"] = f"no table of this source on sheet {sheet!r} of {rel}"
        return out
    smap = source_map(kind)
    name = _map_column(smap, raw_column)
    header = next((c for c in table.cells if c.column == name), None)
    if header is None:
        out["note"] = (f"the file has no column for {raw_column}: the value comes from the "
                       f"{'title or the file name' if raw_column == smap.period['column'] else 'rules of its load'}"
                       + (f" (title: {table.title})" if table.title else ""))
        return out
    k = row - table.row_number(0)
    raw = table.rows_at([k])[0][header.index] if 0 <= k < table.n_rows else None
    raw = None if raw == "" else raw  # an empty cell (the workbook reader gives '')
    col = smap.columns[name]
    out["header"] = header.text
    out["header_written"] = _written_header(table, header)
    out["column_letter"] = _letter(header.index) if sheet is not None else None
    out["column_number"] = header.index + 1
    conv = Converter(smap, table)
    try:
        converted, warning = conv.convert(col, header, raw)
    except RowError as exc:
        converted, warning = {}, f"refused: {exc}"
    value = converted.get(raw_column)
    out["raw"] = _json_raw(raw)
    out["value"] = _json_value(value)
    out["normalisation"] = _steps(col, header, raw, conv.scale.get(name), value)
    if warning:
        out["normalisation"]["warning"] = warning
    if (kind, raw_column) in PERSONAL:
        out["raw"], out["value"] = mask(clean_text(raw)), mask(value)
    return out


def _map_column(smap, raw_column: str) -> str:
    """The column map entry filling a raw column (registered_capital_cny → registered_capital)."""
    if raw_column in smap.columns:
        return raw_column
    for col in smap.columns.values():
        if col.keep_raw_as == raw_column or (col.type == "capital" and raw_column.startswith(col.name + "_")):
            return col.name
    return raw_column


def _written_header(table: Table, header) -> str:
    """The header cell(s) as the file has them (two-row headers: group / sub)."""
    rows = table.grid.rows(table.start - len(table.header_rows), table.start)
    cells = [r[header.index] for r in rows if header.index < len(r) and r[header.index] not in (None, "")]
    return " / ".join(str(c) for c in cells) or header.text


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _json_raw(raw):
    """The cell as the reader gave it: text stays text, a number stays a number, a date its ISO text."""
    if raw is None or isinstance(raw, (str, int, float, bool)):
        return raw
    return raw.isoformat() if hasattr(raw, "isoformat") else str(raw)


def _json_value(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _steps(col, header, raw, scale: float | None, value) -> dict:
    """What loading did to the cell, step by step, in the order ``ingestion.rows`` applies them."""
    steps: dict = {"type": col.type}
    if isinstance(raw, str):
        steps["nfkc"] = not unicodedata.is_normalized("NFKC", raw)
        squeezed = squeeze(raw) or ""
        steps["spaces_removed"] = any(ch.isspace() for ch in unicodedata.normalize("NFKC", raw))
        if col.type in ("int", "measure", "ratio"):
            steps["thousands_separators"] = "," in squeezed
            steps["percent"] = squeezed.endswith("%")
    if col.type in ("int", "measure", "ratio") and scale is not None:
        steps["factor"] = scale
        steps["unit"] = header.unit or col.default_unit
        steps["unit_from"] = "header" if header.unit else ("column default" if col.default_unit else None)
        steps["rounding"] = "integer" if col.type == "int" else "6 decimals"
    if col.type == "enum" and isinstance(value, str):
        written = squeeze(raw)
        if written != value:
            steps["synonym"] = f"{written} → {value}"
    return steps


def describe(steps: dict | None) -> str:
    """The normalisation in words, for the text output."""
    if not steps:
        return ""
    words = []
    if steps.get("nfkc"):
        words.append("full-width → half-width")
    if steps.get("spaces_removed"):
        words.append("spaces removed")
    if steps.get("thousands_separators"):
        words.append("thousands separators removed")
    if steps.get("percent"):
        words.append("percent ÷ 100")
    if steps.get("factor") not in (None, 1.0) and not steps.get("percent"):
        words.append(f"× {steps['factor']:g} ({steps['unit']} from the {steps['unit_from']})")
    elif steps.get("unit") and not steps.get("percent"):
        words.append(f"unit {steps['unit']} ({steps['unit_from']}), no conversion")
    if steps.get("synonym"):
        words.append(f"synonym {steps['synonym']}")
    if steps.get("warning"):
        words.append(steps["warning"])
    return "; ".join(words) or "as written"
