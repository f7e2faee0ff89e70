"""The whole pipeline on the generated sample inbox: published figures against the generator's truth.

Expected values are computed here in plain Python from the truth (never from the warehouse), so
a wrong rule in the reader or in SQL shows up as a difference.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from orchestration.contract import check as check_contract

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


def test_published_file_matches_its_documented_contract(pipeline):
    """docs/tables.md lists every published table and column with its type; the file holds exactly that."""
    assert check_contract(pipeline.published) == []


def test_center_months_racks_energy_and_pue(pipeline, sample):
    _, truth = sample
    facility = _facility(truth)
    rows = {(code, month): (built, in_use, util, it, fac, pue, cost) for code, month, built, in_use, util, it, fac, pue, cost
            in pipeline.query("select center_code, month, racks_built, racks_in_use, rack_utilization, it_energy_kwh, "
                              "facility_energy_kwh, pue, electricity_cost_cny from marts.fct_center_month")}
    assert set(rows) == {(r["center_code"], r["report_month"]) for r in truth.center_months}
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


# Each published table's lineage columns (prefix → the truth rows of that source, keyed as the table's row).
LINEAGE = {
    "fct_center_month": [("ledger", "center_code, month", "center_months", ("center_code", "report_month"))],
    "fct_power_bill": [("bill", "account_no, month", "bills", ("account_no", "billing_month"))],
    "fct_project_month": [("project", "project_code, month", "projects_months", ("project_code", "report_month"))],
    "fct_firm_quarter": [("economics", "uscc, quarter_start", "economics", ("uscc", "quarter_start"))],
    "dim_center": [("ledger", "center_code, latest_month", "center_months", ("center_code", "report_month"))],
    "dim_project": [("project", "project_code, latest_month", "projects_months", ("project_code", "report_month"))],
    "mart_center_plan": [("plan", "center_code, year", "plans", ("center_code", "year")),
                         ("ledger", "center_code, as_of_month", "center_months", ("center_code", "report_month")),
                         ("previous_year_ledger", "center_code, previous_year_last_month", "center_months",
                          ("center_code", "report_month"))],
}


def test_lineage_columns_name_the_row_that_supplied_the_figures(pipeline, sample):
    """Every lineage triple leads, through the auditors' join of docs/auditors.md (the manifest row that loaded the file:
    exactly one per published row), to the file, sheet and row the generator wrote that source's row to."""
    _, truth = sample
    for table, sources in LINEAGE.items():
        published = pipeline.query(f"select count(*) from marts.{table}")[0][0]
        for prefix, key, truth_list, truth_key in sources:
            rows = pipeline.query(
                f"select {key}, m.path, f.{prefix}_source_sheet, f.{prefix}_source_row from marts.{table} f "
                f"join audit.file_manifest m on m.sha256 = f.{prefix}_source_file_sha256 and m.ingest_status = 'loaded'")
            with_lineage = pipeline.query(
                f"select count(*) from marts.{table} where {prefix}_source_file_sha256 is not null")[0][0]
            assert len(rows) == with_lineage > 0, (table, prefix)  # one manifest row per published row
            got = {(k1, k2): rest for k1, k2, *rest in rows}
            assert len(got) == len(rows), (table, prefix)
            want = {(r[truth_key[0]], r[truth_key[1]]): [r["path"], r["sheet"], r["row_number"]]
                    for r in getattr(truth, truth_list)}
            wrong = {k: (v, want.get(k)) for k, v in got.items() if want.get(k) != v}
            assert not wrong, (table, prefix, list(wrong.items())[:3])
        if table.startswith("fct_"):
            assert with_lineage == published, table


def test_auditors_join_returns_one_manifest_row_per_fact_row(pipeline):
    """The auditors' query of docs/auditors.md, run as written: one row per fact row, although the sample
    delivers byte-identical duplicate files (which share the sha256 of the file that loaded)."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "auditors.md").read_text(encoding="utf-8")
    query = re.search(r"-- auditors: from a published figure to its file, sheet and row.*?\n(select .*?;)", page, re.S)
    assert query, "the auditors' join of docs/auditors.md is gone"
    sql = query.group(1).replace("where f.center_code = 'GA-DC-001'", "where true").replace("limit 3", "")
    assert len(pipeline.query(sql)) == pipeline.query("select count(*) from marts.fct_center_month")[0][0]
    duplicated = pipeline.query("select count(*) from audit.file_manifest d join audit.file_manifest l "
                                "on l.sha256 = d.sha256 and l.ingest_status = 'loaded' where d.status = 'duplicate'")
    assert duplicated[0][0] > 0  # the trap the join must survive is in the sample
    for table, prefix in (("fct_power_bill", "bill"), ("fct_project_month", "project"),
                          ("fct_firm_quarter", "economics")):
        joined = pipeline.query(
            f"select count(*) from marts.{table} f join audit.file_manifest m "
            f"on m.sha256 = f.{prefix}_source_file_sha256 and m.ingest_status = 'loaded'")[0][0]
        assert joined == pipeline.query(f"select count(*) from marts.{table}")[0][0], table


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
            "operation_overdue", "baseline_racks_in_use", "expected_racks_in_use"]
    first_ledger_month = min(r["report_month"] for r in truth.center_months)
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
        # the path from last year's level (the latest row before the year; 0 for a new center) to the target
        before = sorted(m for m in months[code] if m.year < year)
        baseline = months[code][before[-1]]["racks_in_use"] if before else (
            0 if first_ledger_month.year < year else None)
        target = p["target_racks_in_use"]
        expected = None if baseline is None or target is None else (
            baseline + (target - baseline) * expected_fraction if target > baseline else target)
        assert row["baseline_racks_in_use"] == baseline and _approx(row["expected_racks_in_use"], expected), (code, year)
        racks = cur["racks_in_use"]
        judged = [racks < expected if racks is not None and expected is not None else None,
                  att_inv < expected_fraction if att_inv is not None else None,
                  actual_pue > p["target_pue"] if actual_pue is not None and p["target_pue"] is not None else None]
        comparable = [j for j in judged if j is not None]
        on_track = None if not comparable else not any(comparable)
        assert row["on_track"] == on_track, (code, year, judged)
        verdicts.add(on_track)
    assert {True, False} <= verdicts
    # the flat center: racks in use unchanged since last year, far below the target's path, is not on track
    flat = [(c, y) for (c, y), r in got.items() if r["baseline_racks_in_use"] is not None
            and r["actual_racks_in_use"] == r["baseline_racks_in_use"] and r["expected_racks_in_use"] is not None
            and r["actual_racks_in_use"] < r["expected_racks_in_use"]]
    assert flat and all(got[k]["on_track"] is False for k in flat)
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


def _quarter(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _attribution(truth):
    """(center_code, year) -> [revenue, tax] attributed, and (uscc, year) -> [revenue, tax] unattributed, in Decimal,
    computed from the truth with the contract's rule: per quarter, the operator of the center's latest row of the
    quarter splits its figure by the centers' facility energy, in cents by the largest remainder."""
    latest, energy = {}, defaultdict(float)
    for r in truth.center_months:
        key = (r["center_code"], _quarter(r["report_month"]))
        if key not in latest or r["report_month"] > latest[key]["report_month"]:
            latest[key] = r
    for b in truth.bills:
        if b["center_code"]:
            energy[(b["center_code"], _quarter(b["billing_month"]))] += b["kwh_total"]
    operated = defaultdict(list)   # (uscc, quarter) -> centers
    for (code, q), r in latest.items():
        if r["operator_uscc_resolved"]:
            operated[(r["operator_uscc_resolved"], q)].append(code)
    operators = {r["operator_uscc_resolved"] for r in truth.center_months if r["operator_uscc_resolved"]}
    attributed = defaultdict(lambda: [Decimal(0), Decimal(0)])
    unattributed = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for e in truth.economics:
        if not e["uscc"] or e["uscc"] not in operators:
            continue
        key = (e["uscc"], e["quarter_start"])
        centers = sorted(operated.get(key, []))
        weights = {c: max(energy.get((c, e["quarter_start"]), 0.0), 0.0) for c in centers}
        total_weight = sum(weights.values())
        for i, figure in enumerate(("revenue_cny", "tax_cny")):
            if e[figure] is None:
                continue
            cents = int((Decimal(str(e[figure])) * 100).to_integral_value())
            if total_weight <= 0:
                unattributed[(e["uscc"], e["quarter_start"].year)][i] += Decimal(cents) / 100
                continue
            exact = {c: Fraction(cents) * Fraction(weights[c]) / Fraction(total_weight) for c in centers}
            floors = {c: math.floor(x) for c, x in exact.items()}
            left = cents - sum(floors.values())
            for rank, c in enumerate(sorted(centers, key=lambda c: (-(exact[c] - floors[c]), c))):
                floors[c] += 1 if rank < left else 0
            for c in centers:
                attributed[(c, e["quarter_start"].year)][i] += Decimal(floors[c]) / 100
    return attributed, unattributed


def test_money_is_decimal_in_every_mart(pipeline):
    wrong = pipeline.query("select table_name, column_name, data_type from information_schema.columns "
                           "where table_schema = 'marts' and column_name like '%\\_cny' escape '\\' "
                           "and data_type <> 'DECIMAL(18,2)'")
    assert not wrong
    assert pipeline.query("select count(*) from information_schema.columns where table_schema = 'marts' "
                          "and data_type = 'DECIMAL(18,2)'")[0][0] > 20


def test_attribution_splits_operator_figures_exactly(pipeline, sample):
    """The centers' attributed revenue and tax against the truth (largest remainder, to the cent), and the
    identities: per operator and year attributed + unattributed = the firm's figure; per year the centers'
    attributed amounts = the operators' attributed parts; all in Decimal, without tolerance."""
    _, truth = sample
    attributed, unattributed = _attribution(truth)
    got = {(c, y): [r, t] for c, y, r, t in pipeline.query(
        "select center_code, year, revenue_attributed_cny, tax_attributed_cny from marts.mart_center_accounting")}
    assert all(isinstance(v, Decimal) for vals in got.values() for v in vals if v is not None)
    for key, (revenue, tax) in attributed.items():
        assert abs(got[key][0] - revenue) <= Decimal("0.01") and abs(got[key][1] - tax) <= Decimal("0.01"), key
    operators = {(u, y): (rev, tax, ra, ta, ru, tu) for u, y, rev, tax, ra, ta, ru, tu in pipeline.query(
        "select operator_uscc, year, revenue_cny, tax_cny, revenue_attributed_cny, tax_attributed_cny, "
        "revenue_unattributed_cny, tax_unattributed_cny from marts.mart_operator_year")}
    for key, (rev, tax, ra, ta, ru, tu) in operators.items():
        assert rev is None or rev == ra + ru, key
        assert tax is None or tax == ta + tu, key
    for key, (revenue, tax) in unattributed.items():
        if key in operators:
            assert operators[key][4] == revenue and operators[key][5] == tax, key
    assert any(v[0] for v in unattributed.values())   # the sample has an operator whose centers use no billed energy
    for year in {y for _, y in operators}:
        centers = pipeline.query("select sum(revenue_attributed_cny), sum(tax_attributed_cny) "
                                 "from marts.mart_center_accounting where year = ?", [year])[0]
        ops = pipeline.query("select sum(revenue_cny), sum(revenue_unattributed_cny), sum(tax_cny), "
                             "sum(tax_unattributed_cny) from marts.mart_operator_year where year = ?", [year])[0]
        assert centers[0] == ops[0] - ops[1] and centers[1] == ops[2] - ops[3], year


def test_accounting_pue_is_the_matched_ratio_and_tax_intensity_is_judged(pipeline):
    rows = pipeline.query("select center_code, year, energy_kwh_matched, it_energy_kwh_matched, pue, "
                          "energy_kwh, it_energy_kwh from marts.mart_center_accounting")
    for code, year, fac, it, pue, energy, it_all in rows:
        assert _approx(pue, fac / it if fac and it else None), (code, year)
        assert fac is None or fac <= energy + 1e-6 and it <= it_all + 1e-6, (code, year)
    # tax per 10,000 kWh is NULL for a center not 运营 through its tax quarters (the construction-stage center)
    judged = pipeline.query("select a.center_code, a.year, a.tax_per_10k_kwh from marts.mart_center_accounting a "
                            "where exists (select 1 from marts.fct_center_month f where f.center_code = a.center_code "
                            "and year(f.month) = a.year and f.status <> '运营')")
    assert judged and all(t is None for _, _, t in judged)


def _stock(truth):
    """month -> center_code -> the ledger row that counts for it (carry-forward over the 3 months before)."""
    rows = defaultdict(dict)
    for r in truth.center_months:
        rows[r["center_code"]][r["report_month"]] = r
    months = sorted({r["report_month"] for r in truth.center_months})
    out = {}
    for m in months:
        window = [date(m.year - (m.month - k <= 0), (m.month - k - 1) % 12 + 1, 1) for k in range(4)]
        out[m] = {code: next(by_month[w] for w in window if w in by_month)
                  for code, by_month in rows.items() if any(w in by_month for w in window)}
    return out


STOCK = ("racks_built", "racks_in_use", "compute_general_pflops", "compute_ai_pflops", "compute_hpc_pflops")


def test_cluster_month_carries_silent_centers_forward(pipeline, sample):
    _, truth = sample
    stock = _stock(truth)
    got = {r[0]: r[1:] for r in pipeline.query(
        f"select month, centers_expected, centers_reporting, centers_carried_forward, carried_forward_centers, "
        f"{', '.join(STOCK)} from marts.mart_cluster_month")}
    carried_any = False
    for month, centers in stock.items():
        expected, reporting, carried, names, *figures = got[month]
        forward = sorted(c for c, r in centers.items() if r["report_month"] != month)
        carried_any |= bool(forward)
        assert (expected, reporting, carried) == (len(centers), len(centers) - len(forward), len(forward)), month
        assert names == (", ".join(forward) or None), month
        for col, value in zip(STOCK, figures, strict=True):
            known = [r[col] for r in centers.values() if r[col] is not None]
            assert _approx(value, sum(known) if known else None), (month, col)
    assert carried_any
    # the refused row (a duplicated center code in the 2024-08 workbook): the month keeps the center's racks
    # of July, so racks built = July's + the other centers' changes; one center carried forward, named
    trap = truth.traps["duplicate_center_in_file"]
    month = next(m for m in stock if m.strftime("%Y%m") in trap["path"].replace("年", "").replace("月", "")
                 or f"{m.year}年{m.month}月" in trap["path"])
    before = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    others = sum((stock[month][c]["racks_built"] or 0) - (stock[before][c]["racks_built"] or 0)
                 for c in stock[month] if c != trap["center"] and c in stock[before])
    others += sum(stock[month][c]["racks_built"] or 0 for c in stock[month] if c not in stock[before])
    assert got[month][4] == got[before][4] + others   # racks_built
    assert got[month][2:4] == (1, trap["center"])


def test_compute_capacity_parks_add_up_to_the_cluster_month(pipeline):
    cluster = {r[0]: r[1:] for r in pipeline.query(
        f"select month, centers_reporting, centers_carried_forward, {', '.join(STOCK)} from marts.mart_cluster_month")}
    parks = {r[0]: r[1:] for r in pipeline.query(
        f"select month, sum(centers_reporting), sum(centers_carried_forward), "
        f"{', '.join(f'sum({c})' for c in STOCK)} from marts.mart_compute_capacity group by month")}
    assert parks and set(parks) <= set(cluster)
    for month, values in cluster.items():
        if month not in parks:
            assert values[0] == values[1] == 0 and all(v is None for v in values[2:]), month
            continue
        for a, b in zip(values, parks[month], strict=True):
            assert _approx(a, b), month
    assert not pipeline.query("select * from marts.mart_compute_capacity where park = '全区'")
    assert not pipeline.query("select * from marts.mart_compute_capacity where compute_ai_pflops is null "
                              "and ai_share is not null")

def test_run_summary_names_warnings_and_ends_with_open_alerts(pipeline):
    from orchestration.cli import summary

    lines = summary(pipeline.published).splitlines()
    counts = dict(pipeline.query("select severity, count(*) from marts.mart_alerts group by 1"))
    high = pipeline.query("select alert_kind, entity_code from marts.mart_alerts where severity = 'high' "
                          "order by since_month, alert_kind, entity_code")
    start = next(i for i, line in enumerate(lines) if line.startswith("open alerts: "))
    assert lines[start] == f"open alerts: {counts.get('high', 0)} high, {counts.get('medium', 0)} medium, " \
                           f"{counts.get('low', 0)} low"
    tail = lines[start + 1:]
    assert [line.split(":")[0].strip() for line in tail if not line.strip().startswith("and ")] == \
        [f"{kind} {code}" for kind, code in high[:5]]
    assert (tail[-1] == f"  and {len(high) - 5} more") == (len(high) > 5)
    # the warning-severity cross-source check is named (the sample's projects contradict their centers)
    assert counts.get("medium") and any(line.startswith("warnings: ") and "project_stage_contradicts_center_status"
                                        in line for line in lines)


def _month_add(m: date, k: int) -> date:
    i = m.year * 12 + m.month - 1 + k
    return date(i // 12, i % 12 + 1, 1)


def _header_key(text: str) -> str:
    import re
    return re.sub(r"\s", "", re.sub(r"[（(\[【][^）)\]】]*[）)\]】]", "", text))


def _expected_alerts(truth) -> set[tuple[str, str, date]]:
    """(alert_kind, entity_code, since_month) of every alert the contract opens, from the generator's truth."""
    from ingestion.column_maps import source_map

    rows = defaultdict(dict)
    for r in truth.center_months:
        rows[r["center_code"]][r["report_month"]] = r
    as_of = max(r["report_month"] for r in truth.center_months)
    facility = _facility(truth)
    out = set()
    for code, by_month in rows.items():
        latest = max(by_month)
        if latest < as_of:
            out.add(("center_not_reporting", code, _month_add(latest, 1)))
        last = by_month[latest]
        if last["racks_in_use"] is not None and last["racks_built"] is not None \
                and last["racks_in_use"] > last["racks_built"]:
            out.add(("over_capacity", code, latest))
        window = [_month_add(as_of, -k) for k in range(13)]
        if all(m in by_month and by_month[m]["status"] == "运营" for m in window):
            now, ago = by_month[as_of], by_month[window[-1]]
            if now["racks_in_use"] is not None and ago["racks_in_use"] is not None and now["racks_built"] \
                    and now["racks_in_use"] <= ago["racks_in_use"] and now["racks_in_use"] / now["racks_built"] < 0.6:
                out.add(("center_idle", code, window[-1]))
    for p in truth.plans:
        code = p["center_code"]
        in_year = sorted(m for m in rows.get(code, {}) if m.year == p["year"])
        if p["year"] != as_of.year or not in_year:
            continue
        cur = rows[code][in_year[-1]]
        end = _month_add(in_year[-1], 1)
        target = p["target_operation_date"]
        if target is not None and target < end and cur["status"] != "运营":
            out.add(("operation_overdue", code, date(target.year, target.month, 1)))
        both = [(facility[(code, m)][0], rows[code][m]["it_energy_kwh"]) for m in in_year
                if facility.get((code, m), [0])[0] > 0 and (rows[code][m]["it_energy_kwh"] or 0) > 0]
        if both and p["target_pue"] is not None and sum(f for f, _ in both) / sum(i for _, i in both) > p["target_pue"]:
            out.add(("pue_above_target", code, date(as_of.year, 1, 1)))
    projects = defaultdict(dict)
    for r in truth.projects_months:
        projects[r["project_code"]][r["report_month"]] = r
    for code, by_month in projects.items():
        months = sorted(by_month)
        stage, start = by_month[months[-1]]["stage"], months[-1]
        while _month_add(start, -1) in by_month and by_month[_month_add(start, -1)]["stage"] == stage:
            start = _month_add(start, -1)
        if stage in ("签约", "在谈") and (months[-1].year - start.year) * 12 + months[-1].month - start.month + 1 >= 12:
            out.add(("project_stalled", code, start))
        center = by_month[months[-1]]["center_code"]
        common = [m for m in months if m in rows.get(center, {})]
        if not common:
            continue

        def conflict(m, center=center, by_month=by_month):
            stage, status = by_month[m]["stage"], rows[center][m]["status"]
            if stage == "投产" and status != "运营":
                return "production"
            if stage in ("在谈", "签约") and status in ("在建", "运营"):
                return "early"
            return None
        kind = conflict(common[-1])
        run = [m for m in common if m <= common[-1]]
        k = len(run) - 1
        while k > 0 and conflict(run[k - 1]) == kind:
            k -= 1
        if kind == "production" or (kind == "early" and len(run) - k >= 6):
            out.add(("project_center_conflict", code, run[k]))
    unclaimed = defaultdict(list)
    for b in truth.bills:
        if b["center_code"] is None and _month_add(as_of, -12) < b["billing_month"] <= as_of:
            unclaimed[b["account_no"]].append(b["billing_month"])
    out |= {("unclaimed_account", account, min(months)) for account, months in unclaimed.items()}
    # renamed headers: an unknown header resembling an optional column that is empty in its file while the
    # previous loaded file of the source had values, and no later file has values again
    by_file = defaultdict(list)
    for r in [*truth.center_months, *truth.superseded_center_months, *truth.projects_months, *truth.bills,
              *truth.superseded_bills, *truth.economics, *truth.plans]:
        by_file[r["path"]].append(r)
    loaded = [f for f in truth.files if f["status"] in ("loaded", "superseded")]
    for w in truth.warnings:
        if w["warning_code"] != "unknown_column":
            continue
        f = truth.file(w["path"])
        smap = source_map(f["kind"])
        key = _header_key(w["column_name"])
        for col in smap.columns.values():
            if col.required or not any(len(_header_key(a)) > 1 and (_header_key(a) in key or key in _header_key(a))
                                       for a in col.aliases):
                continue
            same = [g for g in loaded if g["kind"] == f["kind"]]
            i = next(n for n, g in enumerate(same) if g["path"] == f["path"])
            has = [any(r.get(col.name) is not None for r in by_file[g["path"]]) for g in same]
            if by_file[f["path"]] and not has[i] and i > 0 and has[i - 1] and not any(has[i + 1:]):
                period = f["period"]
                out.add(("column_went_empty", f["path"], date.fromisoformat(f"{period[:7]}-01") if period else None))
    return out


def test_alerts_are_the_ones_the_truth_calls_for(pipeline, sample):
    """mart_alerts equals the set of (alert_kind, entity_code, since_month) derived from the generator's record."""
    _, truth = sample
    got = set(pipeline.query("select alert_kind, entity_code, since_month from marts.mart_alerts"))
    assert got == _expected_alerts(truth)
    # the sample holds a case of every kind of the contract
    assert {k for k, _, _ in got} == {"operation_overdue", "center_not_reporting", "column_went_empty",
                                      "project_stalled", "center_idle", "project_center_conflict", "over_capacity",
                                      "unclaimed_account", "pue_above_target"}


def test_a_renamed_header_is_loud_and_extra_headers_are_not(pipeline, sample):
    """The last ledger's 服务器台数 became 服务器台数XX: servers load NULL (an optional column does not block), the
    file is named by column_went_empty and by the warning check; files with extra headers raise nothing."""
    _, truth = sample
    trap = truth.traps["renamed_header"]
    assert pipeline.query("select column_name, header, non_null_rows, rows > 0 from audit.file_columns "
                          "where path = ? and (column_name = 'servers' or resembles_column = 'servers') "
                          "order by column_name nulls last", [trap["path"]]) == [
        ("servers", None, 0, True), (None, trap["header"], None, True)]
    extra = pipeline.query("select distinct header from audit.file_columns where column_name is null "
                           "and resembles_column is null")
    assert {"联系电话", "数据来源"} & {h for (h,) in extra}
    assert pipeline.query("select entity_code from marts.mart_alerts where alert_kind = 'column_went_empty'") == [
        (trap["path"],)]
    run_id = pipeline.query("select run_id from audit.publication")[0][0]
    warned = {name for (name,) in pipeline.query(
        "select check_name from audit.check_results where run_id = ? and not passed and severity = 'WARN'", [run_id])}
    assert {"column_drift_renamed_header", "project_stage_contradicts_center_status"} <= warned
