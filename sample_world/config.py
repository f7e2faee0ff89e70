"""Scale presets and the calendar of the sample.

What belongs here: how big a generated inbox is (``ScaleConfig``, from ``scale=None`` -> the small
bundled sample up to ``scale=1`` -> a province), and which report months, quarters, registry
snapshot dates and plan years it covers (``Calendar``). No file writing, no randomness.
"""
from __future__ import annotations

import calendar as _cal
import math
from dataclasses import dataclass, field
from datetime import date

END_MONTH = date(2025, 6, 1)
DEFAULT_SEED = 20240101


def add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


def month_end(d: date) -> date:
    return date(d.year, d.month, _cal.monthrange(d.year, d.month)[1])


def quarter_start(d: date) -> date:
    return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)


@dataclass(frozen=True)
class ScaleConfig:
    """Sizes of one generated inbox."""

    label: str
    scale: float | None
    n_centers: int
    n_months: int
    n_projects: int
    n_firms: int  # registry firms per snapshot (approximately)
    n_econ_firms: int  # firms with economic indicators (at least the operators and investors)
    max_accounts_per_center: int
    racks_per_account: int
    n_unclaimed_accounts: int
    n_snapshots: int = 4
    chunk_rows: int = 65_536
    truth_firms_limit: int = 40_000  # above this many registry rows per snapshot, truth keeps tracked firms only
    constant_memory_rows: int = 5_000  # xlsx sheets with more data rows use xlsxwriter constant_memory


def resolve_scale(scale: float | str | None) -> ScaleConfig:
    """``None``/``"sample"``/``"default"``: the bundled sample. A number: toward a province at 1.
    A ``ScaleConfig`` is returned as is (tests use it for odd sizes, e.g. a small chunk size)."""
    if isinstance(scale, ScaleConfig):
        return scale
    if scale is None or (isinstance(scale, str) and scale.lower() in {"sample", "default"}):
        return ScaleConfig(label="sample", scale=None, n_centers=12, n_months=18, n_projects=30, n_firms=60,
                           n_econ_firms=0, max_accounts_per_center=3, racks_per_account=2000,
                           n_unclaimed_accounts=1)
    s = float(scale)
    if not (0 < s <= 1.5):
        raise ValueError("scale must be in (0, 1.5]")
    return ScaleConfig(
        label=f"scale-{s:g}",
        scale=s,
        n_centers=max(12, round(300 * s)),
        n_months=min(60, max(18, round(18 + 42 * math.sqrt(min(s, 1.0))))),
        n_projects=max(30, round(2000 * s)),
        n_firms=max(60, round(1_000_000 * s)),
        n_econ_firms=max(40, round(5000 * s)),
        max_accounts_per_center=12,
        racks_per_account=330,
        n_unclaimed_accounts=max(1, round(30 * s)),
    )


@dataclass(frozen=True)
class Calendar:
    """Report months, quarters, registry snapshot dates and plan years of a sample."""

    months: tuple[date, ...]
    quarters: tuple[date, ...] = field(default=())
    snapshots: tuple[date, ...] = field(default=())
    plan_years: tuple[int, ...] = field(default=())

    @classmethod
    def build(cls, cfg: ScaleConfig) -> Calendar:
        months = tuple(add_months(END_MONTH, -(cfg.n_months - 1) + i) for i in range(cfg.n_months))
        mset = set(months)
        quarters = tuple(m for m in months if m.month in (1, 4, 7, 10)
                         and add_months(m, 2) in mset)
        nq = len(quarters)
        picks = sorted({round(j * (nq - 1) / (cfg.n_snapshots - 1)) for j in range(cfg.n_snapshots)})
        snapshots = tuple(month_end(add_months(quarters[p], 2)) for p in picks)
        years = sorted({m.year for m in months})
        plan_years = tuple(y for y in years if sum(1 for m in months if m.year == y) >= 6)
        return cls(months=months, quarters=quarters, snapshots=snapshots, plan_years=plan_years)

    def t_of(self, d: date) -> int:
        """Month index (0 = first report month) of any date; may be negative or beyond the window."""
        m0 = self.months[0]
        return (d.year - m0.year) * 12 + d.month - m0.month

    def month(self, t: int) -> date:
        return add_months(self.months[0], t)
