"""Sheets and their physical layout in csv and xlsx: title rows, one- or two-row headers with
merged group cells, data rows, blank rows, 合计 totals and notes footers, instruction sheets.

What belongs here: the only code that writes spreadsheet files. A source module describes a sheet
(``Sheet``: columns, rendered data rows, footer wishes); ``write_csv`` / ``write_xlsx`` lay it out,
stream it (xlsxwriter constant_memory for large sheets) and report, per data row, the row number a
spreadsheet program shows (1-based, counting title, header and blank rows), plus the totals they
wrote. Nothing here knows about data centers.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import xlsxwriter

from .textforms import ExcelDate, Percent, plain

XLSX_CREATED = datetime(2024, 1, 1, 8, 0, 0)


@dataclass
class Col:
    key: str  # canonical column, '#seq' (序号) or 'extra:<header>'
    header: str  # flat header text (with its unit)
    group: str | None = None  # two-row header: group cell above
    sub: str | None = None  # two-row header: cell under the group
    total_decimals: int | None = None  # summed in a 合计 row with that many decimals; None = not summed


@dataclass
class Row:
    cells: dict[str, object]
    sums: dict[str, Decimal | None] = field(default_factory=dict)  # values in the file unit, for 合计
    tag: object = None
    blank_before: bool = False


@dataclass
class Sheet:
    name: str
    cols: list[Col]
    rows: Iterable[Row]
    titles: list[str] = field(default_factory=list)
    blank_after_titles: int = 0
    two_row_header: bool = False
    header_text: Callable[[str], str] | None = None  # e.g. inserts line breaks
    totals_label: str | None = None
    blank_before_footer: bool = False
    notes: list[str] = field(default_factory=list)
    on_row: Callable[[Row, int], None] | None = None  # called with each data row's row number
    instructions: list[str] | None = None  # an instructions sheet (no header, no data)


@dataclass
class SheetResult:
    name: str
    kind: str  # 'data' or 'instructions'
    data_rows: int = 0
    footer_rows: int = 0  # 合计 + notes rows
    totals: dict | None = None  # {'row_number': n, 'values': {key: Decimal}}
    header_rows: list[int] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict)  # column key -> 0-based column index
    units: dict[str, float] = field(default_factory=dict)  # column key -> factor to the canonical unit
    meta: dict = field(default_factory=dict)  # other per-file rendering choices (e.g. percent form)


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return plain(Decimal(repr(v)))
    if isinstance(v, Decimal):
        return plain(v)
    if isinstance(v, Percent):
        return plain(Decimal(str(v.value)) * 100) + "%"
    if isinstance(v, ExcelDate):
        return v.value.isoformat()
    raise TypeError(type(v))


def _physical_rows(sheet: Sheet, result: SheetResult) -> Iterator[tuple[str, list, list]]:
    """Yield (kind, cells, merges) per physical row; merges are (col_from, col_to, rows_down)."""
    n = len(sheet.cols)
    ht = sheet.header_text or (lambda s: s)
    for t in sheet.titles:
        yield "title", [t] + [None] * (n - 1), [(0, n - 1, 0)] if n > 1 else []
    for _ in range(sheet.blank_after_titles):
        yield "blank", [None] * n, []
    if sheet.two_row_header and any(c.group for c in sheet.cols):
        top, bottom, merges = [], [], []
        j = 0
        while j < n:
            c = sheet.cols[j]
            if c.group:
                k = j
                while k + 1 < n and sheet.cols[k + 1].group == c.group:
                    k += 1
                top.extend([c.group] + [None] * (k - j))
                bottom.extend(ht(sheet.cols[i].sub or sheet.cols[i].header) for i in range(j, k + 1))
                if k > j:
                    merges.append((j, k, 0))
                j = k + 1
            else:
                top.append(ht(c.header))
                bottom.append(None)
                merges.append((j, j, 1))
                j += 1
        yield "header", top, merges
        yield "header2", bottom, []
    else:
        yield "header", [ht(c.header) for c in sheet.cols], []
    sums: dict[str, Decimal] = {c.key: Decimal(0) for c in sheet.cols if c.total_decimals is not None}
    seen: dict[str, bool] = {k: False for k in sums}
    for row in sheet.rows:
        if row.blank_before:
            yield "blank", [None] * n, []
        for k in sums:
            v = row.sums.get(k)
            if v is not None:
                sums[k] += v
                seen[k] = True
        result.data_rows += 1
        yield "data", [row.cells.get(c.key) for c in sheet.cols], [row]
    if sheet.blank_before_footer:
        yield "blank", [None] * n, []
    if sheet.totals_label:
        cells: list = []
        values = {}
        for i, c in enumerate(sheet.cols):
            if i == 0:
                cells.append(sheet.totals_label)
            elif c.key in sums and seen[c.key]:
                q = Decimal(1).scaleb(-c.total_decimals)
                v = sums[c.key].quantize(q, rounding=ROUND_HALF_UP)
                values[c.key] = v
                cells.append(v)
            else:
                cells.append(None)
        result.footer_rows += 1
        result.totals = {"values": values}
        yield "total", cells, []
    for note in sheet.notes:
        result.footer_rows += 1
        yield "note", [note] + [None] * (n - 1), [(0, n - 1, 0)] if n > 1 else []


def write_csv(path: str, sheet: Sheet, encoding: str = "utf-8", newline: str = "\r\n") -> SheetResult:
    """One sheet as csv (no merges: a two-row header leaves the cells under a merge empty)."""
    result = SheetResult(name=sheet.name, kind="data", columns={c.key: i for i, c in enumerate(sheet.cols)})
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, lineterminator=newline)
        rownum = 0
        for kind, cells, extra in _physical_rows(sheet, result):
            rownum += 1
            if kind == "data" and sheet.on_row:
                sheet.on_row(extra[0], rownum)
            if kind in ("header", "header2"):
                result.header_rows.append(rownum)
            if kind == "total":
                result.totals["row_number"] = rownum
            w.writerow([_cell_text(c) for c in cells])
    return result


class XlsxBook:
    """A workbook with deterministic bytes (fixed document properties)."""

    def __init__(self, path: str, constant_memory: bool = False, title: str = "", author: str = ""):
        self.wb = xlsxwriter.Workbook(path, {"constant_memory": constant_memory, "strings_to_numbers": False,
                                             "strings_to_formulas": False, "strings_to_urls": False})
        self.wb.set_properties({"title": title, "author": author, "company": "贵安新区", "created": XLSX_CREATED})
        self.f_title = self.wb.add_format({"bold": True, "font_size": 14, "align": "center"})
        self.f_header = self.wb.add_format({"bold": True, "text_wrap": True, "align": "center",
                                            "valign": "vcenter", "border": 1})
        self.f_date = self.wb.add_format({"num_format": "yyyy-mm-dd"})
        self.f_date_cn = self.wb.add_format({"num_format": 'yyyy"年"m"月"d"日"'})
        self.f_pct = self.wb.add_format({"num_format": "0%"})
        self.f_note = self.wb.add_format({"italic": True})
        self.results: list[SheetResult] = []

    def add(self, sheet: Sheet) -> SheetResult:
        ws = self.wb.add_worksheet(sheet.name)
        if sheet.instructions is not None:
            res = SheetResult(name=sheet.name, kind="instructions")
            for i, line in enumerate(sheet.instructions):
                ws.write_string(i, 0, line)
            ws.set_column(0, 0, 90)
            self.results.append(res)
            return res
        res = SheetResult(name=sheet.name, kind="data", columns={c.key: i for i, c in enumerate(sheet.cols)})
        ws.set_column(0, max(0, len(sheet.cols) - 1), 14)
        r = -1
        for kind, cells, extra in _physical_rows(sheet, res):
            r += 1
            if kind == "data" and sheet.on_row:
                sheet.on_row(extra[0], r + 1)
            if kind in ("header", "header2"):
                res.header_rows.append(r + 1)
            if kind == "total":
                res.totals["row_number"] = r + 1
            fmt = self.f_header if kind in ("header", "header2") else self.f_title if kind == "title" else \
                self.f_note if kind == "note" else None
            for j, v in enumerate(cells):
                if v is not None:
                    self._write(ws, r, j, v, fmt)
                elif kind in ("header", "header2"):
                    ws.write_blank(r, j, None, fmt)
            # merges after the row's values (constant_memory flushes a row once a later row is touched)
            horizontal = [m for m in extra if kind != "data" and m[2] == 0 and m[1] > m[0]]
            vertical = [m for m in extra if kind != "data" and m[2] > 0]
            for c0, c1, _ in horizontal:
                ws.merge_range(r, c0, r, c1, cells[c0], fmt)
            for c0, c1, down in vertical:
                ws.merge_range(r, c0, r + down, c1, cells[c0], fmt)
        self.results.append(res)
        return res

    def _write(self, ws, r: int, c: int, v, fmt) -> None:
        if isinstance(v, str):
            ws.write_string(r, c, v, fmt)
        elif isinstance(v, bool):
            ws.write_boolean(r, c, v, fmt)
        elif isinstance(v, (int, float)):
            ws.write_number(r, c, v, fmt)
        elif isinstance(v, Decimal):
            ws.write_number(r, c, float(v), fmt)
        elif isinstance(v, Percent):
            ws.write_number(r, c, v.value, self.f_pct)
        elif isinstance(v, ExcelDate):
            f = self.f_date_cn if (v.value.day % 2) else self.f_date
            ws.write_datetime(r, c, datetime(v.value.year, v.value.month, v.value.day), f)
        else:
            raise TypeError(type(v))

    def close(self) -> list[SheetResult]:
        self.wb.close()
        return self.results


def csv_bytes(rows: Iterable[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")
