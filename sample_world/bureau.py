"""The bureau spreadsheets: dc_ledger (monthly), projects (monthly), economics (quarterly), plans
(yearly).

What belongs here: the column definitions of each bureau source (aliases and units, as data),
``Renderer`` (per file: which alias, which unit, which date style; canonical value -> cell, and the
value the reader must recover), and one writer function per source that lays a file out, places
the traps the generator asks for, and reports every row to the ``Collector``.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from . import names
from .codes import corrupt_check_char
from .layout import Col, Row, Sheet, XlsxBook, write_csv
from .textforms import (
    CellStyle,
    Percent,
    in_unit,
    norm_text,
    render_date,
    render_month,
    render_quarter,
)
from .truth import Collector
from .variations import VARIATIONS  # noqa: F401  (documentation cross-reference)
from .world import ARCH, RENAMED_HEADER, UNREGISTERED_ECON_FIRM, UNREGISTERED_INVESTOR, World, econ_values, plan_targets

BUREAU_AUTHOR = "贵安新区大数据发展管理局"


@dataclass(frozen=True)
class Field:
    key: str
    aliases: tuple[str, ...]
    kind: str  # code text firm uscc int qty num date enum list ratio year month period
    units: tuple = ()  # ((label or None for a bare header, factor, decimals), ...)
    alt_units: tuple = ()
    group: tuple[str, str] | None = None
    total: bool = False
    synonyms: dict | None = None


_WAN = (("万元", 10000, 2), (None, 10000, 2))
_YI = (("亿元", 100_000_000, 4),)
_PF = (("PFlops", 1, 2), (None, 1, 2))
LEDGER_FIELDS = [
    Field("center_code", ("数据中心编码", "编码", "中心编号"), "code"),
    Field("center_name", ("数据中心名称", "名称", "数据中心"), "text"),
    Field("operator_name", ("运营主体", "运营单位", "建设运营主体"), "firm"),
    Field("operator_uscc", ("统一社会信用代码", "运营主体统一社会信用代码", "信用代码"), "uscc"),
    Field("park", ("所属园区", "园区"), "text"),
    Field("status", ("建设状态", "状态", "项目状态"), "enum", synonyms=names.STATUS_SYNONYMS),
    Field("operating_model", ("运营模式", "运营方式"), "text"),
    Field("racks_designed", ("设计机架数", "规划机架"), "int", group=("机架情况", "设计"), total=True),
    Field("racks_built", ("已建机架数",), "int", group=("机架情况", "已建"), total=True),
    Field("racks_in_use", ("已上架机架数", "上架机架"), "int", group=("机架情况", "已上架"), total=True),
    Field("it_load_design_kw", ("设计IT负荷",), "qty", units=(("kW", 1, 0), (None, 1, 0)),
          alt_units=(("MW", 1000, 3),), total=True),
    Field("servers", ("服务器数量（台）", "服务器台数"), "int", total=True),
    Field("compute_general_pflops", ("通用算力",), "qty", units=_PF, group=("算力规模", "通用算力（PFlops）"),
          total=True),
    Field("compute_ai_pflops", ("智能算力",), "qty", units=_PF, group=("算力规模", "智能算力（PFlops）"),
          total=True),
    Field("compute_hpc_pflops", ("超算算力",), "qty", units=_PF, group=("算力规模", "超算算力（PFlops）"),
          total=True),
    Field("it_energy_kwh", ("本月IT设备用电量",), "qty", units=(("千瓦时", 1, 0), ("kWh", 1, 0)),
          alt_units=(("万千瓦时", 10000, 4),), total=True),
    Field("investment_planned_cny", ("计划总投资",), "qty", units=_WAN, alt_units=_YI, total=True),
    Field("investment_completed_cny", ("累计完成投资",), "qty", units=_WAN, alt_units=_YI, total=True),
    Field("construction_start", ("开工时间",), "date"),
    Field("operation_start", ("投运时间", "投产时间"), "date"),
    Field("power_accounts", ("电力户号", "用电户号"), "list"),
]
PROJECT_FIELDS = [
    Field("project_code", ("项目编号", "编号"), "code"),
    Field("project_name", ("项目名称",), "text"),
    Field("investor_name", ("投资主体", "投资方", "签约企业"), "firm"),
    Field("investor_uscc", ("统一社会信用代码", "信用代码"), "uscc"),
    Field("industry", ("产业类别", "所属产业"), "enum"),
    Field("promotion_subject", ("招商主体",), "enum", synonyms=names.SUBJECT_SYNONYMS),
    Field("promotion_method", ("招商方式",), "enum"),
    Field("stage", ("项目阶段", "进展阶段"), "enum", synonyms=names.STAGE_SYNONYMS),
    Field("signed_date", ("签约时间",), "date"),
    Field("start_date", ("开工时间",), "date"),
    Field("production_date", ("投产时间",), "date"),
    Field("investment_planned_cny", ("计划总投资",), "qty", units=_WAN, alt_units=_YI, total=True),
    Field("investment_completed_ytd_cny", ("本年完成投资", "年度完成投资"), "qty", units=_WAN, alt_units=_YI,
          total=True),
    Field("park", ("所属园区",), "text"),
    Field("responsible_unit", ("责任单位",), "text"),
    Field("center_code", ("关联数据中心", "数据中心编码"), "text"),
]
ECON_FIELDS = [
    Field("uscc", ("统一社会信用代码",), "uscc"),
    Field("firm_name", ("企业名称",), "firm"),
    Field("period", ("统计期", "报告期"), "period"),
    Field("revenue_cny", ("营业收入",), "qty", units=_WAN, alt_units=_YI, total=True),
    Field("tax_cny", ("纳税总额", "税收"), "qty", units=(("万元", 10000, 2),), alt_units=_YI, total=True),
    Field("employees", ("从业人员（人）", "从业人数"), "int", total=True),
]
PLAN_FIELDS = [
    Field("center_code", ("数据中心编码",), "code"),
    Field("year", ("年度", "方案年度"), "year"),
    Field("target_racks_in_use", ("目标上架机架数", "年末上架机架目标"), "int"),
    Field("target_rack_utilization", ("目标上架率",), "ratio"),
    Field("target_pue", ("目标PUE", "PUE目标"), "num"),
    Field("target_compute_pflops", ("目标算力规模", "算力目标"), "qty", units=(("PFlops", 1, 2),)),
    Field("target_investment_cny", ("年度计划投资",), "qty", units=_WAN, alt_units=_YI),
    Field("target_operation_date", ("计划投运时间",), "date"),
    Field("responsible_unit", ("责任单位",), "text"),
    Field("measures", ("主要措施", "工作措施"), "text"),
]
NOTES = {
    "dc_ledger": ["备注：1.机架数按标准机架折算；2.本表数据由各数据中心运营主体填报，园区审核。",
                  "填报单位：贵安新区大数据发展管理局", "填报人：王某　　审核人：李某"],
    "projects": ["备注：本年完成投资为年初至本月累计数。", "填报单位：贵安新区投资促进局"],
    "economics": ["备注：数据来源于企业季度报表。", "填报单位：贵安新区经济发展局", "填报人：张某"],
    "plans": ["备注：目标为年末数，PUE为年度平均值。", "填报单位：贵安新区大数据发展管理局"],
}
INSTRUCTIONS = ["填报说明", "1. 本表按月报送，请于次月10日前报送。", "2. 金额单位以表头为准。",
                "3. 电力户号如有多个请用顿号分隔。", "4. 无数据请填“无”或留空，不要填0。"]
EXTRA_VALUES = {
    "联系人": lambda r: r.choice(names.SURNAMES) + "工",
    "联系电话": lambda r: f"0851-8{r.randint(1000000, 9999999)}",
    "备注": lambda r: r.choice(["", "二期在建", "已完成验收", "客户扩容中", "", "—"]),
    "数据来源": lambda r: "企业填报",
    "更新日期说明": lambda r: "按月更新",
}


def _header_breaker(xlsx: bool, rng: random.Random):
    def brk(h: str) -> str:
        if "（" in h and rng.random() < 0.8:
            return h.replace("（", "\n（" if xlsx else " （", 1)
        if len(h) >= 5 and rng.random() < 0.4:
            mid = len(h) // 2
            return h[:mid] + ("\n" if xlsx else " ") + h[mid:]
        if rng.random() < 0.2:
            return " " + h + ("\u3000" if rng.random() < 0.5 else " ")
        return h
    return brk


class Renderer:
    """Per-file rendering choices of one bureau source, and canonical value -> (cell, recovered)."""

    def __init__(self, fields: list[Field], variations: frozenset[str], xlsx: bool, rng: random.Random,
                 group_mode: bool = False, extra_cols: int = 0, seq_col: bool = False):
        self.fields = fields
        self.v = variations
        self.xlsx = xlsx
        self.rng = rng
        self.style = CellStyle(xlsx=xlsx, thousands="thousands_separators" in variations,
                               fullwidth="fullwidth" in variations, missing_markers="missing_markers" in variations)
        self.group_mode = group_mode
        self.header: dict[str, str] = {}
        self.unit: dict[str, tuple] = {}
        alt = "alt_units" in variations
        for f in fields:
            alias = rng.choice(f.aliases)
            unit = None
            if f.units or f.alt_units:
                if alt and f.alt_units and rng.random() < 0.75:
                    unit = rng.choice(f.alt_units)
                else:
                    unit = rng.choice(f.units)
            self.unit[f.key] = unit
            self.header[f.key] = alias + (f"（{unit[0]}）" if unit and unit[0] else "")
        # plans: percent form of ratios
        self.pct_form = None
        if any(f.kind == "ratio" for f in fields):
            if "percent_forms" in variations:
                self.pct_form = rng.choice(["string", "header"] + (["excel"] if xlsx else []))
            else:
                self.pct_form = "fraction"
            if self.pct_form == "header":
                for f in fields:
                    if f.kind == "ratio":
                        self.header[f.key] += "（%）"
        styles = ["excel", "excel", "iso", "slash", "cn", "dot", "serial", "yyyymmdd", "cn_month"] if xlsx else \
            ["iso", "iso", "slash", "cn", "dot", "yyyymmdd", "cn_month", "dash_month"]
        self.date_style = rng.choice(styles)
        self.mixed_dates = "mixed_date_forms" in variations
        self.cols: list[Col] = []
        if seq_col:
            self.cols.append(Col("#seq", "序号"))
        order = list(fields)
        if "shuffled_columns" in variations:
            head, tail = order[:2], order[2:]
            units: list[list[Field]] = []
            for f in tail:
                if group_mode and f.group and units and units[-1][0].group and units[-1][0].group[0] == f.group[0]:
                    units[-1].append(f)
                else:
                    units.append([f])
            rng.shuffle(units)
            order = head + [f for u in units for f in u]
        for f in order:
            total = None
            if f.total:
                u = self.unit.get(f.key)
                total = u[2] if u else 0
            if group_mode and f.group:
                self.cols.append(Col(f.key, self.header[f.key], group=f.group[0], sub=f.group[1], total_decimals=total))
            else:
                self.cols.append(Col(f.key, self.header[f.key], total_decimals=total))
        self.extra_headers = []
        for _ in range(extra_cols):
            h = rng.choice([x for x in names.EXTRA_COLUMNS if x not in self.extra_headers])
            self.extra_headers.append(h)
            spots = [p for p in range(len(self.cols) // 2, len(self.cols) + 1)
                     if not (0 < p < len(self.cols) and self.cols[p - 1].group
                             and self.cols[p].group == self.cols[p - 1].group)]
            self.cols.insert(rng.choice(spots), Col("extra:" + h, h))
        self.by_key = {f.key: f for f in fields}

    def date_cell(self, d: date | None):
        style = self.rng.choice(["iso", "slash", "dot", "cn", "cn_month", "dot_month", "dash_month", "yyyymm",
                                 "yyyymmdd", "serial"] + (["excel"] if self.xlsx else [])) \
            if self.mixed_dates else self.date_style
        return render_date(d, style, self.xlsx)

    def _handler(self, f: Field):
        """A function canonical value -> (cell, value for 合计 or None, value the reader recovers)."""
        rng, st, xlsx, v = self.rng, self.style, self.xlsx, self.v
        k = f.kind
        missing = st.missing
        if k == "code":
            return lambda val: (val, None, val)
        if k == "uscc":
            return lambda val: (val if val is not None else missing(rng), None, val)
        if k == "text":
            return lambda val: (st.text(val, rng), None, norm_text(val))
        if k == "firm":
            fw = st.fullwidth

            def firm(val):
                if val is None:
                    return missing(rng), None, None
                cell = val
                if fw and rng.random() < 0.3:
                    cell = val.replace("(", "（").replace(")", "）")
                if rng.random() < 0.1:
                    cell = " " + cell + "\u3000"
                return cell, None, norm_text(val)
            return firm
        if k == "int":
            def integer(val):
                if val is None:
                    return missing(rng), None, None
                d = Decimal(int(val))
                return st.number(d, rng), d, int(val)
            return integer
        if k in ("qty", "num"):
            _, factor, decimals = self.unit.get(f.key) or (None, 1, 2)
            dfactor = Decimal(factor)

            def quantity(val):
                d = in_unit(val, factor, decimals)
                if d is None:
                    return missing(rng), None, None
                return st.number(d, rng), d, float(d * dfactor)
            return quantity
        if k == "date":
            def a_date(val):
                cell, r = self.date_cell(val)
                return (cell if cell is not None else missing(rng)), None, r
            return a_date
        if k == "enum":
            syn = f.synonyms or {}
            use_syn = "value_synonyms" in v

            def enum(val):
                if use_syn and val in syn and rng.random() < 0.6:
                    return rng.choice(syn[val]), None, val
                return (val if val is not None else missing(rng)), None, val
            return enum
        if k == "list":
            seps = "list_separators" in v

            def a_list(val):
                if not val:
                    return missing(rng), None, []
                sep = rng.choice(["，", ",", ";", "；", " "]) if seps and rng.random() < 0.7 else "、"
                return sep.join(val), None, list(val)
            return a_list
        if k == "ratio":
            form = self.pct_form

            def ratio(val):
                if val is None:
                    return missing(rng), None, None
                if form == "string":
                    return f"{round(val * 100)}%", None, val
                if form == "header":
                    return (round(val * 100) if xlsx else str(round(val * 100))), None, val
                if form == "excel":
                    return Percent(val), None, val
                return (val if xlsx else str(val)), None, val
            return ratio
        if k == "year":
            return lambda val: ((val if xlsx else str(val)), None, val)
        if k in ("month", "period"):
            return lambda val: (val, None, None)
        raise ValueError(k)

    def render(self, values: dict, seq: int | None = None) -> tuple[dict, dict, dict]:
        """cells by column key, sums (file unit) for 合计, values the reader must recover."""
        handlers = self.__dict__.get("_handlers")
        if handlers is None:
            handlers = self._handlers = {f.key: self._handler(f) for f in self.fields}
        cells, sums, rec = {}, {}, {}
        for key, val in values.items():
            h = handlers.get(key)
            if h is None:
                continue
            cells[key], sm, rec[key] = h(val)
            if sm is not None:
                sums[key] = sm
        if seq is not None:
            cells["#seq"] = seq if self.xlsx else str(seq)
        for h in self.extra_headers:
            cells["extra:" + h] = EXTRA_VALUES[h](self.rng)
        return cells, sums, rec


# ----------------------------------------------------------------------------------------------
# common file assembly

@dataclass
class FileSpec:
    kind: str
    relpath: str
    fmt: str  # xlsx / csv
    encoding: str | None
    variations: frozenset[str]
    title: str
    sheet_name: str


def _assemble(spec: FileSpec, out_dir: str, renderer_factory, groups: list[tuple[str, list]], row_fn,
              col: Collector, rng: random.Random, constant_memory: bool = False,
              allow_totals: bool = True) -> list:
    """Write one bureau file: ``groups`` = [(sheet name, items)], ``row_fn(item, renderer, seq)`` ->
    list of (Row, on_written(row_number, sheet)) per item (usually one)."""
    v = spec.variations
    xlsx = spec.fmt == "xlsx"
    path = os.path.join(out_dir, spec.relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    results = []
    renderer = renderer_factory()
    brk = _header_breaker(xlsx, rng) if "header_line_breaks" in v else None
    titles = []
    if "title_rows" in v:
        titles = [spec.title] + (["（数据截至报送日，单位以表头为准）"] if rng.random() < 0.5 else [])

    def make_sheet(name: str, items: list) -> Sheet:
        def rows():
            seq = 0
            mid = len(items) // 2
            for n, it in enumerate(items):
                for row in row_fn(it, renderer, seq + 1):
                    seq += 1
                    if "blank_rows" in v and n == mid and n > 0:
                        row.blank_before = True
                    yield row

        def on_row(row: Row, rn: int) -> None:
            if row.tag is not None:
                row.tag(rn, name if xlsx else None)

        return Sheet(name=name, cols=renderer.cols, rows=rows(), titles=titles,
                     blank_after_titles=1 if ("blank_rows" in v and titles) else 0,
                     two_row_header=renderer.group_mode, header_text=brk,
                     totals_label="合计" if ("totals_row" in v and allow_totals) else None,
                     blank_before_footer="blank_rows" in v and ("totals_row" in v or "notes_rows" in v),
                     notes=NOTES[spec.kind] if "notes_rows" in v else [], on_row=on_row)

    if xlsx:
        book = XlsxBook(path, constant_memory=constant_memory, title=spec.title, author=BUREAU_AUTHOR)
        instr_first = rng.random() < 0.5
        if "instructions_sheet" in v and instr_first:
            book.add(Sheet(name="填报说明", cols=[], rows=[], instructions=INSTRUCTIONS))
        for name, items in groups:
            results.append(book.add(make_sheet(name, items)))
        if "instructions_sheet" in v and not instr_first:
            book.add(Sheet(name="填报说明", cols=[], rows=[], instructions=INSTRUCTIONS))
        all_results = book.close()
    else:
        name, items = groups[0]
        r = write_csv(path, make_sheet(name, items), encoding=spec.encoding or "utf-8")
        all_results = [r]
        results = [r]
    for r in all_results:
        sheet_name = r.name if xlsx else None
        if r.kind == "instructions":
            col.warn(spec.relpath, r.name, None, None, None, "skipped_sheet")
            continue
        for c in renderer.cols:
            if c.key.startswith("extra:"):
                col.warn(spec.relpath, sheet_name, None, c.header, None, "unknown_column")
        if r.kind == "data":
            r.units = {k: float(u[1]) for k, u in renderer.unit.items() if u}
            r.meta = {"date_style": "mixed" if renderer.mixed_dates else renderer.date_style,
                      "headers": dict(renderer.header)}
            if renderer.pct_form:
                r.meta["percent_form"] = renderer.pct_form
    for r in results:
        if r.totals:
            units = {c.key: renderer.unit.get(c.key) for c in renderer.cols if c.key in r.totals["values"]}
            col.totals.append({
                "path": spec.relpath, "sheet": r.name if xlsx else None, "row_number": r.totals["row_number"],
                "values_file_unit": {k: float(x) for k, x in r.totals["values"].items()},
                "values": {k: float(x * Decimal((units[k] or (None, 1))[1])) for k, x in r.totals["values"].items()},
                "headers": {k: renderer.header.get(k) for k in r.totals["values"]},
            })
    return all_results


def _month_sheet_name(m: date, rng: random.Random) -> str:
    return rng.choice([f"{m.year}年{m.month}月", "台账", "Sheet1", f"{m.year}.{m.month:02d}"])


# ----------------------------------------------------------------------------------------------
# dc_ledger

def center_values(w: World, c, t: int) -> dict:
    gen, ai, hpc = c.compute(t)
    status = c.status(t)
    return {
        "center_code": c.code, "center_name": c.name, "operator_name": w.firm_name(c.operator),
        "operator_uscc": w.uscc(c.operator), "park": c.park, "status": status, "operating_model": c.model,
        "racks_designed": c.racks_designed_at(t), "racks_built": c.racks_built(t), "racks_in_use": c.racks_in_use(t),
        "it_load_design_kw": None if status == "招引" else c.racks_designed * c.rack_kw,
        "servers": c.servers(t), "compute_general_pflops": gen, "compute_ai_pflops": ai, "compute_hpc_pflops": hpc,
        "it_energy_kwh": c.it_energy(t),
        "investment_planned_cny": None if c.invest_planned_wan(t) is None else c.invest_planned_wan(t) * 10000,
        "investment_completed_cny": None if c.invested_wan(t) is None else c.invested_wan(t) * 10000,
        "construction_start": c.construction_start if t >= c.t_build else None,
        "operation_start": c.operation_start if t >= c.t_op else None,
        "power_accounts": [a.number for a in c.active_accounts(t)],
    }


def write_ledger(w: World, col: Collector, out_dir: str, spec: FileSpec, t: int, rng: random.Random,
                 variant: str | None = None) -> list:
    month = w.cal.month(t)
    xlsx = spec.fmt == "xlsx"
    v = spec.variations
    centers = [c for c in w.centers if c.status(t) is not None]
    silent = w.centers[ARCH["silent"]]
    if t >= w.cfg.n_months - 4 and silent in centers:  # silent for the last four months (center_not_reporting)
        centers.remove(silent)
        col.trap("center_silent", center=silent.code, since=w.cal.month(w.cfg.n_months - 4))
    # the last ledger's servers header renamed: it matches no alias, the column loads empty (column_went_empty)
    renamed = t == w.cfg.n_months - 1
    if renamed:
        col.trap("renamed_header", path=spec.relpath, column=RENAMED_HEADER[0], header=RENAMED_HEADER[1])
    if variant == "revised":
        missing = w.centers[ARCH["redelivery_missing"]]
        centers = [c for c in centers if c is not missing]
        col.trap("ledger_month_redelivered", revised=spec.relpath, missing_center=missing.code,
                 month=month)
    if variant == "original":
        col.trap("ledger_month_redelivered", original=spec.relpath, month=month)
    with_period = "period_column" in v
    fields = LEDGER_FIELDS + ([Field("report_month", ("统计期", "报送月份"), "month")] if with_period else [])
    period_style = rng.choice(["cn_month", "dash_month", "yyyymm"])
    dup_t = t == w.t("duplicate_in_file")

    def factory():
        r = Renderer(fields, v, xlsx, rng, group_mode="two_row_header" in v,
                     extra_cols=1 if "extra_column" in v else 0, seq_col="row_number_column" in v)
        if renamed:
            key, header = RENAMED_HEADER
            r.cols = [Col("extra:" + header, header) if c.key == key else c for c in r.cols]
        return r

    def row_fn(c, r: Renderer, seq: int):
        vals = center_values(w, c, t)
        flags = []
        notes = {}
        if c.index == ARCH["operator_by_name"] and t % 3 == 0:
            vals["operator_uscc"] = None
            col.trap("operator_by_name", center=c.code)
        if c.index == ARCH["it_energy_missing"] and t == w.cfg.n_months - 1:
            vals["it_energy_kwh"] = None
            col.trap("it_energy_missing", center=c.code, month=month, path=spec.relpath)
        if c.index == ARCH["racks_gt_built"] and t == w.t("racks_gt_built"):
            vals["racks_in_use"] = vals["racks_built"] + 37
            flags.append("racks_in_use_gt_built")
        if variant == "original" and c.index == 0:
            vals["racks_in_use"] = vals["racks_in_use"] - 25  # corrected in the revised file
        if with_period:
            vals["report_month"] = render_month(month, period_style, xlsx)
        cells, sums, rec = r.render(vals, seq)
        if renamed:  # the values stay in the file under the renamed header; the warehouse cannot read them
            key, header = RENAMED_HEADER
            cells["extra:" + header] = cells.pop(key)
            sums.pop(key, None)
            rec[key] = None
        if c.index == ARCH["unparsed_date"] and t == w.t("unparsed_date") and rec.get("construction_start"):
            cells["construction_start"] = "2023年底"
            rec["construction_start"] = None
            notes["unparsed"] = True
        rec.pop("report_month", None)
        record = dict(rec, report_month=month, path=spec.relpath, flags=flags,
                      operator_uscc_resolved=w.uscc(c.operator), operator_resolution="uscc"
                      if rec.get("operator_uscc") else "name")

        def written(rn: int, sheet: str | None) -> None:
            record["row_number"], record["sheet"] = rn, sheet
            col.center_rows.append(record)
            if notes.get("unparsed"):
                col.warn(spec.relpath, sheet, rn, "construction_start", "2023年底", "unparsed_date")  # NULL
                col.trap("unparsed_date", path=spec.relpath, sheet=sheet, row_number=rn, center=c.code)
            if flags:
                col.trap("racks_in_use_gt_built", path=spec.relpath, sheet=sheet, row_number=rn, center=c.code)

        out = [Row(cells, sums, tag=written)]
        if dup_t and c.index == ARCH["duplicate_in_file"]:
            vals2 = dict(vals, racks_in_use=(vals["racks_in_use"] or 0) + 5)
            cells2, sums2, _ = r.render(vals2, seq + 1)

            def rej(rn, sheet, _c=c):
                col.reject(spec.relpath, sheet, rn, "duplicate_key_in_file", _c.code,
                           f"center_code {_c.code} appears twice in the file")
                col.trap("duplicate_center_in_file", path=spec.relpath, center=_c.code)

            def rej_first(rn, sheet, _c=c):
                rej(rn, sheet)

            out = [Row(cells, sums, tag=rej_first), Row(cells2, sums2, tag=rej)]
        return out

    if "sheet_per_park" in v and xlsx:
        parks = sorted({c.park for c in centers}, key=names.PARKS.index)
        groups = [(p, [c for c in centers if c.park == p]) for p in parks]
    else:
        groups = [(_month_sheet_name(month, rng), centers)]
    return _assemble(spec, out_dir, factory, groups, row_fn, col, rng, allow_totals=not dup_t)


# ----------------------------------------------------------------------------------------------
# projects

def write_projects(w: World, col: Collector, out_dir: str, spec: FileSpec, t: int, rng: random.Random,
                   constant_memory: bool = False) -> list:
    month = w.cal.month(t)
    xlsx = spec.fmt == "xlsx"
    v = spec.variations
    with_period = "period_column" in v
    fields = PROJECT_FIELDS + ([Field("report_month", ("统计期", "报送月份"), "month")] if with_period else [])
    period_style = rng.choice(["cn_month", "dash_month", "yyyymm"])
    items = [p for p in w.projects if p.listed(t)]
    missing_key_t = t == w.t("missing_project_code")
    if missing_key_t:
        items = items[: len(items) // 2] + ["__missing_key__"] + items[len(items) // 2:]

    def factory():
        return Renderer(fields, v, xlsx, rng, extra_cols=1 if "extra_column" in v else 0,
                        seq_col="row_number_column" in v)

    def row_fn(p, r: Renderer, seq: int):
        if p == "__missing_key__":
            vals = {"project_code": None, "project_name": "贵安新区数字经济产业园配套项目（待编号）",
                    "investor_name": None, "investor_uscc": None, "industry": "其他", "promotion_subject": "园区",
                    "promotion_method": "其他", "stage": "在谈", "signed_date": None, "start_date": None,
                    "production_date": None, "investment_planned_cny": 300_000_000,
                    "investment_completed_ytd_cny": None, "park": names.PARKS[1], "responsible_unit":
                        names.RESPONSIBLE_UNITS[0], "center_code": None}
            if with_period:
                vals["report_month"] = render_month(month, period_style, xlsx)
            cells, sums, _ = r.render(vals, seq)
            cells["project_code"] = None

            def rej(rn, sheet):
                col.reject(spec.relpath, sheet, rn, "missing_key", None, "project_code (项目编号) is empty")
                col.trap("missing_project_code", path=spec.relpath, sheet=sheet, row_number=rn)
            return [Row(cells, sums, tag=rej)]
        stage = p.stage(t)
        mode = p.investor_mode
        inv_name = UNREGISTERED_INVESTOR if p.investor is None else w.firm_name(p.investor)
        inv_uscc = w.uscc(p.investor) if (p.investor is not None and mode == "uscc") else None
        vals = {
            "project_code": p.code, "project_name": p.name, "investor_name": inv_name, "investor_uscc": inv_uscc,
            "industry": p.industry, "promotion_subject": p.subject, "promotion_method": p.method, "stage": stage,
            "signed_date": p.date_of(p.t_sign, "sign") if t >= p.t_sign else None,
            "start_date": p.date_of(p.t_start, "start") if t >= p.t_start else None,
            "production_date": p.date_of(p.t_prod, "prod") if t >= p.t_prod else None,
            "investment_planned_cny": p.invest_wan * 10000,
            "investment_completed_ytd_cny": p.ytd_wan(t) * 10000 if t >= p.t_start else None,
            "park": p.park, "responsible_unit": p.unit, "center_code": p.center_code,
        }
        if with_period:
            vals["report_month"] = render_month(month, period_style, xlsx)
        cells, sums, rec = r.render(vals, seq)
        rec.pop("report_month", None)
        resolved = None if p.investor is None else w.uscc(p.investor)
        resolution = {"uscc": "uscc", "name": "name", "name_only_ok": "name", "former_name": "former_name",
                      "unresolved": "unresolved"}[mode]
        record = dict(rec, report_month=month, path=spec.relpath, investor_uscc_resolved=resolved,
                      investor_resolution=resolution)

        def written(rn: int, sheet: str | None) -> None:
            record["row_number"], record["sheet"] = rn, sheet
            col.project_rows.append(record)
            if mode == "name":
                col.trap("investor_by_name", project=p.code, name=norm_text(inv_name), uscc=resolved)
            elif mode == "former_name":
                col.trap("investor_by_former_name", project=p.code, name=norm_text(inv_name), uscc=resolved)
            elif mode == "unresolved":
                col.trap("investor_unresolvable", project=p.code, name=norm_text(inv_name))
        return [Row(cells, sums, tag=written)]

    if "sheet_per_park" in v and xlsx:
        parks = sorted({p.park for p in items if p != "__missing_key__"}, key=names.PARKS.index)
        groups = [(pk, [p for p in items if p != "__missing_key__" and p.park == pk]) for pk in parks]
        if missing_key_t:
            groups[0][1].append("__missing_key__")
    else:
        groups = [(_month_sheet_name(month, rng), items)]
    return _assemble(spec, out_dir, factory, groups, row_fn, col, rng, constant_memory=constant_memory,
                     allow_totals=not missing_key_t)


# ----------------------------------------------------------------------------------------------
# economics

def econ_trap_quarters(w: World) -> dict[str, int]:
    """Quarter indices of the economics traps (the half-year row sits in a second-quarter file)."""
    nq = len(w.cal.quarters)
    h1 = next(i for i, q in enumerate(w.cal.quarters) if q.month == 4 and i >= 1)
    others = [i for i in range(nq) if i != h1]
    return {"unsupported_period": h1, "unresolved_firm": others[1], "invalid_uscc": others[2],
            "missing_uscc": others[3]}


def write_economics(w: World, col: Collector, out_dir: str, spec: FileSpec, qi: int, rng: random.Random,
                    constant_memory: bool = False) -> list:
    q = w.cal.quarters[qi]
    xlsx = spec.fmt == "xlsx"
    v = spec.variations
    forms = ["q", "cn", "range", "end_month"]
    file_form = rng.choice(forms)
    items: list = list(w.econ_firms)
    special: dict = {}
    tq = econ_trap_quarters(w)
    if qi == tq["unsupported_period"]:
        special[items[0]] = "unsupported_period"
    if qi == tq["unresolved_firm"]:
        items.insert(len(items) // 2, "__unresolved__")
    if qi == tq["invalid_uscc"]:
        special[items[1]] = "invalid_uscc"
    if qi == tq["missing_uscc"]:
        special[items[2]] = "missing_uscc"

    def factory():
        return Renderer(ECON_FIELDS, v, xlsx, rng, extra_cols=1 if "extra_column" in v else 0,
                        seq_col="row_number_column" in v)

    def row_fn(f, r: Renderer, seq: int):
        period = render_quarter(q, rng.choice(forms) if "quarter_forms" in v else file_form)
        if f == "__unresolved__":
            vals = {"uscc": None, "firm_name": UNREGISTERED_ECON_FIRM, "period": period,
                    "revenue_cny": 1_234_500, "tax_cny": 45_600, "employees": 12}
            cells, sums, _ = r.render(vals, seq)

            def rej(rn, sheet):
                col.reject(spec.relpath, sheet, rn, "unresolved_firm", UNREGISTERED_ECON_FIRM,
                           "no USCC and the name matches no registered firm")
                col.trap("economics_unresolved_firm", path=spec.relpath, sheet=sheet, row_number=rn)
                col.unresolved.append({"source": "economics", "name": norm_text(UNREGISTERED_ECON_FIRM),
                                       "path": spec.relpath})
            return [Row(cells, sums, tag=rej)]
        rev, tax, emp = econ_values(w, f, qi)
        kind = special.get(f)
        uscc = w.uscc(f)
        written_uscc = uscc
        if kind == "invalid_uscc":
            written_uscc = corrupt_check_char(uscc)
        elif kind == "missing_uscc":
            written_uscc = None
        if kind == "unsupported_period":
            period = f"{q.year}年1-6月"
            rev2, tax2, _ = econ_values(w, f, qi - 1)
            rev, tax = rev + rev2, tax + tax2
        vals = {"uscc": written_uscc, "firm_name": w.firm_name(f), "period": period, "revenue_cny": rev,
                "tax_cny": tax, "employees": emp}
        cells, sums, rec = r.render(vals, seq)
        if kind == "unsupported_period":
            def rej(rn, sheet):
                col.reject(spec.relpath, sheet, rn, "unsupported_period", uscc, f"period {period} is not a quarter")
                col.trap("economics_unsupported_period", path=spec.relpath, sheet=sheet, row_number=rn, uscc=uscc)
            return [Row(cells, sums, tag=rej)]
        record = {"uscc": uscc, "uscc_written": written_uscc,
                  "resolution": "uscc" if kind is None else "name", "firm_name": rec["firm_name"],
                  "quarter_start": q, "period_raw": period, "revenue_cny": rec["revenue_cny"],
                  "tax_cny": rec["tax_cny"], "employees": rec["employees"], "path": spec.relpath}

        def written(rn, sheet):
            record["row_number"], record["sheet"] = rn, sheet
            col.econ_rows.append(record)
            if kind == "invalid_uscc":
                col.trap("economics_invalid_uscc_resolvable", path=spec.relpath, row_number=rn, uscc=uscc,
                         written=written_uscc)
        return [Row(cells, sums, tag=written)]

    groups = [(rng.choice(["经济指标", "Sheet1", f"{q.year}年{(q.month + 2) // 3}季度"]), items)]
    return _assemble(spec, out_dir, factory, groups, row_fn, col, rng, constant_memory=constant_memory,
                     allow_totals=qi not in (tq["unsupported_period"], tq["unresolved_firm"]))


# ----------------------------------------------------------------------------------------------
# plans

def plan_centers(w: World, year: int) -> list:
    t0 = max(0, w.cal.t_of(date(year, 1, 1)))
    return [c for c in w.centers if c.status(t0) not in (None, "招引")]


def write_plans(w: World, col: Collector, out_dir: str, spec: FileSpec, year: int, rng: random.Random) -> list:
    xlsx = spec.fmt == "xlsx"
    v = spec.variations
    with_year = "period_column" in v
    fields = [f for f in PLAN_FIELDS if with_year or f.key != "year"]
    centers = plan_centers(w, year)

    def factory():
        r = Renderer(fields, v, xlsx, rng, extra_cols=1 if "extra_column" in v else 0,
                     seq_col="row_number_column" in v)
        r.cols.insert(2 if r.cols[0].key == "#seq" else 1, Col("extra:数据中心名称", "数据中心名称"))
        return r

    def row_fn(c, r: Renderer, seq: int):
        tg = plan_targets(w, c, year)
        vals = dict(center_code=c.code, **tg)
        if with_year:
            vals["year"] = year
        cells, sums, rec = r.render(vals, seq)
        cells["extra:数据中心名称"] = c.name
        record = dict(rec, center_code=c.code, year=year, path=spec.relpath)
        if c.index == ARCH["overdue"]:
            col.trap("plan_operation_overdue", center=c.code, target_operation_date=tg["target_operation_date"])

        def written(rn, sheet):
            record["row_number"], record["sheet"] = rn, sheet
            col.plan_rows.append(record)
        return [Row(cells, sums, tag=written)]

    groups = [(rng.choice([f"{year}年目标", "方案", "Sheet1"]), centers)]
    return _assemble(spec, out_dir, factory, groups, row_fn, col, rng, allow_totals=False)
