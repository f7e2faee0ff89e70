"""Cell normalisation: every text, number, date and period form of the input contract."""
import datetime as dt

import pytest

from ingestion.normalize import (
    CellError,
    clean_text,
    date_in_text,
    month_in_text,
    parse_date,
    parse_int,
    parse_month,
    parse_number,
    parse_quarter,
    year_in_text,
)

D = dt.date


@pytest.mark.parametrize("raw", ["", "—", "－", "-", "/", "无", "暂无", "N/A", "  ", "\u3000", None])
def test_missing_markers_are_null_never_zero(raw):
    assert clean_text(raw) is None
    assert parse_number(raw) == (None, False)
    assert parse_date(raw) is None


def test_text_is_nfkc_trimmed_and_collapsed():
    assert clean_text("\u3000贵安\u00a0 一号  数据中心\n") == "贵安 一号 数据中心"
    assert clean_text("（贵州）云计算有限公司") == "(贵州)云计算有限公司"
    assert clean_text(12.0) == "12"


@pytest.mark.parametrize("raw, expected", [
    ("1,234.5", (1234.5, False)), ("１，２３４．５", (1234.5, False)), ("85%", (85.0, True)),
    ("８５％", (85.0, True)), (12, (12.0, False)), (" -3.5 ", (-3.5, False)), ("1e3", (1000.0, False)),
])
def test_numbers(raw, expected):
    assert parse_number(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "12..3", "1,2,3a", True])
def test_bad_numbers_raise(raw):
    with pytest.raises(CellError):
        parse_number(raw)


def test_int_refuses_fractions():
    assert parse_int("1,200") == 1200
    assert parse_int(12.0) == 12
    with pytest.raises(CellError):
        parse_int("12.5")


@pytest.mark.parametrize("raw, expected", [
    ("2024-03-15", D(2024, 3, 15)), ("2024/3/15", D(2024, 3, 15)), ("2024.3.15", D(2024, 3, 15)),
    ("2024年3月15日", D(2024, 3, 15)), ("2024年3月", D(2024, 3, 1)), ("2024.3", D(2024, 3, 1)),
    ("2024-03", D(2024, 3, 1)), ("202403", D(2024, 3, 1)), (202403, D(2024, 3, 1)),
    ("20240315", D(2024, 3, 15)), (45366, D(2024, 3, 15)), (45366.0, D(2024, 3, 15)),
    (dt.datetime(2024, 3, 15, 8, 0), D(2024, 3, 15)), (D(2024, 3, 15), D(2024, 3, 15)),
    ("２０２４年３月１５日", D(2024, 3, 15)),
])
def test_every_date_form(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["2023年底", "已投产", "2024-13-01", "2024-02-30"])
def test_non_dates_raise(raw):
    with pytest.raises(CellError):
        parse_date(raw)


def test_month_column_truncates_to_first_day():
    assert parse_month("2024-03-15") == D(2024, 3, 1)
    assert parse_month(202412) == D(2024, 12, 1)


@pytest.mark.parametrize("raw, expected", [
    ("2024Q1", D(2024, 1, 1)), ("2024年一季度", D(2024, 1, 1)), ("2024年第三季度", D(2024, 7, 1)),
    ("2024年1-3月", D(2024, 1, 1)), ("2024年4-6月", D(2024, 4, 1)), ("2024年10-12月", D(2024, 10, 1)),
    ("2024-03", D(2024, 1, 1)), ("2024-12", D(2024, 10, 1)),
])
def test_quarters(raw, expected):
    assert parse_quarter(raw) == expected


@pytest.mark.parametrize("raw", ["2024年1-6月", "2024年1-9月", "2024-05", "2024年"])
def test_other_periods_are_refused(raw):
    with pytest.raises(CellError):
        parse_quarter(raw)


def test_periods_in_titles_and_file_names():
    assert month_in_text("贵安新区数据中心运行情况台账（2024年3月）") == D(2024, 3, 1)
    assert month_in_text("台账_202403.xlsx", file_name=True) == D(2024, 3, 1)
    assert month_in_text("台账 2024-03.xlsx", file_name=True) == D(2024, 3, 1)
    assert month_in_text("台账（2024年3月）.xlsx", file_name=True) == D(2024, 3, 1)
    assert month_in_text("台账.xlsx", file_name=True) is None
    assert date_in_text("企业登记信息_20240331.csv") == D(2024, 3, 31)
    assert date_in_text("registry-2024-03-31.jsonl") == D(2024, 3, 31)
    assert year_in_text("2025年一中心一方案") == 2025
