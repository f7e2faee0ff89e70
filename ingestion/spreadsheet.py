"""From a file to located tables: grids of cells, the header found and mapped, rows classified.

- ``read_grids``: xlsx (python-calamine), csv (UTF-8, UTF-8 with BOM, GB18030) and jsonl into
  grids of raw cells, one per sheet, with absolute row numbers as a spreadsheet program shows them.
- ``locate_table``: finds the header under title and blank rows (one row, or two rows with merged
  group cells), maps each header cell through the source's aliases, reads the unit in the header,
  and classifies the rows below as data, blank, totals or notes.

What does not belong here: converting a cell to its typed value (``normalize.py``, ``rows.py``),
and anything about which file is current (dbt).
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine

from ingestion.column_maps import SourceMap, common, header_key
from ingestion.normalize import clean_text, squeeze


class FileRefused(Exception):
    """The file as a whole cannot be loaded; the message says why, for the manifest."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Grid:
    sheet: str | None          # None for csv / jsonl
    rows: list[list]           # raw cells; rows[i] is spreadsheet row i + 1
    first_row_number: int = 1  # row number of rows[0]


# --- reading -----------------------------------------------------------------------------------

def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK); anything else is refused."""
    try:
        return codecs.decode(data, "utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileRefused("bad_encoding", "the file is neither UTF-8 nor GB18030/GBK text: save it as "
                          "CSV UTF-8 or re-export it from the source system") from None


def read_grids(path: Path) -> list[Grid]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            book = python_calamine.CalamineWorkbook.from_path(str(path))
            return [Grid(name, book.get_sheet_by_name(name).to_python(skip_empty_area=False))
                    for name in book.sheet_names]
        except Exception as exc:  # calamine raises several exception types for broken files
            raise FileRefused("unreadable_file", f"the workbook cannot be opened ({type(exc).__name__}: "
                              f"{str(exc)[:200]}): re-save it in Excel as .xlsx and deliver it again") from None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileRefused("unreadable_file", f"the file cannot be read ({exc.strerror})") from None
    if suffix == ".csv":
        text = decode_text(data)
        return [Grid(None, list(csv.reader(io.StringIO(text, newline=""))))]
    if suffix == ".jsonl":
        return [_jsonl_grid(decode_text(data))]
    raise FileRefused("unsupported_format", f"'{suffix or path.name}' files are not read here")


def _jsonl_grid(text: str) -> Grid:
    """jsonl → a grid whose first row is the union of keys (first-seen order)."""
    keys: dict[str, None] = {}
    records: list[dict | str] = []
    for line in text.splitlines():
        if not line.strip():
            records.append({})
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not an object")
        except ValueError:
            records.append(line)  # kept as an unparseable row, refused by the row layer
            continue
        records.append(record)
        keys.update(dict.fromkeys(record))
    header = list(keys)
    rows = [[r.get(k) if isinstance(r, dict) else None for k in header] + ([r] if isinstance(r, str) else [])
            for r in records]
    # the header is virtual: data row i is line i, so rows start at line 0 (the header).
    return Grid(None, [header, *rows], first_row_number=0)


# --- locating the table ------------------------------------------------------------------------

_UNIT_IN_HEADER = re.compile(r"^(?P<base>.*?)\((?P<unit>[^()]*)\)$")


@dataclass
class HeaderCell:
    index: int
    text: str                  # the header as written, cleaned (group/sub for two-row headers)
    column: str | None = None  # canonical column, None when unknown
    unit: str | None = None    # unit found in the header, as written
    ignored: bool = False      # a 序号 column


@dataclass
class Table:
    sheet: str | None
    header_rows: tuple[int, ...]   # spreadsheet row numbers of the header
    title: str                     # text of the rows above the header
    cells: list[HeaderCell]
    rows: list[tuple[int, list]]   # (row number, cells) for every row below the header
    problems: list[str] = field(default_factory=list)

    @property
    def mapped(self) -> dict[str, HeaderCell]:
        return {c.column: c for c in self.cells if c.column}

    @property
    def unknown(self) -> list[HeaderCell]:
        return [c for c in self.cells if not c.column and not c.ignored and c.text]


def split_unit(header: str) -> tuple[str, str | None]:
    """``计划总投资（亿元）`` → (``计划总投资``, ``亿元``): a trailing bracket is read as the unit."""
    text = squeeze(header) or ""
    m = _UNIT_IN_HEADER.match(text)
    if m and m["base"]:
        return m["base"], m["unit"]
    return text, None


def _match(smap: SourceMap, text: str) -> tuple[str | None, str | None]:
    """Canonical column and unit of a header; a bracket that is part of an alias is no unit."""
    base, unit = split_unit(text)
    column = smap.alias_index.get(header_key(base))
    if column is None and unit is not None:
        column, unit = smap.alias_index.get(header_key(text)), None
    return column, unit


def _header_candidates(top: list, below: list | None) -> list[str]:
    """Names for each column: the row itself, or group/sub for a two-row header."""
    width = max(len(top), len(below or []))
    top = [squeeze(c) or "" for c in top] + [""] * (width - len(top))
    if below is None:
        return top
    sub = [squeeze(c) or "" for c in below] + [""] * (width - len(below))
    group, last = [], ""
    for j in range(width):
        if top[j]:
            last = top[j]
        group.append(top[j] or (last if sub[j] else ""))
    return [f"{g}/{s}" if g and s and g != s else (s or g) for g, s in zip(group, sub, strict=True)]


def _map_cells(smap: SourceMap, names: list[str]) -> list[HeaderCell]:
    ignored = {header_key(h) for h in common()["row_number_headers"]}
    cells = []
    for j, name in enumerate(names):
        cell = HeaderCell(index=j, text=name)
        if name:
            column, unit = _match(smap, name)
            if column is None and "/" in name:       # group/sub: try the sub-header, then the group
                group, sub = name.split("/", 1)
                column, unit = _match(smap, sub)
                if column is None:
                    column, unit = _match(smap, group)
                    cell.text = name
            cell.column, cell.unit = column, unit
            cell.ignored = column is None and header_key(split_unit(name.split("/")[-1])[0]) in ignored
        cells.append(cell)
    return cells


def _score(cells: list[HeaderCell]) -> int:
    return len({c.column for c in cells if c.column})


def locate_table(grid: Grid, smap: SourceMap) -> Table | None:
    """The table of this source in a grid, or None when no header row names its key columns."""
    limit = min(len(grid.rows), int(common()["header_search_rows"]))
    required = {c.name for c in smap.required}
    best: tuple[int, int, int, list[HeaderCell]] | None = None  # (score, -rows, index, cells)
    for i in range(limit):
        row = grid.rows[i]
        if all(squeeze(c) is None for c in row):
            continue
        options = [(1, _map_cells(smap, _header_candidates(row, None)))]
        if i + 1 < len(grid.rows):
            options.append((2, _map_cells(smap, _header_candidates(row, grid.rows[i + 1]))))
        for height, cells in options:
            found = {c.column for c in cells if c.column}
            if not required <= found or _score(cells) < 2:
                continue
            candidate = (_score(cells), -height, -i, cells)
            if best is None or candidate[:3] > best[:3]:
                best = candidate
    if best is None:
        return None
    _, neg_height, neg_i, cells = best
    start, height = -neg_i, -neg_height
    title = " ".join(t for r in grid.rows[:start] for c in r if (t := clean_text(c)))
    first = grid.first_row_number
    table = Table(
        sheet=grid.sheet,
        header_rows=tuple(first + start + k for k in range(height)),
        title=title,
        cells=cells,
        rows=[(first + k, grid.rows[k]) for k in range(start + height, len(grid.rows))],
    )
    seen: dict[str, str] = {}
    for c in cells:
        if c.column and c.column in seen:
            table.problems.append(f"columns '{seen[c.column]}' and '{c.text}' both mean {c.column}: "
                                  "keep one of them")
        elif c.column:
            seen[c.column] = c.text
    return table


def row_kind(cells: list) -> str:
    """data / blank / total / note, from the first non-empty cell of the row."""
    first = next((t for c in cells if (t := clean_text(c)) is not None), None)
    if first is None:
        return "blank"
    first = unicodedata.normalize("NFKC", first).replace(" ", "")
    if any(first.startswith(m) for m in common()["total_markers"]):
        return "total"
    if any(first.startswith(unicodedata.normalize("NFKC", m)) for m in common()["note_markers"]):
        return "note"
    return "data"


def total_level(cells: list) -> str:
    """'sub' for 小计 rows, 'grand' for 合计/总计."""
    first = next((t for c in cells if (t := clean_text(c)) is not None), "")
    return "sub" if first.replace(" ", "").startswith("小计") else "grand"
