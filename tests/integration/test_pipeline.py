"""The whole pipeline on the generated sample inbox: published figures against the generator's truth.

Expected values are computed here in plain Python from the truth (never from the warehouse), so
a wrong rule in the reader or in SQL shows up as a difference.
"""
from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

import pytest

from tests.integration.conftest import CHECK_CONTRACT

pytestmark = pytest.mark.integration


def _approx(a, b, rel=1e-6, abs_=1e-6):
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)   # money comes back as Decimal
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def _facility(truth):
    """(center_code, month) → (kWh, CNY) of the current bills of the center's accounts."""
    out = defaultdict(lambda: [0.0, 0.0])
    for b in truth.bills:
        if b["center_code"]:
            acc = out[(b["center_code"], b["billing_month"])]
            acc[0] += b["kwh_total"]
            acc[1] += b["total_cny"]
    return out


def test_published_file_passes_the_contract_checker(pipeline):
    done = subprocess.run([sys.executable, str(CHECK_CONTRACT), str(pipeline.published)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_center_months_racks_energy_and_pue(pipeline, sample):
    _, truth = sample
    facility = _facility(truth)
    rows = {(code, month): (built, in_use, util, it, fac, pue, cost) for code, month, built, in_use, util, it, fac, pue, cost
            in pipeline.query("select center_code, month, racks_built, racks_in_use, rack_utilization, it_energy_kwh, "
                              "facility_energy_kwh, pue, electricity_cost_cny from marts.fct_center_month")}
    assert set(rows) == {(r["center_code"], r["report_month"]) for r in truth.center_months}
    lineage = {(c, m): (p, sh, rn) for c, m, p, sh, rn in pipeline.query(
        "select f.center_code, f.month, m.path, f.source_sheet, f.source_row_number from marts.fct_center_month f "
        "join audit.file_manifest m on m.sha256 = f.source_file_sha256")}
    assert lineage == {(r["center_code"], r["report_month"]): (r["path"], r["sheet"], r["row_number"])
                       for r in truth.center_months}
    checked_pue = 0
    for r in truth.center_months:
        built, in_use, util, it, fac, pue, cost = rows[(r["center_code"], r["report_month"])]
        assert (built, in_use) == (r["racks_built"], r["racks_in_use"])
        expected_util = r["racks_in_use"] / r["racks_built"] if r["racks_built"] else None
        assert _approx(util, expected_util), r["center_code"]
        assert _approx(it, r["it_energy_kwh"])
        kwh, cny = facility.get((r["center_code"], r["report_month"]), (None, None))
        assert _approx(fac, kwh) and _approx(cost, cny, abs_=0.01), (r["center_code"], r["report_month"])
        expected_pue = kwh / r["it_energy_kwh"] if kwh and r["it_energy_kwh"] else None
        assert _approx(pue, expected_pue), (r["center_code"], r["report_month"], pue, expected_pue)
        checked_pue += expected_pue is not None
    assert checked_pue > 100


def test_power_bills_current_corrected_and_owned(pipeline, sample):
    _, truth = sample
    got = {(a, m): rest for a, m, *rest in pipeline.query(
        "select account_no, month, kwh_total, total_cny, is_corrected, arithmetic_ok, center_code "
        "from marts.fct_power_bill")}
    assert set(got) == {(b["account_no"], b["billing_month"]) for b in truth.bills}
    for b in truth.bills:
        kwh, cny, corrected, ok, center = got[(b["account_no"], b["billing_month"])]
        assert _approx(kwh, b["kwh_total"]) and _approx(cny, b["total_cny"], abs_=0.01)
        assert (corrected, ok, center) == (b["is_corrected"], b["arithmetic_ok"], b["center_code"]), b["account_no"]
    assert any(b["is_corrected"] for b in truth.bills) and not all(b["arithmetic_ok"] for b in truth.bills)
    total = pipeline.query("select sum(kwh_total), sum(total_cny) from marts.fct_power_bill")[0]
    assert _approx(total[0], sum(b["kwh_total"] for b in truth.bills))
    assert _approx(total[1], sum(b["total_cny"] for b in truth.bills), abs_=0.05)


def test_superseded_bills_stay_visible_to_auditors(pipeline, sample):
    _, truth = sample
    audited = {(a, m) for a, m in pipeline.query("select account_no, month from audit.superseded_bills")}
    assert audited == {(b["account_no"], b["billing_month"]) for b in truth.superseded_bills}
    assert audited


def test_unclaimed_account_is_reported(pipeline, sample):
    _, truth = sample
    assert {a for (a,) in pipeline.query("select account_no from audit.unclaimed_accounts")} == set(truth.unclaimed_accounts)
    nulls = {a for (a,) in pipeline.query("select distinct account_no from marts.fct_power_bill where center_key is null")}
    assert nulls == set(truth.unclaimed_accounts)


def test_investment_funnel_counts(pipeline, sample):
    _, truth = sample
    stage_col = {"在谈": 0, "签约": 1, "开工": 2, "投产": 3}
    expected = defaultdict(lambda: [0, 0, 0, 0])
    for p in truth.projects_months:
        key = (p["report_month"], p["industry"], p["promotion_subject"], p["promotion_method"])
        expected[key][stage_col[p["stage"]]] += 1
    got = {(m, i, s, pm): [a, b, c, d] for m, i, s, pm, a, b, c, d in pipeline.query(
        "select month, industry, promotion_subject, promotion_method, projects_in_talks, projects_signed, "
        "projects_started, projects_in_production from marts.mart_investment_funnel")}
    assert got == dict(expected)


def test_firm_history_type_2(pipeline, sample):
    _, truth = sample
    got = sorted(pipeline.query("select uscc, name, status, valid_from, valid_to, is_current, legal_rep_masked "
                                "from marts.dim_firm"), key=lambda r: (r[0], r[3]))
    want = sorted(((v["uscc"], v["name"], v["status"], v["valid_from"], v["valid_to"], v["is_current"],
                    v["legal_rep_masked"]) for v in truth.firm_versions), key=lambda r: (r[0], r[3]))
    assert got == want
    hard_soft = {(u, f): (h, e) for u, f, h, e in pipeline.query(
        "select uscc, valid_from, hard_soft, industry_code_edition from marts.dim_firm")}
    assert hard_soft == {(v["uscc"], v["valid_from"]): (v["hard_soft"], "GB/T 4754-2017") for v in truth.firm_versions}
    assert {h for h, _ in hard_soft.values()} == {"hard", "soft", None}
    renamed = truth.traps["firm_renamed"]["uscc"]
    assert sum(1 for r in got if r[0] == renamed) >= 2


def test_every_file_in_the_manifest_with_its_fate(pipeline, sample):
    _, truth = sample
    got = {p: (s, read, loaded, rejected) for p, s, read, loaded, rejected in pipeline.query(
        "select path, status, rows_read, rows_loaded, rows_rejected from audit.file_manifest")}
    assert set(got) == {f["path"] for f in truth.files}
    for f in truth.files:
        status, read, loaded, rejected = got[f["path"]]
        assert status == f["status"], f["path"]
        if f["status"] in ("loaded", "superseded"):
            assert (read, loaded, rejected) == (f["rows_read"], f["rows_loaded"], f["rows_rejected"]), f["path"]
            assert read == loaded + rejected
    reasons = dict(pipeline.query("select path, reason from audit.file_manifest where status <> 'loaded'"))
    assert all(reasons[f["path"]] for f in truth.files if f["status"] in ("rejected", "duplicate", "superseded"))


def test_every_refused_row_with_file_sheet_row_and_reason(pipeline, sample):
    _, truth = sample
    got = {(p, s, r, c) for p, s, r, c in pipeline.query(
        "select path, sheet, row_number, reason_code from audit.rejected_rows")}
    want = {(r["path"], r["sheet"], r["row_number"], r["reason_code"]) for r in truth.rejected_rows}
    assert got == want
    assert all(m for (m,) in pipeline.query("select message from audit.rejected_rows"))
    assert all(v.startswith("{") for (v,) in pipeline.query("select raw_values from audit.rejected_rows"))


def test_unparsed_date_warning_keeps_the_raw_text(pipeline, sample):
    _, truth = sample
    want = {(w["path"], w["row_number"], w["raw_value"]) for w in truth.warnings if w["warning_code"] == "unparsed_date"}
    got = {(p, r, v) for p, r, v in pipeline.query(
        "select path, row_number, raw_value from audit.parse_warnings where warning_code = 'unparsed_date'")}
    assert want and got == want


def test_center_ledger_latest_state_and_operating_model(pipeline, sample):
    _, truth = sample
    latest = {}
    for r in truth.center_months:
        if r["center_code"] not in latest or r["report_month"] > latest[r["center_code"]]["report_month"]:
            latest[r["center_code"]] = r
    got = {c: rest for c, *rest in pipeline.query(
        "select center_code, latest_month, status, racks_in_use, operating_model from marts.mart_center_ledger")}
    assert set(got) == set(latest)
    for code, r in latest.items():
        assert got[code] == [r["report_month"], r["status"], r["racks_in_use"], r["operating_model"]], code
    models = {m for (m,) in pipeline.query("select operating_model from marts.dim_center")}
    assert {"自建自用", "批发租赁", "零售托管", "云服务", "政企合作"} <= models


def test_center_plan_attainment_and_on_track(pipeline, sample):
    """mart_center_plan recomputed from the truth with the definitions of spec/marts.md."""
    _, truth = sample
    months = defaultdict(dict)
    for r in truth.center_months:
        months[r["center_code"]][r["report_month"]] = r
    facility = _facility(truth)
    cols = ["as_of_month", "status", "actual_racks_in_use", "actual_pue", "actual_investment_cny",
            "attainment_racks", "attainment_investment", "attainment_pue", "expected_fraction", "on_track",
            "operation_overdue"]
    got = {(c, y): dict(zip(cols, rest, strict=True)) for c, y, *rest in pipeline.query(
        f"select center_code, year, {', '.join(cols)} from marts.mart_center_plan")}
    known = [p for p in truth.plans if p["center_code"] in months]
    assert {(p["center_code"], p["year"]) for p in known} <= set(got)
    verdicts = set()
    for p in known:
        code, year = p["center_code"], p["year"]
        in_year = sorted(m for m in months[code] if m.year == year)
        row = got[(code, year)]
        if not in_year:
            assert row["as_of_month"] is None
            continue
        as_of = in_year[-1]
        cur = months[code][as_of]
        assert row["as_of_month"] == as_of and row["status"] == cur["status"]
        assert row["actual_racks_in_use"] == cur["racks_in_use"]
        both = [(facility[(code, m)][0], months[code][m]["it_energy_kwh"]) for m in in_year
                if (code, m) in facility and months[code][m]["it_energy_kwh"]]
        actual_pue = sum(f for f, _ in both) / sum(i for _, i in both) if both else None
        assert _approx(row["actual_pue"], actual_pue), (code, year)
        prev = sorted(m for m in months[code] if m.year == year - 1)
        cum_now = cur["investment_completed_cny"]
        cum_prev = months[code][prev[-1]]["investment_completed_cny"] if prev else None
        actual_inv = cum_now - cum_prev if cum_now is not None and cum_prev is not None else None
        assert _approx(row["actual_investment_cny"], actual_inv), (code, year)
        att_racks = cur["racks_in_use"] / p["target_racks_in_use"] if (
            cur["racks_in_use"] is not None and p["target_racks_in_use"]) else None
        att_inv = actual_inv / p["target_investment_cny"] if (
            actual_inv is not None and p["target_investment_cny"]) else None
        assert _approx(row["attainment_racks"], att_racks) and _approx(row["attainment_investment"], att_inv)
        expected_fraction = as_of.month / 12
        assert _approx(row["expected_fraction"], expected_fraction)
        judged = [att_racks < expected_fraction if att_racks is not None else None,
                  att_inv < expected_fraction if att_inv is not None else None,
                  actual_pue > p["target_pue"] if actual_pue is not None and p["target_pue"] is not None else None]
        comparable = [j for j in judged if j is not None]
        on_track = None if not comparable else not any(comparable)
        assert row["on_track"] == on_track, (code, year, judged)
        verdicts.add(on_track)
    assert {True, False} <= verdicts
    overdue = {(c, y) for (c, y), r in got.items() if r["operation_overdue"]}
    trap = truth.traps["plan_operation_overdue"]
    assert (trap["center"], trap["target_operation_date"].year) in overdue


def test_every_published_table_and_column_is_described(pipeline):
    undocumented = pipeline.query("""
        select c.schema_name || '.' || c.table_name || '.' || c.column_name
        from duckdb_columns() c
        where c.schema_name in ('marts', 'audit') and (c.comment is null or c.comment = '')""")
    tables = pipeline.query("select schema_name || '.' || table_name from duckdb_tables() "
                            "where schema_name in ('marts', 'audit') and (comment is null or comment = '')")
    assert not undocumented and not tables, (undocumented[:10], tables)


def test_no_raw_personal_names_published(pipeline, sample):
    _, truth = sample
    assert not pipeline.query("select * from duckdb_columns() where column_name = 'legal_rep'")
    reps = {r["legal_rep"] for rows in truth.firms.values() for r in rows if r.get("legal_rep")}
    masked = {m for (m,) in pipeline.query("select legal_rep_masked from marts.dim_firm")}
    assert reps and not reps & masked
    assert all(m[1:] == "*" * (len(m) - 1) for m in masked if m)


def test_firms_named_without_a_valid_code_are_resolved_through_the_registry(pipeline, sample):
    """By uscc when valid, else by current or former name; unresolvable names stay NULL (never guessed)."""
    _, truth = sample
    latest_project, latest_center = {}, {}
    for p in truth.projects_months:
        if p["project_code"] not in latest_project or p["report_month"] > latest_project[p["project_code"]]["report_month"]:
            latest_project[p["project_code"]] = p
    for r in truth.center_months:
        if r["center_code"] not in latest_center or r["report_month"] > latest_center[r["center_code"]]["report_month"]:
            latest_center[r["center_code"]] = r
    projects = dict(pipeline.query("select project_code, investor_uscc from marts.dim_project"))
    assert projects == {code: p["investor_uscc_resolved"] for code, p in latest_project.items()}
    centers = dict(pipeline.query("select center_code, operator_uscc from marts.dim_center"))
    assert centers == {code: r["operator_uscc_resolved"] for code, r in latest_center.items()}
    ways = {p["investor_resolution"] for p in latest_project.values()}
    assert {"uscc", "name"} <= ways and None in projects.values()


def test_center_accounting_energy_cost_and_operator_tax(pipeline, sample):
    """Yearly facility energy and cost from the bills of each center's accounts, every billing month
    counted (also months whose ledger row was refused); tax per 10,000 kWh over the operator's centers."""
    _, truth = sample
    energy = defaultdict(float)
    cost = defaultdict(float)
    for b in truth.bills:
        if b["center_code"]:
            energy[(b["center_code"], b["billing_month"].year)] += b["kwh_total"]
            cost[(b["center_code"], b["billing_month"].year)] += b["total_cny"]
    got = {(c, y): (e, k) for c, y, e, k in pipeline.query(
        "select center_code, year, energy_kwh, electricity_cost_cny from marts.mart_center_accounting")}
    for key, kwh in energy.items():
        assert _approx(got[key][0], kwh) and _approx(got[key][1], cost[key], abs_=0.05), key
    assert all(e is None for k, (e, _) in got.items() if k not in energy)   # no bills: NULL, never 0


def test_compute_capacity_cluster_row_is_the_sum_of_the_parks(pipeline, sample):
    _, truth = sample
    want = defaultdict(lambda: [0, 0.0])
    for r in truth.center_months:
        want[r["report_month"]][0] += r["racks_built"] or 0
        want[r["report_month"]][1] += sum(r[k] or 0 for k in ("compute_general_pflops", "compute_ai_pflops",
                                                              "compute_hpc_pflops"))
    got = {m: (racks, general + ai + hpc) for m, racks, general, ai, hpc in pipeline.query(
        "select month, racks_built, coalesce(compute_general_pflops, 0), coalesce(compute_ai_pflops, 0), "
        "coalesce(compute_hpc_pflops, 0) from marts.mart_compute_capacity where park = '全区'")}
    assert set(got) == set(want)
    for month, (racks, compute) in want.items():
        assert got[month][0] == racks and _approx(got[month][1], compute), month
