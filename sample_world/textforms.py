"""How a canonical value is written into a cell: units, number styles, dates, missing markers,
full-width forms, text normalisation.

What belongs here: pure rendering functions (value + style -> cell) and the few normalisation
rules the truth needs to state values the way the reader will have them (NFKC text). Rendering
of dates returns the cell and the date the reader must recover from it, so a month-only form
yields the first day of the month in the truth.
"""
from __future__ import annotations

import functools
import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

MISSING_MARKERS = ["—", "－", "-", "/", "无", "暂无", "N/A"]
EXCEL_EPOCH = date(1899, 12, 30)

DATE_STYLES = ["iso", "slash", "dot", "cn", "cn_month", "dot_month", "dash_month", "yyyymm", "yyyymmdd",
               "serial", "excel"]
MONTH_ONLY_STYLES = {"cn_month", "dot_month", "dash_month", "yyyymm"}
XLSX_ONLY_DATE_STYLES = {"excel"}

_FW_TABLE = {ord(c): chr(ord(c) + 0xFEE0) for c in "0123456789"}
_FW_TABLE.update({ord("("): "（", ord(")"): "）", ord(","): "，"})


@dataclass(frozen=True)
class Percent:
    """An Excel cell holding a fraction shown as a percent (number format ``0%``)."""

    value: float


@dataclass(frozen=True)
class ExcelDate:
    """A real Excel date cell."""

    value: date


def to_fullwidth(s: str) -> str:
    return s.translate(_FW_TABLE)


@functools.lru_cache(maxsize=200_000)
def norm_text(s: str | None) -> str | None:
    """NFKC, trim ordinary/ideographic/non-breaking spaces and line breaks, collapse inner runs."""
    if s is None:
        return None
    s = unicodedata.normalize("NFKC", s)
    s = re.sub(r"[\s\u3000\xa0]+", " ", s).strip()
    return s or None


def dec(x) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(str(x))


def in_unit(value, factor: int | float | Decimal, decimals: int) -> Decimal | None:
    """A canonical value expressed in a file unit (value / factor), rounded to ``decimals``."""
    if value is None:
        return None
    q = Decimal(1).scaleb(-decimals)
    return (dec(value) / dec(factor)).quantize(q, rounding=ROUND_HALF_UP)


def plain(d: Decimal) -> str:
    """Decimal to plain text without exponent and without trailing zeros after the point."""
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def with_thousands(d: Decimal) -> str:
    s = plain(d)
    neg = s.startswith("-")
    s = s.lstrip("-")
    whole, _, frac = s.partition(".")
    whole = f"{int(whole):,}"
    return ("-" if neg else "") + whole + ("." + frac if frac else "")


def as_number(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


@dataclass
class CellStyle:
    """Per-file choices for writing numbers and NULLs."""

    xlsx: bool
    thousands: bool = False
    fullwidth: bool = False
    missing_markers: bool = False

    def number(self, d: Decimal | None, rng: random.Random, text_ok: bool = True):
        """A numeric cell: number (xlsx) or text, maybe with separators / full-width digits."""
        if d is None:
            return self.missing(rng)
        if text_ok and self.thousands and abs(d) >= 1000 and rng.random() < 0.6:
            s = with_thousands(d)
            return to_fullwidth(s) if self.fullwidth and rng.random() < 0.2 else s
        if text_ok and self.fullwidth and rng.random() < 0.15:
            return to_fullwidth(plain(d))
        if self.xlsx:
            return as_number(d)
        return plain(d)

    def missing(self, rng: random.Random):
        if self.missing_markers and rng.random() < 0.75:
            return rng.choice(MISSING_MARKERS)
        return None

    def text(self, s: str | None, rng: random.Random):
        if s is None:
            return self.missing(rng)
        if self.fullwidth and rng.random() < 0.2:
            s = to_fullwidth(s)
        return s


def render_date(d: date | None, style: str, xlsx: bool):
    """Return (cell, date the reader must recover). Month-only styles yield the month's first day."""
    if d is None:
        return None, None
    if style == "excel" and not xlsx:
        style = "iso"
    recovered = date(d.year, d.month, 1) if style in MONTH_ONLY_STYLES else d
    y, m, dd = d.year, d.month, d.day
    if style == "iso":
        cell = f"{y:04d}-{m:02d}-{dd:02d}"
    elif style == "slash":
        cell = f"{y}/{m}/{dd}"
    elif style == "dot":
        cell = f"{y}.{m}.{dd}"
    elif style == "cn":
        cell = f"{y}年{m}月{dd}日"
    elif style == "cn_month":
        cell = f"{y}年{m}月"
    elif style == "dot_month":
        cell = f"{y}.{m}"
    elif style == "dash_month":
        cell = f"{y}-{m:02d}"
    elif style == "yyyymm":
        cell = y * 100 + m if xlsx else f"{y}{m:02d}"
    elif style == "yyyymmdd":
        cell = y * 10000 + m * 100 + dd if xlsx else f"{y}{m:02d}{dd:02d}"
    elif style == "serial":
        n = (d - EXCEL_EPOCH).days
        cell = n if xlsx else str(n)
    elif style == "excel":
        cell = ExcelDate(d)
    else:
        raise ValueError(style)
    return cell, recovered


def render_month(d: date, style: str, xlsx: bool):
    """A report-month / billing-month cell (period column)."""
    y, m = d.year, d.month
    return {
        "cn_month": f"{y}年{m}月",
        "dash_month": f"{y}-{m:02d}",
        "dot_month": f"{y}.{m}",
        "yyyymm": (y * 100 + m) if xlsx else f"{y}{m:02d}",
    }[style]


CN_QUARTER = {1: "一", 2: "二", 3: "三", 4: "四"}


def render_quarter(q_start: date, style: str) -> str:
    y, q = q_start.year, (q_start.month - 1) // 3 + 1
    if style == "q":
        return f"{y}Q{q}"
    if style == "cn":
        return f"{y}年{CN_QUARTER[q]}季度"
    if style == "range":
        return f"{y}年{3 * q - 2}-{3 * q}月"
    if style == "end_month":
        return f"{y}-{3 * q:02d}"
    raise ValueError(style)
