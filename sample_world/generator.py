"""``generate()``: plan the inbox, write every file, set delivery-order mtimes, resolve the truth.

What belongs here: the file plan (which file, which folder, which format/encoding, which
variations, when delivered), the placement of the file-level traps (re-delivered ledger month,
duplicate copy, stray readme, empty csv, the xlsx power file without 账单类型), the delivery order
(mtimes strictly increasing in intended delivery order; names chosen so that, within a folder,
name order agrees wherever order matters), and the resolution of collected rows into ``Truth``
using the spec's rules (later ledger file replaces a month; later / 更正 bill supersedes; the
duplicate adds nothing; accounts belong to the center claiming them in the latest report month).
"""
from __future__ import annotations

import calendar
import multiprocessing
import os
import random
import shutil
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from . import bureau, power, registry
from .bureau import FileSpec
from .config import DEFAULT_SEED, add_months, resolve_scale
from .truth import Collector, Truth
from .variations import VariationPicker
from .world import ARCH, World, build_world, hrand

KIND_FOLDERS = {"dc_ledger": "bureau/dc_ledger", "projects": "bureau/projects", "economics": "bureau/economics",
                "plans": "bureau/plans", "registry": "registry", "power": "power"}
PARALLEL_COST = 1_000_000  # total job cost (scale 0.1: ~2.3M, scale 1: ~25M) from which workers are the default
README_TEXT = "数据中心台账报送说明：每月10日前将台账放入本目录。\n本文件不是数据文件。\n"


@dataclass
class Job:
    kind: str
    relpath: str
    fmt: str
    delivered: datetime
    run: object  # callable(collector) -> list[SheetResult] | dict | None
    variations: frozenset = frozenset()
    encoding: str | None = None
    period: str | None = None
    intended: str = "loaded"  # loaded / rejected / duplicate (superseded is resolved later)
    reason: str | None = None
    duplicate_of: str | None = None
    cost: float = 1.0  # rough relative cost, to start the big jobs first when running in parallel


def _at(d: date, day: int, hour: int, minute: int = 0) -> datetime:
    day = min(day, calendar.monthrange(d.year, d.month)[1])
    return datetime(d.year, d.month, day, hour, minute)


def generate(out_dir: str, scale: float | str | None = None, seed: int = DEFAULT_SEED, mix: str = "moderate",
             overwrite: bool = False, workers: int | None = None) -> Truth:
    """Write a deterministic inbox under ``out_dir`` and return what it means (``Truth``).

    ``scale``: None / "sample" for the bundled sample, or a number in (0, 1.5] (1 = a province).
    ``mix``: "moderate" (default), "none" (clean files; traps stay) or "all" (every variation).
    ``overwrite``: remove the inbox folders (bureau/, registry/, power/) under ``out_dir`` first;
    without it ``out_dir`` must be empty or absent.
    ``workers``: processes writing files (default: one per core for a plan as large as scale 0.1
    and up, else 1). The bytes do not depend on it: every file is a pure function of (seed, scale,
    mix, its path). Writing is CPU-bound Python (mostly the xlsx writer), so two cores write scale 1
    in 43-59 s instead of ~84 s; a small inbox is written faster than worker processes start.
    """
    t_start = time.perf_counter()
    cfg = resolve_scale(scale)
    out_dir = os.path.abspath(out_dir)
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite:
            raise FileExistsError(f"{out_dir} is not empty (use overwrite=True / --overwrite)")
        for sub in ("bureau", "registry", "power"):
            shutil.rmtree(os.path.join(out_dir, sub), ignore_errors=True)
        if os.listdir(out_dir):
            raise FileExistsError(f"{out_dir} holds files other than an inbox; refusing to overwrite")
    os.makedirs(out_dir, exist_ok=True)
    w, jobs, plan_traps = _world_and_jobs(out_dir, cfg, seed, mix)
    if workers is None:
        workers = (os.cpu_count() or 1) if sum(j.cost for j in jobs) >= PARALLEL_COST else 1
    timings = {"plan": time.perf_counter() - t_start}
    to_run = [j for j in jobs if j.intended != "duplicate"]
    outputs: dict[str, tuple] = {}
    if workers <= 1 or len(to_run) < 2:
        for j in to_run:
            outputs[j.relpath] = _run_job(j)
    else:
        # fork: workers inherit the imported modules (spawn would re-import them per worker); each
        # worker still rebuilds the world from (seed, scale), so nothing but parameters is shared
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        order = sorted(to_run, key=lambda j: -j.cost)
        with ctx.Pool(workers, initializer=_worker_init, initargs=(out_dir, cfg, seed, mix)) as pool:
            for relpath, out in pool.imap_unordered(_worker_run, [j.relpath for j in order], chunksize=1):
                outputs[relpath] = out
    col = Collector()
    col.traps.update(plan_traps)
    results: dict[str, object] = {}
    for j in to_run:  # merge in delivery order
        res, c, dt = outputs[j.relpath]
        results[j.relpath] = res
        col.merge(c)
        timings[j.kind] = timings.get(j.kind, 0.0) + dt
    for j in jobs:
        if j.intended == "duplicate":
            shutil.copyfile(os.path.join(out_dir, j.duplicate_of), os.path.join(out_dir, j.relpath))
    for j in jobs:
        ts = calendar.timegm(j.delivered.timetuple())
        os.utime(os.path.join(out_dir, j.relpath), ns=(ts * 10**9, ts * 10**9))
    t0 = time.perf_counter()
    truth = _resolve(w, col, jobs, results)
    timings["resolve"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    truth.timings = {k: round(v, 3) for k, v in timings.items()}
    truth.timings["workers"] = workers
    return truth


def plan_files(scale: float | str | None = None, seed: int = DEFAULT_SEED, mix: str = "moderate") -> list[dict]:
    """The per-file plan (path, kind, format, encoding, variations, delivery time) without writing."""
    _, jobs, _ = _world_and_jobs("/nonexistent", resolve_scale(scale), seed, mix)
    return [{"path": j.relpath, "kind": j.kind, "format": j.fmt, "encoding": j.encoding,
             "variations": sorted(j.variations), "delivered": j.delivered.isoformat(), "intended": j.intended,
             "reason": j.reason} for j in jobs]


_WORKER: dict = {}


def _world_and_jobs(out_dir: str, cfg, seed: int, mix: str) -> tuple[World, list[Job], dict]:
    """The world, the file plan in delivery order, and the traps noted while planning
    (deterministic: every worker process rebuilds the same)."""
    w = build_world(cfg, seed)
    plan_col = Collector()
    jobs = _plan(w, out_dir, plan_col, mix)
    jobs.sort(key=lambda j: (j.delivered, j.relpath))
    last = None
    for j in jobs:  # strictly increasing delivery times
        if last is not None and j.delivered <= last:
            j.delivered = last + timedelta(seconds=1)
        last = j.delivered
    return w, jobs, plan_col.traps


def _run_job(j: Job) -> tuple:
    c = Collector()
    t0 = time.perf_counter()
    res = j.run(c)
    return res, c, time.perf_counter() - t0


def _worker_init(out_dir: str, cfg, seed: int, mix: str) -> None:
    import pyarrow as pa

    pa.set_cpu_count(1)  # one process per core already
    _, jobs, _ = _world_and_jobs(out_dir, cfg, seed, mix)
    _WORKER["jobs"] = {j.relpath: j for j in jobs}


def _worker_run(relpath: str) -> tuple[str, tuple]:
    return relpath, _run_job(_WORKER["jobs"][relpath])


# ----------------------------------------------------------------------------------------------
# the file plan

def _plan(w: World, out_dir: str, col: Collector, mix: str) -> list[Job]:
    seed, cfg, cal = w.seed, w.cfg, w.cal
    jobs: list[Job] = []
    n = cfg.n_months
    cm_rows = cfg.constant_memory_rows

    def rng_for(*keys) -> random.Random:
        return random.Random(":".join(str(k) for k in (seed,) + keys))

    pickers = {k: VariationPicker(k, rng_for("var", k), mix, per_file=(8, 8) if k == "plans" else (3, 4))
               for k in KIND_FOLDERS}
    no_totals = {"totals_row"}  # files holding refused rows carry no 合计 row

    # ---- dc_ledger --------------------------------------------------------------------------
    t_red = w.t("redelivered_month")
    for t in range(n):
        m = cal.month(t)
        nxt = add_months(m, 1)
        fmt = "csv" if t == w.t("ledger_csv") else "xlsx"
        name_form = t % 3 if t != t_red else 0
        names_ = [f"数据中心台账_{m.year}{m.month:02d}", f"{m.year}年{m.month}月数据中心运行情况台账",
                  f"贵安新区数据中心台账（{m.year}-{m.month:02d}）"]
        base = names_[name_form]
        variants = [("original", base), ("revised", base + "（修订）")] if t == t_red else [(None, base)]
        for vi, (variant, stem) in enumerate(variants):
            relpath = f"{KIND_FOLDERS['dc_ledger']}/{stem}.{fmt}"
            v = pickers["dc_ledger"].pick(fmt, forbidden=no_totals if t == w.t("duplicate_in_file") else set())
            spec = FileSpec("dc_ledger", relpath, fmt, "gb18030" if fmt == "csv" else None, v,
                            f"贵安新区数据中心运行情况台账（{m.year}年{m.month}月）", "")
            rng = rng_for("file", relpath)
            jobs.append(Job("dc_ledger", relpath, fmt, _at(nxt, 21 if vi else 8, 9, int(hrand(seed, "mm", t) * 50)),
                            (lambda col, spec=spec, t=t, rng=rng, variant=variant:
                             bureau.write_ledger(w, col, out_dir, spec, t, rng, variant)),
                            v, spec.encoding, f"{m:%Y-%m}", cost=len(w.centers) * 25))
    first = cal.month(0)
    jobs.append(Job("dc_ledger", f"{KIND_FOLDERS['dc_ledger']}/readme.txt", "txt", _at(add_months(first, 1), 8, 8),
                    lambda col: _write_text(out_dir, "bureau/dc_ledger/readme.txt", README_TEXT),
                    intended="rejected", reason="unsupported_extension"))
    col.trap("stray_readme", path="bureau/dc_ledger/readme.txt")

    # ---- projects ---------------------------------------------------------------------------
    for t in range(n):
        m = cal.month(t)
        fmt = "csv" if t == w.t("projects_csv") else "xlsx"
        stem = [f"招商项目台账_{m.year}{m.month:02d}", f"{m.year}年{m.month}月招商引资项目推进表",
                f"招商项目台账（{m.year}-{m.month:02d}）"][t % 3]
        relpath = f"{KIND_FOLDERS['projects']}/{stem}.{fmt}"
        v = pickers["projects"].pick(fmt, forbidden=no_totals if t == w.t("missing_project_code") else set())
        spec = FileSpec("projects", relpath, fmt, "utf-8-sig" if fmt == "csv" else None, v,
                        f"贵安新区招商引资项目推进情况台账（{m.year}年{m.month}月）", "")
        rng = rng_for("file", relpath)
        big = len(w.projects) > cm_rows
        jobs.append(Job("projects", relpath, fmt, _at(add_months(m, 1), 10, 10, int(hrand(seed, "pm", t) * 50)),
                        (lambda col, spec=spec, t=t, rng=rng, big=big:
                         bureau.write_projects(w, col, out_dir, spec, t, rng, big)),
                        v, spec.encoding, f"{m:%Y-%m}", cost=sum(p.listed(t) for p in w.projects) * 18))

    # ---- economics --------------------------------------------------------------------------
    for qi, q in enumerate(cal.quarters):
        qn = (q.month - 1) // 3 + 1
        fmt = "xlsx" if qi % 2 == 0 else "csv"
        enc = None if fmt == "xlsx" else ("gb18030" if qi % 4 == 1 else "utf-8")
        stem = f"企业经济指标_{q.year}Q{qn}" if qi % 2 == 0 else f"{q.year}年{'一二三四'[qn - 1]}季度重点企业经济指标"
        relpath = f"{KIND_FOLDERS['economics']}/{stem}.{fmt}"
        tq = bureau.econ_trap_quarters(w)
        refusing = qi in (tq["unsupported_period"], tq["unresolved_firm"])
        v = pickers["economics"].pick(fmt, forbidden=no_totals if refusing else set())
        title = f"重点企业经济指标（{q.year}年{'一二三四'[qn - 1]}季度）"
        spec = FileSpec("economics", relpath, fmt, enc, v, title, "")
        rng = rng_for("file", relpath)
        big = len(w.econ_firms) > cm_rows
        jobs.append(Job("economics", relpath, fmt, _at(add_months(q, 4), 15, 11),
                        (lambda col, spec=spec, qi=qi, rng=rng, big=big:
                         bureau.write_economics(w, col, out_dir, spec, qi, rng, big)),
                        v, enc, f"{q.year}Q{qn}", cost=len(w.econ_firms) * 8))
    mid_q = cal.quarters[len(cal.quarters) // 2]
    empty = f"{KIND_FOLDERS['economics']}/企业经济指标_补报.csv"
    jobs.append(Job("economics", empty, "csv", _at(add_months(mid_q, 4), 20, 16),
                    lambda col: _write_text(out_dir, empty, ""), intended="rejected", reason="empty_file"))
    col.trap("empty_csv", path=empty)
    corrupt = f"{KIND_FOLDERS['power']}/电费账单_损坏.xlsx"
    jobs.append(Job("power", corrupt, "xlsx", _at(add_months(cal.month(n - 1), 2), 20, 17),
                    lambda col: _write_text(out_dir, corrupt, "PK\x03\x04 a workbook cut short in transfer"),
                    intended="rejected", reason="unreadable_file"))
    col.trap("corrupt_xlsx", path=corrupt)

    # ---- plans ------------------------------------------------------------------------------
    for y in cal.plan_years:
        relpath = f"{KIND_FOLDERS['plans']}/{y}年一中心一方案目标任务表.xlsx"
        v = pickers["plans"].pick("xlsx")
        spec = FileSpec("plans", relpath, "xlsx", None, v, f"{y}年度数据中心“一中心一方案”目标任务表", "")
        rng = rng_for("file", relpath)
        jobs.append(Job("plans", relpath, "xlsx", datetime(y, 2, 20, 15, 0),
                        (lambda col, spec=spec, y=y, rng=rng: bureau.write_plans(w, col, out_dir, spec, y, rng)),
                        v, None, str(y), cost=len(w.centers) * 12))

    # ---- registry ---------------------------------------------------------------------------
    n_bulk = max(0, cfg.n_firms - w.n_tracked)
    keep_bulk = cfg.n_firms <= cfg.truth_firms_limit
    for k, snap in enumerate(cal.snapshots):
        fmt = "jsonl" if k == 2 else "csv"
        enc = {0: "gb18030", 1: "utf-8-sig", 2: "utf-8", 3: "utf-8" if cfg.scale is None else "gb18030"}[k % 4]
        stem = f"企业登记信息_{snap:%Y-%m-%d}" if k == 1 else f"企业登记信息_{snap:%Y%m%d}"
        relpath = f"{KIND_FOLDERS['registry']}/{stem}.{fmt}"
        v = pickers["registry"].pick(fmt, forced={"snapshot_date_column"} if k == 1 else set(),
                                     forbidden=set() if k == 1 else {"snapshot_date_column"})
        rng = rng_for("file", relpath)
        style = registry.make_style(k, fmt, enc, v, rng)

        def run(col, relpath=relpath, k=k, style=style, rng=rng):
            return registry.write_snapshot(out_dir, relpath, k, cal.snapshots, style, w.firms, w.n_tracked, n_bulk,
                                           seed, cfg.chunk_rows, keep_bulk, col, rng)
        jobs.append(Job("registry", relpath, fmt, datetime.combine(snap + timedelta(days=12), datetime.min.time())
                        + timedelta(hours=14), run, v, enc, snap.isoformat(), cost=cfg.n_firms * 5))

    # ---- power ------------------------------------------------------------------------------
    _plan_power(w, out_dir, col, jobs, pickers["power"], rng_for)
    return jobs


def _plan_power(w: World, out_dir: str, col: Collector, jobs: list[Job], picker, rng_for) -> None:
    seed, cal, n = w.seed, w.cal, w.cfg.n_months
    c0, c1, c3 = w.centers[ARCH["corrected_bill"]], w.centers[ARCH["arithmetic_error"]], \
        w.centers[ARCH["same_file_correction"]]
    t_cb_m, t_cb_f = w.t("corrected_bill_month"), w.t("corrected_bill_file")
    t_nt_m, t_nt_f = w.t("reissue_no_type_month"), w.t("reissue_no_type_file")
    corrected_acc = c0.active_accounts(t_cb_m)[min(1, len(c0.active_accounts(t_cb_m)) - 1)]
    notype_acc = c0.active_accounts(t_nt_m)[-1]
    reissues: dict[int, list] = {t: [] for t in range(n)}
    reissues[t_cb_f].append((corrected_acc, t_cb_m, 1))
    reissues[t_nt_f].append((notype_acc, t_nt_m, 2))
    taken = {(corrected_acc.number, t_cb_m), (notype_acc.number, t_nt_m)}
    col.trap("corrected_bill", account=corrected_acc.number, month=cal.month(t_cb_m))
    col.trap("reissue_without_bill_type", account=notype_acc.number, month=cal.month(t_nt_m))
    n_acc = len(w.accounts)
    for t in range(2, n):  # a few ordinary re-issues of the month before or the one before that
        k = int(hrand(seed, "nre", t) * (1 + n_acc / 250) * 1.4)
        for j in range(k):
            tm = t - 1 - int(hrand(seed, "ret", t, j) * 2)
            cands = power.month_bills(w, tm)
            if not cands:
                continue
            acc = cands[int(hrand(seed, "rea", t, j) * len(cands))][0]
            trap_months = (t_cb_m, t_nt_m, w.t("arithmetic_error"), w.t("same_file_correction"))
            if (acc.number, tm) in taken or t in (t_nt_f,) or tm in trap_months:
                continue
            taken.add((acc.number, tm))
            reissues[t].append((acc, tm, 3 + j))
    same_acc = c3.active_accounts(w.t("same_file_correction"))[0]
    broken_acc = c1.active_accounts(w.t("arithmetic_error"))[0]
    dup_t = w.t("duplicate_power_file")
    for t in range(n):
        m = cal.month(t)
        fmt = "xlsx" if t == t_nt_f else "csv"
        enc = None if fmt == "xlsx" else ("utf-8" if t == 1 else "utf-8-sig" if t % 4 == 2 else "gb18030")
        relpath = f"power/电费账单_{m.year}{m.month:02d}.{fmt}"
        v = picker.pick(fmt, forced={"no_bill_type_column"} if t == t_nt_f else set())
        rng = rng_for("file", relpath)
        big = len(w.accounts) > w.cfg.constant_memory_rows

        def run(col, relpath=relpath, fmt=fmt, enc=enc, v=v, t=t, rng=rng, big=big):
            return power.write_power_file(
                w, col, out_dir, relpath, fmt, enc, v, t, reissues[t], rng,
                same_file_pair=same_acc if t == w.t("same_file_correction") else None,
                broken=broken_acc if t == w.t("arithmetic_error") else None, constant_memory=big)
        delivered = _at(add_months(m, 1), 5, 7, int(hrand(seed, "pwm", t) * 50))
        jobs.append(Job("power", relpath, fmt, delivered, run, v, enc, None, cost=len(w.accounts) * 25))
        if t == dup_t:
            copy = f"power/电费账单_{m.year}{m.month:02d}_副本.{fmt}"
            jobs.append(Job("power", copy, fmt, delivered + timedelta(days=20), None, v, enc, None,
                            intended="duplicate", reason=f"duplicate of {relpath}", duplicate_of=relpath))
            col.trap("duplicate_file", path=copy, original=relpath)


def _write_text(out_dir: str, relpath: str, text: str) -> None:
    path = os.path.join(out_dir, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


# ----------------------------------------------------------------------------------------------
# resolution into the truth

def _resolve(w: World, col: Collector, jobs: list[Job], results: dict) -> Truth:
    cal = w.cal
    seq = {j.relpath: i + 1 for i, j in enumerate(jobs)}
    truth = Truth(seed=w.seed, scale=w.cfg.label, months=list(cal.months), quarters=list(cal.quarters),
                  snapshots=list(cal.snapshots), plan_years=list(cal.plan_years))
    status = {j.relpath: j.intended for j in jobs}
    reason = {j.relpath: j.reason for j in jobs}
    superseded_by: dict[str, str] = {}
    # later workbook replaces a month (dc_ledger) / a year (plans)
    for kind in ("dc_ledger", "plans"):
        by_period: dict[str, list[Job]] = {}
        for j in jobs:
            if j.kind == kind and status[j.relpath] == "loaded":
                by_period.setdefault(j.period, []).append(j)
        for js in by_period.values():
            js.sort(key=lambda j: seq[j.relpath])
            for j in js[:-1]:
                status[j.relpath] = "superseded"
                superseded_by[j.relpath] = js[-1].relpath
    # ---- center months
    for r in sorted(col.center_rows, key=lambda r: (r["report_month"], r["center_code"])):
        (truth.center_months if status[r["path"]] == "loaded" else truth.superseded_center_months).append(r)
    # ---- account owners: the center claiming the account in the latest report month claiming it
    owner_month: dict[str, tuple] = {}
    for r in truth.center_months:
        for a in r["power_accounts"] or []:
            if a not in owner_month or r["report_month"] >= owner_month[a][0]:
                owner_month[a] = (r["report_month"], r["center_code"])
    truth.account_owner = {a: v[1] for a, v in sorted(owner_month.items())}
    # ---- bills
    groups: dict[tuple, list[dict]] = {}
    for r in col.bill_rows:
        if status[r["path"]] != "loaded":
            continue
        groups.setdefault((r["account_no"], r["billing_month"]), []).append(r)
    for key in sorted(groups):
        rows = sorted(groups[key], key=lambda r: (seq[r["path"]], r["row_number"]))
        cur = dict(rows[-1])
        cur["is_corrected"] = len(rows) > 1 or cur["marked_correction"]
        cur["center_code"] = truth.account_owner.get(cur["account_no"])
        truth.bills.append(cur)
        for r in rows[:-1]:
            truth.superseded_bills.append(dict(r, superseded_by=cur["path"], center_code=cur["center_code"]))
    billed = sorted({b["account_no"] for b in truth.bills})
    truth.unclaimed_accounts = [a for a in billed if a not in truth.account_owner]
    # traps that are bill rows
    for name in ("corrected_bill", "reissue_without_bill_type"):
        tr = col.traps.get(name)
        if tr:
            b = next(b for b in truth.bills if b["account_no"] == tr["account"] and b["billing_month"] == tr["month"])
            col.trap(name, path=b["path"], row_number=b["row_number"],
                     superseded_path=next(s["path"] for s in truth.superseded_bills
                                          if s["account_no"] == tr["account"] and s["billing_month"] == tr["month"]))
    col.trap("unclaimed_account", accounts=truth.unclaimed_accounts)
    # ---- projects, economics, plans
    truth.projects_months = sorted((r for r in col.project_rows if status[r["path"]] == "loaded"),
                                   key=lambda r: (r["report_month"], r["project_code"]))
    truth.economics = sorted((r for r in col.econ_rows if status[r["path"]] == "loaded"),
                             key=lambda r: (r["quarter_start"], r["uscc"]))
    truth.plans = sorted((r for r in col.plan_rows if status[r["path"]] == "loaded"),
                         key=lambda r: (r["year"], r["center_code"]))
    seen = set()
    for r in truth.projects_months:
        if r["investor_resolution"] == "unresolved" and r["investor_name"] not in seen:
            seen.add(r["investor_name"])
            col.unresolved.append({"source": "projects", "name": r["investor_name"], "path": None})
    truth.unresolved_names = [dict(u) for u in col.unresolved]
    # ---- registry
    snaps = list(cal.snapshots)
    rows_by_snapshot = [{r["uscc"]: r for r in col.registry_rows.get(k, [])} for k in range(len(snaps))]
    truth.firms = {s.isoformat(): col.registry_rows.get(k, []) for k, s in enumerate(snaps)}
    truth.firm_versions = registry.derive_versions(snaps, rows_by_snapshot)
    keep_bulk = w.cfg.n_firms <= w.cfg.truth_firms_limit
    truth.firms_complete = keep_bulk
    reg_counts = {j.period: results[j.relpath] for j in jobs if j.kind == "registry"}
    any_counts = next(iter(reg_counts.values()))
    tracked_versions = registry.derive_versions(
        snaps, [{u: r for u, r in d.items() if r.get("tracked")} for d in rows_by_snapshot])
    truth.firm_counts = {
        "per_snapshot": {p: {k: v for k, v in c.items() if not k.startswith("bulk")} for p, c in reg_counts.items()},
        "versions_total": len(tracked_versions) + any_counts["bulk_versions"],
        "current_total": sum(1 for v in tracked_versions if v["is_current"]) + any_counts["bulk_current"],
        "tracked_firms": len(w.firms),
    }
    tf = w.trap_firms
    col.trap("firm_renamed", uscc=w.firms[tf["renamed"]].uscc, old_name=w.firms[tf["renamed"]].first_name,
             new_name=w.firms[tf["renamed"]].last_name, snapshot=snaps[2])
    col.trap("firm_form_only_change", uscc=w.firms[tf["form_only"]].uscc)
    col.trap("firm_disappears", uscc=w.firms[tf["disappears"]].uscc, closed_at=snaps[2])
    for name, key in (("registry_bad_check_char", "bad_check"), ("registry_old_registration_number", "old_reg"),
                      ("registry_duplicate_uscc", "dup_uscc")):
        code = w.firms[tf[key]].uscc
        col.trap(name, uscc=code, rows=[[r["path"], r["row_number"]] for r in col.rejected if r["key"] == code])
    # ---- rejected rows and files
    truth.rejected_rows = sorted(col.rejected, key=lambda r: (seq[r["path"]], r["sheet"] or "", r["row_number"]))
    truth.warnings = sorted(col.warnings, key=lambda r: (seq[r["path"]], r["sheet"] or "", r["row_number"] or 0,
                                                         r["column_name"] or ""))
    truth.totals_rows = sorted(col.totals, key=lambda r: (seq[r["path"]], r["sheet"] or ""))
    rejected_per_file: dict[str, int] = {}
    for r in col.rejected:
        rejected_per_file[r["path"]] = rejected_per_file.get(r["path"], 0) + 1
    for j in jobs:
        res = results.get(j.relpath)
        rec = {"path": j.relpath, "kind": j.kind, "format": j.fmt, "encoding": j.encoding,
               "delivery_seq": seq[j.relpath], "mtime": j.delivered.isoformat(), "period": j.period,
               "status": status[j.relpath], "reason": reason[j.relpath], "duplicate_of": j.duplicate_of,
               "superseded_by": superseded_by.get(j.relpath), "variations": sorted(j.variations)}
        if j.intended == "duplicate":
            src = next(f for f in truth.files if f["path"] == j.duplicate_of)
            rec.update(sheets=src["sheets"], rows_read=0, rows_loaded=0, rows_rejected=0, rows_skipped=0)
        elif isinstance(res, list):
            rec["sheets"] = {r.name: ("data" if r.kind == "data" else "skipped: instructions") for r in res}
            rec["layout"] = {(r.name if j.fmt == "xlsx" else ""): {"header_rows": r.header_rows, "columns": r.columns,
                                                                 "units": r.units, **r.meta}
                             for r in res if r.kind == "data"}
            rec["rows_read"] = sum(r.data_rows for r in res)
            rec["rows_skipped"] = sum(r.footer_rows for r in res)
        elif isinstance(res, dict):
            rec["sheets"] = None
            rec["rows_read"] = res["rows_written"]
            rec["rows_skipped"] = 0
        else:
            rec.update(sheets=None, rows_read=0, rows_skipped=0)
        if j.intended != "duplicate":
            rec["rows_rejected"] = rejected_per_file.get(j.relpath, 0)
            rec["rows_loaded"] = rec["rows_read"] - rec["rows_rejected"]
        truth.files.append(rec)
    # ---- centers (static, intended)
    for c in w.centers:
        truth.centers.append({
            "center_code": c.code, "center_name": c.name, "park": c.park, "operating_model": c.model,
            "operator_uscc": w.uscc(c.operator), "operator_name": w.firm_name(c.operator),
            "accounts": [a.number for a in c.accounts if a.t_from < 10**6],
            "construction_start": c.construction_start, "operation_start": c.operation_start,
            "planned_operation_date": c.planned_op_date,
            "status_by_month": {m.isoformat(): c.status(t) for t, m in enumerate(cal.months)},
        })
    truth.traps = {k: col.traps[k] for k in sorted(col.traps)}
    return truth
