"""The dashboard of the sample inbox's publication, in headless Chromium (Debian's ``chromium``, driven by Playwright).

The page the publication built is opened from disk with no network: it loads without a console
error or a request beyond the file; every chart draws on its canvas; and the figures each chart
shows, read from ECharts itself (``getOption()``) in the browser, equal the figures computed here
by SQL on the published file. Where Chromium is missing, every test here fails naming the package.
"""
from __future__ import annotations

import pytest

from orchestration.dashboard import dashboard_run_id

pytestmark = pytest.mark.integration

CHARTS = ["chart-compute", "chart-racks", "chart-scorecard", "chart-plan", "chart-funnel", "chart-alerts"]
STAGE_SERIES = {"在谈": "in_talks", "签约": "signed", "开工": "started", "投产": "in_production"}
STATUS_WORDS = {True: "正常", False: "滞后", None: "无法判断"}

# Pixels of a chart's canvas that are neither transparent nor the white background.
PAINTED = """id => {
    const canvas = document.querySelector('#' + id + ' canvas');
    if (!canvas) return -1;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 0; i < data.length; i += 4)
        if (data[i + 3] > 0 && !(data[i] > 245 && data[i + 1] > 245 && data[i + 2] > 245)) painted++;
    return painted / (canvas.width * canvas.height);
}"""


@pytest.fixture(scope="module")
def dashboard(pipeline):
    """(the page, console errors, requests) of the dashboard the sample's publication built."""
    from orchestration.dashboard.browser import browser

    page_path = pipeline.warehouse / "dashboard" / "index.html"
    try:
        context = browser()
        instance = context.__enter__()
    except RuntimeError as exc:   # Chromium (or Playwright) missing: a failure naming the package, never a skip
        pytest.fail(str(exc), pytrace=False)
    try:
        page = instance.new_page(viewport={"width": 1400, "height": 900})
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri())
        page.wait_for_function("window.dashboardReady === true", timeout=30_000)
        yield page, errors, requests
    finally:
        context.__exit__(None, None, None)


def option(page, chart_id: str) -> dict:
    return page.evaluate("id => echarts.getInstanceByDom(document.getElementById(id)).getOption()", chart_id)


def series(opt: dict, sid: str) -> list:
    """The values of a series, plain (items with styles give their value)."""
    found = [s for s in opt["series"] if s.get("id") == sid]
    assert len(found) == 1, (sid, [s.get("id") for s in opt["series"]])
    return [v["value"] if isinstance(v, dict) else v for v in found[0]["data"]]


def close(actual: list, expected: list) -> bool:
    return len(actual) == len(expected) and all(
        a == e if a is None or e is None else a == pytest.approx(float(e), abs=1e-9)
        for a, e in zip(actual, expected, strict=True))


def test_the_page_shows_this_publication_offline_without_errors(pipeline, dashboard):
    page, errors, requests = dashboard
    run_id = pipeline.query("select run_id from audit.publication")[0][0]
    assert dashboard_run_id(pipeline.warehouse / "dashboard") == run_id
    assert errors == []
    assert requests and all(url.startswith("file://") for url in requests), requests  # one file, nothing fetched
    assert run_id[:8] in page.inner_text("header")


def test_every_chart_draws_on_its_canvas(dashboard):
    page, _, _ = dashboard
    for chart_id in CHARTS:
        assert page.evaluate(PAINTED, chart_id) > 0.01, chart_id


def test_the_compute_chart_shows_the_cluster_month_by_month(pipeline, dashboard):
    opt = option(dashboard[0], "chart-compute")
    rows = pipeline.query("""select strftime(month, '%Y-%m') as m, round(compute_general_pflops, 2),
                                    round(compute_ai_pflops, 2), round(compute_hpc_pflops, 2),
                                    round(100 * compute_ai_pflops / nullif(compute_total_pflops, 0), 1)
                             from marts.mart_cluster_month order by m""")
    assert len(rows) > 12
    assert opt["xAxis"][0]["data"] == [r[0] for r in rows]
    for i, sid in enumerate(["general", "ai", "hpc", "ai_share"], start=1):
        assert close(series(opt, sid), [r[i] for r in rows]), sid
    assert {s["stack"] for s in opt["series"] if s["id"] in ("general", "ai", "hpc")} == {"compute"}


def test_the_racks_chart_marks_the_carried_forward_months(pipeline, dashboard):
    opt = option(dashboard[0], "chart-racks")
    rows = pipeline.query("""select strftime(month, '%Y-%m'), racks_built, racks_in_use, centers_expected - centers_reporting,
                                    carried_forward_centers
                             from marts.mart_cluster_month order by month""")
    assert opt["xAxis"][0]["data"] == [r[0] for r in rows]
    assert close(series(opt, "racks_built"), [r[1] for r in rows])
    assert close(series(opt, "racks_in_use"), [r[2] for r in rows])
    assert close(series(opt, "centers_carried_forward"), [r[3] for r in rows])
    carried = {r[0]: r[4] for r in rows if r[3]}
    assert carried, "the sample has months with centers carried forward"
    for sid in ("racks_built", "racks_in_use"):
        data = next(s for s in opt["series"] if s["id"] == sid)["data"]
        marked = [m for m, v in zip(opt["xAxis"][0]["data"], data, strict=True)
                  if isinstance(v, dict) and v.get("symbol") == "diamond"]
        assert marked == sorted(carried), sid
    bars = next(s for s in opt["series"] if s["id"] == "centers_carried_forward")["data"]
    labels = {m: v["label"]["formatter"] for m, v in zip(opt["xAxis"][0]["data"], bars, strict=True)
              if isinstance(v, dict)}
    assert labels == carried


def test_the_scorecard_shows_the_operating_centers_of_the_latest_month(pipeline, dashboard):
    opt = option(dashboard[0], "chart-scorecard")
    rows = pipeline.query("""
        with latest as (select max(month) as month from marts.mart_center_scorecard)
        select s.center_code, round(100 * s.rack_utilization, 1), round(s.pue_12m, 3),
               s.racks_in_use_growth,
               (select round(o.tax_per_10k_kwh, 1) from marts.mart_operator_year o, marts.fct_center_month f
                where f.center_code = s.center_code and f.month = s.month
                  and o.operator_uscc = f.operator_uscc and o.year = extract(year from s.month))
        from marts.mart_center_scorecard s join latest using (month)""")
    assert len(rows) >= 5
    centers = opt["yAxis"][0]["data"]
    assert all(axis["data"] == centers for axis in opt["yAxis"])
    assert sorted(centers) == sorted(r[0] for r in rows)
    shown = {sid: dict(zip(centers, series(opt, sid), strict=True))
             for sid in ("utilization", "pue_12m", "growth", "tax_intensity")}
    for code, *values in rows:
        assert close([shown[sid][code] for sid in shown], values), code
    assert any(v is not None for v in shown["tax_intensity"].values())
    utilization = [shown["utilization"][c] for c in centers]   # bottom to top: lowest utilization first
    assert [u for u in utilization if u is not None] == sorted(u for u in utilization if u is not None)


def test_the_plan_chart_shows_attainment_and_on_track_per_center(pipeline, dashboard):
    opt = option(dashboard[0], "chart-plan")
    rows = pipeline.query("""
        select center_code, on_track, round(100 * actual_racks_in_use / nullif(target_racks_in_use, 0), 1),
               round(100 * attainment_investment, 1), round(100 * target_pue / actual_pue, 1),
               round(100 * attainment_compute, 1), round(100 * attainment_utilization, 1),
               round(100 * month(as_of_month) / 12, 1)
        from marts.mart_center_plan where year = (select max(year) from marts.mart_center_plan)
        order by center_code""")
    labels = opt["xAxis"][0]["data"]
    assert [label.split("\n")[0] for label in labels] == [r[0] for r in rows]
    assert [label.split("\n")[1].split(" ")[0] for label in labels] == [STATUS_WORDS[r[1]] for r in rows]
    assert {r[1] for r in rows} >= {True, False}
    for i, sid in enumerate(["racks", "investment", "pue", "compute", "utilization", "expected"], start=2):
        assert close(series(opt, sid), [r[i] for r in rows]), sid


def test_the_funnel_counts_the_projects_at_each_stage_by_subject_and_method(pipeline, dashboard):
    opt = option(dashboard[0], "chart-funnel")
    for axis, column in enumerate(["promotion_subject", "promotion_method"]):
        rows = pipeline.query(f"""
            select p.{column}, f.stage, count(distinct f.project_key)
            from marts.fct_project_month f join marts.dim_project p on p.project_key = f.project_key
            where f.month = (select max(month) from marts.fct_project_month) group by all""")
        expected = {(group, STAGE_SERIES[stage]): n for group, stage, n in rows}
        groups = opt["yAxis"][axis]["data"]
        assert sorted(groups) == sorted({g for g, _ in expected})
        shown = {(g, stage): v for stage in STAGE_SERIES.values()
                 for g, v in zip(groups, series(opt, f"{column}.{stage}"), strict=True)}
        assert {k: v for k, v in shown.items() if v} == expected, column


def test_the_alerts_chart_and_table_show_every_open_alert(pipeline, dashboard):
    page = dashboard[0]
    opt = option(page, "chart-alerts")
    rows = pipeline.query("select alert_kind, severity, count(*) from marts.mart_alerts group by all")
    assert rows
    kinds = [label.split(" ")[-1] for label in opt["yAxis"][0]["data"]]
    shown = {(kind, sev): v for sev in ("high", "medium", "low")
             for kind, v in zip(kinds, series(opt, sev), strict=True) if v}
    assert shown == {(kind, sev): n for kind, sev, n in rows}
    table = page.evaluate("""() => [...document.querySelectorAll('#alerts tbody tr')]
                                   .map(tr => [tr.className, ...[...tr.cells].map(td => td.textContent)])""")
    expected = pipeline.query("select severity, alert_kind, entity_code, detail from marts.mart_alerts")
    # a row's class is its severity; the kind cell shows the Chinese name, then the code
    assert sorted((r[0], r[2].split()[-1], r[4], r[7]) for r in table) == sorted(expected)
    assert {r[1] for r in table} <= {"高 High", "中 Medium", "低 Low"}
