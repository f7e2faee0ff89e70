"""The world the sample describes, in canonical units, before any file is written.

What belongs here: centers (lifecycle, racks, compute, energy, investment, grid accounts), grid
bills, projects, the tracked firms (with their registry states), economic indicators and plans;
all as pure functions of (seed, scale), using counter-based randomness (``hrand``) so that a value
does not depend on the order in which it is asked for. Files, units of files and messy forms are
not known here (see ``bureau``, ``power``, ``registry``).

Month arithmetic uses an index ``t``: 0 is the first report month; archetype milestones are set
relative to the last month, so the twelve archetype centers (and the traps they carry) have the
same calendar dates at every scale.
"""
from __future__ import annotations

import calendar as _cal
import hashlib
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from . import codes, names, registry
from .config import Calendar, ScaleConfig, month_end

NEVER = 10**6
UNREGISTERED_INVESTOR = "黔中未来数智科技集团有限公司（筹）"
UNREGISTERED_ECON_FIRM = "贵安新区星河云创信息咨询服务部（筹）"


def hrand(*keys) -> float:
    """A uniform number in [0, 1) from a hash of the keys (counter-based randomness)."""
    h = hashlib.blake2b(repr(keys).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64


def hrands(n: int, *keys) -> list[float]:
    """``n`` (at most 8) uniforms in [0, 1) from one hash of the keys."""
    h = hashlib.blake2b(repr(keys).encode("utf-8"), digest_size=8 * n).digest()
    return [int.from_bytes(h[8 * i:8 * i + 8], "big") / 2.0**64 for i in range(n)]


def hint(lo: int, hi: int, *keys) -> int:
    return lo + int(hrand(*keys) * (hi - lo + 1))


def hpick(seq, *keys):
    return seq[int(hrand(*keys) * len(seq))]


def hours_in_month(d: date) -> int:
    return _cal.monthrange(d.year, d.month)[1] * 24


# ----------------------------------------------------------------------------------------------
# centers and accounts

@dataclass
class Account:
    number: str
    name: str
    center: int | None  # index of the claiming center, None: unclaimed
    t_from: int  # first billing month index
    weight: float
    contract_kva: int
    construction: bool = False


@dataclass
class Center:
    index: int
    code: str
    name: str
    park: str
    model: str
    operator: int | None  # tracked-firm index
    t_list: int
    t_plan: int
    t_build: int
    t_op: int
    racks_designed: int
    rack_kw: int
    phase1: float
    u0: float
    g: float
    umax: float
    spr: float
    gen_rate: float
    ai_rate: float | None
    hpc_rate: float | None
    lf: float
    pue_base: float
    invest_wan: int
    build_months: int
    construction_kwh: int
    cal: Calendar
    seed: int
    accounts: list[Account] = field(default_factory=list)
    planned_op_date: date | None = None
    plan_behind: bool = False

    # lifecycle --------------------------------------------------------------------------
    def status(self, t: int) -> str | None:
        if t < self.t_list:
            return None
        if t < self.t_plan:
            return "招引"
        if t < self.t_build:
            return "规划"
        if t < self.t_op:
            return "在建"
        return "运营"

    @property
    def t_op_planned(self) -> int:
        return min(self.t_op, self.t_build + self.build_months)

    def day_in(self, t: int, what: str) -> date:
        m = self.cal.month(t)
        return date(m.year, m.month, hint(1, 28, self.seed, "day", self.code, what))

    @property
    def construction_start(self) -> date | None:
        return None if self.t_build >= NEVER else self.day_in(self.t_build, "build")

    @property
    def operation_start(self) -> date | None:
        return None if self.t_op >= NEVER else self.day_in(self.t_op, "op")

    def racks_designed_at(self, t: int) -> int | None:
        return None if self.status(t) in (None, "招引") else self.racks_designed

    def racks_built(self, t: int) -> int | None:
        s = self.status(t)
        if s in (None, "招引"):
            return None
        b1 = round(self.racks_designed * self.phase1)
        if s == "规划":
            return 0
        if s == "在建":
            done = (t - self.t_build + 1) / (self.t_op_planned - self.t_build + 1)
            return min(round(b1 * 0.95), round(b1 * min(1.0, done)))
        return b1 + round((self.racks_designed - b1) * min(1.0, (t - self.t_op) / 24))

    def racks_in_use(self, t: int) -> int | None:
        s = self.status(t)
        if s in (None, "招引"):
            return None
        if s != "运营":
            return 0
        u = min(self.umax, self.u0 + self.g * (t - self.t_op))
        return round(self.racks_built(t) * u)

    def servers(self, t: int) -> int | None:
        return round(self.racks_in_use(t) * self.spr) if self.status(t) == "运营" else None

    def compute(self, t: int) -> tuple[float | None, float | None, float | None]:
        if self.status(t) != "运营":
            return None, None, None
        n = self.racks_in_use(t)
        gen = round(n * self.gen_rate, 2)
        ai = round(n * self.ai_rate, 2) if self.ai_rate else None
        hpc = round(n * self.hpc_rate, 2) if self.hpc_rate else None
        return gen, ai, hpc

    def season(self, t: int) -> float:
        m = self.cal.month(t).month
        return {6: 1.03, 7: 1.05, 8: 1.05, 9: 1.02, 12: 0.98, 1: 0.97, 2: 0.97}.get(m, 1.0)

    def it_energy(self, t: int) -> int | None:
        if self.status(t) != "运营":
            return None
        hours = hours_in_month(self.cal.month(t))
        return round(self.racks_in_use(t) * self.rack_kw * self.lf * self.season(t) * hours)

    def pue(self, t: int) -> float:
        m = self.cal.month(t).month
        summer = 0.06 if m in (6, 7, 8, 9) else (-0.02 if m in (12, 1, 2) else 0.0)
        return self.pue_base + summer + (hrand(self.seed, "pue", self.code, t) - 0.5) * 0.03

    def facility_energy(self, t: int) -> int:
        s = self.status(t)
        if s == "运营":
            return round(self.it_energy(t) * self.pue(t))
        if s == "在建":
            return round(self.construction_kwh * (0.8 + 0.4 * hrand(self.seed, "ckwh", self.code, t)))
        return 0

    def invested_wan(self, t: int) -> int | None:
        s = self.status(t)
        if s in (None, "招引"):
            return None
        if t < self.t_build:
            return 0
        if s == "在建":
            done = min(1.0, (t - self.t_build + 1) / (self.t_op_planned - self.t_build + 1))
            return int(self.invest_wan * 0.7 * done)
        return int(self.invest_wan * (0.7 + 0.25 * min(1.0, (t - self.t_op) / 24)))

    def invest_planned_wan(self, t: int) -> int | None:
        return None if self.status(t) is None else self.invest_wan

    def active_accounts(self, t: int) -> list[Account]:
        if self.status(t) in (None, "招引", "规划"):
            return []
        return [a for a in self.accounts if a.t_from <= t]

    def account_kwh(self, t: int) -> dict[str, int]:
        """Facility energy of month t split over the accounts active that month (sums exactly)."""
        accs = self.active_accounts(t)
        if not accs:
            return {}
        if self.status(t) != "运营":
            accs = [a for a in accs if a.construction] or accs[:1]
        total = self.facility_energy(t)
        w = sum(a.weight for a in accs)
        out, used = {}, 0
        for a in accs[:-1]:
            out[a.number] = int(total * a.weight / w)
            used += out[a.number]
        out[accs[-1].number] = total - used
        return out


# archetypes: (model, park index, t_list, t_plan, t_build, t_op, racks, rack_kw, ai, hpc, operator slot)
# times are offsets relative to 2024-01 when the window ends 2025-06 (shifted at larger scales)
_ARCHETYPES = [
    ("批发租赁", 0, -99, -99, -60, -40, 6000, 8, 0.02, None, 0),
    ("云服务", 0, -99, -99, -40, -24, 4000, 12, 0.25, None, 1),
    ("自建自用", 2, -99, -99, -70, -50, 1200, 6, None, None, 2),
    ("零售托管", 0, -99, -99, -30, -14, 2500, 8, 0.05, 0.04, 3),
    ("政企合作", 3, -99, -99, -12, 3, 3000, 8, 0.08, None, 4),
    ("云服务", 3, -99, -99, 2, 9, 2000, 10, 0.3, None, 1),
    ("批发租赁", 0, -99, -99, -1, NEVER, 5000, 8, 0.05, None, 5),
    ("零售托管", 2, -99, -99, 6, NEVER, 3000, 8, None, None, 6),
    ("政企合作", 3, -99, -99, NEVER, NEVER, 8000, 10, 0.2, 0.05, 7),
    ("自建自用", 2, -99, 8, NEVER, NEVER, 1500, 8, None, None, 8),
    ("云服务", 0, 5, NEVER, NEVER, NEVER, 2000, 12, 0.3, None, 9),
    ("自建自用", 2, -99, -99, -50, -30, 800, 6, None, None, 2),
]
ARCH = {  # named roles of archetype centers in the traps
    "redelivery_missing": 11, "duplicate_in_file": 4, "racks_gt_built": 3, "unparsed_date": 6,
    "overdue": 6, "it_energy_missing": 2, "operator_by_name": 2, "corrected_bill": 0,
    "arithmetic_error": 1, "same_file_correction": 3, "reissue_no_type": 0,
    # alert cases (spec/marts.md mart_alerts): silent for the last 4 months; operating but idle (flat, < 0.6)
    "silent": 9, "idle": 11,
}
IDLE_UTILIZATION = 0.5  # the idle archetype's ceiling of racks in use / racks built
RENAMED_HEADER = ("servers", "服务器台数XX")  # the last ledger file's renamed header (the column goes empty)
TRAP_T = {  # month offsets (relative to 2024-01 when the window ends 2025-06)
    "redelivered_month": 4, "duplicate_in_file": 7, "racks_gt_built": 17, "unparsed_date": 1,
    "ledger_csv": 12, "projects_csv": 3, "missing_project_code": 6,
    "corrected_bill_month": 5, "corrected_bill_file": 7, "arithmetic_error": 9, "same_file_correction": 11,
    "reissue_no_type_month": 13, "reissue_no_type_file": 14, "duplicate_power_file": 3,
}


# ----------------------------------------------------------------------------------------------
# projects

@dataclass
class Project:
    index: int
    code: str
    name: str
    investor: int | None  # tracked firm index (None: unregistered)
    investor_mode: str  # uscc / name / former_name / unresolved
    industry: str
    subject: str
    method: str
    park: str
    unit: str
    center_code: str | None
    t_list: int
    t_sign: int
    t_start: int
    t_prod: int
    invest_wan: int
    duration: int
    cal: Calendar
    seed: int

    def listed(self, t: int) -> bool:
        return t >= self.t_list

    def stage(self, t: int) -> str:
        if t < self.t_sign:
            return "在谈"
        if t < self.t_start:
            return "签约"
        if t < self.t_prod:
            return "开工"
        return "投产"

    def date_of(self, t_evt: int, what: str) -> date | None:
        if t_evt >= NEVER:
            return None
        m = self.cal.month(t_evt)
        return date(m.year, m.month, hint(1, 28, self.seed, "pday", self.code, what))

    def cum_wan(self, t: int) -> int:
        if t < self.t_start:
            return 0
        return int(self.invest_wan * min(1.0, (t - self.t_start + 1) / (self.duration + 12)))

    def ytd_wan(self, t: int) -> int:
        moy = self.cal.month(t).month
        return self.cum_wan(t) - self.cum_wan(t - moy)


# ----------------------------------------------------------------------------------------------
# the world

@dataclass
class World:
    cfg: ScaleConfig
    cal: Calendar
    seed: int
    centers: list[Center]
    accounts: list[Account]
    projects: list[Project]
    firms: dict[int, registry.TrackedFirm]
    n_tracked: int
    econ_firms: list[int]
    operators: list[int]
    trap_firms: dict[str, int]
    shift: int  # archetype offset shift (months)

    def t(self, key: str) -> int:
        return TRAP_T[key] + self.shift

    def firm_name(self, i: int) -> str:
        """The name bureau files use for a tracked firm (its first registered name)."""
        cache = self.__dict__.setdefault("_name_cache", {})
        if i not in cache:
            cache[i] = self.firms[i].first_name
        return cache[i]

    def uscc(self, i: int) -> str:
        return self.firms[i].uscc


def _center_from_archetype(j, a, shift, cal, seed, cfg, code, name) -> Center:
    model, park, tl, tp, tb, to, racks, kw, ai, hpc, _ = a

    def sh(x):
        return x if x >= NEVER else x + shift

    return Center(
        index=j, code=code, name=name, park=names.PARKS[park], model=model, operator=None,
        t_list=sh(tl), t_plan=sh(tp), t_build=sh(tb), t_op=sh(to), racks_designed=racks, rack_kw=kw,
        phase1=0.6 + 0.4 * hrand(seed, "phase", j), u0=0.25 + 0.1 * hrand(seed, "u0", j),
        g=0.025 + 0.015 * hrand(seed, "g", j),
        umax=IDLE_UTILIZATION if j == ARCH["idle"] else 0.78 + 0.12 * hrand(seed, "umax", j),
        spr=9 + 5 * hrand(seed, "spr", j), gen_rate=0.012 + 0.01 * hrand(seed, "gen", j), ai_rate=ai,
        hpc_rate=hpc, lf=0.48 + 0.15 * hrand(seed, "lf", j), pue_base=1.2 + 0.18 * hrand(seed, "pueb", j),
        invest_wan=int(racks * (12 + 12 * hrand(seed, "cost", j))) // 100 * 100,
        build_months=hint(14, 22, seed, "bm", j), construction_kwh=hint(60_000, 260_000, seed, "ck", j),
        cal=cal, seed=seed,
    )


def _random_center(j, cal, seed, cfg, code, name) -> Center:
    n = cfg.n_months
    u = hrand(seed, "final", j)
    models = names.OPERATING_MODELS
    racks = int(min(20000, max(300, math.exp(7.6 + 0.8 * (hrand(seed, "rk", j) * 2 - 1) * 1.6))))
    kw = hpick([6, 8, 8, 10, 12, 20], seed, "kw", j)
    if u < 0.62:  # operating by the end
        to = hint(-72, n - 1, seed, "to", j)
        tb = to - hint(10, 24, seed, "tb", j)
        tp, tl = tb - hint(3, 12, seed, "tp", j), -99
    elif u < 0.80:
        tb = hint(-24, n - 1, seed, "tb2", j)
        to, tp, tl = NEVER, tb - hint(3, 12, seed, "tp2", j), -99
    elif u < 0.92:
        tp = hint(-24, n - 1, seed, "tp3", j)
        tb = to = NEVER
        tl = min(tp - hint(1, 12, seed, "tl3", j), -99 if hrand(seed, "tl3b", j) < 0.5 else tp - 1)
    else:
        tl = hint(-12, n - 1, seed, "tl4", j)
        tp = tb = to = NEVER
    ai = round(0.02 + 0.3 * hrand(seed, "ai", j), 3) if hrand(seed, "hasai", j) < 0.7 else None
    hpc = round(0.02 + 0.05 * hrand(seed, "hpc", j), 3) if hrand(seed, "hashpc", j) < 0.12 else None
    return Center(
        index=j, code=code, name=name, park=hpick(names.PARKS, seed, "park", j),
        model=hpick(models, seed, "model", j), operator=None, t_list=tl, t_plan=tp, t_build=tb, t_op=to,
        racks_designed=racks, rack_kw=kw, phase1=0.5 + 0.5 * hrand(seed, "phase", j),
        u0=0.2 + 0.15 * hrand(seed, "u0", j), g=0.015 + 0.025 * hrand(seed, "g", j),
        umax=0.7 + 0.22 * hrand(seed, "umax", j), spr=8 + 7 * hrand(seed, "spr", j),
        gen_rate=0.01 + 0.015 * hrand(seed, "gen", j), ai_rate=ai, hpc_rate=hpc,
        lf=0.45 + 0.2 * hrand(seed, "lf", j), pue_base=1.18 + 0.25 * hrand(seed, "pueb", j),
        invest_wan=int(racks * (10 + 15 * hrand(seed, "cost", j))) // 100 * 100,
        build_months=hint(12, 24, seed, "bm", j), construction_kwh=hint(50_000, 300_000, seed, "ck", j),
        cal=cal, seed=seed,
    )


def _account_number(seed: int, salt: str, used: set[str]) -> str:
    k = 0
    while True:
        x = int(hrand(seed, "acct", salt, k) * 10**10)
        s = f"{x:010d}"
        if hrand(seed, "acct0", salt) < 0.25:
            s = "0" + s[1:]  # some account numbers start with 0: keep leading zeros
        if s not in used:
            used.add(s)
            return s
        k += 1


def build_world(cfg: ScaleConfig, seed: int) -> World:
    cal = Calendar.build(cfg)
    n = cfg.n_months
    shift = n - 18
    centers: list[Center] = []
    used_names: set[str] = set()
    for j in range(cfg.n_centers):
        code = f"GA-DC-{j + 1:03d}"
        k = 0
        while True:
            brand = hpick(names.BRAND_A, seed, "cb1", j, k) + hpick(names.BRAND_B, seed, "cb2", j, k)
            prefix = hpick(["贵安", "黔中", "贵州", "黔云", "贵安新区"], seed, "cpre", j, k)
            nm = f"{prefix}{brand}{hpick(names.CENTER_SUFFIXES, seed, 'csuf', j, k)}"
            if nm not in used_names:
                used_names.add(nm)
                break
            k += 1
        if j < len(_ARCHETYPES):
            c = _center_from_archetype(j, _ARCHETYPES[j], shift, cal, seed, cfg, code, nm)
        else:
            c = _random_center(j, cal, seed, cfg, code, nm)
        centers.append(c)
    # planned operation dates and plan outcomes
    for c in centers:
        if c.index == ARCH["overdue"]:
            c.planned_op_date = date(2025, 3, 31)
        elif c.t_op < NEVER:
            c.planned_op_date = month_end(cal.month(c.t_op - (1 if hrand(seed, "early", c.index) < 0.5 else 0)))
        elif c.t_build < NEVER:
            c.planned_op_date = month_end(cal.month(c.t_build + c.build_months + 6))
        else:
            c.planned_op_date = None
        c.plan_behind = c.index in (1, 3, 7) if c.index < 12 else hrand(seed, "behind", c.index) < 0.35

    # ---- firms: roles -----------------------------------------------------------------
    n_ops = round(0.8 * cfg.n_centers)
    op_slots = {}  # archetype operator slot or center -> operator ordinal
    ordinal_of_center = []
    for c in centers:
        if c.index < len(_ARCHETYPES):
            slot = _ARCHETYPES[c.index][-1]
        else:
            slot = 10 + int(hrand(seed, "opslot", c.index) * max(1, n_ops - 10))
        op_slots.setdefault(slot, len(op_slots))
        ordinal_of_center.append(op_slots[slot])
    n_operator_firms = len(op_slots)

    projects_spec = _project_specs(cfg, cal, seed, shift, centers)
    non_dc = [p for p in projects_spec if p["industry"] != "数据中心"]
    n_investors = max(8, round(0.75 * len(non_dc)))

    roles_plan: list[list[str]] = []
    roles_plan += [["operator"] for _ in range(n_operator_firms)]
    roles_plan += [["investor"] for _ in range(n_investors)]
    n_econ_extra = max(0, cfg.n_econ_firms - n_operator_firms - n_investors)
    roles_plan += [["econ"] for _ in range(n_econ_extra)]
    roles_plan += [["grid_customer"], ["form_only"], ["disappears"], ["bad_check"], ["old_reg"], ["dup_uscc"]]
    n_tracked = len(roles_plan) + 4
    if cfg.scale is None:  # the small sample: every firm tracked (no vectorised bulk firms)
        n_tracked = max(n_tracked, cfg.n_firms)
    while not any("（" in names.firm_name(i) for i in range(n_tracked)):
        n_tracked += 1
    base = registry.base_attributes(seed, 0, n_tracked, cal.snapshots)
    # the form-only firm needs a bracketed name: swap roles so that it gets such an index
    order = list(range(len(roles_plan)))
    fi = next(i for i, r in enumerate(roles_plan) if r == ["form_only"])
    cand = [i for i in range(n_tracked) if "（" in names.firm_name(i)]
    if not cand:
        raise RuntimeError("no bracketed firm name among tracked firms")
    b_idx = cand[-1]
    role_at = {i: roles_plan[i] for i in order}
    if b_idx != fi:
        role_at[fi], role_at[b_idx] = role_at.get(b_idx, ["background"]), role_at[fi]
    for i in range(n_tracked):
        role_at.setdefault(i, ["background"])

    S = cfg.n_snapshots
    firms: dict[int, registry.TrackedFirm] = {}
    operators, investors, econ_extra = [], [], []
    trap_firms: dict[str, int] = {}
    for i in range(n_tracked):
        roles = role_at[i]
        role = roles[0]
        industry = None
        if role == "operator":
            industry = "I6450" if hrand(seed, "opind", i) < 0.7 else "I6550"
            operators.append(i)
        elif role == "investor":
            investors.append(i)
        elif role == "econ":
            econ_extra.append(i)
        elif role == "grid_customer":
            industry = "C3976"
        else:
            trap_firms[role] = i
        st = registry.tracked_state(base, i, industry)
        if st["established"] > date(2018, 12, 31):  # firms with a role predate it
            st["established"] = date(2015, 10, 1) + timedelta(days=(st["established"] - date(2015, 10, 1)).days % 1100)
        states = [dict(st, former_names=list(st["former_names"])) for _ in range(S)]
        firms[i] = registry.TrackedFirm(index=i, roles=list(roles), uscc=st["uscc"], states=states)
    trap_firms["grid_customer"] = next(i for i in firms if firms[i].roles == ["grid_customer"])

    # investors of projects (data-center projects: the center's operator)
    op_firm_of_center = {c.index: operators[ordinal_of_center[c.index]] for c in centers}
    for c in centers:
        c.operator = op_firm_of_center[c.index]
    inv_cycle = 0
    for p in projects_spec:
        if p["industry"] == "数据中心" and p["center_code"]:
            cidx = int(p["center_code"][-3:]) - 1
            p["investor"] = op_firm_of_center[cidx]
        else:
            p["investor"] = investors[inv_cycle % len(investors)]
            inv_cycle += 1
    # trap investors
    by_mode = {}
    for p in projects_spec:
        if p["investor_mode"] != "uscc":
            by_mode[p["investor_mode"]] = p
    renamed = by_mode["former_name"]["investor"]
    trap_firms["renamed"] = renamed
    trap_firms["named_investor"] = by_mode["name"]["investor"]
    by_mode["unresolved"]["investor"] = None
    for p in projects_spec:  # the renamed / named firms invest only in their trap project
        if p["investor_mode"] == "uscc" and p["investor"] in (renamed, trap_firms["named_investor"]):
            p["investor"] = investors[(investors.index(p["investor"]) + 1) % len(investors)]
            if p["investor"] in (renamed, trap_firms["named_investor"]):
                p["investor"] = investors[(investors.index(p["investor"]) + 1) % len(investors)]
    # industries of investors follow their projects
    for p in projects_spec:
        i = p["investor"]
        if i is None or "operator" in firms[i].roles:
            continue
        code = {"电子信息制造业": ["C3911", "C3912", "C3921", "C3973", "C3981"],
                "软件和信息技术服务业": ["I6510", "I6513", "I6531", "I6540", "I6560"],
                "其他": ["D4420", "L7212", "F5179", "E4710"]}[p["industry"]]
        cc = hpick(code, seed, "invind", i)
        for s in firms[i].states:
            s["industry_code"] = cc

    _script_firm_changes(firms, trap_firms, operators, investors, S, seed, cal.snapshots)

    # ---- accounts ------------------------------------------------------------------------
    used: set[str] = set()
    accounts: list[Account] = []
    for c in centers:
        if c.t_build >= NEVER:
            continue
        n_acc = max(1, min(cfg.max_accounts_per_center, math.ceil(c.racks_designed / cfg.racks_per_account)))
        op_name = firms[c.operator].first_name
        for a in range(n_acc):
            if a and c.t_op >= NEVER:
                break  # the other accounts come with operation
            num = _account_number(seed, f"{c.code}-{a}", used)
            kva = round(c.racks_designed * c.rack_kw * 1.5 / n_acc / 0.9, -2) if a or c.t_op < NEVER else 1250
            acc = Account(number=num, name=op_name if a == 0 else f"{op_name}（{a + 1}号站）", center=c.index,
                          t_from=c.t_build if a == 0 else c.t_op, weight=0.7 + 0.6 * hrand(seed, "w", num),
                          contract_kva=int(max(kva, 1250)), construction=(a == 0))
            c.accounts.append(acc)
            accounts.append(acc)
    for u in range(cfg.n_unclaimed_accounts):
        num = _account_number(seed, f"unclaimed-{u}", used)
        owner = firms[trap_firms["grid_customer"]].first_name if u == 0 else \
            names.firm_name(n_tracked + 17 * u + 3)
        accounts.append(Account(number=num, name=owner, center=None, t_from=-99, weight=1.0,
                                contract_kva=hint(2, 8, seed, "ukva", u) * 1000))

    for p in projects_spec:
        brand = names.firm_brand(p["investor"]) if p["investor"] is not None else "未来数智"
        p["name"] = brand + p["name"]
    projects = [Project(cal=cal, seed=seed, **p) for p in projects_spec]
    econ_firms = sorted(set(operators) | {p.investor for p in projects if p.investor is not None} | set(econ_extra))
    return World(cfg=cfg, cal=cal, seed=seed, centers=centers, accounts=accounts, projects=projects, firms=firms,
                  n_tracked=n_tracked, econ_firms=econ_firms, operators=operators,
                  trap_firms=trap_firms, shift=shift)


def _script_firm_changes(firms, trap_firms, operators, investors, S, seed, snapshots) -> None:
    """Scripted registry history of tracked firms (the traps and a few ordinary changes)."""
    def from_k(i, k, **changes):
        for s in firms[i].states[k:]:
            if s is not None:
                s.update(changes)

    # rename at the third snapshot
    r = trap_firms["renamed"]
    old = names.firm_name(r, 0)
    from_k(r, 2, name=names.firm_name(r, 1), name_version=1, former_names=[old])
    # form-only differences
    f = trap_firms["form_only"]
    for s in firms[f].states:
        s.update(capital_wan=8000, currency="CNY", industry_code="I6550", status="存续")
    firms[f].row_forms = {
        0: {"halfwidth_brackets": False, "zaiye": False, "industry_letter": "with", "capital_form": 0},
        1: {"halfwidth_brackets": True, "zaiye": True, "industry_letter": "without", "capital_form": 1,
            "trailing_space": True},
        2: {"halfwidth_brackets": False, "zaiye": True, "industry_letter": "with", "capital_form": 2},
        3: {"halfwidth_brackets": True, "zaiye": False, "industry_letter": "without", "capital_form": 1},
    }
    # deregistered, then gone from the third snapshot
    d = trap_firms["disappears"]
    from_k(d, 1, status="注销")
    for k in range(2, S):
        firms[d].states[k] = None
    # bad check character / old registration number (refused in every snapshot)
    b = trap_firms["bad_check"]
    firms[b].uscc = codes.corrupt_check_char(firms[b].uscc)
    firms[b].reject_reason = "invalid_uscc"
    o = trap_firms["old_reg"]
    firms[o].uscc = codes.old_registration_number(firms[o].states[0]["uscc"][2:8], 10_000 + o)
    firms[o].reject_reason = "old_registration_number"
    for s in firms[o].states:
        s.update(status="吊销")
    # two rows with one uscc in the last snapshot only
    u = trap_firms["dup_uscc"]
    firms[u].uscc = codes.make_uscc(firms[u].states[0]["uscc"][2:8], codes.org_body(u, True))  # a new firm
    for k in range(S - 1):
        firms[u].states[k] = None
    firms[u].duplicate_in = {S - 1}
    firms[u].states[S - 1]["established"] = snapshots[-2] + timedelta(days=17)
    for fi in (b, o, u):
        for s in firms[fi].states:
            if s is not None:
                s["uscc"] = firms[fi].uscc
    # ordinary changes: legal representative, capital increase, address
    from_k(operators[0], 1, legal_rep=names.person_name(int(hrand(seed, "newrep") * names.PERSON_SPACE)))
    cap = firms[operators[1]].states[0]
    from_k(operators[1], 2, capital_wan=cap["capital_wan"] * 2)
    inv = investors[3 % len(investors)]
    if inv not in (trap_firms["renamed"], trap_firms["named_investor"]):
        addr = firms[inv].states[0]["address"]
        from_k(inv, S - 1, address=addr.replace("号", "号附1号"))


def _project_specs(cfg, cal, seed, shift, centers) -> list[dict]:
    n = cfg.n_months
    specs = []
    dc_centers = [c for c in centers if c.t_list < NEVER]
    for i in range(cfg.n_projects):
        industry = names.INDUSTRIES[i % 4]
        subject = names.PROMOTION_SUBJECTS[i % 5]
        method = names.PROMOTION_METHODS[(i + i // 5) % 5]
        final_stage = (i * 3 + i // 4) % 4 if i < 30 else int(hrand(seed, "fst", i) * 4)
        dur = hint(6, 18, seed, "pdur", i)
        if final_stage == 3:
            t_prod = hint(-18, n - 1, seed, "tprod", i)
            t_start = t_prod - dur
        elif final_stage == 2:
            t_prod = NEVER
            t_start = hint(-12, n - 1, seed, "tstart", i)
        else:
            t_prod = t_start = NEVER
        if final_stage >= 2:
            t_sign = t_start - hint(1, 6, seed, "tsign", i)
        elif final_stage == 1:
            t_sign = hint(-6, n - 1, seed, "tsign1", i)
        else:
            t_sign = NEVER
        anchor = t_sign if t_sign < NEVER else hint(-6, n - 2, seed, "tl0", i)
        t_list = anchor - hint(1, 6, seed, "tlist", i) if t_sign < NEVER else anchor
        if industry == "数据中心":
            inv = hint(50_000, 500_000, seed, "pinv", i)
        elif industry == "电子信息制造业":
            inv = hint(10_000, 200_000, seed, "pinv", i)
        elif industry == "软件和信息技术服务业":
            inv = hint(2_000, 30_000, seed, "pinv", i)
        else:
            inv = hint(5_000, 80_000, seed, "pinv", i)
        inv = inv // 100 * 100
        center_code = None
        if industry == "数据中心":
            c = dc_centers[(i // 4) % len(dc_centers)]
            center_code = c.code
            park = c.park
        else:
            park = hpick(names.PARKS[: max(4, min(len(names.PARKS), cfg.n_centers // 30 + 4))], seed, "ppark", i)
        year = cal.month(max(t_list, 0)).year
        kind = hpick(names.PROJECT_KINDS[industry], seed, "pkind", i)
        mode = {1: "name", 3: "former_name", 5: "unresolved"}.get(i, "uscc")
        if mode == "uscc" and hrand(seed, "noscc", i) < 0.08:
            mode = "name_only_ok"
        specs.append(dict(
            index=i, code=f"ZS{year}{i + 1:04d}", name="", investor=None, investor_mode=mode, industry=industry,
            subject=subject, method=method, park=park, unit=hpick(names.RESPONSIBLE_UNITS, seed, "punit", i),
            center_code=center_code, t_list=t_list, t_sign=t_sign, t_start=t_start, t_prod=t_prod,
            invest_wan=inv, duration=dur, _kind=kind,
        ))
    for p in specs:
        p["name"] = p.pop("_kind")  # prefixed with the investor brand later
    return specs


# ----------------------------------------------------------------------------------------------
# economics and plans

def econ_values(w: World, firm: int, q_index: int) -> tuple[int, int, int]:
    """(revenue CNY, tax CNY, employees) of a firm in a quarter; money in whole 0.01 万元 (100 CNY)."""
    seed = w.seed
    u_rev, u_gr, u_tr = hrands(3, seed, "econ", firm)
    u_noise, u_emp = hrands(2, seed, "econq", firm, q_index)
    ops = w.__dict__.get("_operator_set")
    if ops is None:
        ops = w._operator_set = set(w.operators)
    base = 3_000 + 40_000 * u_rev if firm in ops else 200 + 15_000 * u_rev ** 2
    q = w.cal.quarters[q_index]
    season = 1.12 if q.month == 10 else 0.92 if q.month == 1 else 1.0
    growth = (1 + 0.01 + 0.03 * u_gr) ** q_index
    noise = 0.95 + 0.1 * u_noise
    rev_wan_cents = int(base * season * growth * noise * 100)  # 0.01 万元 = 100 CNY
    tax_wan_cents = int(rev_wan_cents * (0.03 + 0.05 * u_tr))
    employees = int(20 + base / 20 * (0.9 + 0.2 * u_emp))
    return rev_wan_cents * 100, tax_wan_cents * 100, employees


def plan_targets(w: World, c: Center, year: int) -> dict:
    """Targets of one center for one plan year (canonical units)."""
    seed = w.seed
    t_dec = w.cal.t_of(date(year, 12, 1))
    t_prev = t_dec - 12
    behind = c.plan_behind
    in_use = c.racks_in_use(t_dec) or 0
    built = c.racks_built(t_dec) or 0
    out: dict = {}
    if built:
        if in_use and behind:
            target = max(in_use + 1, round(built * 0.97))
        elif in_use:
            target = max(1, round(in_use * (0.9 + 0.1 * hrand(seed, "tr", c.code, year))))
        else:
            target = round(built * 0.3)
        out["target_racks_in_use"] = target
        out["target_rack_utilization"] = round(min(0.95, out["target_racks_in_use"] / built), 2)
    else:
        out["target_racks_in_use"] = None
        out["target_rack_utilization"] = None
    if c.status(t_dec) == "运营" or c.t_op <= t_dec:
        p = c.pue_base + 0.02
        out["target_pue"] = round(p - 0.1, 2) if (behind and c.index != 1) or c.index == 3 else round(p + 0.05, 2)
        gen, ai, hpc = c.compute(t_dec)
        tot = sum(x for x in (gen, ai, hpc) if x)
        out["target_compute_pflops"] = round(tot * 1.05, 2) if tot else None
    else:
        out["target_pue"] = None
        out["target_compute_pflops"] = None
    inv_dec, inv_prev = c.invested_wan(t_dec), c.invested_wan(t_prev)
    delta = (inv_dec or 0) - (inv_prev or 0)
    if delta > 0:
        f = 2.5 if behind else 0.85 + 0.1 * hrand(seed, "ti", c.code, year)
        out["target_investment_cny"] = max(10, int(delta * f) // 10 * 10) * 10000
    else:
        out["target_investment_cny"] = None
    out["target_operation_date"] = c.planned_op_date if c.t_op > w.cal.t_of(date(year, 1, 1)) else None
    out["responsible_unit"] = hpick(names.RESPONSIBLE_UNITS[:5], seed, "pu", c.code)
    out["measures"] = "；".join(sorted({hpick(names.MEASURES, seed, "m1", c.code, year),
                                      hpick(names.MEASURES, seed, "m2", c.code, year)}))
    return out
