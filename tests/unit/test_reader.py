"""The spreadsheet reader on hand-made nasty files: one test per variation of spec/inputs.md."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from ingestion.load import parse_file

D = dt.date
TITLE = "贵安新区数据中心运行情况台账（2024年3月）"


def ledger_sheet(rows, title=TITLE):
    """A ledger with a title row, a blank row, a two-row merged header and line breaks in headers."""
    return [
        [title],
        [],
        ["序号", "数据中心\n编码", "数据中心名称", "建设状态", "机架情况", None, None,
         "计划总投资\n（亿元）", "本月IT设备用电量（万千瓦时）", "设计IT负荷（MW）", "开工时间", "电力户号", "备用列"],
        [None, None, None, None, "设计", "已建", "已上架"],
        *rows,
    ]


MERGES = {"台账": [(2, 4, 2, 6, "机架情况")]}


def test_two_row_merged_header_units_and_footer(xlsx):
    rows = [
        [1, "GA-DC-001", "一号\u3000数据中心 ", "已投运", 1000, "８００", 600, "1.5", 12.5, 2, "2023年底", "3100001、 3100002", "x"],
        [2, "GA-DC-002", "二号", "建设中", "1,000", 0, 0, "—", None, "/", D(2024, 1, 5), None, None],
        ["合计", None, None, None, 2000, 800, 600],
        ["备注：机架数为标准机架"],
        ["填报单位：大数据局"],
    ]
    result = parse_file("dc_ledger", xlsx("台账.xlsx", {"台账": ledger_sheet(rows), "填报说明": [["请按模板填写"]]}, MERGES))
    assert result.status == "loaded", result.reason
    recs = {r["center_code"]: r for r in result.parsed.records}
    one, two = recs["GA-DC-001"], recs["GA-DC-002"]
    assert one["report_month"] == D(2024, 3, 1)                       # from the title row
    assert one["center_name"] == "一号 数据中心"                       # NFKC, trimmed, collapsed
    assert one["status"] == "运营" and two["status"] == "在建"           # synonyms
    assert (one["racks_designed"], one["racks_built"], one["racks_in_use"]) == (1000, 800, 600)
    assert one["investment_planned_cny"] == pytest.approx(1.5e8)        # 亿元 → CNY
    assert one["it_energy_kwh"] == pytest.approx(125_000)              # 万千瓦时 → kWh
    assert one["it_load_design_kw"] == pytest.approx(2000)             # MW → kW
    assert one["power_accounts"] == "3100001,3100002"
    assert one["construction_start"] is None                           # 2023年底 → NULL + warning
    assert two["construction_start"] == D(2024, 1, 5)                  # a real Excel date
    assert two["investment_planned_cny"] is None and two["it_load_design_kw"] is None  # markers → NULL
    assert two["racks_designed"] == 1000                               # thousands separator
    assert json.loads(one["extras"]) == {"备用列": "x"} and two["extras"] is None
    assert one["row_number"] == 5 and one["sheet"] == "台账"           # as Excel shows it
    p = result.parsed
    assert (p.rows_read, len(p.records), len(p.rejections), p.rows_skipped) == (2, 2, 0, 3)
    codes = {w.warning_code for w in p.warnings}
    assert {"unparsed_date", "unknown_column"} <= codes and "total_mismatch" not in codes
    assert next(w for w in p.warnings if w.warning_code == "unparsed_date").raw_value == "2023年底"
    assert result.sheets == {"台账": "data", "填报说明": "skipped: no header of this source"}


def test_total_that_disagrees_is_reported(xlsx):
    rows = [[1, "GA-DC-001", "一号", "运营", 10, 5, 5], [2, "GA-DC-002", "二号", "运营", 10, 5, 5],
            ["合计", None, None, None, 21, 10, 10]]
    result = parse_file("dc_ledger", xlsx("t.xlsx", {"台账": ledger_sheet(rows)}, MERGES))
    mismatches = [w for w in result.parsed.warnings if w.warning_code == "total_mismatch"]
    assert [(w.column_name, w.row_number) for w in mismatches] == [("racks_designed", 7)]


def test_several_data_sheets_one_per_park(xlsx):
    header = ["数据中心编码", "名称", "状态", "已上架机架数"]
    result = parse_file("dc_ledger", xlsx("2024年3月.xlsx", {
        "高新园": [header, ["GA-DC-001", "一号", "运营", 5]],
        "电子园": [["说明"], header, ["GA-DC-002", "二号", "运营", 7]],
        "汇总": [["园区", "合计"], ["高新园", 5]],
    }))
    assert result.status == "loaded"
    assert {(r["sheet"], r["center_code"], r["row_number"]) for r in result.parsed.records} == {
        ("高新园", "GA-DC-001", 2), ("电子园", "GA-DC-002", 3)}
    assert result.sheets["汇总"].startswith("skipped")
    assert result.period == "2024-03"                                 # from the file name


def test_report_month_column_wins_and_a_file_without_month_is_refused(csvfile):
    ok = parse_file("dc_ledger", csvfile("ledger.csv", [["统计期", "编码", "名称"], ["2024年4月", "GA-DC-001", "一号"]]))
    assert ok.parsed.records[0]["report_month"] == D(2024, 4, 1)
    refused = parse_file("dc_ledger", csvfile("ledger.csv", [["编码", "名称"], ["GA-DC-001", "一号"]]))
    assert refused.status == "rejected" and refused.reason.startswith("no_period")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings(csvfile, encoding):
    result = parse_file("dc_ledger", csvfile("台账_202403.csv", [
        ["数据中心编码", "数据中心名称", "运营主体"], ["GA-DC-001", "贵安一号", "（贵州）数据科技有限公司"]], encoding))
    assert result.status == "loaded"
    assert result.parsed.records[0]["operator_name"] == "(贵州)数据科技有限公司"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_blank_lines_keep_the_row_numbers_a_spreadsheet_shows(tmp_path, encoding, newline):
    """Blank lines count as rows (DuckDB alone would skip them); a blank line inside a quoted cell is
    part of the cell."""
    lines = ["", "统计期,数据中心编码,数据中心名称", "2024年3月,GA-DC-001,\"贵安\n\n一号\"", "", "",
             "2024年3月,GA-DC-002,二号", ""]
    path = tmp_path / "台账.csv"
    path.write_bytes(newline.join(lines).replace("\n\n一号", "\n\n一号").encode(encoding))
    result = parse_file("dc_ledger", path)
    assert result.status == "loaded"
    assert [(r["row_number"], r["center_code"], r["center_name"]) for r in result.parsed.records] == [
        (3, "GA-DC-001", "贵安 一号"), (6, "GA-DC-002", "二号")]


def test_duplicate_key_rejects_every_copy(csvfile):
    result = parse_file("dc_ledger", csvfile("202403.csv", [
        ["编码", "名称"], ["GA-DC-001", "a"], ["GA-DC-001", "b"], ["GA-DC-002", "c"], ["", "d"]]))
    assert [r["center_code"] for r in result.parsed.records] == ["GA-DC-002"]
    rej = sorted((r.row_number, r.reason_code) for r in result.parsed.rejections)
    assert rej == [(2, "duplicate_key_in_file"), (3, "duplicate_key_in_file"), (5, "missing_key")]
    assert result.parsed.rows_read == 4 == len(result.parsed.records) + len(result.parsed.rejections)
    dup = next(r for r in result.parsed.rejections if r.reason_code == "duplicate_key_in_file")
    assert dup.raw_values == {"编码": "GA-DC-001", "名称": "a"} and "rows 2, 3" in dup.message


def test_missing_required_column_refuses_the_file_naming_it(csvfile):
    result = parse_file("dc_ledger", csvfile("202403.csv", [["名称", "状态"], ["一号", "运营"]]))
    assert result.status == "rejected" and "center_code" in result.reason and "数据中心编码" in result.reason


def test_unknown_unit_refuses_the_file(csvfile):
    result = parse_file("dc_ledger", csvfile("202403.csv", [["编码", "计划总投资（美元）"], ["GA-DC-001", "1"]]))
    assert result.status == "rejected" and "美元" in result.reason


def test_unknown_closed_value_refuses_the_row_but_open_one_loads(csvfile):
    result = parse_file("dc_ledger", csvfile("202403.csv", [
        ["编码", "状态", "运营模式"], ["GA-DC-001", "奇怪", "云服务"], ["GA-DC-002", "运营", "共建共享"]]))
    assert [r.reason_code for r in result.parsed.rejections] == ["unknown_value"]
    assert result.parsed.records[0]["operating_model"] == "共建共享"


def test_power_corrections_within_a_file(csvfile):
    result = parse_file("power", csvfile("bills.csv", [
        ["户号", "电费年月", "总有功电量（万千瓦时）", "应收电费", "账单类型"],
        ["0031", "202403", "1,234.5", "99", "正常"], ["0031", "202403", "1234.6", "98", "更正"],
        ["0032", "2024-03", "1", "1", "正常"], ["0032", "2024-03", "1", "1", "正常"],
        ["0033", "2024年3月", "1", "1", ""]]))
    kept = [(r["account_no"], r["bill_type"], r["kwh_total"]) for r in result.parsed.records]
    assert kept == [("0031", "正常", 12_345_000.0), ("0031", "更正", 12_346_000.0), ("0033", None, 10_000.0)]
    assert {r.row_number for r in result.parsed.rejections} == {4, 5}


def test_registry_uscc_rules_and_jsonl(tmp_path):
    from ingestion.uscc import check_character

    good = "91520900MA6DL0001" + check_character("91520900MA6DL0001")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    lines = [{"统一社会信用代码": good, "企业名称": "甲（贵州）公司", "注册资本": "5,000万元", "登记状态": "在业",
              "行业代码": "i6550"},
             {"统一社会信用代码": bad, "企业名称": "乙"}, {"统一社会信用代码": "520900000012345", "企业名称": "丙"},
             {"统一社会信用代码": good.lower(), "企业名称": "甲", "注册资本": "100万美元"}]
    path = tmp_path / "企业登记信息_20240331.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    result = parse_file("registry", path)
    codes = sorted((r.row_number, r.reason_code) for r in result.parsed.rejections)
    # line 1 and line 4 hold the same uscc (case differs): both refused; 2 bad check; 3 old number
    assert codes == [(1, "duplicate_key_in_file"), (2, "invalid_uscc"), (3, "old_registration_number"),
                     (4, "duplicate_key_in_file")]
    single = parse_file("registry", _jsonl(tmp_path, [lines[0]]))
    rec = single.parsed.records[0]
    assert rec["snapshot_date"] == D(2024, 6, 30) and rec["status"] == "存续" and rec["industry_code"] == "I6550"
    assert (rec["registered_capital_amount"], rec["registered_capital_currency"]) == (5e7, "CNY")
    assert rec["name"] == "甲(贵州)公司"


def test_jsonl_with_canonical_keys(tmp_path):
    from ingestion.uscc import check_character

    code = "91520900MA6DL0004" + check_character("91520900MA6DL0004")
    rec = parse_file("registry", _jsonl(tmp_path, [{"uscc": code, "name": "丁", "status": "注销"}])).parsed.records[0]
    assert (rec["uscc"], rec["name"], rec["status"], rec["row_number"]) == (code, "丁", "注销", 1)


def _jsonl(tmp_path, records):
    path = tmp_path / "registry_2024-06-30.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in records), encoding="utf-8")
    return path


def test_registered_capital_in_foreign_currency(tmp_path):
    from ingestion.uscc import check_character

    code = "91520900MA6DL0003" + check_character("91520900MA6DL0003")
    rec = parse_file("registry", _jsonl(tmp_path, [{"统一社会信用代码": code, "注册资本": "100万美元"}])).parsed.records[0]
    assert (rec["registered_capital_amount"], rec["registered_capital_currency"]) == (1e6, "USD")
    assert rec["registered_capital_cny"] == pytest.approx(7.1e6)


def test_economics_periods(csvfile):
    result = parse_file("economics", csvfile("经济指标.csv", [
        ["统一社会信用代码", "企业名称", "统计期", "营业收入（亿元）", "纳税总额"],
        ["", "甲公司", "2024年一季度", "1.2", "30"], ["", "乙公司", "2024年1-6月", "1", "1"],
        ["", "", "2024Q2", "1", "1"]]))
    rec = result.parsed.records[0]
    assert (rec["quarter_start"], rec["period_raw"], rec["revenue_cny"], rec["tax_cny"]) == (
        D(2024, 1, 1), "2024年一季度", pytest.approx(1.2e8), pytest.approx(300_000))
    assert sorted(r.reason_code for r in result.parsed.rejections) == ["missing_key", "unsupported_period"]


def test_invalid_uscc_in_a_bureau_file_falls_back_to_the_name(csvfile):
    result = parse_file("economics", csvfile("q.csv", [
        ["统一社会信用代码", "企业名称", "统计期"], ["915209000000000000", "甲公司", "2024Q1"]]))
    rec = result.parsed.records[0]
    assert rec["uscc"] is None and rec["firm_name"] == "甲公司"
    assert [w.warning_code for w in result.parsed.warnings] == ["invalid_uscc_ignored"]


def test_plan_percent_targets(csvfile):
    marked = parse_file("plans", csvfile("2025年方案.csv", [["数据中心编码", "目标上架率（%）"], ["GA-DC-001", "65"]]))
    text = parse_file("plans", csvfile("2025年方案.csv", [["数据中心编码", "目标上架率"], ["GA-DC-001", "65%"]]))
    plain = parse_file("plans", csvfile("2025年方案.csv", [["数据中心编码", "目标上架率"], ["GA-DC-001", 0.65]]))
    for r in (marked, text, plain):
        assert r.parsed.records[0]["target_rack_utilization"] == pytest.approx(0.65)
        assert r.parsed.records[0]["year"] == 2025


def test_corrupt_workbook_and_empty_csv_are_refused(tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert parse_file("dc_ledger", broken).reason.startswith("unreadable_file")
    empty = tmp_path / "empty_202403.csv"
    empty.write_bytes(b"")
    assert parse_file("dc_ledger", empty).status == "rejected"


def test_headers_without_unit_take_the_column_default(csvfile):
    ledger = parse_file("dc_ledger", csvfile("202403.csv", [["编码", "计划总投资", "本月IT设备用电量", "设计IT负荷"],
                                                             ["GA-DC-001", "2", "100", "50"]]))
    rec = ledger.parsed.records[0]
    assert (rec["investment_planned_cny"], rec["it_energy_kwh"], rec["it_load_design_kw"]) == (20_000, 100, 50)
    bills = parse_file("power", csvfile("bills.csv", [["户号", "电费年月", "应收电费", "峰电量（万千瓦时）"],
                                                       ["01", "202403", "12.5", "1.5"]]))
    assert (bills.parsed.records[0]["total_cny"], bills.parsed.records[0]["kwh_peak"]) == (12.5, 15_000)


def test_subtotals_are_checked_against_their_own_group(csvfile):
    result = parse_file("dc_ledger", csvfile("202403.csv", [
        ["编码", "已建机架数"], ["A", "10"], ["B", "5"], ["小计", "15"], ["C", "7"], ["小计", "8"], ["合计", "22"]]))
    assert result.parsed.rows_skipped == 3 and len(result.parsed.records) == 3
    assert [(w.row_number, w.warning_code) for w in result.parsed.warnings] == [(6, "total_mismatch")]


def test_two_columns_meaning_the_same_refuse_the_file(csvfile):
    result = parse_file("dc_ledger", csvfile("202403.csv", [["数据中心编码", "编码", "名称"], ["A", "A", "x"]]))
    assert result.status == "rejected" and result.reason.startswith("ambiguous_header")
    assert "center_code" in result.reason


def test_former_names_and_account_lists_are_split_on_their_separators(tmp_path, csvfile):
    from ingestion.uscc import check_character

    code = "91520900MA6DL0005" + check_character("91520900MA6DL0005")
    rec = parse_file("registry", _jsonl(tmp_path, [{"统一社会信用代码": code, "曾用名": "甲公司；乙公司;丙 公司、丁公司"}])
                     ).parsed.records[0]
    assert rec["former_names"] == "甲公司;乙公司;丙 公司;丁公司"
    ledger = parse_file("dc_ledger", csvfile("202403.csv", [["编码", "电力户号"], ["A", "0001，0002; 0003；0004 0005、0006"]]))
    assert ledger.parsed.records[0]["power_accounts"] == "0001,0002,0003,0004,0005,0006"
    bad = parse_file("dc_ledger", csvfile("202403.csv", [["编码", "电力户号"], ["A", "0001、户号待定"]]))
    assert [r.reason_code for r in bad.parsed.rejections] == ["bad_account"]
