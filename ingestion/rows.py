"""From a located table to typed canonical rows, refused rows and warnings.

Applies the column map (types, units, value synonyms), the row rules that need nothing but the
file itself (required key, duplicate keys within the file, USCC validity, period of a row), and
the totals-row reconciliation. Every refused row keeps its raw values and gets a reason a clerk
can act on; every value set to NULL for cause gets a warning with its raw text.

What does not belong here: reading files (``spreadsheet.py``), rules across files (dbt).
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ingestion.column_maps import Column, SourceMap, common, header_key, units
from ingestion.normalize import (
    CellError,
    clean_text,
    parse_date,
    parse_int,
    parse_month,
    parse_number,
    parse_quarter,
    squeeze,
)
from ingestion.spreadsheet import HeaderCell, Table, row_kind, total_level
from ingestion.uscc import check_uscc


@dataclass
class Rejection:
    sheet: str | None
    row_number: int
    raw_values: dict
    reason_code: str
    message: str


@dataclass
class Warning_:
    sheet: str | None
    row_number: int | None
    column_name: str | None
    raw_value: str | None
    warning_code: str
    message: str


@dataclass
class Parsed:
    records: list[dict] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)
    rows_read: int = 0
    rows_skipped: int = 0


class RowError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# column type → warning code when a value of that type is set to NULL for cause
WARNING_CODES = {"date": "unparsed_date", "firm_uscc": "invalid_uscc_ignored", "capital": "unparsed_capital",
                 "industry_code": "bad_industry_code"}
_LIST_SEPARATORS = re.compile(r"[、，,;；\s]+")
_NAME_SEPARATORS = re.compile(r"[；;、]+")
_CAPITAL = re.compile(r"^(?P<num>[+-]?[\d,]*\.?\d+)(?P<mult>万|亿)?(?P<cur>.*)$")
_INDUSTRY = re.compile(r"^[A-T]?\d{2,4}$")


def _scale(col: Column, cell: HeaderCell) -> float:
    """Factor from the header's unit (or the column's default unit) to the canonical unit."""
    if col.unit_kind is None:
        if cell.unit and cell.unit != "%":
            raise RowError("bad_header_unit", f"column '{cell.text}' has a unit ({cell.unit}) where none is expected")
        return 0.01 if cell.unit == "%" else 1.0
    table = units()[col.unit_kind]
    unit = cell.unit or col.default_unit
    if unit is None:
        return 1.0
    factor = table.get(header_key(unit))
    if factor is None:
        raise RowError("bad_header_unit", f"column '{cell.text}': unit '{unit}' is not one of "
                       f"{', '.join(sorted(table))} for this measure")
    return factor


def _capital(text: str) -> tuple[float, str, float]:
    """``5,000万人民币`` → (50000000.0, 'CNY', 50000000.0)."""
    cfg = common()
    s = squeeze(text)
    m = _CAPITAL.match(s or "")
    if not m:
        raise CellError(f"'{text}' is not an amount of registered capital")
    amount = float(m["num"].replace(",", "")) * {"万": 1e4, "亿": 1e8, None: 1.0}[m["mult"]]
    word = m["cur"] or "元"
    currency = cfg["currencies"].get(word)
    if currency is None:
        raise CellError(f"'{text}': currency '{word}' is not in the currency table")
    return amount, currency, amount * float(cfg["fx_to_cny"][currency])


def _tidy(value: float) -> float:
    """Drop the binary noise of a unit conversion (4.56 万元 → 45600.0, not 45599.999999999993)."""
    return round(value, 6)


class Converter:
    """Converts the cells of one table, column by column, with a cache per column."""

    def __init__(self, smap: SourceMap, table: Table):
        self.smap = smap
        self.table = table
        self.cells = [(c, smap.columns[c.column]) for c in table.cells if c.column]
        self.scale = {c.column: _scale(col, c) for c, col in self.cells
                      if col.type in ("measure", "int", "ratio")}
        self.cache: dict[tuple[str, object], tuple] = {}

    def convert(self, col: Column, cell: HeaderCell, value) -> tuple[dict, str | None]:
        """→ ({canonical columns: values}, warning message or None). Raises RowError to refuse."""
        key = (col.name, value if not isinstance(value, list) else repr(value))
        hit = self.cache.get(key)
        if hit is None:
            try:
                hit = (self._convert(col, cell, value), None)
            except CellError as exc:
                hit = (None, str(exc))
            except RowError as exc:
                hit = (exc, None)
            self.cache[key] = hit
        out, warning = hit
        if isinstance(out, RowError):
            raise out
        if out is None:  # a warning: the value becomes NULL
            return {col.name: None}, warning
        return out, None

    def _convert(self, col: Column, cell: HeaderCell, value) -> dict:
        t, name = col.type, col.name
        try:
            if t == "text":
                return {name: clean_text(value)}
            if t == "code":
                return {name: (v.upper() if (v := squeeze(value)) else None)}
            if t == "account":
                v = squeeze(value)
                if v is not None and not v.isdigit():
                    raise RowError("bad_account",
                                   f"{cell.text} '{clean_text(value)}' is not an account number (digits only)")
                return {name: v}
            if t in ("uscc", "firm_uscc"):
                v = squeeze(value)
                v = v.upper() if v else None
                if v is None:
                    return {name: None}
                problem = check_uscc(v)
                if problem and t == "uscc":
                    raise RowError(*problem)
                if problem:  # bureau files: an invalid code names no firm; the name is used instead
                    raise CellError(problem[1] + "; the firm is resolved by its name instead")
                return {name: v}
            if t == "int":
                number = parse_int(value)
                return {name: None if number is None else round(number * self.scale[name])}
            if t == "measure":
                number, percent = parse_number(value)
                if number is None:
                    return {name: None}
                if percent and col.unit_kind is not None:
                    raise RowError("bad_number",
                                   f"{cell.text} '{clean_text(value)}' is a percentage, an amount is expected")
                return {name: _tidy(number / 100 if percent else number * self.scale[name])}
            if t == "ratio":
                number, percent = parse_number(value)
                if number is None:
                    return {name: None}
                return {name: _tidy(number / 100 if percent else number * self.scale[name])}
            if t == "date":
                return {name: parse_date(value)}
            if t == "month":
                return {name: parse_month(value)}
            if t == "year":
                v = squeeze(value)
                if v is None:
                    return {name: None}
                m = re.match(r"^(\d{4})(\.0)?年?(度)?$", v)
                if not m:
                    raise RowError("bad_period", f"{cell.text} '{clean_text(value)}' is not a year")
                return {name: int(m[1])}
            if t == "quarter":
                try:
                    out = {name: parse_quarter(value)}
                except CellError as exc:
                    raise RowError("unsupported_period", f"{cell.text}: {exc}") from None
                if col.keep_raw_as:
                    out[col.keep_raw_as] = clean_text(value)
                return out
            if t == "enum":
                v = squeeze(value)
                if v is None:
                    return {name: None}
                canonical = col.values.get(v)
                if canonical is None and not col.open:
                    allowed = "、".join(dict.fromkeys(col.values.values()))
                    raise RowError("unknown_value", f"{cell.text} '{clean_text(value)}' is not one of {allowed}")
                return {name: canonical or clean_text(value)}
            if t == "list":
                text = clean_text(value)
                if text is None:
                    return {name: None}
                items = [s for part in _LIST_SEPARATORS.split(text) if (s := squeeze(part))]
                bad = [s for s in items if not s.isdigit()]
                if bad:
                    raise RowError("bad_account", f"{cell.text}: '{bad[0]}' is not an account number (digits only)")
                return {name: ",".join(items) or None}
            if t == "names":
                text = clean_text(value)
                if text is None:
                    return {name: None}
                return {name: ";".join(s for p in _NAME_SEPARATORS.split(text) if (s := clean_text(p))) or None}
            if t == "capital":
                text = clean_text(value)
                if text is None:
                    return {f"{name}_amount": None, f"{name}_currency": None, f"{name}_cny": None}
                amount, currency, cny = _capital(text)
                return {f"{name}_amount": amount, f"{name}_currency": currency, f"{name}_cny": cny}
            if t == "industry_code":
                v = squeeze(value)
                if v is None:
                    return {name: None}
                v = v.upper()
                if not _INDUSTRY.match(v):
                    raise CellError(f"'{v}' is not a GB/T 4754 industry code (e.g. I6550 or 6550)")
                return {name: v}
        except CellError as exc:
            if t in ("int", "measure", "ratio"):
                raise RowError("bad_number", f"{cell.text}: {exc}") from None
            if t in ("month",) and col.name in self.smap.key:
                raise RowError("bad_period", f"{cell.text}: {exc}") from None
            raise
        raise ValueError(f"unknown column type {t!r} in the {self.smap.source} column map")


def _nulls(smap: SourceMap) -> dict:
    out: dict = {"extras": None}
    for col in smap.columns.values():
        if col.type == "capital":
            out.update({f"{col.name}_amount": None, f"{col.name}_currency": None, f"{col.name}_cny": None})
        else:
            out[col.name] = None
        if col.keep_raw_as:
            out[col.keep_raw_as] = None
    return out


def _raw(table: Table, cells: list) -> dict:
    raw = {}
    for c in table.cells:
        if c.index < len(cells) and (v := clean_text(cells[c.index])) is not None:
            raw[c.text or f"column {c.index + 1}"] = v
    extra = [clean_text(v) for v in cells[len(table.cells):] if clean_text(v) is not None]
    if extra:
        raw["(beyond the header)"] = " | ".join(extra)
    return raw


def parse_table(smap: SourceMap, table: Table, period_default, parsed: Parsed) -> None:
    """Append this table's rows to ``parsed``; ``period_default`` fills an empty period column."""
    conv = Converter(smap, table)  # may raise RowError for a bad header unit: the caller refuses the file
    period_col = smap.period["column"]
    numeric = [(c, col) for c, col in conv.cells if col.type in ("int", "measure")]
    unknown = table.unknown
    sums_all: dict[str, float] = defaultdict(float)
    sums_group: dict[str, float] = defaultdict(float)
    template = _nulls(smap)

    kinds = [row_kind(cells) for _, cells in table.rows]
    has_totals = "total" in kinds  # the running sums are only needed to check a totals row
    for (row_number, cells), kind in zip(table.rows, kinds, strict=True):
        if kind == "blank":
            continue
        if kind in ("total", "note"):
            parsed.rows_skipped += 1
            if kind == "total":
                _check_total(conv, numeric, cells, row_number, table,
                             sums_group if total_level(cells) == "sub" else sums_all, parsed)
                if total_level(cells) == "sub":
                    sums_group.clear()
            continue
        parsed.rows_read += 1
        if has_totals:  # refused rows count in the clerk's total too
            _add_to_sums(conv, numeric, cells, (sums_all, sums_group))
        record = dict(template)
        try:
            if len(cells) > len(table.cells) and any(clean_text(v) is not None for v in cells[len(table.cells):]):
                raise RowError("cells_beyond_header", "the row has values in columns without a header")
            row_warnings = []
            for cell, col in conv.cells:
                value = cells[cell.index] if cell.index < len(cells) else None
                out, warning = conv.convert(col, cell, value)
                record.update(out)
                if warning:
                    code = WARNING_CODES.get(col.type, "unparsed_value")
                    row_warnings.append(Warning_(table.sheet, row_number, col.name, clean_text(value), code,
                                                 f"{cell.text}: {warning}; the value is left empty"))
            if record.get(period_col) is None:
                record[period_col] = period_default
            for col in smap.required:
                if record.get(col.name) is None:
                    aliases = " / ".join(col.aliases[:3])
                    raise RowError("missing_key", f"the required {col.name} ({aliases}) is empty")
            if record.get(period_col) is None:
                raise RowError("missing_period", f"the row has no {period_col} and none was found in the "
                               "title or the file name")
            if smap.firm and record.get(smap.firm["uscc"]) is None and record.get(smap.firm["name"]) is None:
                raise RowError("missing_key", "the row names no firm: give a valid 统一社会信用代码 or the 企业名称")
        except RowError as exc:
            parsed.rejections.append(Rejection(table.sheet, row_number, _raw(table, cells), exc.code, str(exc)))
            continue
        extras = {c.text: v for c in unknown if c.index < len(cells) and (v := clean_text(cells[c.index]))}
        if extras:
            record["extras"] = json.dumps(extras, ensure_ascii=False)
        record["sheet"] = table.sheet
        record["row_number"] = row_number
        record["_source"] = (table, cells)  # raw values are rebuilt only if the row is refused later
        parsed.records.append(record)
        parsed.warnings.extend(row_warnings)
    for c in unknown:
        parsed.warnings.append(Warning_(table.sheet, None, None, c.text, "unknown_column",
                                        f"column '{c.text}' is not in the {smap.source} column map: kept in "
                                        "extras; add an alias if it is one of ours"))


def _add_to_sums(conv: Converter, numeric, cells, sums: tuple[dict, ...]) -> None:
    for cell, col in numeric:
        value = cells[cell.index] if cell.index < len(cells) else None
        try:
            v = conv.convert(col, cell, value)[0].get(col.name)
        except RowError:
            continue
        if isinstance(v, (int, float)):
            for s in sums:
                s[col.name] += v


def _check_total(conv: Converter, numeric, cells, row_number, table: Table, sums, parsed: Parsed) -> None:
    for cell, col in numeric:
        value = cells[cell.index] if cell.index < len(cells) else None
        try:
            out, _ = conv.convert(col, cell, value)
        except RowError:
            continue
        stated = out.get(col.name)
        if stated is None:
            continue
        actual = sums.get(col.name, 0.0)
        if abs(stated - actual) > max(0.01, 1e-9 * abs(actual)):
            parsed.warnings.append(Warning_(
                table.sheet, row_number, col.name, clean_text(value), "total_mismatch",
                f"the totals row says {cell.text} = {clean_text(value)}, the rows above add up to "
                f"{actual:g} (in {col.name}'s unit): check the rows or the total"))


def reject_duplicate_keys(smap: SourceMap, parsed: Parsed) -> None:
    """A key given twice in one file: every copy is refused (power: unless exactly one is 更正)."""
    def key_of(r):
        if smap.firm:
            return tuple(r.get(k) for k in smap.key if k not in (smap.firm["uscc"], smap.firm["name"])) + (
                r.get(smap.firm["uscc"]) or ("name", r.get(smap.firm["name"])),)
        return tuple(r.get(k) for k in smap.key)

    counts = Counter(key_of(r) for r in parsed.records)
    if all(n == 1 for n in counts.values()):
        return
    corr = smap.correction
    kept = []
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in parsed.records:
        groups[key_of(r)].append(r)
    for k, rows in groups.items():
        if len(rows) == 1:
            kept.extend(rows)
            continue
        if corr and sum(r.get(corr["column"]) == corr["value"] for r in rows) == 1:
            kept.extend(rows)  # the 更正 copy supersedes the others (decided in SQL)
            continue
        where = ", ".join(str(r["row_number"]) for r in rows)
        label = " / ".join(f"{c}={v}" for c, v in zip(smap.key, k, strict=False) if v is not None) or str(k)
        for r in rows:
            parsed.rejections.append(Rejection(
                r["sheet"], r["row_number"], _raw(*r["_source"]), "duplicate_key_in_file",
                f"{label} appears {len(rows)} times in this file (rows {where}): every copy is refused; "
                "deliver the file again with one row for it"))
    parsed.records = kept
