"""The SQL business rules on a hand-made raw layer (tests/fixtures/raw_minimal.sql), with real dbt.

The fixture is written by hand, not by the sample generator, so these expectations are not
circular: each one was worked out on paper from the fixture's rows.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

pytestmark = pytest.mark.integration
D = dt.date


@pytest.fixture(scope="module")
def built(fixture_build):
    con = duckdb.connect(str(fixture_build.db), read_only=True)
    yield lambda sql: con.execute(sql).fetchall()
    con.close()


def test_a_later_workbook_replaces_the_month_as_a_whole(built):
    # 2024-03 was delivered twice; the correction says 540 racks in use and drops GA-DC-004.
    assert built("select racks_in_use from marts.fct_center_month where center_code = 'GA-DC-001' "
                 "and month = '2024-03-01'") == [(540,)]
    assert not built("select * from marts.fct_center_month where center_code = 'GA-DC-004' and month = '2024-03-01'")
    statuses = dict(built("select path, status from audit.file_manifest"))
    assert statuses["bureau/dc_ledger/数据中心台账_2024-03.xlsx"] == "superseded"


def test_a_later_plan_replaces_the_year(built):
    assert built("select target_racks_in_use from marts.mart_center_plan where center_code = 'GA-DC-001' "
                 "and year = 2024") == [(600,)]
    assert dict(built("select path, status from audit.file_manifest"))[
        "bureau/plans/一中心一方案_2024.xlsx"] == "superseded"


def test_corrected_bill_counts_and_the_original_stays_in_audit(built):
    # 2024-02 of GA-DC-001 has a 更正 re-issue: PUE 1.32 instead of 1.30
    assert built("select round(pue, 2) from marts.fct_center_month where center_code = 'GA-DC-001' "
                 "and month = '2024-02-01'") == [(1.32,)]
    assert built("select count(*) from audit.superseded_bills")[0][0] >= 1


def test_form_only_changes_make_no_new_firm_version_and_real_changes_do(built):
    versions = dict(built("select uscc, count(*) from marts.dim_firm group by 1"))
    assert versions["91520900MA6DA00016"] == 1          # brackets, spaces, 在业/存续, I6550/6550 only
    assert versions["91520900MA6DB00021"] == 2          # renamed
    assert built("select valid_from, valid_to, is_current from marts.dim_firm where uscc = '91520900MA6DC0003U'"
                 ) == [(D(2023, 12, 31), D(2024, 12, 31), False)]   # gone from the last snapshot


def test_ambiguous_firm_name_stays_unresolved_with_candidates(built):
    rows = built("select reason_code, candidate_count, candidate_usccs from audit.unresolved_firms "
                 "where firm_name = '贵安数据服务有限公司' limit 1")
    assert rows == [("ambiguous_name", 2, "91520900MA6DD0004N, 91520900MA6DE0005H")]
    assert built("select operator_uscc from marts.dim_center where center_code = 'GA-DC-003'") == [(None,)]


def test_plan_verdicts(built):
    verdicts = {(c, y): (t, o) for c, y, t, o in built(
        "select center_code, year, on_track, operation_overdue from marts.mart_center_plan")}
    assert verdicts[("GA-DC-001", 2024)] == (True, False)
    assert verdicts[("GA-DC-002", 2024)] == (False, False)
    assert verdicts[("GA-DC-003", 2024)] == (None, True)
