"""From a located table to typed canonical rows, refused rows and warnings.

Applies the column map (types, units, value synonyms), the row rules that need nothing but the
file itself (required key, duplicate keys within the file, USCC validity, period of a row), and
the totals-row reconciliation. Every refused row keeps its raw values and gets a reason a clerk
can act on; every value set to NULL for cause gets a warning with its raw text.

It works column by column: a column's distinct values are converted once each (a registry extract
of a million firms repeats most of its cells), row rules are array operations, and loaded rows
are Arrow tables. Vectorised fast paths may only skip a conversion whose result is the value itself.

What does not belong here: reading files (``spreadsheet.py``), one cell's conversion by its value type
(``cell_values.py``), rules across files (dbt).
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.cell_values import BY_TYPE, NUMBER_TYPES, RowError
from ingestion.column_maps import Column, SourceMap, common, header_key, units
from ingestion.normalize import (
    MISSING_MARKERS,
    CellError,
    clean_text,
)
from ingestion.raw_schema import outputs, raw_columns
from ingestion.spreadsheet import HeaderCell, Table, row_kind, total_level
from ingestion.uscc import valid_many


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
    """What a file gave: loaded rows (Arrow tables, one per sheet), refused rows, warnings, counts.

    The loaded rows carry ``sheet`` and ``row_number`` and two internal columns, ``_table`` (index in
    ``tables``) and ``_k`` (row index in that table), to rebuild a row's raw values if it is refused
    later; ``rows_table`` drops them.
    """
    frames: list[pa.Table] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)
    rows_read: int = 0
    rows_skipped: int = 0
    # every header cell of the tables read: (sheet, header as written, canonical raw column or None when no
    # alias matched); one entry per raw column a cell fills (ingestion/file_columns.py writes them)
    headers: list[tuple[str | None, str, str | None]] = field(default_factory=list)

    @property
    def n_records(self) -> int:
        return sum(f.num_rows for f in self.frames)

    def rows_table(self) -> pa.Table | None:
        if not self.frames:
            return None
        table = pa.concat_tables(self.frames)
        return table.drop_columns(["_table", "_k"])

    @property
    def records(self) -> list[dict]:
        """The loaded rows as dicts (for tests and small files)."""
        table = self.rows_table()
        return [] if table is None else table.to_pylist()


# column type → warning code when a value of that type is set to NULL for cause
WARNING_CODES = {"date": "unparsed_date", "firm_uscc": "invalid_uscc_ignored", "capital": "unparsed_capital",
                 "industry_code": "bad_industry_code"}


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


class Converter:
    """Converts the cells of one table; the caller converts each distinct value of a column once."""

    def __init__(self, smap: SourceMap, table: Table):
        self.smap = smap
        self.table = table
        self.cells = [(c, smap.columns[c.column]) for c in table.cells if c.column]
        self.scale = {c.column: _scale(col, c) for c, col in self.cells
                      if col.type in NUMBER_TYPES}

    def convert(self, col: Column, cell: HeaderCell, value) -> tuple[dict, str | None]:
        """→ ({canonical columns: values}, warning message or None). Raises RowError to refuse."""
        try:
            return self._convert(col, cell, value), None
        except CellError as exc:  # a warning: the value becomes NULL
            return {name: None for name in outputs(col)}, str(exc)

    def _convert(self, col: Column, cell: HeaderCell, value) -> dict:
        convert = BY_TYPE.get(col.type)
        if convert is None:
            raise ValueError(f"unknown column type {col.type!r} in the {self.smap.source} column map")
        try:
            return convert(col, cell, value, self.scale.get(col.name, 1.0))
        except CellError as exc:
            if col.type in NUMBER_TYPES:
                raise RowError("bad_number", f"{cell.text}: {exc}") from None
            if col.type == "month" and col.name in self.smap.key:
                raise RowError("bad_period", f"{cell.text}: {exc}") from None
            raise


_ARROW_TYPES = {"varchar": pa.string(), "double": pa.float64(), "bigint": pa.int64(), "date": pa.date32(),
                "integer": pa.int32()}


def output_types(smap: SourceMap) -> dict[str, pa.DataType]:
    return {name: _ARROW_TYPES[sql] for name, sql in raw_columns(smap).items()}


def _factorize(values) -> tuple[np.ndarray, list | pa.Array]:
    """Codes (the distinct value's index; the number of distinct values for a missing cell) and the
    distinct values: an Arrow string array for Arrow input (csv, jsonl), else a list."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        encoded = values.dictionary_encode()
        distinct = encoded.dictionary
        codes = pc.fill_null(encoded.indices, len(distinct)).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, distinct
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    uniques = list(uniques)
    codes = codes.astype(np.int64)
    codes[codes < 0] = len(uniques)
    return codes, uniques


@dataclass
class _Column:
    """One grid column below the header, factorized: each distinct raw value is handled once.

    ``distinct`` is an Arrow string array (csv, jsonl: the vectorised fast paths apply) or a list
    (xlsx cells of mixed types). Distinct value ``size`` stands for the missing cell.
    """
    codes: np.ndarray
    distinct: list | pa.Array

    @property
    def size(self) -> int:
        return len(self.distinct)

    @property
    def strings(self) -> pa.Array | None:
        return self.distinct if isinstance(self.distinct, pa.Array) else None

    @functools.cached_property
    def uniques(self) -> list:
        return self.distinct.to_pylist() if isinstance(self.distinct, pa.Array) else self.distinct

    def value(self, u: int):
        if u >= self.size:
            return None
        return self.distinct[u].as_py() if isinstance(self.distinct, pa.Array) else self.distinct[u]

    @functools.cached_property
    def cleaned(self) -> list[str | None]:
        """clean_text of each distinct value, the missing cell last."""
        return [*(clean_text(u) for u in self.uniques), None]

    def present(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Per row (all rows, or those given): the cell holds something (not blank, not a missing marker).

        Only the distinct values those rows use are examined.
        """
        codes = self.codes if rows is None else self.codes[rows]
        used = np.zeros(self.size + 1, dtype=bool)
        used[codes] = True
        used[self.size] = False
        which = np.nonzero(used)[0]
        per_value = np.zeros(self.size + 1, dtype=bool)
        if self.strings is None:
            per_value[which] = [clean_text(self.distinct[u]) is not None for u in which.tolist()]
        else:  # only short values can clean to nothing or to a missing marker
            strings = self.strings.take(pa.array(which))
            short = pc.less_equal(pc.utf8_length(pc.utf8_trim_whitespace(strings)), _LONGEST_MARKER + 4)
            odd = pc.match_substring_regex(strings, f"[{_PY_SPACE}]")
            ask = pc.fill_null(pc.or_(short, odd), True).to_numpy(zero_copy_only=False)
            per_value[which] = True
            for u in which[ask].tolist():
                per_value[u] = clean_text(self.distinct[u].as_py()) is not None
        return per_value[codes]


# Every character Python's str.split() splits on, but the plain space (RE2 classes).
_PY_SPACE = (r"\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
             r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}")
_LONGEST_MARKER = max(len(m) for m in MISSING_MARKERS)


def _clean_as_is(strings: pa.Array) -> np.ndarray:
    """Per value: ``clean_text`` would return it unchanged (NFKC form, single inner spaces, no marker)."""
    normal = pc.equal(pc.utf8_normalize(strings, "NFKC"), strings)
    spaced = pc.match_substring_regex(strings, f"^ | $|  |[{_PY_SPACE}]")
    marker = pc.is_in(strings, value_set=pa.array(sorted(MISSING_MARKERS), pa.string()))
    ok = pc.and_(pc.and_(normal, pc.invert(spaced)), pc.invert(marker))
    return pc.fill_null(ok, False).to_numpy(zero_copy_only=False)


_SEPARATOR = re.compile(r"[；;、]")


# A plain decimal that Arrow's cast reads as Python's float() does (both round correctly), and that
# cell_values.tidy's round(x, 6) leaves unchanged: at most 9 integer and 6 fractional digits, so the double is
# within a tenth of a millionth of the decimal.
_PLAIN_DECIMAL = r"^-?[0-9]{1,9}(\.[0-9]{1,6})?$"


def _as_is(col: Column, column: _Column, scale: float | None = None) -> np.ndarray | None:
    """Per distinct value: the conversion is the identity and refuses nothing (so Python can skip it).
    For a measure or ratio in the column's own unit (``scale`` 1), "the identity" is the cast of
    the text to a double.

    Only a fast path: False means "convert it in Python", never a different result.
    """
    if column.strings is not None and col.type in ("measure", "ratio") and scale == 1.0:
        return pc.fill_null(pc.match_substring_regex(column.strings, _PLAIN_DECIMAL), False).to_numpy(
            zero_copy_only=False)
    if column.strings is None or col.type not in ("text", "names", "account", "uscc", "firm_uscc"):
        return None
    strings = column.strings
    if col.type in ("uscc", "firm_uscc"):
        return valid_many(strings)
    clean = _clean_as_is(strings)
    if col.type == "text":
        return clean
    if col.type == "names":
        return clean & ~pc.match_substring_regex(strings, _SEPARATOR.pattern).to_numpy(zero_copy_only=False)
    return clean & pc.match_substring_regex(strings, "^[0-9]+$").to_numpy(zero_copy_only=False)  # account


_MARKER_PREFILTER = None


def _may_be_marker(values: list | pa.Array) -> np.ndarray:
    """A cheap superset of the values that start a totals or notes row (exact test in ``row_kind``)."""
    global _MARKER_PREFILTER
    if _MARKER_PREFILTER is None:
        markers = [unicodedata.normalize("NFKC", m) for m in (*common()["total_markers"], *common()["note_markers"])]
        _MARKER_PREFILTER = "^(" + "|".join(re.escape(m) for m in markers) + ")"
    if not isinstance(values, pa.Array):
        return np.ones(len(values), dtype=bool)
    text = pc.utf8_normalize(values, "NFKC")
    text = pc.replace_substring_regex(text, r"[\s\p{Z}\x{1c}-\x{1f}\x{85}]+", "")
    return pc.fill_null(pc.match_substring_regex(text, _MARKER_PREFILTER), True).to_numpy(zero_copy_only=False)


def _row_kinds(columns: list[_Column], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: kind (0 data, 1 blank, 2 total, 3 note) and, for totals, whether it is a 小计.

    The kind comes from the first non-empty cell of the row; a column is examined only for the rows
    whose earlier cells are all empty.
    """
    first = np.full(n, -1, dtype=np.int64)
    open_rows = np.arange(n)
    for j, column in enumerate(columns):
        if not len(open_rows):
            break
        here = column.present(open_rows)
        first[open_rows[here]] = j
        open_rows = open_rows[~here]
    kind = np.where(first < 0, 1, 0)
    sub = np.zeros(n, dtype=bool)
    for j, column in enumerate(columns):
        rows = np.nonzero(first == j)[0]
        if not len(rows):
            continue
        used = np.zeros(column.size + 1, dtype=bool)
        used[column.codes[rows]] = True
        used = np.nonzero(used[:-1])[0]
        values = (column.strings.take(pa.array(used)) if column.strings is not None
                  else [column.distinct[u] for u in used])
        for u in used[_may_be_marker(values)].tolist():
            k = row_kind([column.value(u)])
            if k in ("total", "note"):
                hit = rows[column.codes[rows] == u]
                kind[hit] = 2 if k == "total" else 3
                sub[hit] = k == "total" and total_level([column.value(u)]) == "sub"
    return kind, sub


def _raws(table: Table, ks: list[int]) -> list[dict]:
    """The raw values of table rows ``ks`` by header, as a refused row keeps them."""
    return [_raw(table, cells) for cells in table.rows_at(ks)]


def _raw(table: Table, cells: list) -> dict:
    raw = {}
    for c in table.cells:
        if c.index < len(cells) and (v := clean_text(cells[c.index])) is not None:
            raw[c.text or f"column {c.index + 1}"] = v
    extra = [clean_text(v) for v in cells[len(table.cells):] if clean_text(v) is not None]
    if extra:
        truncated = table.grid.truncated_after is not None and len(cells) >= table.grid.truncated_after
        raw["(beyond the header)"] = " | ".join(extra) + (" | …" if truncated else "")
    return raw


class _Reasons:
    """The first reason each row is refused for, in the order the rules are applied."""

    def __init__(self, n: int):
        self.index = np.full(n, -1, dtype=np.int64)
        self.reasons: list[tuple[str, str]] = []

    def add(self, mask: np.ndarray, code: str, message: str) -> None:
        mask = mask & (self.index < 0)
        if mask.any():
            self.reasons.append((code, message))
            self.index[mask] = len(self.reasons) - 1

    def add_per_value(self, per_value: dict[int, tuple[str, str]], size: int, codes: np.ndarray) -> None:
        """``per_value[code]`` is a (code, message) refusing the rows holding that distinct value."""
        if not per_value:
            return
        local = np.full(size, -1, dtype=np.int64)
        for u, reason in per_value.items():
            self.reasons.append(reason)
            local[u] = len(self.reasons) - 1
        row = local[codes]
        take = (self.index < 0) & (row >= 0)
        self.index[take] = row[take]


def parse_table(smap: SourceMap, table: Table, period_default, parsed: Parsed) -> None:
    """Append this table's rows to ``parsed``; ``period_default`` fills an empty period column.

    Works column by column: every distinct raw value of a column is converted once, and the row
    rules are array operations, so a million-row registry extract costs what its distinct values do.
    """
    conv = Converter(smap, table)  # may raise RowError for a bad header unit: the caller refuses the file
    n = table.n_rows
    width = max(len(table.cells), len(table.grid.columns))
    columns = [_Column(*_factorize(table.column(j))) for j in range(width)]
    kind, is_sub = _row_kinds(columns, n)
    data = kind == 0
    parsed.rows_read += int(data.sum())
    parsed.rows_skipped += int(((kind == 2) | (kind == 3)).sum())

    reasons = _Reasons(n)
    beyond = np.zeros(n, dtype=bool)
    for column in columns[len(table.cells):]:
        beyond |= column.present()
    reasons.add(beyond, "cells_beyond_header", "the row has values in columns without a header")

    types = output_types(smap)
    out: dict[str, pa.Array] = {name: pa.nulls(n, t) for name, t in types.items()}
    warned: list[tuple[HeaderCell, Column, _Column, dict[int, str]]] = []
    numeric: dict[str, np.ndarray] = {}  # per numeric column: value, NaN where empty or refused
    for cell, col in conv.cells:
        column = columns[cell.index]
        as_is = _as_is(col, column, conv.scale.get(col.name))  # values whose conversion is the identity
        slow = range(column.size + 1) if as_is is None else [*np.nonzero(~as_is)[0].tolist(), column.size]
        values: dict[str, list] = {name: [] for name in outputs(col)}
        refusals: dict[int, tuple[str, str]] = {}
        warnings: dict[int, str] = {}
        for u in slow:
            try:
                converted, warning = conv.convert(col, cell, column.value(u))
                if warning is not None:
                    warnings[u] = warning
            except RowError as exc:
                converted, refusals[u] = {}, (exc.code, str(exc))
            for name, vs in values.items():
                vs.append(converted.get(name))
        reasons.add_per_value(refusals, column.size + 1, column.codes)
        indices = pa.array(column.codes)
        for name, vs in values.items():
            if as_is is None:
                per_value = pa.array(vs, types[name])
            else:  # the distinct values themselves, with the converted slow ones put in
                mask = np.zeros(column.size + 1, dtype=bool)
                mask[list(slow)] = True
                base = pa.concat_arrays([column.strings, pa.nulls(1, pa.string())])
                if types[name] != pa.string():  # cast only the fast values (a slow one may be no number)
                    base = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), base)
                base = base.cast(types[name])
                per_value = pc.replace_with_mask(base, pa.array(mask), pa.array(vs, types[name]))
            out[name] = per_value.take(indices)
        if warnings:
            warned.append((cell, col, column, warnings))
        if col.type in ("int", "measure"):  # per distinct value, for the totals check: NaN where empty or refused
            numbers = per_value.cast(pa.float64()).to_numpy(zero_copy_only=False).copy()
            numbers[list(refusals)] = np.nan
            numeric[col.name] = numbers[column.codes]

    period_col = smap.period["column"]
    if period_default is not None:
        out[period_col] = pc.fill_null(out[period_col], pa.scalar(period_default, types[period_col]))
    for col in smap.required:
        aliases = " / ".join(col.aliases[:3])
        reasons.add(_is_null(out[col.name]), "missing_key", f"the required {col.name} ({aliases}) is empty")
    reasons.add(_is_null(out[period_col]), "missing_period",
                f"the row has no {period_col} and none was found in the title or the file name")
    if smap.firm:
        reasons.add(_is_null(out[smap.firm["uscc"]]) & _is_null(out[smap.firm["name"]]), "missing_key",
                    "the row names no firm: give a valid 统一社会信用代码 or the 企业名称")

    if (kind == 2).any():
        _check_totals(table, conv, kind, is_sub, numeric, parsed)
    refused = np.nonzero(data & (reasons.index >= 0))[0].tolist()
    for k, raw in zip(refused, _raws(table, refused), strict=True):
        code, message = reasons.reasons[reasons.index[k]]
        parsed.rejections.append(Rejection(table.sheet, table.row_number(k), raw, code, message))

    keep = data & (reasons.index < 0)
    row_numbers = np.arange(n, dtype=np.int64) + table.row_number(0)
    new_warnings = []
    for cell, col, column, warnings in warned:
        code = WARNING_CODES.get(col.type, "unparsed_value")
        flagged = np.zeros(column.size + 1, dtype=bool)
        flagged[list(warnings)] = True
        for k in np.nonzero(flagged[column.codes] & keep)[0].tolist():
            u = int(column.codes[k])
            new_warnings.append((k, Warning_(table.sheet, int(row_numbers[k]), col.name,
                                             clean_text(column.value(u)), code,
                                             f"{cell.text}: {warnings[u]}; the value is left empty")))
    parsed.warnings.extend(w for _, w in sorted(new_warnings, key=lambda kw: kw[0]))  # row order, then column

    frame = out
    frame["extras"] = _extras(table, columns, n)
    del columns, warned, numeric, out  # a million-row extract: free what the frame no longer needs
    frame["sheet"] = pa.array([table.sheet] * n, pa.string()) if table.sheet else pa.nulls(n, pa.string())
    frame["row_number"] = pa.array(row_numbers.astype(np.int32))
    frame["_table"] = pa.array(np.full(n, len(parsed.tables), dtype=np.int32))
    frame["_k"] = pa.array(np.arange(n, dtype=np.int64))
    parsed.tables.append(table)
    mask = pa.array(keep)
    for name in list(frame):  # column by column, each unfiltered column freed as soon as it is filtered
        frame[name] = frame[name].filter(mask)
    parsed.frames.append(pa.table(frame))
    for c in table.cells:
        if c.text and not c.ignored:
            parsed.headers.extend((table.sheet, c.text, name) for name in (
                outputs(smap.columns[c.column]) if c.column else [None]))
    for c in table.unknown:
        parsed.warnings.append(Warning_(table.sheet, None, None, c.text, "unknown_column",
                                        f"column '{c.text}' is not in the {smap.source} column map: kept in "
                                        "extras; add an alias if it is one of ours"))


def _is_null(values: pa.Array) -> np.ndarray:
    return values.is_null().to_numpy(zero_copy_only=False)


def _extras(table: Table, columns: list[_Column], n: int) -> pa.Array:
    """Per row: the JSON object of the values in columns the map does not know, or NULL."""
    parts = []
    for c in table.unknown:
        column = columns[c.index]
        key = json.dumps(c.text, ensure_ascii=False)
        fragments = [None if v is None else f"{key}: {json.dumps(v, ensure_ascii=False)}" for v in column.cleaned]
        parts.append(pa.array(fragments, pa.string()).take(pa.array(column.codes)))
    if not parts:
        return pa.nulls(n, pa.string())
    body = parts[0]
    if len(parts) > 1:  # rare (bureau files); pyarrow 26's element-wise join returned too few rows here
        body = pa.array([", ".join(f for f in row if f is not None) or None
                         for row in zip(*(p.to_pylist() for p in parts), strict=True)], pa.string())
    return pc.replace_substring_regex(body, r"^((?s).*)$", r"{\1}")


def _check_totals(table: Table, conv: Converter, kind: np.ndarray, is_sub: np.ndarray,
                  numeric: dict[str, np.ndarray], parsed: Parsed) -> None:
    """A totals row must equal the sum of the data rows above it (a 小计 those since the last 小计).

    Refused rows count in the clerk's total too; only cells that convert are added.
    """
    cells = {col.name: cell for cell, col in conv.cells}
    for name, values in numeric.items():
        total_all = total_group = 0.0
        for k in np.nonzero((kind == 0) | (kind == 2))[0].tolist():
            v = values[k]
            if kind[k] == 0:
                if not np.isnan(v):
                    total_all += v
                    total_group += v
                continue
            actual = total_group if is_sub[k] else total_all
            if not np.isnan(v) and abs(v - actual) > max(0.01, 1e-9 * abs(actual)):
                raw = clean_text(table.rows_at([k])[0][cells[name].index])
                parsed.warnings.append(Warning_(
                    table.sheet, table.row_number(k), name, raw, "total_mismatch",
                    f"the totals row says {cells[name].text} = {raw}, the rows above add up to "
                    f"{actual:g} (in {name}'s unit): check the rows or the total"))
            if is_sub[k]:
                total_group = 0.0


def reject_duplicate_keys(smap: SourceMap, parsed: Parsed) -> None:
    """A key given twice in one file: every copy is refused (power: unless exactly one is 更正)."""
    if parsed.n_records < 2:
        return
    table = pa.concat_tables(parsed.frames)
    key_cols = list(smap.key)
    if smap.firm:
        key_cols = [k for k in key_cols if k not in (smap.firm["uscc"], smap.firm["name"])]
    keys = table.select(key_cols).to_pandas(types_mapper=pd.ArrowDtype) if key_cols else pd.DataFrame(index=range(
        table.num_rows))
    if smap.firm:  # a firm is its code, else its name
        uscc = table.column(smap.firm["uscc"]).to_pandas(types_mapper=pd.ArrowDtype)
        name = table.column(smap.firm["name"]).to_pandas(types_mapper=pd.ArrowDtype)
        keys["_firm"] = uscc.astype(object).where(uscc.notna(), "name:" + name.astype(object).fillna(""))
    dup = keys.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    rows = table.filter(pa.array(dup)).to_pylist()
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        firm = ((r.get(smap.firm["uscc"]) or ("name", r.get(smap.firm["name"]))),) if smap.firm else ()
        groups[tuple(r.get(k) for k in key_cols) + firm].append(r)
    corr = smap.correction
    drop = set()
    refused = []
    for k, group in groups.items():
        if corr and sum(r.get(corr["column"]) == corr["value"] for r in group) == 1:
            continue  # the 更正 copy supersedes the others (decided in SQL)
        where = ", ".join(str(r["row_number"]) for r in group)
        label = " / ".join(f"{c}={v}" for c, v in zip(smap.key, k, strict=False) if v is not None) or str(k)
        for r in group:
            drop.add((r["_table"], r["_k"]))
            refused.append((r, f"{label} appears {len(group)} times in this file (rows {where}): every copy is "
                               "refused; deliver the file again with one row for it"))
    by_table: dict[int, list[int]] = defaultdict(list)
    for r, _ in refused:
        by_table[r["_table"]].append(r["_k"])
    raws = {t: dict(zip(ks, _raws(parsed.tables[t], ks), strict=True)) for t, ks in by_table.items()}
    for r, message in refused:
        parsed.rejections.append(Rejection(r["sheet"], r["row_number"], raws[r["_table"]][r["_k"]],
                                           "duplicate_key_in_file", message))
    if drop:
        parsed.frames = [f if not f.num_rows or f.column("_table")[0].as_py() not in by_table
                         else f.filter(pc.invert(pc.is_in(f.column("_k"), pa.array(by_table[f.column("_table")[0]
                                                                                         .as_py()], pa.int64()))))
                         for f in parsed.frames]
