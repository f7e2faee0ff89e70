"""The dashboard's charts: for each, the SQL that reads its figures from the published marts and the
ECharts option that shows them.

Each chart function takes a read-only connection to the published file and returns an ECharts
option (plain JSON data: no JavaScript), or raises ``MissingTable`` when the publication lacks a
mart it reads. Figures are shown as the marts hold them, rounded for display only: PFLOPS to 0.01,
ratios as percentages to 0.1, money in 亿元 (10^8 CNY) to 0.01. Series carry an ``id`` so that a
reader of the rendered chart (the tests) can find them. Titles are Chinese, subtitles English.
What belongs here: chart definitions. Not here: the page around them (``page.py``), the browser
(``browser.py``).
"""
from __future__ import annotations

import duckdb

STAGES = [("in_talks", "在谈 In talks"), ("signed", "签约 Signed"), ("started", "开工 Started"),
          ("in_production", "投产 In production")]
SEVERITIES = [("high", "高 High"), ("medium", "中 Medium"), ("low", "低 Low")]
ALERT_KINDS = {
    "operation_overdue": "逾期未投运", "center_not_reporting": "中心未报送", "column_went_empty": "数据列变空",
    "project_stalled": "项目停滞", "center_idle": "中心闲置", "project_center_conflict": "项目与中心状态矛盾",
    "over_capacity": "在用超过已建", "unclaimed_account": "无主电费户号", "pue_above_target": "PUE高于目标",
}
ON_TRACK = {True: "正常 on track", False: "滞后 behind", None: "无法判断 n/a"}
SEVERITY_COLOURS = {"high": "#c23531", "medium": "#e98f36", "low": "#8aa1b1"}


class MissingTable(Exception):
    """The publication has no table the chart reads (an older layout)."""


def _require(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    present = {name for (name,) in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'marts'").fetchall()}
    missing = [t for t in tables if t not in present]
    if missing:
        raise MissingTable(", ".join(f"marts.{t}" for t in missing))


def _title(text: str, subtext: str) -> dict:
    return {"text": text, "subtext": subtext, "left": 10, "top": 4}


def _base(title: dict, **option) -> dict:
    return {"animation": False, "title": title, "tooltip": {"trigger": "axis"}, **option}


SHOWN = 20   # categories shown at once; more (a province's hundreds of centers) scroll with a slider


def _zoom(categories: int, placement: dict) -> list[dict]:
    """A slider over a category axis that holds more than ``SHOWN`` categories (none otherwise)."""
    if categories <= SHOWN:
        return []
    return [{"type": "slider", "startValue": 0, "endValue": SHOWN - 1, "filterMode": "none", **placement}]


def compute_scale(con: duckdb.DuckDBPyConnection) -> dict:
    """Cluster compute by month, stacked by kind, with the AI share (mart_cluster_month)."""
    _require(con, "mart_cluster_month")
    rows = con.execute("""
        select strftime(month, '%Y-%m'), round(compute_general_pflops, 2), round(compute_ai_pflops, 2),
               round(compute_hpc_pflops, 2), round(ai_share * 100, 1)
        from marts.mart_cluster_month order by month""").fetchall()
    months = [r[0] for r in rows]
    stacked = [("general", "通用算力 General", 1), ("ai", "智能算力 AI", 2), ("hpc", "超算算力 HPC", 3)]
    series = [{"id": sid, "name": name, "type": "bar", "stack": "compute", "data": [r[i] for r in rows]}
              for sid, name, i in stacked]
    series.append({"id": "ai_share", "name": "智能算力占比 AI share (%)", "type": "line", "yAxisIndex": 1,
                   "data": [r[4] for r in rows], "symbolSize": 6})
    return _base(_title("集群算力规模与结构",
                        "Cluster compute scale and structure, PFLOPS by month (incl. carried-forward centers)"),
                 legend={"top": 52}, grid={"top": 100, "left": 60, "right": 60, "bottom": 40},
                 xAxis={"type": "category", "data": months},
                 yAxis=[{"type": "value", "name": "PFLOPS"},
                        {"type": "value", "name": "%", "min": 0, "max": 100, "splitLine": {"show": False}}],
                 series=series)


def racks(con: duckdb.DuckDBPyConnection) -> dict:
    """Racks built and in use by month; months with carried-forward centers shaded and counted."""
    _require(con, "mart_cluster_month")
    rows = con.execute("""
        select strftime(month, '%Y-%m'), racks_built, racks_in_use, centers_carried_forward, carried_forward_centers,
               centers_expected
        from marts.mart_cluster_month order by month""").fetchall()
    months = [r[0] for r in rows]
    def marked(value, carried_forward: int):
        """A month with centers carried forward: its point drawn as an orange diamond."""
        return {"value": value, "symbol": "diamond", "symbolSize": 11, "itemStyle": {"color": "#e98f36"}} \
            if carried_forward else value

    carried = [{"value": r[3], "label": {"show": True, "formatter": r[4], "position": "top", "rotate": 90,
                                         "align": "left", "verticalAlign": "middle", "fontSize": 10}}
               if r[3] else r[3] for r in rows]
    series = [
        {"id": "racks_built", "name": "已建机架 Racks built", "type": "line",
         "data": [marked(r[1], r[3]) for r in rows]},
        {"id": "racks_in_use", "name": "在用机架 Racks in use", "type": "line",
         "data": [marked(r[2], r[3]) for r in rows]},
        {"id": "centers_carried_forward", "name": "结转中心数 Centers carried forward", "type": "bar",
         "yAxisIndex": 1, "barWidth": 10, "itemStyle": {"color": "#e98f36"}, "data": carried},
    ]
    return _base(_title("机架建设与使用", "Racks built and in use; ◆ months with centers carried forward from "
                                          "their last report (bars: how many, and which)"),
                 legend={"top": 52}, grid={"top": 100, "left": 60, "right": 60, "bottom": 40},
                 xAxis={"type": "category", "data": months},
                 yAxis=[{"type": "value", "name": "机架 racks", "scale": True},
                        {"type": "value", "name": "中心 centers", "minInterval": 1, "splitLine": {"show": False},
                         "max": max([r[5] or 0 for r in rows], default=0) or None}],
                 series=series)


def scorecard(con: duckdb.DuckDBPyConnection) -> dict:
    """The operating centers of the latest scorecard month, four measures side by side; tax intensity
    is the center's operator's (mart_operator_year, the year of that month)."""
    _require(con, "mart_center_scorecard", "fct_center_month", "mart_operator_year")
    rows = con.execute("""
        select s.center_code, round(s.rack_utilization * 100, 1), round(s.pue_12m, 3), s.racks_in_use_growth,
               round(o.tax_per_10k_kwh, 1), strftime(s.month, '%Y-%m'), year(s.month)
        from marts.mart_center_scorecard s
        left join marts.fct_center_month f on f.center_code = s.center_code and f.month = s.month
        left join marts.mart_operator_year o on o.operator_uscc = f.operator_uscc and o.year = year(s.month)
        where s.month = (select max(month) from marts.mart_center_scorecard)
        order by s.utilization_rank desc nulls first, s.center_code desc""").fetchall()
    month, year = (rows[0][5], rows[0][6]) if rows else ("—", "—")
    centers = [r[0] for r in rows]
    panels = [("utilization", "机架利用率 %", "Rack utilization", 1),
              ("pue_12m", "近12个月PUE", "PUE, 12 months", 2),
              ("growth", "在用机架同比增长", "Racks in use vs 12 months ago", 3),
              ("tax_intensity", f"税收强度 元/万千瓦时（{year}年）", "Operator's tax per 10,000 kWh", 4)]
    width = 21.5
    grids, x_axes, y_axes, series, titles = [], [], [], [], [_title(
        f"运营数据中心评分卡（{month}）", "Operating centers' scorecard, latest month; bars sorted by utilization")]
    for i, (sid, zh, en, col) in enumerate(panels):
        left = 9 + i * (width + 1.5)
        grids.append({"left": f"{left}%", "width": f"{width - 4}%", "top": 110, "bottom": 30})
        titles.append({"text": zh, "subtext": en, "left": f"{left}%", "top": 58,
                       "textStyle": {"fontSize": 12}, "subtextStyle": {"fontSize": 10}})
        x_axes.append({"type": "value", "gridIndex": i, "scale": sid == "pue_12m",
                       "axisLabel": {"fontSize": 9, "hideOverlap": True}})
        y_axes.append({"type": "category", "gridIndex": i, "data": centers, "axisLabel": {"show": i == 0}})
        series.append({"id": sid, "name": f"{zh} {en}", "type": "bar", "xAxisIndex": i, "yAxisIndex": i,
                       "data": [r[col] for r in rows], "label": {"show": True, "position": "right", "fontSize": 9}})
    return _base(titles, tooltip={"trigger": "item"}, grid=grids, xAxis=x_axes, yAxis=y_axes, series=series,
                 dataZoom=_zoom(len(centers), {"yAxisIndex": list(range(len(panels))), "right": 2, "width": 14,
                                               "orient": "vertical"}))


def plan_attainment(con: duckdb.DuckDBPyConnection) -> dict:
    """This plan year's attainment per center (mart_center_plan), its on-track status in the label."""
    _require(con, "mart_center_plan")
    rows = con.execute("""
        select center_code, on_track, round(attainment_racks * 100, 1), round(attainment_investment * 100, 1),
               round(attainment_pue * 100, 1), round(attainment_compute * 100, 1),
               round(attainment_utilization * 100, 1), round(expected_fraction * 100, 1), year
        from marts.mart_center_plan where year = (select max(year) from marts.mart_center_plan)
        order by center_code""").fetchall()
    year = rows[0][8] if rows else "—"
    labels = [f"{r[0]}\n{ON_TRACK[r[1]]}" for r in rows]
    measures = [("racks", "在用机架 Racks in use", 2), ("investment", "投资 Investment", 3),
                ("pue", "PUE（目标/实际 target/actual）", 4), ("compute", "算力 Compute", 5),
                ("utilization", "利用率 Utilization", 6)]
    series = [{"id": sid, "name": name, "type": "bar", "data": [r[i] for r in rows]} for sid, name, i in measures]
    series.append({"id": "expected", "name": "时间进度 Share of the year elapsed", "type": "scatter",
                   "symbol": "diamond", "symbolSize": 12, "itemStyle": {"color": "#333"},
                   "data": [r[7] for r in rows]})
    return _base(_title(f"{year}年度计划完成情况（%）",
                        "Plan attainment per center, % of target; on track (judged on racks in use, investment "
                        "and PUE) under each center"),
                 legend={"top": 52}, grid={"top": 100, "left": 50, "right": 20, "bottom": 60},
                 xAxis={"type": "category", "data": labels, "axisLabel": {"interval": 0, "fontSize": 10}},
                 yAxis={"type": "value", "name": "%"}, series=series,
                 dataZoom=_zoom(len(labels), {"xAxisIndex": 0, "bottom": 4, "height": 14}))


def investment_funnel(con: duckdb.DuckDBPyConnection) -> dict:
    """Projects by stage at the latest month, by promotion subject (left) and method (right)."""
    _require(con, "mart_investment_funnel")
    month = con.execute("select strftime(max(month), '%Y-%m') from marts.mart_investment_funnel").fetchone()[0]
    option_series, y_axes = [], []
    for i, column in enumerate(["promotion_subject", "promotion_method"]):
        rows = con.execute(f"""
            select coalesce({column}, '（未填 not given）'), sum(projects_in_talks), sum(projects_signed),
                   sum(projects_started), sum(projects_in_production)
            from marts.mart_investment_funnel where month = (select max(month) from marts.mart_investment_funnel)
            group by 1 order by 1""").fetchall()
        y_axes.append({"type": "category", "gridIndex": i, "data": [r[0] for r in rows]})
        for j, (sid, name) in enumerate(STAGES):
            option_series.append({"id": f"{column}.{sid}", "name": name, "type": "bar", "stack": column,
                                  "xAxisIndex": i, "yAxisIndex": i, "data": [int(r[j + 1]) for r in rows]})
    return _base([_title(f"招商项目漏斗（{month or '—'}）",
                          "Investment projects by stage, latest month (number of projects)"),
                  {"text": "按招商主体 by promotion subject", "left": "10%", "top": 58, "textStyle": {"fontSize": 12}},
                  {"text": "按招商方式 by promotion method", "left": "60%", "top": 58, "textStyle": {"fontSize": 12}}],
                 tooltip={"trigger": "axis", "axisPointer": {"type": "shadow"}}, legend={"top": 30, "right": 10},
                 grid=[{"left": "12%", "width": "34%", "top": 90, "bottom": 30},
                       {"left": "63%", "width": "34%", "top": 90, "bottom": 30}],
                 xAxis=[{"type": "value", "gridIndex": 0, "minInterval": 1},
                        {"type": "value", "gridIndex": 1, "minInterval": 1}],
                 yAxis=y_axes, series=option_series)


def open_alerts(con: duckdb.DuckDBPyConnection) -> tuple[dict, list[dict]]:
    """Open alerts counted by kind and severity, and the list of them for the table under the chart."""
    _require(con, "mart_alerts")
    counts = con.execute("""
        select alert_kind, severity, count(*) from marts.mart_alerts group by all""").fetchall()
    as_of = con.execute("select strftime(max(as_of_month), '%Y-%m') from marts.mart_alerts").fetchone()[0]
    order = {kind: i for i, kind in enumerate(ALERT_KINDS)}
    kinds = sorted({k for k, _, _ in counts}, key=lambda k: (-order.get(k, -1), k))
    by = {(k, s): n for k, s, n in counts}
    series = [{"id": sev, "name": name, "type": "bar", "stack": "alerts", "itemStyle": {"color": SEVERITY_COLOURS[sev]},
               "data": [by.get((k, sev), 0) for k in kinds], "label": {"show": True, "formatter": "{c}"}}
              for sev, name in SEVERITIES]
    for s in series:   # no "0" labels on empty segments
        s["data"] = [n or None for n in s["data"]]
    option = _base(_title(f"待处理预警（截至{as_of or '—'}）", "Open alerts by kind and severity (number of alerts)"),
                   tooltip={"trigger": "axis", "axisPointer": {"type": "shadow"}}, legend={"top": 52},
                   grid={"top": 90, "left": 10, "right": 30, "bottom": 30, "containLabel": True},
                   xAxis={"type": "value", "minInterval": 1},
                   yAxis={"type": "category", "data": [f"{ALERT_KINDS.get(k, k)} {k}" for k in kinds]},
                   series=series)
    rows = con.execute("""
        select severity, alert_kind, entity_kind, entity_code, entity_name, strftime(since_month, '%Y-%m'), detail
        from marts.mart_alerts
        order by case severity when 'high' then 0 when 'medium' then 1 else 2 end, since_month, alert_kind,
                 entity_code""").fetchall()
    names = ["severity", "alert_kind", "entity_kind", "entity_code", "entity_name", "since_month", "detail"]
    return option, [dict(zip(names, r, strict=True)) for r in rows]


CHARTS = {"compute": compute_scale, "racks": racks, "scorecard": scorecard, "plan": plan_attainment,
          "funnel": investment_funnel}
