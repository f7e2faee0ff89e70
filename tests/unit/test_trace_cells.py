"""The trace's cells: the value it prints for a cell is the value loading gave that cell, and the
normalisation it prints names what was done (full-width forms, separators, percent, unit factor)."""
from __future__ import annotations

import pytest

from ingestion.load import parse_file
from orchestration.trace.cells import Inbox, cell, describe, mask, sha256_of

TITLE = "贵安新区数据中心运行情况台账（2024年3月）"
HEADER = ["数据中心编码", "建设状态", "已建机架数", "计划总投资（万元）", "本月IT设备用电量（万千瓦时）",
          "设计IT负荷（MW）", "累计完成投资"]
ROWS = [
    ["GA-DC-001", "已投运", "１，２００", "１，２３４.５", 12.5, "2", "4.56"],
    ["GA-DC-002", "在建", 800, 10, "—", 1.5, None],
]
COLUMNS = ["center_code", "status", "racks_built", "investment_planned_cny", "it_energy_kwh", "it_load_design_kw",
           "investment_completed_cny"]


@pytest.fixture
def ledger(tmp_path, xlsx):
    path = xlsx("台账.xlsx", {"台账": [[TITLE], [], HEADER, *ROWS]})
    return tmp_path, path.name, sha256_of(path)


@pytest.mark.parametrize("k", [0, 1])
def test_printed_values_are_the_loaded_values(ledger, k):
    inbox, name, sha = ledger
    loaded = {r["center_code"]: r for r in parse_file("dc_ledger", inbox / name).parsed.records}
    code = ROWS[k][0]
    for column in COLUMNS:
        got = cell(Inbox(inbox), "dc_ledger", name, sha, "台账", 4 + k, column)
        assert got["file_status"] == "ok"
        assert got["value"] == loaded[code][column], column
        assert got["row"] == loaded[code]["row_number"]


def test_the_normalisation_names_each_step(ledger):
    inbox, name, sha = ledger
    box = Inbox(inbox)
    racks = cell(box, "dc_ledger", name, sha, "台账", 4, "racks_built")
    assert racks["raw"] == "１，２００" and racks["value"] == 1200
    assert racks["normalisation"]["nfkc"] and racks["normalisation"]["thousands_separators"]
    planned = cell(box, "dc_ledger", name, sha, "台账", 4, "investment_planned_cny")
    assert planned["value"] == 12345000 and planned["normalisation"]["factor"] == 10000
    assert describe(planned["normalisation"]) == ("full-width → half-width; thousands separators removed; "
                                                  "× 10000 (万元 from the header)")
    completed = cell(box, "dc_ledger", name, sha, "台账", 4, "investment_completed_cny")
    assert completed["value"] == 45600 and completed["normalisation"]["unit_from"] == "column default"
    load = cell(box, "dc_ledger", name, sha, "台账", 4, "it_load_design_kw")
    assert load["value"] == 2000 and load["normalisation"]["unit"] == "MW"
    status = cell(box, "dc_ledger", name, sha, "台账", 4, "status")
    assert status["normalisation"]["synonym"] == "已投运 → 运营"
    assert status["header"] == "建设状态" and status["column_letter"] == "B"


def test_a_changed_or_gone_file_gives_no_cell_values(ledger):
    inbox, name, sha = ledger
    changed = cell(Inbox(inbox), "dc_ledger", name, "0" * 64, "台账", 4, "racks_built")
    assert changed["file_status"] == "changed" and changed["raw"] is None and "has changed" in changed["note"]
    (inbox / name).unlink()
    gone = cell(Inbox(inbox), "dc_ledger", name, sha, "台账", 4, "racks_built")
    assert gone["file_status"] == "gone" and gone["raw"] is None and "is gone" in gone["note"]


def test_names_are_masked_as_published():
    assert mask("张三丰") == "张**"
    assert mask("李") == "李"
