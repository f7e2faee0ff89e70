"""Tests of the deterministic sample-inbox generator (sample_world).

They read the generated files back independently (python-calamine for xlsx, the csv module for
csv, json for jsonl) and check them against the generator's ``Truth``: determinism, the folder
tree, delivery order, row numbers pointing at the right cells, values in the stated units, 合计
rows, every trap, and the internal consistency of the truth itself.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date

import numpy as np
import pytest
from python_calamine import CalamineWorkbook

from sample_world import TRAPS, VARIATIONS, codes, generate, names, plan_files, resolve_scale
from sample_world.__main__ import main as cli_main
from sample_world.variations import APPLIES

FOLDERS = ["bureau/dc_ledger", "bureau/projects", "bureau/economics", "bureau/plans", "registry", "power"]
MISSING = {"", "—", "-", "/", "无", "暂无", "N/A"}
REASONS = {"missing_key", "duplicate_key_in_file", "invalid_uscc", "old_registration_number",
           "unsupported_period", "unresolved_firm"}
STATUS_OF = {"已投运": "运营", "投运": "运营", "建设中": "在建", "拟建": "规划", "洽谈": "招引"}


# ---------------------------------------------------------------------------------------------
# fixtures and independent readers

@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("inbox")
    truth = generate(str(out))
    return str(out), truth


class Files:
    """Reads generated files back, cached per (path, sheet); rows are 1-based as a spreadsheet shows."""

    def __init__(self, root: str):
        self.root = root
        self.cache: dict = {}

    def rows(self, path: str, sheet: str | None = None) -> list[list]:
        key = (path, sheet)
        if key not in self.cache:
            full = os.path.join(self.root, path)
            if path.endswith(".xlsx"):
                wb = CalamineWorkbook.from_path(full)
                name = sheet or wb.sheet_names[0]
                self.cache[key] = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            elif path.endswith(".jsonl"):
                with open(full, encoding="utf-8") as fh:
                    self.cache[key] = [list(json.loads(line).values()) for line in fh]
            else:
                self.cache[key] = list(csv.reader(io.StringIO(decode(open(full, "rb").read()))))
        return self.cache[key]

    def row(self, path: str, sheet: str | None, number: int) -> list:
        return self.rows(path, sheet)[number - 1]


def decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(v)))


def num(v) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool):
        raise AssertionError("boolean in a numeric cell")
    if isinstance(v, (int, float)):
        return float(v)
    s = text(v).replace(",", "")
    if s in MISSING:
        return None
    if s.endswith("%"):
        return float(s[:-1]) / 100
    return float(s)


def close(a, b, tol=1e-6) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def mtime(root: str, path: str) -> int:
    return os.stat(os.path.join(root, path)).st_mtime_ns


# ---------------------------------------------------------------------------------------------
# identifiers

def test_uscc_check_characters():
    assert codes.is_valid_uscc("914403001922038216") and codes.org_code_ok("914403001922038216")
    for i in range(200):
        u = codes.make_uscc("520900", codes.org_body(i, i % 2 == 0))
        assert codes.is_valid_uscc(u) and codes.org_code_ok(u)
        assert not codes.is_valid_uscc(codes.corrupt_check_char(u))
    idx = np.arange(1000, 1300)
    arr = codes.uscc_array(idx, np.full(len(idx), 110108), idx % 3 == 0)
    assert [x.decode() for x in arr] == [codes.make_uscc("110108", codes.org_body(int(i), i % 3 == 0)) for i in idx]
    reg = codes.old_registration_number("520900", 4321)
    assert len(reg) == 15 and codes.old_registration_ok(reg)


def test_firm_names_are_unique_across_renames():
    all_names = [names.firm_name(i, v) for i in range(5000) for v in range(names.NAME_VERSIONS)]
    assert len(set(all_names)) == len(all_names)
    combos = [t + f for t in names.TRADES for f in names.FORMS]
    assert len(set(combos)) == len(combos)


# ---------------------------------------------------------------------------------------------
# determinism, folders, delivery order

def test_determinism(sample, tmp_path):
    root, truth = sample
    other = tmp_path / "again"
    truth2 = generate(str(other))
    files1 = sorted(f["path"] for f in truth.files)
    files2 = sorted(f["path"] for f in truth2.files)
    assert files1 == files2
    for p in files1:
        with open(os.path.join(root, p), "rb") as a, open(os.path.join(other, p), "rb") as b:
            assert a.read() == b.read(), p
        assert mtime(root, p) == mtime(str(other), p), p
    d1, d2 = truth.to_dict(), truth2.to_dict()
    d1.pop("timings"), d2.pop("timings")
    assert d1 == d2
    on_disk = sorted(os.path.relpath(os.path.join(dp, f), other).replace(os.sep, "/")
                     for dp, _, fs in os.walk(other) for f in fs)
    assert on_disk == files2


def test_other_seed_differs(sample, tmp_path):
    root, truth = sample
    t2 = generate(str(tmp_path / "seed2"), seed=7)
    assert [c["center_name"] for c in t2.centers] != [c["center_name"] for c in truth.centers]


def test_every_folder_populated_and_default_size(sample):
    root, truth = sample
    for folder in FOLDERS:
        assert any(f["path"].startswith(folder + "/") for f in truth.files), folder
        assert os.listdir(os.path.join(root, folder))
    assert len(truth.months) == 18 and truth.months[0] == date(2024, 1, 1) and truth.months[-1] == date(2025, 6, 1)
    assert len(truth.centers) == 12 and truth.plan_years == [2024, 2025] and len(truth.snapshots) == 4
    assert len({r["project_code"] for r in truth.projects_months}) >= 29
    assert 50 <= len(truth.firms[truth.snapshots[-1].isoformat()]) <= 70
    kinds = Counter(f["kind"] for f in truth.files)
    assert kinds["dc_ledger"] == 20 and kinds["power"] == 20 and kinds["registry"] == 4


def test_delivery_order_and_mtimes(sample):
    root, truth = sample
    assert [f["delivery_seq"] for f in truth.files] == list(range(1, len(truth.files) + 1))
    stamps = [mtime(root, f["path"]) for f in truth.files]
    assert all(a < b for a, b in zip(stamps, stamps[1:], strict=False))
    # where order matters, file-name order agrees with delivery order (robust to lost mtimes)
    tr = truth.traps
    assert tr["ledger_month_redelivered"]["original"] < tr["ledger_month_redelivered"]["revised"]
    assert tr["duplicate_file"]["original"] < tr["duplicate_file"]["path"]
    power = [f["path"] for f in truth.files if f["kind"] == "power" and f["status"] != "duplicate"]
    assert power == sorted(power)


def test_file_formats(sample):
    root, truth = sample
    led = [f for f in truth.files_of("dc_ledger") if f["status"] != "rejected"]
    assert sum(f["format"] == "csv" for f in led) == 1
    assert sum(f["format"] == "csv" for f in truth.files_of("projects")) == 1
    assert {f["format"] for f in truth.files_of("economics")} == {"xlsx", "csv"}
    assert all(f["format"] == "xlsx" for f in truth.files_of("plans"))
    reg = {f["format"]: f for f in truth.files_of("registry")}
    assert "jsonl" in reg
    encs = {f["encoding"] for f in truth.files_of("registry") if f["format"] == "csv"}
    assert {"gb18030", "utf-8-sig"} <= encs
    raw = open(os.path.join(root, next(f["path"] for f in truth.files_of("registry")
                                       if f["encoding"] == "utf-8-sig")), "rb").read(3)
    assert raw == b"\xef\xbb\xbf"
    gb = next(f["path"] for f in truth.files_of("registry") if f["encoding"] == "gb18030")
    with pytest.raises(UnicodeDecodeError):
        open(os.path.join(root, gb), "rb").read().decode("utf-8")
    assert re.search(r"_\d{8}\.csv$", gb)
    assert sum(f["format"] == "xlsx" and f["status"] != "rejected" for f in truth.files_of("power")) == 1
    with open(os.path.join(root, next(f["path"] for f in truth.files_of("registry") if f["format"] == "jsonl")),
              encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    assert "统一社会信用代码" in first and "企业名称" in first


# ---------------------------------------------------------------------------------------------
# file-level traps and manifest expectations

def test_file_level_traps(sample):
    root, truth = sample
    readme = truth.file("bureau/dc_ledger/readme.txt")
    assert readme["status"] == "rejected" and readme["reason"] == "unsupported_extension"
    empty = truth.file(truth.traps["empty_csv"]["path"])
    assert empty["status"] == "rejected" and empty["reason"] == "empty_file"
    assert os.path.getsize(os.path.join(root, empty["path"])) == 0
    dup = truth.traps["duplicate_file"]
    with open(os.path.join(root, dup["path"]), "rb") as a, open(os.path.join(root, dup["original"]), "rb") as b:
        assert a.read() == b.read()
    assert truth.file(dup["path"])["status"] == "duplicate"
    assert truth.file(dup["path"])["delivery_seq"] > truth.file(dup["original"])["delivery_seq"]
    red = truth.traps["ledger_month_redelivered"]
    assert truth.file(red["original"])["status"] == "superseded"
    assert truth.file(red["original"])["superseded_by"] == red["revised"]
    assert truth.file(red["revised"])["status"] == "loaded"
    statuses = Counter(f["status"] for f in truth.files)
    assert statuses == {"loaded": 66, "rejected": 3, "duplicate": 1, "superseded": 1}
    assert truth.file(truth.traps["corrupt_xlsx"]["path"])["status"] == "rejected"
    for f in truth.files:
        if f["status"] in ("loaded", "superseded"):
            assert f["rows_read"] == f["rows_loaded"] + f["rows_rejected"]
            assert f["rows_read"] > 0


def test_rejected_rows_and_reasons(sample):
    root, truth = sample
    assert {r["reason_code"] for r in truth.rejected_rows} == REASONS
    by_reason = Counter(r["reason_code"] for r in truth.rejected_rows)
    assert by_reason["duplicate_key_in_file"] == 4  # two ledger copies + two registry rows
    assert by_reason["invalid_uscc"] == 4 and by_reason["old_registration_number"] == 4
    assert by_reason["missing_key"] == 1 and by_reason["unsupported_period"] == 1 and by_reason["unresolved_firm"] == 1
    per_file = Counter(r["path"] for r in truth.rejected_rows)
    for f in truth.files:
        assert f.get("rows_rejected", 0) == per_file.get(f["path"], 0)


def test_variations_registry_and_mix(sample):
    root, truth = sample
    assert set(VARIATIONS) >= set().union(*APPLIES.values())
    cover = defaultdict(set)
    for f in truth.files:
        assert set(f["variations"]) <= set(VARIATIONS)
        assert set(f["variations"]) <= APPLIES.get(f["kind"], set()) or not f["variations"]
        cover[f["kind"]] |= set(f["variations"])
    for kind, applicable in APPLIES.items():
        assert cover[kind] == applicable, (kind, applicable - cover[kind])
    mixes = [tuple(f["variations"]) for f in truth.files if f["kind"] == "dc_ledger"]
    assert len(set(mixes)) >= len(mixes) - 2  # a different mix per file
    assert set(truth.traps) <= set(TRAPS)
    assert set(TRAPS) == set(truth.traps)
    plan = {p["path"]: p["variations"] for p in plan_files()}
    assert plan == {f["path"]: f["variations"] for f in truth.files}


# ---------------------------------------------------------------------------------------------
# row numbers point at the right cells; values are what the truth says

def test_row_numbers_point_at_keys(sample):
    root, truth = sample
    fs = Files(root)
    checks = 0
    for r in truth.center_months + truth.superseded_center_months + truth.plans:
        assert r["center_code"] in [text(c) for c in fs.row(r["path"], r["sheet"], r["row_number"])]
        checks += 1
    for r in truth.projects_months:
        assert r["project_code"] in [text(c) for c in fs.row(r["path"], r["sheet"], r["row_number"])]
    for r in truth.bills + truth.superseded_bills:
        assert r["account_no"] in [text(c) for c in fs.row(r["path"], r["sheet"], r["row_number"])]
    for r in truth.economics:
        cells = [text(c) for c in fs.row(r["path"], r["sheet"], r["row_number"])]
        assert (r["uscc_written"] in cells) if r["uscc_written"] else (text(r["firm_name"]) in cells)
    for rows in truth.firms.values():
        for r in rows:
            assert r["uscc"] in [text(c) for c in fs.row(r["path"], None, r["row_number"])]
    for r in truth.rejected_rows:
        cells = [text(c) for c in fs.row(r["path"], r["sheet"], r["row_number"])]
        if r["key"]:
            assert text(r["key"]) in cells, r
        else:
            assert any("待编号" in c for c in cells)
    for wn in truth.warnings:
        if wn["warning_code"] == "unparsed_date":
            assert "2023年底" in [text(c) for c in fs.row(wn["path"], wn["sheet"], wn["row_number"])]
        elif wn["warning_code"] == "unknown_column":
            lay = truth.file(wn["path"]).get("layout")
            if lay:  # bureau and power files: the header row holds the unknown column
                sheet = wn["sheet"] or ""
                header = fs.row(wn["path"], wn["sheet"], lay[sheet]["header_rows"][0])
                assert text(wn["column_name"]) in [text(c) for c in header]
        else:
            assert wn["warning_code"] == "skipped_sheet" and wn["sheet"] == "填报说明"
            assert truth.file(wn["path"])["sheets"][wn["sheet"]].startswith("skipped")
    assert checks > 100


def _layout(truth, path, sheet):
    lay = truth.file(path)["layout"]
    return lay[sheet if path.endswith(".xlsx") else ""]


LEDGER_NUMERIC = ["racks_designed", "racks_built", "racks_in_use", "it_load_design_kw", "servers",
                  "compute_general_pflops", "compute_ai_pflops", "compute_hpc_pflops", "it_energy_kwh",
                  "investment_planned_cny", "investment_completed_cny"]


def test_ledger_cells_match_truth(sample):
    root, truth = sample
    fs = Files(root)
    for r in truth.center_months + truth.superseded_center_months:
        lay = _layout(truth, r["path"], r["sheet"])
        cells = fs.row(r["path"], r["sheet"], r["row_number"])
        for key in LEDGER_NUMERIC:
            if key not in lay["columns"]:  # the renamed header: the file holds no column the warehouse can read
                assert (r["path"], key) == (truth.traps["renamed_header"]["path"], "servers") and r[key] is None
                continue
            v = num(cells[lay["columns"][key]])
            v = None if v is None else v * lay["units"].get(key, 1)
            assert close(v, r[key]), (r["path"], r["row_number"], key, v, r[key])
        st = text(cells[lay["columns"]["status"]])
        assert STATUS_OF.get(st, st) == r["status"]
        accounts = [a for a in re.split(r"[、，,;；\s]+", unicodedata.normalize("NFKC", str(
            cells[lay["columns"]["power_accounts"]] or ""))) if a and a not in MISSING]
        assert accounts == r["power_accounts"]
        assert text(cells[lay["columns"]["operator_name"]]) == text(r["operator_name"])


def test_bill_cells_match_truth(sample):
    root, truth = sample
    fs = Files(root)
    for r in truth.bills + truth.superseded_bills:
        lay = _layout(truth, r["path"], r["sheet"])
        cells = fs.row(r["path"], r["sheet"], r["row_number"])
        for key in ("kwh_total", "kwh_peak", "kwh_flat", "kwh_valley", "total_cny", "demand_charge_cny",
                    "pf_adjustment_cny"):
            v = num(cells[lay["columns"][key]]) * lay["units"].get(key, 1)
            assert close(v, r[key]), (r["path"], r["row_number"], key)
        if "bill_type" in lay["columns"]:
            assert cells[lay["columns"]["bill_type"]] == r["bill_type"]
        else:
            assert r["bill_type"] is None
        assert text(cells[lay["columns"]["account_no"]]) == r["account_no"]  # leading zeros kept


def test_totals_rows_equal_their_rows(sample):
    root, truth = sample
    fs = Files(root)
    assert len(truth.totals_rows) >= 10
    rows_of = defaultdict(list)
    for r in (truth.center_months + truth.superseded_center_months + truth.projects_months + truth.economics
              + truth.bills + truth.superseded_bills):
        rows_of[(r["path"], r["sheet"])].append(r["row_number"])
    assert not any(r["path"] == t["path"] for t in truth.totals_rows for r in truth.rejected_rows)
    for t in truth.totals_rows:
        lay = _layout(truth, t["path"], t["sheet"])
        total_row = fs.row(t["path"], t["sheet"], t["row_number"])
        assert text(total_row[0]) == "合计"
        data_rows = rows_of[(t["path"], t["sheet"])]
        assert data_rows and max(data_rows) < t["row_number"]
        for key, expected in t["values_file_unit"].items():
            col = lay["columns"][key]
            s = sum(num(fs.row(t["path"], t["sheet"], n)[col]) or 0 for n in data_rows)
            assert close(num(total_row[col]), s, 1e-9), (t["path"], key)
            assert close(expected, s, 1e-9)
            assert close(t["values"][key], s * lay["units"].get(key, 1), 1e-9)


def test_header_rows_and_two_row_headers(sample):
    root, truth = sample
    fs = Files(root)
    two = [f for f in truth.files if "two_row_header" in f["variations"]]
    assert two
    for f in two:
        for sheet, lay in f["layout"].items():
            assert len(lay["header_rows"]) == 2
            top = [text(c) for c in fs.row(f["path"], sheet or None, lay["header_rows"][0])]
            bottom = [text(c) for c in fs.row(f["path"], sheet or None, lay["header_rows"][1])]
            assert "机架情况" in top and "算力规模" in top
            assert {"设计", "已建", "已上架"} <= set(bottom)
            assert "通用算力(PFlops)" in bottom
    units = Counter()
    for f in truth.files_of("dc_ledger"):
        for lay in (f.get("layout") or {}).values():
            units[lay["headers"]["investment_planned_cny"]] += 1
    assert any("亿元" in h for h in units) and any("万元" in h for h in units)


# ---------------------------------------------------------------------------------------------
# truth consistency: centers, bills, projects, firms, economics, plans

def test_center_months(sample):
    root, truth = sample
    keys = [(r["center_code"], r["report_month"]) for r in truth.center_months]
    assert len(keys) == len(set(keys))
    assert {r["status"] for r in truth.center_months} == {"运营", "在建", "规划", "招引"}
    assert {r["operating_model"] for r in truth.center_months} == set(names.OPERATING_MODELS)
    last = [r for r in truth.center_months if r["report_month"] == truth.months[-1]]
    assert {r["status"] for r in last} == {"运营", "在建", "规划", "招引"}
    flagged = [r for r in truth.center_months if r["flags"]]
    assert len(flagged) == 1 and flagged[0]["racks_in_use"] > flagged[0]["racks_built"]
    for r in truth.center_months:
        if not r["flags"] and r["racks_built"] is not None:
            assert r["racks_in_use"] <= r["racks_built"] <= r["racks_designed"]
    multi = [r for r in truth.center_months if len(r["power_accounts"]) >= 2]
    assert multi and max(len(r["power_accounts"]) for r in truth.center_months) == 3
    # the redelivered month: one center absent that month only
    red = truth.traps["ledger_month_redelivered"]
    code, month = red["missing_center"], red["month"]
    months_of = {r["report_month"] for r in truth.center_months if r["center_code"] == code}
    assert month not in months_of and date(month.year, month.month - 1, 1) in months_of
    assert any(r["center_code"] == code and r["report_month"] == month for r in truth.superseded_center_months)
    # the duplicated center: both copies refused, absent that month
    dup = truth.traps["duplicate_center_in_file"]
    assert sum(1 for r in truth.rejected_rows if r["path"] == dup["path"] and r["key"] == dup["center"]) == 2
    assert not any(r["path"] == dup["path"] and r["center_code"] == dup["center"] for r in truth.center_months)
    # unparsed date: NULL + warning, row loaded
    up = truth.traps["unparsed_date"]
    row = next(r for r in truth.center_months if r["path"] == up["path"] and r["row_number"] == up["row_number"])
    assert row["construction_start"] is None
    assert [w for w in truth.warnings if w["warning_code"] == "unparsed_date"] == [
        {"path": up["path"], "sheet": up["sheet"], "row_number": up["row_number"],
         "column_name": "construction_start", "raw_value": "2023年底", "warning_code": "unparsed_date"}]
    assert {w["warning_code"] for w in truth.warnings} == {"unparsed_date", "unknown_column", "skipped_sheet"}
    # operator given by name only in some months
    by_name = [r for r in truth.center_months if r["operator_uscc"] is None and r["operator_uscc_resolved"]]
    assert by_name and all(r["operator_resolution"] == "name" for r in by_name)
    # the latest month of one operating center has no IT energy
    ie = truth.traps["it_energy_missing"]
    assert next(r for r in last if r["center_code"] == ie["center"])["it_energy_kwh"] is None


def test_bills(sample):
    root, truth = sample
    owners, unclaimed = truth.account_owner, set(truth.unclaimed_accounts)
    assert unclaimed and not (unclaimed & set(owners))
    keys = [(b["account_no"], b["billing_month"]) for b in truth.bills]
    assert len(keys) == len(set(keys))
    for b in truth.bills:
        assert b["account_no"] in owners or b["account_no"] in unclaimed
        assert b["center_code"] == owners.get(b["account_no"])
    claims = {}
    for r in truth.center_months:
        for a in r["power_accounts"]:
            claims.setdefault(a, set()).add(r["center_code"])
            assert (a, r["report_month"]) in set(keys), (a, r["report_month"])  # a bill every claimed month
    assert all(owners[a] in cs for a, cs in claims.items())
    assert len({a for a, c in owners.items() if list(owners.values()).count(c) >= 2}) >= 4  # 2-3 accounts
    broken = []
    for b in truth.bills:
        kwh = b["kwh_peak"] + b["kwh_flat"] + b["kwh_valley"] + (b["kwh_sharp"] or 0)
        money = b["demand_charge_cny"] + b["energy_charge_cny"] + b["pf_adjustment_cny"] + b["surcharges_cny"]
        ok = abs(kwh - b["kwh_total"]) <= 1 and abs(money - b["total_cny"]) <= 0.01
        assert ok == b["arithmetic_ok"]
        if not ok:
            broken.append(b)
        assert 0 < b["power_factor"] <= 1
    tr = truth.traps
    assert [(b["path"], b["row_number"]) for b in broken] == [(tr["bill_arithmetic_error"]["path"],
                                                               tr["bill_arithmetic_error"]["row_number"])]
    dup_path = tr["duplicate_file"]["path"]
    assert not any(b["path"] == dup_path for b in truth.bills + truth.superseded_bills)
    sup = {(s["account_no"], s["billing_month"]): s for s in truth.superseded_bills}
    for name in ("corrected_bill", "reissue_without_bill_type"):
        t = tr[name]
        cur = next(b for b in truth.bills if b["account_no"] == t["account"] and b["billing_month"] == t["month"])
        assert cur["is_corrected"] and cur["path"] == t["path"]
        assert sup[(t["account"], t["month"])]["path"] == t["superseded_path"]
        assert cur["kwh_total"] != sup[(t["account"], t["month"])]["kwh_total"]
    nt = tr["reissue_without_bill_type"]
    assert next(b for b in truth.bills if b["account_no"] == nt["account"]
                and b["billing_month"] == nt["month"])["bill_type"] is None
    sf = tr["same_file_correction"]
    cur = next(b for b in truth.bills if b["account_no"] == sf["account"] and b["billing_month"] == sf["month"])
    old = sup[(sf["account"], sf["month"])]
    assert cur["path"] == old["path"] == sf["path"] and cur["bill_type"] == "更正" and old["bill_type"] == "正常"
    assert all(b["is_corrected"] == ((b["account_no"], b["billing_month"]) in sup) for b in truth.bills)
    # each power file holds one billing month plus re-issues of earlier months
    for f in truth.files_of("power"):
        if f["status"] != "loaded":
            continue
        months = Counter(b["billing_month"] for b in truth.bills + truth.superseded_bills if b["path"] == f["path"])
        main = max(months, key=months.get)
        assert all(m <= main for m in months)


def test_projects(sample):
    root, truth = sample
    pm = truth.projects_months
    assert {r["industry"] for r in pm} == set(names.INDUSTRIES)
    assert {r["promotion_subject"] for r in pm} == set(names.PROMOTION_SUBJECTS)
    assert {r["promotion_method"] for r in pm} == set(names.PROMOTION_METHODS)
    assert {r["stage"] for r in pm if r["report_month"] == truth.months[-1]} == set(names.STAGES)
    order = {s: i for i, s in enumerate(names.STAGES)}
    by_project = defaultdict(list)
    for r in pm:
        by_project[r["project_code"]].append(r)
    for rows in by_project.values():
        stages = [order[r["stage"]] for r in sorted(rows, key=lambda r: r["report_month"])]
        assert stages == sorted(stages)  # never moves back
        for r in rows:
            if r["report_month"].month == 1 and r["investment_completed_ytd_cny"] is not None:
                assert r["investment_completed_ytd_cny"] >= 0
    kinds = Counter(r["investor_resolution"] for r in pm)
    assert {"uscc", "name", "former_name", "unresolved"} <= set(kinds)
    tr = truth.traps
    former = next(r for r in pm if r["project_code"] == tr["investor_by_former_name"]["project"])
    renamed = tr["firm_renamed"]
    assert former["investor_uscc"] is None and former["investor_uscc_resolved"] == renamed["uscc"]
    assert text(former["investor_name"]) == text(renamed["old_name"])
    last_firms = {r["uscc"]: r for r in truth.firms[truth.snapshots[-1].isoformat()]}
    assert text(renamed["old_name"]) in [text(n) for n in last_firms[renamed["uscc"]]["former_names"]]
    named = next(r for r in pm if r["project_code"] == tr["investor_by_name"]["project"])
    assert named["investor_uscc"] is None and text(last_firms[named["investor_uscc_resolved"]]["name"]) == \
        text(named["investor_name"])
    unres = next(r for r in pm if r["project_code"] == tr["investor_unresolvable"]["project"])
    all_names = {text(r["name"]) for rows in truth.firms.values() for r in rows} | \
        {text(n) for rows in truth.firms.values() for r in rows for n in r["former_names"]}
    assert unres["investor_uscc_resolved"] is None and text(unres["investor_name"]) not in all_names
    assert {u["source"] for u in truth.unresolved_names} == {"projects", "economics"}
    assert any(r["reason_code"] == "missing_key" for r in truth.rejected_rows
               if r["path"].startswith("bureau/projects"))


def test_registry_and_versions(sample):
    root, truth = sample
    snaps = truth.snapshots
    for rows in truth.firms.values():
        usccs = [r["uscc"] for r in rows]
        assert len(usccs) == len(set(usccs))
        for u in usccs:
            assert codes.is_valid_uscc(u) and codes.org_code_ok(u)
    tr = truth.traps
    assert not codes.is_valid_uscc(tr["registry_bad_check_char"]["uscc"])
    old = tr["registry_old_registration_number"]["uscc"]
    assert len(old) == 15 and codes.old_registration_ok(old)
    assert len(tr["registry_duplicate_uscc"]["rows"]) == 2
    versions = defaultdict(list)
    for v in truth.firm_versions:
        versions[v["uscc"]].append(v)
    ren = versions[tr["firm_renamed"]["uscc"]]
    assert [v["valid_from"] for v in ren] == [snaps[0], snaps[2]] and ren[0]["valid_to"] == snaps[2]
    assert text(ren[0]["name"]) == text(tr["firm_renamed"]["old_name"]) and ren[1]["is_current"]
    form = versions[tr["firm_form_only_change"]["uscc"]]
    assert len(form) == 1 and form[0]["is_current"] and form[0]["valid_to"] is None
    raw = [r for rows in truth.firms.values() for r in rows if r["uscc"] == tr["firm_form_only_change"]["uscc"]]
    assert len(raw) == 4 and len({r["industry_code"] for r in raw}) == 2  # I6550 and 6550
    gone = versions[tr["firm_disappears"]["uscc"]]
    assert gone[-1]["valid_to"] == snaps[2] and not gone[-1]["is_current"]
    assert gone[-1]["status"] == "注销" and len(gone) == 2
    assert truth.firms_complete
    assert truth.firm_counts["versions_total"] == len(truth.firm_versions)
    assert truth.firm_counts["current_total"] == sum(v["is_current"] for v in truth.firm_versions)
    for vs in versions.values():
        for a, b in zip(vs, vs[1:], strict=False):
            assert a["valid_to"] == b["valid_from"] and not a["is_current"]
    assert all(v["legal_rep_masked"][1:] == "*" * (len(v["legal_rep_masked"]) - 1) for v in truth.firm_versions)
    assert {v["hard_soft"] for v in truth.firm_versions} >= {"hard", "soft", None}
    for k, snap in enumerate(snaps):
        counts = truth.firm_counts["per_snapshot"][snap.isoformat()]
        f = truth.files_of("registry")[k]
        assert counts["rows_written"] == f["rows_read"]
        assert counts["rows_accepted"] == len(truth.firms[snap.isoformat()])


def test_economics(sample):
    root, truth = sample
    keys = [(r["uscc"], r["quarter_start"]) for r in truth.economics]
    assert len(keys) == len(set(keys))
    tr = truth.traps
    up = tr["economics_unsupported_period"]
    rej = next(r for r in truth.rejected_rows if r["reason_code"] == "unsupported_period")
    assert rej["path"] == up["path"] and rej["row_number"] == up["row_number"]
    fs = Files(root)
    assert "1-6月" in "".join(text(c) for c in fs.row(rej["path"], rej["sheet"], rej["row_number"]))
    q = next(f["period"] for f in truth.files if f["path"] == up["path"])
    assert (up["uscc"], date(int(q[:4]), 3 * int(q[-1]) - 2, 1)) not in set(keys)
    inv = tr["economics_invalid_uscc_resolvable"]
    row = next(r for r in truth.economics if r["path"] == inv["path"] and r["row_number"] == inv["row_number"])
    assert row["uscc"] == inv["uscc"] and not codes.is_valid_uscc(row["uscc_written"])
    assert any(r["uscc_written"] is None for r in truth.economics)
    operators = {c["operator_uscc"] for c in truth.centers}
    assert operators <= {r["uscc"] for r in truth.economics}
    forms = {r["period_raw"] for r in truth.economics}
    assert any("Q" in p for p in forms) and any("季度" in p for p in forms) and any("-3月" in p or "-6月" in p
                                                                                 for p in forms)


def _plan_status(truth):
    """mart_center_plan's on_track / operation_overdue computed from the truth (test-side)."""
    cm = defaultdict(dict)
    for r in truth.center_months:
        cm[r["center_code"]][r["report_month"]] = r
    energy = defaultdict(float)
    for b in truth.bills:
        if b["center_code"]:
            energy[(b["center_code"], b["billing_month"])] += b["kwh_total"]
    first = min(r["report_month"] for r in truth.center_months)
    out = {}
    for p in truth.plans:
        code, year = p["center_code"], p["year"]
        months = sorted(m for m in cm[code] if m.year == year)
        if not months:
            continue
        as_of = months[-1]
        row = cm[code][as_of]
        ef = as_of.month / 12
        # racks in use against the path from last year's level (0 for a new center) to the target
        before = sorted(m for m in cm[code] if m.year < year)
        baseline = cm[code][before[-1]]["racks_in_use"] if before else (0 if first.year < year else None)
        target = p["target_racks_in_use"]
        expected = None if baseline is None or target is None else (
            baseline + (target - baseline) * ef if target > baseline else target)
        prev = sorted(m for m in cm[code] if m.year == year - 1)
        inv = None
        if prev and row["investment_completed_cny"] is not None and \
                cm[code][prev[-1]]["investment_completed_cny"] is not None:
            inv = row["investment_completed_cny"] - cm[code][prev[-1]]["investment_completed_cny"]
        att_i = inv / p["target_investment_cny"] if inv is not None and p["target_investment_cny"] else None
        fac = it = 0.0
        for m in months:
            r = cm[code][m]
            if r["it_energy_kwh"] and energy.get((code, m)):
                fac += energy[(code, m)]
                it += r["it_energy_kwh"]
        pue = fac / it if it else None
        fails, comparable = [], 0
        if row["racks_in_use"] is not None and expected is not None:
            comparable += 1
            fails.append(row["racks_in_use"] < expected)
        if att_i is not None:
            comparable += 1
            fails.append(att_i < ef)
        if pue is not None and p["target_pue"] is not None:
            comparable += 1
            fails.append(pue > p["target_pue"])
        on_track = None if not comparable else not any(fails)
        end = date(as_of.year + (as_of.month == 12), as_of.month % 12 + 1, 1)
        overdue = p["target_operation_date"] is not None and p["target_operation_date"] < end \
            and row["status"] != "运营"
        out[(code, year)] = (on_track, overdue, pue)
    return out


def test_plans_on_track_behind_overdue(sample):
    root, truth = sample
    assert {p["year"] for p in truth.plans} == {2024, 2025}
    status = _plan_status(truth)
    on = Counter(v[0] for v in status.values())
    assert on[True] >= 2 and on[False] >= 2
    overdue = [k for k, v in status.items() if v[1]]
    assert (truth.traps["plan_operation_overdue"]["center"], 2025) in overdue
    for _, _, pue in status.values():
        assert pue is None or 1.1 < pue < 1.7
    fracs = [p["target_rack_utilization"] for p in truth.plans if p["target_rack_utilization"] is not None]
    assert fracs and all(0 < f <= 1 for f in fracs)
    forms = {lay.get("percent_form") for f in truth.files_of("plans") for lay in f["layout"].values()}
    assert forms & {"string", "header", "excel"}


def test_pue_realistic(sample):
    root, truth = sample
    energy = defaultdict(float)
    for b in truth.bills:
        if b["center_code"]:
            energy[(b["center_code"], b["billing_month"])] += b["kwh_total"]
    pues = [energy[(r["center_code"], r["report_month"])] / r["it_energy_kwh"]
            for r in truth.center_months if r["it_energy_kwh"]]
    assert pues and all(1.1 < p < 1.7 for p in pues)


def test_truth_json_roundtrip(sample):
    root, truth = sample
    data = json.loads(truth.to_json())
    assert data["center_months"][0]["report_month"] == truth.center_months[0]["report_month"].isoformat()
    assert data == truth.to_dict()


# ---------------------------------------------------------------------------------------------
# numeric scales: chunked registry, parallel workers, CLI

def test_numeric_scale_chunked_and_parallel(tmp_path):
    cfg = dataclasses.replace(resolve_scale(0.005), chunk_rows=1500)
    a = generate(str(tmp_path / "seq"), scale=cfg, workers=1)
    b = generate(str(tmp_path / "par"), scale=cfg, workers=2)
    for f in a.files:
        with open(tmp_path / "seq" / f["path"], "rb") as x, open(tmp_path / "par" / f["path"], "rb") as y:
            assert x.read() == y.read(), f["path"]
    da, db = a.to_dict(), b.to_dict()
    da.pop("timings"), db.pop("timings")
    assert da == db
    generate(str(tmp_path / "bigchunk"), scale=dataclasses.replace(cfg, chunk_rows=65536))
    for f in a.files:
        if f["kind"] == "registry":
            with open(tmp_path / "seq" / f["path"], "rb") as x, open(tmp_path / "bigchunk" / f["path"], "rb") as y:
                assert x.read() == y.read()
    assert a.firms_complete and a.firm_counts["versions_total"] == len(a.firm_versions)
    assert a.firm_counts["current_total"] == sum(v["is_current"] for v in a.firm_versions)
    fs = Files(str(tmp_path / "seq"))
    for f in a.files_of("registry"):
        n = len(fs.rows(f["path"])) - (1 if f["format"] == "csv" else 0)
        assert n == f["rows_read"] == a.firm_counts["per_snapshot"][f["period"]]["rows_written"] >= 4500
        for r in a.firms[f["period"]][::97]:
            cells = [text(x) for x in fs.row(f["path"], None, r["row_number"])]
            assert r["uscc"] in cells and text(r["name"]) in cells
    assert len(a.centers) == 12 and len(a.months) > 18


def test_cli(tmp_path, capsys):
    out, truth_file = tmp_path / "inbox", tmp_path / "truth.json"
    assert cli_main(["--out", str(out), "--truth", str(truth_file)]) == 0
    assert "wrote 71 files" in capsys.readouterr().out
    data = json.loads(truth_file.read_text(encoding="utf-8"))
    assert len(data["files"]) == 71
    with pytest.raises(FileExistsError):
        cli_main(["--out", str(out)])
    assert cli_main(["--out", str(out), "--overwrite", "--mix", "none"]) == 0


def test_reading_inboxes_does_not_depend_on_the_sample_world():
    """The generator is its own top-level package: the ingestion package imports nothing of it."""
    import ast
    from pathlib import Path

    imported = set()
    for path in (Path(__file__).resolve().parents[2] / "ingestion").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add((path.name, node.module.split(".")[0]))
            elif isinstance(node, ast.Import):
                imported |= {(path.name, alias.name.split(".")[0]) for alias in node.names}
    assert imported and not [name for name, top in imported if top == "sample_world"]
