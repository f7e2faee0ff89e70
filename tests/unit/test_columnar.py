"""The columnar fast paths of the row layer agree with the cell functions they skip.

``rows._as_is`` and ``rows._Column.present`` decide, for whole Arrow arrays of distinct values,
when Python's ``clean_text`` / ``check_uscc`` would leave a value unchanged or call it missing.
They may only ever say "ask Python"; these tests feed them the awkward cases.
"""
import random

import numpy as np
import pyarrow as pa
import pytest

from ingestion.column_maps import Column
from ingestion.normalize import MISSING_MARKERS, clean_text
from ingestion.rows import _as_is, _Column
from ingestion.uscc import ALPHABET, check_character, check_uscc, valid_many

AWKWARD = [
    "数据中心", "数据 中心", " 数据中心", "数据中心 ", "数据  中心", "数据\u3000中心", "数据\xa0中心", "（贵州）",
    "(贵州)", "ＡＢＣ", "abc", "a\tb", "a\nb", "a\x1cb", "a\u2028b", "a\u200bb", "无", " 无 ", "—", "-", "N/A",
    "#N/A", "n/a", "暂无", "", " ", "\u3000", "甲；乙", "甲;乙", "甲、乙", "甲,乙", "123", "１２３", "12 3", "0012",
    "Ⅻ", "ﬁ", "㈠", "e\u0301", "é",
]


def _column(values: list[str]) -> _Column:
    return _Column(np.arange(len(values)), pa.array(values, pa.string()))


@pytest.mark.parametrize("kind", ["text", "names", "account"])
def test_as_is_only_when_the_cell_function_is_the_identity(kind):
    col = Column(name="x", type=kind, aliases=())
    fast = _as_is(col, _column(AWKWARD))
    for value, skip in zip(AWKWARD, fast, strict=True):
        if not skip:
            continue
        cleaned = clean_text(value)
        assert cleaned == value, (kind, value)
        if kind == "names":
            assert not any(sep in value for sep in "；;、")
        if kind == "account":
            assert value.isdigit() and value.isascii()
    expected_fast = {"text": ["数据中心", "数据 中心", "(贵州)", "abc", "甲;乙", "0012"],
                     "names": ["数据中心", "数据 中心", "甲,乙"], "account": ["123", "0012"]}[kind]
    assert all(fast[AWKWARD.index(v)] for v in expected_fast)  # the fast path is taken where it can be


def test_present_agrees_with_clean_text():
    values = AWKWARD + sorted(MISSING_MARKERS) + [f" {m}\u3000" for m in MISSING_MARKERS]
    column = _column(values)
    assert column.present().tolist() == [clean_text(v) is not None for v in values]


def test_bulk_uscc_check_agrees_with_check_uscc():
    rng = random.Random(7)
    codes = []
    for _ in range(3000):
        body = "".join(rng.choice(ALPHABET) for _ in range(17))
        good = body + check_character(body)
        codes += [good, body + rng.choice(ALPHABET), good.lower(), good[:-1], "I" + good[1:], good + " "]
    codes += ["123456789012345", "", "91440106123456796W", "９１４４０１０６１２３４５６７９６Ｗ"]
    fast = valid_many(pa.array(codes, pa.string())).tolist()
    assert any(fast) and not all(fast)
    for code, ok in zip(codes, fast, strict=True):
        if ok:
            assert check_uscc(code) is None, code
    # and it is a real fast path: every canonical code with a right check character takes it
    assert all(ok for code, ok in zip(codes, fast, strict=True)
               if len(code) == 18 and code.isascii() and code.upper() == code
               and set(code) <= set(ALPHABET) and check_character(code[:17]) == code[17])


NUMERIC_AWKWARD = ["0", "12", "-3", "0012.50", "12.", ".5", "+5", "1,234.5", "1e3", "85%", "12.3456789",
                   "123456789.123456", "1234567890", " 12", "12 ", "１２", "—", "", "NaN", "inf", "-0", "-0.0",
                   "999999999.999999", "4.56"]


@pytest.mark.parametrize("kind", ["measure", "ratio"])
def test_numbers_in_their_own_unit_are_cast_only_when_python_would_give_the_same_double(kind):
    from ingestion.cell_values import tidy as _tidy
    from ingestion.normalize import parse_number

    rng = random.Random(11)
    values = NUMERIC_AWKWARD + [f"{rng.randrange(10 ** rng.randrange(1, 10))}.{rng.randrange(10 ** 6):06d}"[
        :rng.randrange(3, 17)].rstrip(".") for _ in range(20000)]
    column = _column(values)
    col = Column(name="x", type=kind, aliases=())
    assert _as_is(col, column, 10000.0) is None  # another unit: every value goes through Python
    fast = _as_is(col, column, 1.0)
    cast = pa.array([v if f else None for v, f in zip(values, fast, strict=True)], pa.string()).cast(pa.float64())
    for value, skip, number in zip(values, fast, cast.to_pylist(), strict=True):
        if skip:
            python, percent = parse_number(value)
            assert not percent and number == _tidy(python * 1.0) and str(number) == str(_tidy(python)), value
    assert all(fast[NUMERIC_AWKWARD.index(v)] for v in ["0", "12", "-3", "0012.50", "123456789.123456", "-0"])
    assert not any(fast[NUMERIC_AWKWARD.index(v)] for v in ["+5", "1,234.5", "1e3", "85%", " 12", "１２", "—", ""])
