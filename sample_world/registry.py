"""The enterprise registry of the sample: firms, their history across snapshots, the snapshot files.

What belongs here:
- ``base_attributes``: the attributes of firm ``i`` (numpy, by fixed blocks of the index space, so a
  firm's attributes do not depend on how the work is chunked).
- tracked firms (``TrackedFirm``): the few firms the bureau files refer to (operators, investors,
  firms with economic indicators) plus the trap firms; their per-snapshot canonical states are built
  in Python with scripted changes (rename, form-only difference, disappearance, ...).
- bulk firms: the remaining firms of a snapshot (up to a million), generated and written in chunks
  with a vectorised random change model (rename, status, legal representative, capital, address,
  industry), so version counts can be stated without holding them.
- ``write_snapshot``: one snapshot file (csv in a given encoding, or jsonl with Chinese keys).
- ``derive_versions``: the expected type-2 versions from canonical snapshot states.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import os
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import codes, names
from .textforms import norm_text, to_fullwidth

BLOCK = 4096
EST_BASE = date(1995, 1, 1)
EST_SPAN = (date(2019, 12, 31) - EST_BASE).days  # firms present from the first snapshot
NEW_STYLE_FROM = (date(2015, 10, 1) - EST_BASE).days
CAPITAL_WAN = np.array([10, 50, 100, 200, 300, 500, 800, 1000, 2000, 3000, 5000, 8000, 10000, 20000, 50000])
CAPITAL_USD_WAN = np.array([50, 100, 200, 500, 1000, 3000])
FIRM_TYPE_P = np.array([0.42, 0.14, 0.16, 0.12, 0.06, 0.03, 0.07])
CHANGE_KINDS = ["name", "status", "legal", "capital", "address", "industry"]
CHANGE_P = np.array([0.12, 0.15, 0.30, 0.15, 0.20, 0.08])
P_CHANGE = 0.03
P_LATE_APPEAR = 0.03
P_DISAPPEAR = 0.015
LEGAL_STEP = 7919
CANONICAL_FIELDS = ["uscc", "name", "former_names", "legal_rep", "registered_capital", "established", "status",
                    "firm_type", "industry_code", "address", "authority"]
ALIASES = {
    "uscc": ["统一社会信用代码"],
    "name": ["企业名称"],
    "former_names": ["曾用名"],
    "legal_rep": ["法定代表人"],
    "registered_capital": ["注册资本"],
    "established": ["成立日期"],
    "status": ["登记状态", "经营状态"],
    "firm_type": ["企业类型"],
    "industry_code": ["行业代码", "国标行业"],
    "address": ["注册地址", "住所"],
    "authority": ["登记机关"],
}
SNAPSHOT_ALIAS = "快照日期"
EXTRA_HEADER = "数据来源"
EXTRA_VALUE = "市场监管数据共享平台"
DATE_FORMS = ["iso", "slash", "cn", "dot", "yyyymmdd"]


# ----------------------------------------------------------------------------------------------
# base attributes

def _block(seed: int, b: int, snapshots: tuple[date, ...]) -> dict[str, np.ndarray]:
    n_snapshots = len(snapshots)
    rng = np.random.default_rng([seed, 11, b])
    n = BLOCK
    idx = np.arange(b * BLOCK, (b + 1) * BLOCK, dtype=np.int64)
    out = {"index": idx}
    out["est_days"] = (rng.random(n) ** 0.6 * EST_SPAN).astype(np.int32)
    est_u = rng.random(n)
    out["firm_type"] = rng.choice(len(FIRM_TYPE_P), size=n, p=FIRM_TYPE_P).astype(np.int8)
    out["industry"] = rng.integers(0, len(names.INDUSTRY_CODES), n, dtype=np.int8)
    out["legal"] = rng.integers(0, names.PERSON_SPACE, n, dtype=np.int32)
    out["usd"] = rng.random(n) < 0.04
    out["cap"] = np.where(out["usd"], CAPITAL_USD_WAN[rng.integers(0, len(CAPITAL_USD_WAN), n)],
                          CAPITAL_WAN[rng.integers(0, len(CAPITAL_WAN), n)]).astype(np.int32)
    out["road"] = rng.integers(0, len(names.ROADS), n, dtype=np.int8)
    out["num"] = rng.integers(1, 300, n, dtype=np.int16)
    s = n_snapshots
    late = rng.random(n) < P_LATE_APPEAR
    out["appear"] = np.where(late, rng.integers(1, max(2, s), n), 0)
    gone = rng.random(n) < P_DISAPPEAR
    span = s - out["appear"]  # >= 1
    later = out["appear"] + 1 + (rng.integers(0, 1 << 30, n) % np.maximum(span - 1, 1))
    out["disappear"] = np.where(gone & (span > 1), later, s)
    out["changed"] = rng.random((s, n)) < P_CHANGE
    out["changed"][0] = False
    out["kind"] = rng.choice(len(CHANGE_KINDS), size=(s, n), p=CHANGE_P).astype(np.int8)
    # firms appearing in a later snapshot were established since the snapshot before
    snap_days = np.array([(d - EST_BASE).days for d in snapshots], dtype=np.int64)
    k = out["appear"]
    lo = snap_days[np.maximum(k - 1, 0)] + 1
    hi = snap_days[k]
    out["est_days"] = np.where(k > 0, lo + (est_u * (hi - lo)).astype(np.int64), out["est_days"]).astype(np.int32)
    out["appear"] = out["appear"].astype(np.int8)
    out["disappear"] = out["disappear"].astype(np.int8)
    return out


_BASE_CACHE: dict[tuple, dict] = {}
_BASE_CACHE_ROWS = 2_500_000  # keep the bulk attributes of up to this many firms between snapshot jobs


def cached_base_attributes(seed: int, lo: int, hi: int, snapshots: tuple[date, ...]) -> dict[str, np.ndarray]:
    """:func:`base_attributes`, kept in memory between the snapshot jobs run by one process."""
    key = (seed, lo, hi, tuple(snapshots))
    if key not in _BASE_CACHE:
        if sum(v["index"].shape[0] for v in _BASE_CACHE.values()) + hi - lo > _BASE_CACHE_ROWS:
            _BASE_CACHE.clear()
        _BASE_CACHE[key] = base_attributes(seed, lo, hi, snapshots)
    return _BASE_CACHE[key]


def base_attributes(seed: int, lo: int, hi: int, snapshots: tuple[date, ...]) -> dict[str, np.ndarray]:
    """Attributes of firms ``lo..hi-1`` (independent of chunking)."""
    parts = [_block(seed, b, tuple(snapshots)) for b in range(lo // BLOCK, (hi - 1) // BLOCK + 1)]
    start = lo - (lo // BLOCK) * BLOCK
    out = {}
    for k in parts[0]:
        axis = 1 if parts[0][k].ndim == 2 else 0
        arr = np.concatenate([p[k] for p in parts], axis=axis)
        out[k] = arr[:, start:start + hi - lo] if axis == 1 else arr[start:start + hi - lo]
    r, *_ = names.firm_name_parts_array(out["index"] * names.NAME_VERSIONS)
    out["region"] = r
    out["new_style"] = out["est_days"] >= NEW_STYLE_FROM
    region_codes = np.array([int(x[1]) for x in names.REGIONS])
    out["uscc"] = codes.uscc_array(out["index"], region_codes[r], out["new_style"])
    return out


def _capital_wan(cap: int, usd: bool, changes: int) -> tuple[int, str]:
    return int(cap) * (2 ** changes), "USD" if usd else "CNY"


def _address(region: int, road: int, num: int) -> str:
    prefix = names.REGIONS[region][3]
    road_name = names.ROADS[road] if region < names.N_LOCAL_REGIONS else names.ROADS[road].replace("大道", "路")
    return f"{prefix}{road_name}{num}号"


def _addr_num(num: int, changes: int) -> int:
    return (int(num) - 1 + 13 * changes) % 299 + 1


# ----------------------------------------------------------------------------------------------
# tracked firms

@dataclass
class TrackedFirm:
    index: int
    roles: list[str]
    uscc: str
    states: list[dict | None]  # canonical state per snapshot (None: absent)
    row_forms: dict[int, dict] = field(default_factory=dict)  # snapshot -> forced rendering choices
    duplicate_in: set[int] = field(default_factory=set)  # snapshots where the row appears twice
    reject_reason: str | None = None  # invalid_uscc / old_registration_number: refused in every snapshot

    def name_at(self, k: int) -> str:
        for j in range(min(k, len(self.states) - 1), -1, -1):
            if self.states[j]:
                return self.states[j]["name"]
        return next(s for s in self.states if s)["name"]

    @property
    def first_name(self) -> str:
        return next(s for s in self.states if s)["name"]

    @property
    def last_name(self) -> str:
        return [s for s in self.states if s][-1]["name"]


def tracked_state(base: dict[str, np.ndarray], j: int, industry_code: str | None = None) -> dict:
    i = int(base["index"][j])
    region = int(base["region"][j])
    amount, currency = _capital_wan(base["cap"][j], bool(base["usd"][j]), 0)
    return {
        "uscc": base["uscc"][j].decode("ascii"),
        "name": names.firm_name(i, 0),
        "name_version": 0,
        "former_names": [],
        "legal_rep": names.person_name(int(base["legal"][j])),
        "capital_wan": amount,
        "currency": currency,
        "established": EST_BASE + timedelta(days=int(base["est_days"][j])),
        "status": "存续",
        "firm_type": names.FIRM_TYPES[int(base["firm_type"][j])],
        "industry_code": industry_code or names.INDUSTRY_CODES[int(base["industry"][j])],
        "address": _address(region, int(base["road"][j]), int(base["num"][j])),
        "authority": names.REGIONS[region][2],
    }


# ----------------------------------------------------------------------------------------------
# snapshot file style

@dataclass
class RegistryStyle:
    fmt: str  # csv / jsonl
    encoding: str  # utf-8, utf-8-sig, gb18030
    columns: list[str]  # canonical keys in file order (+ 'snapshot' / 'extra')
    headers: dict[str, str]
    p_zaiye: float  # share of active firms written 在业 instead of 存续
    industry_letter: str  # 'with', 'without', 'mixed'
    capital_forms: list[int]  # 0: 5000万人民币, 1: 5,000万元, 2: 5000万元
    date_forms: list[str]
    halfwidth_brackets: bool
    former_sep: str
    missing_markers: bool
    fullwidth: bool
    snapshot_value: str | None = None


def make_style(k: int, fmt: str, encoding: str, variations: frozenset[str], rng: random.Random) -> RegistryStyle:
    cols = list(CANONICAL_FIELDS)
    if "snapshot_date_column" in variations:
        cols.insert(0, "snapshot")
    if "extra_column" in variations:
        cols.append("extra")
    if "shuffled_columns" in variations:
        head, tail = cols[:3], cols[3:]
        rng.shuffle(tail)
        cols = head + tail
    headers = {key: rng.choice(al) for key, al in ALIASES.items()}
    headers["snapshot"] = SNAPSHOT_ALIAS
    headers["extra"] = EXTRA_HEADER
    return RegistryStyle(
        fmt=fmt, encoding=encoding, columns=cols, headers=headers,
        p_zaiye=[0.0, 1.0, 0.5, 0.0][k % 4],
        industry_letter=["with", "without", "mixed", "with"][k % 4],
        capital_forms=[[0], [1], [0, 1, 2], [2, 0]][k % 4],
        date_forms=DATE_FORMS if "mixed_date_forms" in variations else [["iso", "slash", "cn", "iso"][k % 4]],
        halfwidth_brackets=(k % 2 == 1),
        former_sep=["；", ";", "、", "；"][k % 4],
        missing_markers="missing_markers" in variations,
        fullwidth="fullwidth" in variations,
    )


def _thousands(n: int) -> str:
    return f"{n:,}"


def _capital_text(amount: int, currency: str, form: int) -> str:
    if currency == "USD":
        return f"{_thousands(amount) if form == 1 else amount}万美元"
    return [f"{amount}万人民币", f"{_thousands(amount)}万元", f"{amount}万元"][form]


def _date_text(d: date, form: str) -> str:
    return {"iso": f"{d:%Y-%m-%d}", "slash": f"{d.year}/{d.month}/{d.day}", "cn": f"{d.year}年{d.month}月{d.day}日",
            "dot": f"{d.year}.{d.month}.{d.day}", "yyyymmdd": f"{d:%Y%m%d}"}[form]


def render_state(state: dict, style: RegistryStyle, rng: random.Random,
                 forced: dict | None = None) -> tuple[dict, dict]:
    """(file cells by canonical key, what the reader must recover: the raw-layer values)."""
    forced = forced or {}
    name = state["name"]
    if forced.get("halfwidth_brackets", style.halfwidth_brackets):
        name = name.replace("（", "(").replace("）", ")")
    if forced.get("trailing_space"):
        name = name + "\u3000"
    status = state["status"]
    if status == "存续":
        zaiye = forced.get("zaiye", rng.random() < style.p_zaiye)
        status = "在业" if zaiye else "存续"
    code = state["industry_code"]
    letter = forced.get("industry_letter", style.industry_letter)
    if letter == "without" or (letter == "mixed" and rng.random() < 0.5):
        code = code[1:]
    form = forced.get("capital_form", rng.choice(style.capital_forms))
    capital = _capital_text(state["capital_wan"], state["currency"], form)
    est = _date_text(state["established"], rng.choice(style.date_forms))
    address = state["address"]
    if style.fullwidth and rng.random() < 0.2:
        address = to_fullwidth(address)
    former = style.former_sep.join(state["former_names"]) if state["former_names"] else None
    if former is None and style.missing_markers and rng.random() < 0.3:
        former_cell = rng.choice(["无", "—", "/"])
    else:
        former_cell = former
    firm_type = state["firm_type"]
    if style.halfwidth_brackets:
        firm_type = firm_type.replace("（", "(").replace("）", ")")
    cells = {"uscc": state["uscc"], "name": name, "former_names": former_cell, "legal_rep": state["legal_rep"],
             "registered_capital": capital, "established": est, "status": status, "firm_type": firm_type,
             "industry_code": code, "address": address, "authority": state["authority"],
             "snapshot": style.snapshot_value, "extra": EXTRA_VALUE}
    return cells, canonical_row(state, code)


def canonical_row(state: dict, code_as_written: str | None = None) -> dict:
    """A registry row as the raw layer holds it (NFKC text, 在业 -> 存续, capital in units)."""
    mult = Decimal(10000)
    return {
        "uscc": state["uscc"],
        "name": norm_text(state["name"]),
        "former_names": [norm_text(n) for n in state["former_names"]],
        "legal_rep": state["legal_rep"],
        "registered_capital_amount": float(Decimal(state["capital_wan"]) * mult),
        "registered_capital_currency": state["currency"],
        "established": state["established"],
        "status": state["status"],
        "firm_type": norm_text(state["firm_type"]),
        "industry_code": code_as_written or state["industry_code"],
        "industry_code_canonical": state["industry_code"],
        "address": norm_text(state["address"]),
        "authority": state["authority"],
    }


# ----------------------------------------------------------------------------------------------
# bulk firms, vectorised

def bulk_states(base: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    """Canonical attribute codes of bulk firms at snapshot ``k`` (all firms; ``present`` masks)."""
    # only changes after the firm first appears count (a new firm starts from its base attributes)
    after = np.arange(k + 1)[:, None] > base["appear"][None, :]
    changed = base["changed"][: k + 1] & after
    kinds = base["kind"][: k + 1]
    counts = {kind: ((changed & (kinds == j)).sum(axis=0)) for j, kind in enumerate(CHANGE_KINDS)}
    present = (base["appear"] <= k) & (k < base["disappear"])
    return {"present": present, **{f"c_{kk}": v for kk, v in counts.items()}}


def bulk_version_counts(base: dict[str, np.ndarray], n_snapshots: int) -> tuple[int, int, np.ndarray]:
    """(number of type-2 versions, number current, versions per firm) of bulk firms."""
    appear, disappear = base["appear"], base["disappear"]
    versions = np.ones(len(appear), dtype=np.int64)
    for k in range(1, n_snapshots):
        both = (appear <= k - 1) & (k < disappear)
        versions += both & base["changed"][k]
    current = int((disappear >= n_snapshots).sum())
    return int(versions.sum()), current, versions


# ---- string pools (built once per encoding) -------------------------------------------------
# Pools hold every string a column can take, already encoded in the file's encoding (binary), so a
# chunk is rendered with ``take`` + one join and its bytes come straight out of the Arrow buffer.

def _enc_array(strings: list[str], enc: str) -> pa.Array:
    return pa.array([x.encode(enc) for x in strings], pa.binary())


@functools.cache
def _pools(half: bool, enc: str) -> dict[str, pa.Array]:
    R = [x[0] for x in names.REGIONS]
    lb, rb = ("(", ")") if half else ("（", "）")
    ftypes = [t.replace("（", "(").replace("）", ")") for t in names.FIRM_TYPES] if half else names.FIRM_TYPES
    return {
        "prefix": _enc_array([r + a + b for r in R for a in names.BRAND_A for b in names.BRAND_B], enc),
        "suffix": _enc_array([t + f for t in names.TRADES for f in names.FORMS], enc),
        "brand_trade": _enc_array([a + b + t for a in names.BRAND_A for b in names.BRAND_B for t in names.TRADES],
                                  enc),
        "region_form": _enc_array([lb + r + rb + f for r in R for f in names.FORMS], enc),
        "firm_type": _enc_array(ftypes, enc),
    }


@functools.cache
def _static_pools(enc: str) -> dict[str, pa.Array]:
    n_days = (date(2026, 12, 31) - EST_BASE).days
    dates = []
    for dd in range(n_days):
        d = EST_BASE + timedelta(days=dd)
        y, m, day = d.year, d.month, d.day
        # the order of DATE_FORMS: iso, slash, cn, dot, yyyymmdd
        dates += [f"{y}-{m:02d}-{day:02d}", f"{y}/{m}/{day}", f"{y}年{m}月{day}日", f"{y}.{m}.{day}",
                  f"{y}{m:02d}{day:02d}"]
    streets = [_address(ri, j, 0)[:-2] for ri in range(len(names.REGIONS)) for j in range(len(names.ROADS))]
    return {
        "person": _enc_array([names.person_name(c) for c in range(names.PERSON_SPACE)], enc),
        "date": _enc_array(dates, enc),
        "street": _enc_array(streets, enc),
        "num": _enc_array([f"{i}号" for i in range(300)] + [to_fullwidth(f"{i}") + "号" for i in range(300)], enc),
        "status": _enc_array(["存续", "在业"] + names.INACTIVE_STATUSES, enc),
        "industry": _enc_array([c for code in names.INDUSTRY_CODES for c in (code, code[1:])], enc),
        "authority": _enc_array([x[2] for x in names.REGIONS], enc),
        "marks": _enc_array(["无", "—", "/"], enc),
    }


def _names_array(keys: np.ndarray, half: bool, enc: str) -> pa.Array:
    """Vectorised :func:`names.firm_name` for name keys (index * 4 + version), encoded."""
    r, a, b, t, f, br = names.firm_name_parts_array(keys)
    P = _pools(half, enc)
    nb, nt, nf = len(names.BRAND_B), len(names.TRADES), len(names.FORMS)
    ab = a * nb + b
    plain = pc.binary_join_element_wise(P["prefix"].take(pa.array(r * len(names.BRAND_A) * nb + ab)),
                                        P["suffix"].take(pa.array(t * nf + f)), b"")
    if not br.any():
        return plain
    brk = pc.binary_join_element_wise(P["brand_trade"].take(pa.array(ab * nt + t)),
                                      P["region_form"].take(pa.array(r * nf + f)), b"")
    return pc.if_else(pa.array(br), brk, plain)


def _capital_pool(amounts: np.ndarray, usd: np.ndarray, forms: np.ndarray, quote: bool, enc: str) -> pa.Array:
    """Registered-capital text of each row (form 0: 5000万人民币, 1: 5,000万元, 2: 5000万元)."""
    uniq, inv = np.unique(amounts, return_inverse=True)
    texts = []
    for a in uniq.tolist():
        for cur in ("CNY", "USD"):
            for f in range(3):
                t = _capital_text(a, cur, f)
                texts.append(f'"{t}"' if quote and "," in t else t)
    idx = inv.astype(np.int64) * 6 + usd.astype(np.int64) * 3 + forms
    return _enc_array(texts, enc).take(pa.array(idx))


def _noise(seed: int, k: int, lo: int, hi: int) -> np.ndarray:
    """Per-row uniforms (rows x 8) for the rendering noise of snapshot ``k``, drawn per fixed block
    so that the bytes written do not depend on the chunk size."""
    parts = [np.random.default_rng([seed, 12, k, b]).random((BLOCK, 8))
             for b in range(lo // BLOCK, (hi - 1) // BLOCK + 1)]
    start = lo - (lo // BLOCK) * BLOCK
    return np.concatenate(parts)[start:start + hi - lo]


def _file_encoding(style: RegistryStyle) -> str:
    return "utf-8" if style.fmt == "jsonl" or style.encoding in ("utf-8", "utf-8-sig") else style.encoding


def bulk_columns(base: dict[str, np.ndarray], k: int, style: RegistryStyle, seed: int, lo: int,
                 quote_csv: bool) -> tuple[dict[str, pa.Array], dict]:
    """File cells (binary, in the file's encoding, nullable) of the bulk firms present at snapshot
    ``k`` by column key, and the codes behind them (for the truth when it is small)."""
    enc = _file_encoding(style)
    st = bulk_states(base, k)
    m = st["present"]
    sel = {key: (v[..., m] if v.ndim == 1 else v[:, m]) for key, v in base.items()}
    cs = {key: v[m] for key, v in st.items() if key != "present"}
    n = int(m.sum())
    u = _noise(seed, k, lo, lo + len(m))[m]
    S = _static_pools(enc)
    idx = sel["index"]
    half = style.halfwidth_brackets
    # name and former names (computed only where there is one)
    v = np.minimum(cs["c_name"], names.NAME_VERSIONS - 1)
    name = _names_array(idx * names.NAME_VERSIONS + v, half, enc)
    renamed = np.nonzero(v >= 1)[0]
    if len(renamed):
        vr, ir = v[renamed], idx[renamed]
        f1 = _names_array(ir * names.NAME_VERSIONS + vr - 1, half, enc)
        f2 = _names_array(ir * names.NAME_VERSIONS + np.maximum(vr - 2, 0), half, enc)
        fr = pc.if_else(pa.array(vr >= 2), pc.binary_join_element_wise(f1, f2, style.former_sep.encode(enc)), f1)
        pos = np.full(n, -1, dtype=np.int64)
        pos[renamed] = np.arange(len(renamed))
        former = fr.take(pa.array(pos, mask=pos < 0))
    else:
        former = pa.nulls(n, pa.binary())
    if style.missing_markers:
        use = (v == 0) & (u[:, 1] < 0.3)
        marks = S["marks"].take(pa.array((u[:, 0] * 3).astype(np.int64)))
        former = pc.if_else(pa.array(use), marks, former)
    # status: 0 存续, 1 在业, 2.. inactive
    inactive = cs["c_status"] > 0
    status_code = np.where(inactive, 2 + (idx + cs["c_status"]) % 4, (u[:, 2] < style.p_zaiye).astype(np.int64))
    # legal representative, capital, address, industry, established
    legal = S["person"].take(pa.array((sel["legal"] + cs["c_legal"] * LEGAL_STEP) % names.PERSON_SPACE))
    amount = sel["cap"].astype(np.int64) * (2 ** cs["c_capital"])
    form = np.array(style.capital_forms)[(u[:, 3] * len(style.capital_forms)).astype(np.int64)]
    capital = _capital_pool(amount, sel["usd"], form, quote_csv, enc)
    region = sel["region"].astype(np.int64)
    num = (sel["num"].astype(np.int64) - 1 + 13 * cs["c_address"]) % 299 + 1
    fw = (u[:, 4] < 0.2) if style.fullwidth else np.zeros(n, dtype=bool)
    address = pc.binary_join_element_wise(S["street"].take(pa.array(region * len(names.ROADS) + sel["road"])),
                                          S["num"].take(pa.array(num + 300 * fw)), b"")
    ind_idx = (sel["industry"].astype(np.int64) + cs["c_industry"]) % len(names.INDUSTRY_CODES)
    if style.industry_letter == "with":
        no_letter = np.zeros(n, dtype=np.int64)
    elif style.industry_letter == "without":
        no_letter = np.ones(n, dtype=np.int64)
    else:
        no_letter = (u[:, 5] < 0.5).astype(np.int64)
    which = (u[:, 6] * len(style.date_forms)).astype(np.int64)
    date_form = np.array([DATE_FORMS.index(f) for f in style.date_forms])[which]
    cols = {
        "uscc": pa.array(sel["uscc"], pa.binary()),
        "name": name, "former_names": former, "legal_rep": legal, "registered_capital": capital,
        "established": S["date"].take(pa.array(sel["est_days"].astype(np.int64) * len(DATE_FORMS) + date_form)),
        "status": S["status"].take(pa.array(status_code)),
        "firm_type": _pools(half, enc)["firm_type"].take(pa.array(sel["firm_type"])),
        "industry_code": S["industry"].take(pa.array(ind_idx * 2 + no_letter)),
        "address": address, "authority": S["authority"].take(pa.array(region)),
    }
    codes_ = {"index": idx, "v": v, "ind_idx": ind_idx, "amount_wan": amount, "usd": sel["usd"],
              "est_days": sel["est_days"], "status_code": status_code, "encoding": enc}
    return cols, codes_


def encode_rows(cols: dict[str, pa.Array], style: RegistryStyle, n: int) -> bytes:
    """The rows' bytes in the file's encoding (csv lines or json lines), by Arrow joins."""
    enc = _file_encoding(style)
    const = {"snapshot": style.snapshot_value, "extra": EXTRA_VALUE}
    if style.fmt == "csv":
        pieces = [cols[c] if c in cols else (const[c] or "").encode(enc) for c in style.columns]
        if not any(isinstance(p_, pa.Array) for p_ in pieces):
            pieces[0] = pa.array([pieces[0]] * n, pa.binary())
        lines = pc.binary_join_element_wise(*pieces, b",", null_handling="replace", null_replacement=b"")
        lines = pc.binary_join_element_wise(lines, b"\n", b"")
    else:
        pieces = []
        for j, c in enumerate(style.columns):
            key = json.dumps(style.headers[c], ensure_ascii=False)
            pieces.append((("{" if j == 0 else ", ") + key + ": ").encode(enc))
            if c in cols:
                pieces.append(pc.binary_join_element_wise(b'"', cols[c], b'"', b""))
            else:
                pieces.append((f'"{const[c]}"' if const[c] is not None else "null").encode(enc))
        pieces.append(b"}\n")
        lines = pc.binary_join_element_wise(*pieces, b"", null_handling="replace", null_replacement=b"null")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset:lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]].tobytes()


def bulk_canonical_rows(codes_: dict, cols: dict[str, pa.Array], first_row_number: int, path: str,
                        snapshot: date) -> list[dict]:
    """Python rows of a (small) bulk chunk, in the shape of :func:`canonical_row`."""
    enc = codes_["encoding"]

    def strs(key: str) -> list:
        return [None if x is None else x.decode(enc) for x in cols[key].to_pylist()]

    names_, legal, ftypes, ind_w, addr, auth, usccs = (strs(k) for k in (
        "name", "legal_rep", "firm_type", "industry_code", "address", "authority", "uscc"))
    status_words = ["存续", "存续"] + names.INACTIVE_STATUSES
    out = []
    for j in range(len(usccs)):
        vv = int(codes_["v"][j])
        i = int(codes_["index"][j])
        former = [norm_text(names.firm_name(i, x)) for x in range(vv - 1, max(vv - 3, -1), -1)]
        out.append({
            "snapshot_date": snapshot, "path": path, "row_number": first_row_number + j, "tracked": False,
            "uscc": usccs[j], "name": norm_text(names_[j]), "former_names": former, "legal_rep": legal[j],
            "registered_capital_amount": float(int(codes_["amount_wan"][j]) * 10000),
            "registered_capital_currency": "USD" if codes_["usd"][j] else "CNY",
            "established": EST_BASE + timedelta(days=int(codes_["est_days"][j])),
            "status": status_words[int(codes_["status_code"][j])], "firm_type": norm_text(ftypes[j]),
            "industry_code": ind_w[j], "industry_code_canonical": names.INDUSTRY_CODES[int(codes_["ind_idx"][j])],
            "address": norm_text(addr[j]), "authority": auth[j],
        })
    return out


# ----------------------------------------------------------------------------------------------
# writing a snapshot

def _json_line(cells: dict, style: RegistryStyle) -> str:
    obj = {style.headers[c]: cells.get(c) for c in style.columns}
    return json.dumps(obj, ensure_ascii=False)


class SnapshotWriter:
    """Streams one snapshot file: header, tracked rows, then bulk chunks."""

    def __init__(self, path: str, style: RegistryStyle):
        self.style = style
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.fh = open(path, "wb")
        self.rows = 0  # data rows written
        if style.encoding == "utf-8-sig":
            self.fh.write(b"\xef\xbb\xbf")
        if style.fmt == "csv":
            self._write_text(self._csv_line([style.headers[c] for c in style.columns]))

    @property
    def next_row_number(self) -> int:
        return self.rows + (2 if self.style.fmt == "csv" else 1)

    def _enc(self) -> str:
        return "utf-8" if self.style.encoding in ("utf-8", "utf-8-sig") else self.style.encoding

    def _write_text(self, s: str) -> None:
        self.fh.write(s.encode(self._enc()))

    @staticmethod
    def _csv_line(values: list) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(["" if v is None else v for v in values])
        return buf.getvalue()

    def write_cells(self, cells: dict) -> int:
        """Write one row; returns its row number."""
        rn = self.next_row_number
        if self.style.fmt == "csv":
            self._write_text(self._csv_line([cells.get(c) for c in self.style.columns]))
        else:
            self._write_text(_json_line(cells, self.style) + "\n")
        self.rows += 1
        return rn

    def write_bulk(self, cols: dict[str, pa.Array], n: int) -> int:
        """Write a bulk chunk; returns the row number of its first row."""
        rn = self.next_row_number
        if n == 0:
            return rn
        self.fh.write(encode_rows(cols, self.style, n))  # already in the file's encoding
        self.rows += n
        return rn

    def close(self) -> None:
        self.fh.close()


# ----------------------------------------------------------------------------------------------
# type-2 versions

def _version_key(row: dict) -> tuple:
    code = row["industry_code_canonical"] or ""
    return (
        "".join((row["name"] or "").split()),
        row["status"],
        code[1:] if code[:1].isalpha() else code,
        row["legal_rep"],
        row["registered_capital_amount"], row["registered_capital_currency"],
        "".join((row["address"] or "").split()),
    )


def derive_versions(snapshots: list[date], rows_by_snapshot: list[dict[str, dict]]) -> list[dict]:
    """Expected dim_firm versions from accepted canonical rows (uscc -> row) per snapshot."""
    usccs = sorted({u for rows in rows_by_snapshot for u in rows})
    out = []
    for u in usccs:
        current: dict | None = None
        for k, snap in enumerate(snapshots):
            row = rows_by_snapshot[k].get(u)
            if row is None:
                if current is not None:
                    current["valid_to"] = snap
                    current["is_current"] = False
                    out.append(current)
                    current = None
                continue
            if current is not None and _version_key(row) == current["_key"]:
                continue
            if current is not None:
                current["valid_to"] = snap
                current["is_current"] = False
                out.append(current)
            current = {"uscc": u, "name": row["name"], "status": row["status"],
                       "is_active": row["status"] == "存续",
                       "industry_code": row["industry_code_canonical"],
                       "hard_soft": hard_soft(row["industry_code_canonical"]),
                       "legal_rep_masked": mask_name(row["legal_rep"]),
                       "registered_capital_amount": row["registered_capital_amount"],
                       "registered_capital_currency": row["registered_capital_currency"],
                       "address": row["address"], "valid_from": snap, "valid_to": None, "is_current": True,
                       "_key": _version_key(row)}
        if current is not None:
            out.append(current)
    for v in out:
        v.pop("_key", None)
    return out


def hard_soft(code: str | None) -> str | None:
    if not code:
        return None
    digits = code[1:] if code[:1].isalpha() else code
    return "hard" if digits[:2] == "39" else "soft" if digits[:2] == "65" else None


def mask_name(s: str | None) -> str | None:
    return None if not s else s[0] + "*" * (len(s) - 1)


# ----------------------------------------------------------------------------------------------
# one snapshot file

def write_snapshot(out_dir: str, relpath: str, k: int, snapshots: tuple[date, ...], style: RegistryStyle,
                   tracked: dict[int, TrackedFirm], n_tracked: int, n_bulk: int, seed: int, chunk_rows: int,
                   keep_bulk_rows: bool, col, rng: random.Random) -> dict:
    """Write snapshot ``k`` (tracked firms first, then the bulk firms chunk by chunk); report accepted
    canonical rows and refused rows to ``col``. Returns rows written / accepted / rejected and the
    bulk version totals (the same for every snapshot)."""
    S = len(snapshots)
    if style.snapshot_value is None and "snapshot" in style.columns:
        style.snapshot_value = snapshots[k].isoformat() if k % 2 else f"{snapshots[k]:%Y%m%d}"
    w = SnapshotWriter(os.path.join(out_dir, relpath), style)
    if "extra" in style.columns:
        col.warn(relpath, None, None, EXTRA_HEADER, None, "unknown_column")
    accepted: list[dict] = []
    rejected = 0
    for i in sorted(tracked):
        f = tracked[i]
        st = f.states[k]
        if st is None:
            continue
        copies = 2 if k in f.duplicate_in else 1
        for c in range(copies):
            state = dict(st, uscc=f.uscc)
            if c == 1:
                state["address"] = state["address"].replace("号", "号（分支）")
            cells, canon = render_state(state, style, rng, f.row_forms.get(k))
            rn = w.write_cells(cells)
            if f.reject_reason:
                col.reject(relpath, None, rn, f.reject_reason, f.uscc,
                           "USCC check character is wrong" if f.reject_reason == "invalid_uscc"
                           else "15-digit old registration number instead of a USCC")
                rejected += 1
            elif copies > 1:
                col.reject(relpath, None, rn, "duplicate_key_in_file", f.uscc, "USCC appears twice in the snapshot")
                rejected += 1
            else:
                accepted.append(dict(canon, snapshot_date=snapshots[k], path=relpath, row_number=rn, tracked=True,
                                     roles=list(f.roles)))
    bulk_versions, bulk_current = 0, 0
    for lo in range(n_tracked, n_tracked + n_bulk, chunk_rows):
        hi = min(n_tracked + n_bulk, lo + chunk_rows)
        base = cached_base_attributes(seed, lo, hi, snapshots)
        cols, codes_ = bulk_columns(base, k, style, seed, lo, quote_csv=style.fmt == "csv")
        n = len(cols["uscc"])
        rn = w.write_bulk(cols, n)
        if keep_bulk_rows:
            accepted.extend(bulk_canonical_rows(codes_, cols, rn, relpath, snapshots[k]))
        v, c, _ = bulk_version_counts(base, S)
        bulk_versions += v
        bulk_current += c
    w.close()
    col.registry_rows[k] = accepted
    return {"rows_written": w.rows, "rows_accepted": w.rows - rejected, "rows_rejected": rejected,
            "bulk_versions": bulk_versions, "bulk_current": bulk_current}
