"""Write–audit–publish: a failed blocking check leaves the previous published.duckdb untouched."""
from __future__ import annotations

import csv
import hashlib
import shutil

import duckdb
import pytest

from tests.integration.conftest import run_pipeline

pytestmark = pytest.mark.integration


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pue_below_one_blocks_publication_and_says_why(pipeline, sample, tmp_path):
    _, truth = sample
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    shutil.copytree(pipeline.inbox, inbox)
    shutil.copytree(pipeline.warehouse, warehouse)
    before = _sha(warehouse / "published.duckdb")

    # A re-issued bill that makes one center-month's facility energy far below its IT energy.
    month = max(b["billing_month"] for b in truth.bills if b["center_code"])
    bill = next(b for b in truth.bills if b["center_code"] and b["billing_month"] == month)
    rows = [["户号", "电费年月", "总有功电量（千瓦时）", "应收电费（元）", "账单类型"],
            [bill["account_no"], month.strftime("%Y%m"), "1000", "800", "更正"]]
    with (inbox / "power" / "电费账单_更正_补发.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)

    run = run_pipeline(inbox, warehouse)
    assert not run.result.success
    assert _sha(warehouse / "published.duckdb") == before          # the previous publication stands

    con = duckdb.connect(str(warehouse / "working.duckdb"), read_only=True)
    failed = con.execute("select check_name, asset, severity from ops.check_results "
                         "where run_id = ? and not passed", [run.result.run_id]).fetchall()
    con.close()
    assert ("accepted_range_fct_center_month_pue__3__1", "marts/fct_center_month", "ERROR") in failed
    published_steps = [e for e in run.result.all_events
                       if e.step_key == "published__warehouse" and e.event_type_value == "STEP_SUCCESS"]
    assert not published_steps


def test_warning_checks_are_recorded_and_do_not_block(pipeline):
    run_id = pipeline.query("select run_id from audit.publication")[0][0]
    warned = pipeline.query("select check_name from audit.check_results where run_id = ? and not passed "
                            "and severity = 'WARN'", [run_id])
    assert {"racks_in_order", "accepted_values_fct_power_bill_arithmetic_ok__True"} <= {name for (name,) in warned}
    assert not pipeline.query("select * from audit.check_results where run_id = ? and not passed "
                              "and severity = 'ERROR'", [run_id])
