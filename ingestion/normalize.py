"""Cell-level normalisation: text, numbers, dates, months, quarters, missing markers.

Pure functions from one raw cell value (str, float, int, date, datetime, bool or None, as
python-calamine or a csv reader gives it) to one canonical Python value. A value that cannot be
read raises ``CellError`` with a message a clerk can act on; the caller decides whether that
refuses the row or becomes a NULL with a warning.

What does not belong here: which column is which (``column_maps/``), header handling
(``spreadsheet.py``), row rules such as duplicate keys (``rows.py``).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

MISSING_MARKERS = frozenset({"", "—", "－", "-", "–", "/", "无", "暂无", "N/A", "n/a", "NA", "#N/A", "——", "--"})

_EXCEL_EPOCH = dt.date(1899, 12, 30)


class CellError(ValueError):
    """A cell that does not hold what its column needs."""


def clean_text(value) -> str | None:
    """NFKC, trim (incl. ideographic and non-breaking spaces, line breaks), collapse inner runs.

    Missing markers become None. Numbers coming from Excel are rendered without a spurious
    ``.0``.
    """
    if value is None:
        return None
    if isinstance(value, float):
        value = repr(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()
    elif not isinstance(value, str):
        value = str(value)
    if not unicodedata.is_normalized("NFKC", value):
        value = unicodedata.normalize("NFKC", value)
    text = " ".join(value.split())  # trims and collapses every Unicode space and line break
    return None if text in MISSING_MARKERS else text


def squeeze(value) -> str | None:
    """clean_text, then remove every whitespace (header cells, codes)."""
    text = clean_text(value)
    return None if text is None else text.replace(" ", "")


def is_missing(value) -> bool:
    return clean_text(value) is None


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(value) -> tuple[float | None, bool]:
    """Return (number, was_percent). ``1,234.5`` → 1234.5; ``85%`` → (85.0, True)."""
    if isinstance(value, bool):
        raise CellError(f"'{value}' is not a number")
    if isinstance(value, (int, float)):
        return float(value), False
    text = squeeze(value)
    if text is None:
        return None, False
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    text = text.replace(",", "")
    if not _NUMBER.match(text):
        raise CellError(f"'{clean_text(value)}' is not a number")
    return float(text), percent


def parse_int(value) -> int | None:
    number, percent = parse_number(value)
    if number is None:
        return None
    if percent or not float(number).is_integer():
        raise CellError(f"'{clean_text(value)}' is not a whole number")
    return int(number)


# --- dates -------------------------------------------------------------------------------------

_DATE_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?$"),
]
_MONTH_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(份)?$"),
    re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})$"),
]


def _from_int(number: int, text: str) -> tuple[dt.date, bool]:
    """An integer in a date column: YYYYMM (6 digits), YYYYMMDD (8 digits) or an Excel serial."""
    digits = str(number)
    if len(digits) == 6 and 190001 <= number <= 209912:
        return _make(int(digits[:4]), int(digits[4:]), 1, text), True
    if len(digits) == 8:
        return _make(int(digits[:4]), int(digits[4:6]), int(digits[6:]), text), False
    if 1 <= number < 2958466:
        return _EXCEL_EPOCH + dt.timedelta(days=number), False
    raise CellError(f"'{text}' is not a date")


def _make(y: int, m: int, d: int, text: str) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise CellError(f"'{text}' is not a valid calendar date") from None


def parse_date_or_month(value) -> tuple[dt.date | None, bool]:
    """Return (date, is_month_only). Month-only values give the first day of the month."""
    if value is None:
        return None, False
    if isinstance(value, dt.datetime):
        return value.date(), False
    if isinstance(value, dt.date):
        return value, False
    if isinstance(value, float):
        if not value.is_integer():
            return _from_int(int(value), clean_text(value))[0], False  # Excel serial with a time part
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_int(value, str(value))
    text = squeeze(value)
    if text is None:
        return None, False
    if text.isdigit():
        return _from_int(int(text), text)
    for pattern in _DATE_PATTERNS:
        if m := pattern.match(text):
            return _make(int(m["y"]), int(m["m"]), int(m["d"]), text), False
    for pattern in _MONTH_PATTERNS:
        if m := pattern.match(text):
            return _make(int(m["y"]), int(m["m"]), 1, text), True
    raise CellError(f"'{clean_text(value)}' is not a date")


def parse_date(value) -> dt.date | None:
    return parse_date_or_month(value)[0]


def parse_month(value) -> dt.date | None:
    """A month column: any date form; the result is the first day of its month."""
    day = parse_date_or_month(value)[0]
    return None if day is None else day.replace(day=1)


# --- quarters ----------------------------------------------------------------------------------

_CN_QUARTER = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_QUARTER_RANGES = {(1, 3): 1, (4, 6): 2, (7, 9): 3, (10, 12): 4}
_Q_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})[-年]?Q(?P<q>[1-4])$", re.IGNORECASE),
    re.compile(r"^(?P<y>\d{4})年第?(?P<q>[一二三四1-4])季度?$"),
]
_RANGE = re.compile(r"^(?P<y>\d{4})年(?P<a>\d{1,2})[-~至](?P<b>\d{1,2})月$")
_QUARTER_END_MONTH = re.compile(r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})月?$")


def parse_quarter(value) -> dt.date:
    """Quarter of a period cell → first day of the quarter. Other ranges (e.g. 1-6月) are refused."""
    text = squeeze(value)
    if text is None:
        raise CellError("the period is empty")
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    for pattern in _Q_PATTERNS:
        if m := pattern.match(text):
            return dt.date(int(m["y"]), 3 * _CN_QUARTER[m["q"]] - 2, 1)
    if m := _RANGE.match(text):
        quarter = _QUARTER_RANGES.get((int(m["a"]), int(m["b"])))
        if quarter is None:
            raise CellError(f"period '{text}' is not one quarter (only 1-3月, 4-6月, 7-9月, 10-12月)")
        return dt.date(int(m["y"]), 3 * quarter - 2, 1)
    if (m := _QUARTER_END_MONTH.match(text)) or (text.isdigit() and len(text) == 6 and (
            m := re.match(r"^(?P<y>\d{4})(?P<m>\d{2})$", text))):
        month = int(m["m"])
        if month in (3, 6, 9, 12):
            return dt.date(int(m["y"]), month - 2, 1)
        raise CellError(f"period '{text}' is not a quarter-end month")
    raise CellError(f"period '{text}' is not a quarter (e.g. 2024Q1, 2024年一季度, 2024年1-3月)")


# --- periods in titles and file names ------------------------------------------------------------

_TITLE_MONTH = re.compile(r"(?P<y>20\d{2}|19\d{2})\s*(?:年\s*(?P<m1>\d{1,2})\s*月|[-_.](?P<m2>\d{1,2})(?!\d))")
_NAME_MONTH = re.compile(
    r"(?<!\d)(?P<y>20\d{2}|19\d{2})(?:年(?P<m1>\d{1,2})月|[-_.]?(?P<m2>\d{2})|[-_.](?P<m3>\d{1,2}))(?!\d)")
_NAME_DATE = re.compile(r"(?<!\d)(?P<y>20\d{2}|19\d{2})[-_.]?(?P<m>\d{2})[-_.]?(?P<d>\d{2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)(?P<y>20\d{2}|19\d{2})(?:\s*年|(?!\d))")


def month_in_text(text: str | None, *, file_name: bool = False) -> dt.date | None:
    """First ``2024年3月`` / ``2024-03`` / (file names also ``202403``) found in a text."""
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text)
    pattern = _NAME_MONTH if file_name else _TITLE_MONTH
    for m in pattern.finditer(text):
        month = int(next(v for v in (m.groupdict().get(k) for k in ("m1", "m2", "m3")) if v))
        if 1 <= month <= 12:
            return dt.date(int(m["y"]), month, 1)
    return None


def date_in_text(text: str | None) -> dt.date | None:
    """First ``20240331`` / ``2024-03-31`` in a file name."""
    if not text:
        return None
    for m in _NAME_DATE.finditer(unicodedata.normalize("NFKC", text)):
        try:
            return dt.date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            continue
    return None


def year_in_text(text: str | None) -> int | None:
    if not text:
        return None
    m = _YEAR.search(unicodedata.normalize("NFKC", text))
    return int(m["y"]) if m else None
