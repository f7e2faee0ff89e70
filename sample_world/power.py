"""Grid-company monthly bill exports (power/): one file per billing month, plus re-issues.

What belongs here: the tariff arithmetic of a bill (two-part tariff, time-of-use energy, power
factor adjustment, government surcharges; integer cents so totals add up exactly), the power
file's columns and units, and the writer of one billing month's file with its re-issues (更正),
the in-file correction pair, the broken-arithmetic bill and the file without a 账单类型 column.
"""
from __future__ import annotations

import math
import os
import random
from datetime import date
from decimal import Decimal

from .config import add_months
from .layout import Col, Row, Sheet, XlsxBook, write_csv
from .textforms import CellStyle, in_unit, norm_text, render_date, render_month
from .truth import Collector
from .world import Account, World, hours_in_month, hrand, hrands

PRICE_1E4 = {"sharp": 9882, "peak": 8235, "flat": 5490, "valley": 2745}  # CNY/kWh x 10^4
SURCHARGE_1E4 = 296
DEMAND_CNY_PER_KW = 35
GRID_AUTHOR = "国网贵州省电力有限公司贵安供电局"

ENERGY_KEYS = ["kwh_peak", "kwh_flat", "kwh_valley", "kwh_sharp", "kwh_total"]
MONEY_KEYS = ["demand_charge_cny", "energy_charge_cny", "pf_adjustment_cny", "surcharges_cny", "total_cny"]
ALIASES = {
    "account_no": ["户号", "用电户号"], "account_name": ["户名"], "billing_month": ["电费年月", "账期"],
    "period_start": ["抄表起始日期"], "period_end": ["抄表截止日期"],
    "kwh_peak": ["峰电量"], "kwh_flat": ["平电量"], "kwh_valley": ["谷电量"], "kwh_sharp": ["尖峰电量"],
    "kwh_total": ["总有功电量", "有功电量合计"], "kvarh": ["无功电量"], "power_factor": ["功率因数"],
    "demand_charge_cny": ["基本电费（元）"], "energy_charge_cny": ["电度电费（元）"],
    "pf_adjustment_cny": ["力调电费（元）"], "surcharges_cny": ["政府性基金及附加（元）"],
    "total_cny": ["应收电费", "电费合计（元）"], "contract_kva": ["合同容量"], "max_demand_kw": ["最大需量"],
    "bill_type": ["账单类型"],
}


def _cents(x_1e4: int) -> int:
    """Round an amount in 10^-4 CNY to cents, half away from zero."""
    return (abs(x_1e4) + 50) // 100 * (1 if x_1e4 >= 0 else -1)


def compute_bill(w: World, acc: Account, t: int, kwh_total: int, variant: int = 0) -> dict:
    """Canonical bill (kWh, CNY with 2 decimals as Decimal) of one account for billing month t."""
    seed = w.seed
    month = w.cal.month(t)
    if variant:
        u_size, u_sign = hrands(2, seed, "corr", acc.number, t, variant)
        kwh_total = round(kwh_total * (1 + (0.02 + 0.06 * u_size) * (1 if u_sign < 0.6 else -1)))
    u_pf, u_pk, u_fl, u_md = hrands(4, seed, "bill", acc.number, t)
    pf = round(0.90 + 0.09 * u_pf, 2)
    sharp_share = 0.05 if month.month in (7, 8, 12, 1) else 0.0
    peak_share = 0.32 + 0.04 * u_pk
    flat_share = 0.31 + 0.04 * u_fl
    sharp = round(kwh_total * sharp_share)
    peak = round(kwh_total * peak_share)
    flat = round(kwh_total * flat_share)
    valley = kwh_total - sharp - peak - flat
    kvarh = round(kwh_total * math.tan(math.acos(pf)))
    hours = hours_in_month(month)
    md = round(kwh_total / hours * (1.1 + 0.15 * u_md))
    md = min(md, int(acc.contract_kva * 0.95))
    demand = md * DEMAND_CNY_PER_KW * 100
    energy = _cents(sharp * PRICE_1E4["sharp"] + peak * PRICE_1E4["peak"] + flat * PRICE_1E4["flat"]
                    + valley * PRICE_1E4["valley"])
    rate = -75 if pf >= 0.95 else -60 if pf >= 0.94 else -45 if pf >= 0.93 else -30 if pf >= 0.92 else \
        -15 if pf >= 0.91 else 0
    pf_adj = _cents((demand + energy) * rate // 100)  # cents x 10^-4 rate -> 10^-4 CNY
    sur = _cents(kwh_total * SURCHARGE_1E4)
    total = demand + energy + pf_adj + sur
    prev = add_months(month, -1)

    def d(c: int) -> Decimal:
        return Decimal(c).scaleb(-2)

    return {
        "account_no": acc.number, "account_name": acc.name, "billing_month": month,
        "period_start": date(prev.year, prev.month, 26), "period_end": date(month.year, month.month, 25),
        "kwh_peak": peak, "kwh_flat": flat, "kwh_valley": valley, "kwh_sharp": sharp, "kwh_total": kwh_total,
        "kvarh": kvarh, "power_factor": Decimal(str(pf)), "demand_charge_cny": d(demand),
        "energy_charge_cny": d(energy), "pf_adjustment_cny": d(pf_adj), "surcharges_cny": d(sur),
        "total_cny": d(total), "contract_kva": acc.contract_kva, "max_demand_kw": md,
    }


def unclaimed_kwh(w: World, acc: Account, t: int) -> int:
    base = 150_000 + 250_000 * hrand(w.seed, "ubase", acc.number)
    return round(base * (0.9 + 0.2 * hrand(w.seed, "uk", acc.number, t)))


def month_bills(w: World, t: int) -> list[tuple[Account, int]]:
    """(account, kWh) of every account billed in month t, ordered by account number."""
    out = []
    for c in w.centers:
        split = c.account_kwh(t)
        for a in c.accounts:
            if a.number in split:
                out.append((a, split[a.number]))
    for a in w.accounts:
        if a.center is None and a.t_from <= t:
            out.append((a, unclaimed_kwh(w, a, t)))
    out.sort(key=lambda x: x[0].number)
    return out


def bill_kwh(w: World, acc: Account, t: int) -> int | None:
    if acc.center is None:
        return unclaimed_kwh(w, acc, t)
    return w.centers[acc.center].account_kwh(t).get(acc.number)


def write_power_file(w: World, col: Collector, out_dir: str, relpath: str, fmt: str, encoding: str | None,
                     variations: frozenset[str], t: int, reissues: list[tuple[Account, int, int]],
                     rng: random.Random, same_file_pair: Account | None = None,
                     broken: Account | None = None, constant_memory: bool = False) -> list:
    """One billing month's export. ``reissues``: (account, month index, variant) re-issued (更正)."""
    xlsx = fmt == "xlsx"
    v = variations
    month = w.cal.month(t)
    style = CellStyle(xlsx=xlsx, thousands="thousands_separators" in v, missing_markers="missing_markers" in v)
    has_type = "no_bill_type_column" not in v
    has_sharp = "sharp_column" in v
    wan = "alt_units" in v
    e_unit = ("万千瓦时", 10000, 4) if wan else rng.choice([("千瓦时", 1, 0), ("kWh", 1, 0)])
    keys = ["account_no", "account_name", "billing_month", "period_start", "period_end", "kwh_peak", "kwh_flat",
            "kwh_valley"] + (["kwh_sharp"] if has_sharp else []) + \
        ["kwh_total", "kvarh", "power_factor", "demand_charge_cny", "energy_charge_cny", "pf_adjustment_cny",
         "surcharges_cny", "total_cny", "contract_kva", "max_demand_kw"] + (["bill_type"] if has_type else [])
    if "shuffled_columns" in v:
        head, tail = keys[:3], keys[3:]
        rng.shuffle(tail)
        keys = head + tail
    headers = {}
    for k in keys:
        h = rng.choice(ALIASES[k])
        if k in ENERGY_KEYS:
            h += f"（{e_unit[0]}）"
        elif k == "kvarh":
            h += rng.choice(["", "（kvarh）"])
        elif k == "contract_kva":
            h += "（kVA）"
        elif k == "max_demand_kw":
            h += "（kW）"
        headers[k] = h
    cols = [Col(k, headers[k], total_decimals=(e_unit[2] if k in ENERGY_KEYS else 2 if k in MONEY_KEYS else None))
            for k in keys]
    if "extra_column" in v:
        cols.insert(3, Col("extra:电压等级", "电压等级"))
    date_style = rng.choice(["iso", "yyyymmdd"])
    path = os.path.join(out_dir, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)

    def render(b: dict, bill_type: str | None):
        cells, sums = {}, {}
        for k in keys:
            val = b.get(k)
            if k in ("account_no", "account_name"):
                cells[k] = val
            elif k == "billing_month":
                cells[k] = render_month(val, "yyyymm", xlsx)
            elif k in ("period_start", "period_end"):
                cells[k] = render_date(val, date_style, xlsx)[0]
            elif k in ENERGY_KEYS:
                dv = in_unit(val, e_unit[1], e_unit[2])
                cells[k], sums[k] = style.number(dv, rng), dv
            elif k in MONEY_KEYS:
                dv = None if val is None else Decimal(val)
                cells[k], sums[k] = style.number(dv, rng), dv
            elif k in ("kvarh", "contract_kva", "max_demand_kw"):
                cells[k] = style.number(None if val is None else Decimal(val), rng, text_ok=False)
            elif k == "power_factor":
                cells[k] = style.number(val, rng, text_ok=False)
            elif k == "bill_type":
                cells[k] = bill_type
        cells["extra:电压等级"] = "10kV" if b["contract_kva"] < 8000 else "110kV"
        return cells, sums

    def record_for(b: dict, bill_type: str | None, written_type: str | None, reissue: bool, flags: dict) -> dict:
        rec = {k: b.get(k) for k in ("account_no", "billing_month", "period_start", "period_end", "kvarh",
                                     "contract_kva", "max_demand_kw")}
        rec["account_name"] = norm_text(b["account_name"])
        for k in ENERGY_KEYS:
            rec[k] = b[k]
        for k in MONEY_KEYS:
            rec[k] = float(b[k])
        rec["power_factor"] = float(b["power_factor"])
        rec["bill_type"] = written_type
        rec["marked_correction"] = bill_type == "更正"
        rec["reissue"] = reissue
        rec["arithmetic_ok"] = not flags.get("broken", False)
        rec["path"] = relpath
        rec["center_code"] = None
        return rec

    def rows():
        items = []
        for acc, kwh in month_bills(w, t):
            b = compute_bill(w, acc, t, kwh)
            flags = {}
            if broken is not None and acc is broken:
                b = dict(b, total_cny=b["total_cny"] + Decimal("1000.00"))
                flags["broken"] = True
            items.append((b, "正常", False, flags))
        if same_file_pair is not None:
            kwh = bill_kwh(w, same_file_pair, t)
            items.append((compute_bill(w, same_file_pair, t, kwh, variant=1), "更正", True, {"same_file": True}))
        for acc, tm, variant in reissues:
            kwh = bill_kwh(w, acc, tm)
            items.append((compute_bill(w, acc, tm, kwh, variant=variant), "更正", True, {"reissue_of": tm}))
        for b, btype, reissue, flags in items:
            if not has_sharp:  # sharp energy is part of the peak energy in such exports
                b = dict(b, kwh_peak=b["kwh_peak"] + b["kwh_sharp"], kwh_sharp=None)
            if b["kvarh"] is not None and b["kwh_total"] < 400_000 and "missing_markers" in v and rng.random() < 0.3:
                b = dict(b, kvarh=None)
            cells, sums = render(b, btype if has_type else None)
            rec = record_for(b, btype, btype if has_type else None, reissue, flags)

            def written(rn, sheet, _rec=rec, _flags=flags):
                _rec["row_number"], _rec["sheet"] = rn, sheet
                col.bill_rows.append(_rec)
                if _flags.get("broken"):
                    col.trap("bill_arithmetic_error", path=relpath, row_number=rn, account=_rec["account_no"],
                             month=_rec["billing_month"])
                if _flags.get("same_file"):
                    col.trap("same_file_correction", path=relpath, row_number=rn, account=_rec["account_no"],
                             month=_rec["billing_month"])
            yield Row(cells, sums, tag=written)

    titles = [f"{GRID_AUTHOR}　电费账单明细（{month.year}年{month.month:02d}月）"] if "title_rows" in v else []

    def on_row(row: Row, rn: int) -> None:
        row.tag(rn, sheet_name if xlsx else None)

    sheet_name = f"{month.year}{month.month:02d}"
    sheet = Sheet(name=sheet_name, cols=cols, rows=rows(), titles=titles,
                  totals_label="合计" if "totals_row" in v else None, on_row=on_row)
    if xlsx:
        book = XlsxBook(path, constant_memory=constant_memory, title="电费账单", author=GRID_AUTHOR)
        book.add(sheet)
        results = book.close()
    else:
        results = [write_csv(path, sheet, encoding=encoding or "gb18030")]
    for r in results:
        if "extra_column" in v:
            col.warn(relpath, r.name if xlsx else None, None, "电压等级", None, "unknown_column")
        r.units = {k: float(e_unit[1]) for k in ENERGY_KEYS if k in keys}
        r.meta = {"headers": headers, "has_bill_type": has_type, "has_sharp": has_sharp}
        if r.totals:
            col.totals.append({
                "path": relpath, "sheet": r.name if xlsx else None, "row_number": r.totals["row_number"],
                "values_file_unit": {k: float(x) for k, x in r.totals["values"].items()},
                "values": {k: float(x * (Decimal(e_unit[1]) if k in ENERGY_KEYS else 1))
                           for k, x in r.totals["values"].items()},
                "headers": {k: headers[k] for k in r.totals["values"]},
            })
    return results
