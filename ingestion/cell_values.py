"""One cell's value to canonical values, by its column's value type (``Column.type`` in the column maps).

Each value type has one function here, ``(column, header cell, value, scale) → {canonical column:
value}``; ``scale`` is the header unit's factor to the canonical unit (numbers only). A function
raises ``RowError`` to refuse the row, ``CellError`` to set the value to NULL with a warning.
``BY_TYPE`` is the registry ``rows.Converter`` dispatches on.

What does not belong here: whole columns and rows (``rows.py``), the text rules every type shares
(``normalize.py``), USCC check digits (``uscc.py``).
"""
from __future__ import annotations

import re
from collections.abc import Callable

from ingestion.column_maps import Column, common
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
from ingestion.spreadsheet import HeaderCell
from ingestion.uscc import check_uscc


class RowError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


_LIST_SEPARATORS = re.compile(r"[、，,;；\s]+")
_NAME_SEPARATORS = re.compile(r"[；;、]+")
_CAPITAL = re.compile(r"^(?P<num>[+-]?[\d,]*\.?\d+)(?P<mult>万|亿)?(?P<cur>.*)$")
_INDUSTRY = re.compile(r"^[A-T]?\d{2,4}$")
_YEAR = re.compile(r"^(\d{4})(\.0)?年?(度)?$")


def tidy(value: float) -> float:
    """Drop the binary noise of a unit conversion (4.56 万元 → 45600.0, not 45599.999999999993)."""
    return round(value, 6)


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


# --- text and codes ---------------------------------------------------------------------------

def text(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    return {col.name: clean_text(value)}


def code(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    return {col.name: (v.upper() if (v := squeeze(value)) else None)}


def account(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    v = squeeze(value)
    if v is not None and not v.isdigit():
        raise RowError("bad_account", f"{cell.text} '{clean_text(value)}' is not an account number (digits only)")
    return {col.name: v}


def uscc(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    """A firm's own code (``uscc``: an invalid one refuses the row) or a code naming a firm in a bureau
    file (``firm_uscc``: an invalid one names no firm; the firm is resolved by its name instead)."""
    v = squeeze(value)
    v = v.upper() if v else None
    if v is None:
        return {col.name: None}
    problem = check_uscc(v)
    if problem and col.type == "uscc":
        raise RowError(*problem)
    if problem:
        raise CellError(problem[1] + "; the firm is resolved by its name instead")
    return {col.name: v}


def industry_code(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    v = squeeze(value)
    if v is None:
        return {col.name: None}
    v = v.upper()
    if not _INDUSTRY.match(v):
        raise CellError(f"'{v}' is not a GB/T 4754 industry code (e.g. I6550 or 6550)")
    return {col.name: v}


def enum(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    v = squeeze(value)
    if v is None:
        return {col.name: None}
    canonical = col.values.get(v)
    if canonical is None and not col.open:
        allowed = "、".join(dict.fromkeys(col.values.values()))
        raise RowError("unknown_value", f"{cell.text} '{clean_text(value)}' is not one of {allowed}")
    return {col.name: canonical or clean_text(value)}


def account_list(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    items_text = clean_text(value)
    if items_text is None:
        return {col.name: None}
    items = [s for part in _LIST_SEPARATORS.split(items_text) if (s := squeeze(part))]
    bad = [s for s in items if not s.isdigit()]
    if bad:
        raise RowError("bad_account", f"{cell.text}: '{bad[0]}' is not an account number (digits only)")
    return {col.name: ",".join(items) or None}


def names(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    names_text = clean_text(value)
    if names_text is None:
        return {col.name: None}
    return {col.name: ";".join(s for p in _NAME_SEPARATORS.split(names_text) if (s := clean_text(p))) or None}


# --- numbers ----------------------------------------------------------------------------------

def integer(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    number = parse_int(value)
    return {col.name: None if number is None else round(number * scale)}


def measure(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    number, percent = parse_number(value)
    if number is None:
        return {col.name: None}
    if percent and col.unit_kind is not None:
        raise RowError("bad_number", f"{cell.text} '{clean_text(value)}' is a percentage, an amount is expected")
    return {col.name: tidy(number / 100 if percent else number * scale)}


def ratio(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    number, percent = parse_number(value)
    if number is None:
        return {col.name: None}
    return {col.name: tidy(number / 100 if percent else number * scale)}


def capital(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    name, capital_text = col.name, clean_text(value)
    if capital_text is None:
        return {f"{name}_amount": None, f"{name}_currency": None, f"{name}_cny": None}
    amount, currency, cny = _capital(capital_text)
    return {f"{name}_amount": amount, f"{name}_currency": currency, f"{name}_cny": cny}


# --- dates and periods ------------------------------------------------------------------------

def date(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    return {col.name: parse_date(value)}


def month(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    return {col.name: parse_month(value)}


def year(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    v = squeeze(value)
    if v is None:
        return {col.name: None}
    m = _YEAR.match(v)
    if not m:
        raise RowError("bad_period", f"{cell.text} '{clean_text(value)}' is not a year")
    return {col.name: int(m[1])}


def quarter(col: Column, cell: HeaderCell, value, scale: float) -> dict:
    try:
        out = {col.name: parse_quarter(value)}
    except CellError as exc:
        raise RowError("unsupported_period", f"{cell.text}: {exc}") from None
    if col.keep_raw_as:
        out[col.keep_raw_as] = clean_text(value)
    return out


BY_TYPE: dict[str, Callable[[Column, HeaderCell, object, float], dict]] = {
    "text": text, "code": code, "account": account, "uscc": uscc, "firm_uscc": uscc,
    "industry_code": industry_code, "enum": enum, "list": account_list, "names": names,
    "int": integer, "measure": measure, "ratio": ratio, "capital": capital,
    "date": date, "month": month, "year": year, "quarter": quarter,
}
NUMBER_TYPES = ("int", "measure", "ratio")  # scaled by the header's unit; an unreadable one refuses the row
