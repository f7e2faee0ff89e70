"""Helpers to write small nasty files by hand (xlsx via xlsxwriter, csv in any encoding)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xlsxwriter


def write_xlsx(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[tuple]] | None = None) -> Path:
    """sheets: name → rows (None = empty cell; datetime.date written as a real Excel date)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), date_fmt)
                else:
                    ws.write(r, c, v)
        for (r1, c1, r2, c2, text) in (merges or {}).get(name, []):
            ws.merge_range(r1, c1, r2, c2, text)
    wb.close()
    return path


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    import csv
    import io

    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.fixture
def xlsx(tmp_path):
    return lambda name, sheets, merges=None: write_xlsx(tmp_path / name, sheets, merges)


@pytest.fixture
def csvfile(tmp_path):
    return lambda name, rows, encoding="utf-8": write_csv(tmp_path / name, rows, encoding)


@pytest.fixture(scope="session")
def sample_inbox(tmp_path_factory) -> Path:
    """The deterministic sample inbox (files only; no run)."""
    from sample_world import generate

    inbox = tmp_path_factory.mktemp("sample_inbox")
    generate(inbox)
    return inbox
