"""``Truth``: what the generator meant, in canonical units, after the spec's supersession rules.

What belongs here: the ``Truth`` dataclass the tests compare the warehouse against, its JSON form,
and ``Collector``, the append-only sink the file writers report into while they write (every
data row with its file, sheet and row number, refused rows, warnings, 合计 rows). The generator
resolves the collected rows into the effective truth once delivery order is known.

Canonical units: money in CNY, energy in kWh, power in kW, compute in PFLOPS, ratios as fractions,
dates as ``datetime.date``, months as the first day of the month. Text as the reader holds it
(NFKC-normalised and trimmed). ``*_uscc`` is the code as written in the file (None when absent or
invalid), ``*_uscc_resolved`` the firm the warehouse should end up with (None: unresolved).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal


@dataclass
class Truth:
    seed: int
    scale: str
    months: list[date]
    quarters: list[date]
    snapshots: list[date]
    plan_years: list[int]
    centers: list[dict] = field(default_factory=list)  # static facts per center (intended)
    center_months: list[dict] = field(default_factory=list)  # effective ledger rows per center x month
    superseded_center_months: list[dict] = field(default_factory=list)  # rows of superseded files
    bills: list[dict] = field(default_factory=list)  # current bill per account x billing month
    superseded_bills: list[dict] = field(default_factory=list)
    projects_months: list[dict] = field(default_factory=list)
    firms: dict[str, list[dict]] = field(default_factory=dict)  # snapshot date (ISO) -> accepted rows
    firms_complete: bool = True  # False: ``firms``/``firm_versions`` hold tracked firms only
    firm_versions: list[dict] = field(default_factory=list)  # expected dim_firm rows
    firm_counts: dict = field(default_factory=dict)  # rows per snapshot, versions and current totals
    economics: list[dict] = field(default_factory=list)  # per uscc x quarter
    plans: list[dict] = field(default_factory=list)  # per center x plan year
    files: list[dict] = field(default_factory=list)  # every file written, in delivery order
    rejected_rows: list[dict] = field(default_factory=list)  # path, sheet, row_number, reason_code, key, message
    # row-level (unparsed_date) and file-level (row_number None: unknown_column, skipped_sheet) remarks
    warnings: list[dict] = field(default_factory=list)
    totals_rows: list[dict] = field(default_factory=list)  # 合计 rows written (sums in file and canonical units)
    account_owner: dict[str, str] = field(default_factory=dict)  # account -> center_code
    unclaimed_accounts: list[str] = field(default_factory=list)
    unresolved_names: list[dict] = field(default_factory=list)  # firm names that resolve to nothing
    traps: dict[str, dict] = field(default_factory=dict)  # trap name -> where it is
    timings: dict[str, float] = field(default_factory=dict)

    # ---- small helpers for tests ------------------------------------------------------------
    def file(self, path: str) -> dict:
        return next(f for f in self.files if f["path"] == path)

    def files_of(self, kind: str) -> list[dict]:
        return [f for f in self.files if f["kind"] == kind]

    def to_dict(self) -> dict:
        """Plain JSON-ready data (dates as ISO strings)."""
        return _plain(asdict(self))

    def to_json(self, indent: int | None = None) -> str:
        # the fields already hold plain data: serialise them directly (asdict would deep-copy)
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, ensure_ascii=False,
                          indent=indent, default=_json_default)


def _json_default(x):
    if isinstance(x, (date, datetime)):
        return x.isoformat()
    if isinstance(x, Decimal):
        return float(x)
    if isinstance(x, (set, frozenset, tuple)):
        return sorted(x) if isinstance(x, (set, frozenset)) else list(x)
    raise TypeError(type(x))


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        items = sorted(x) if isinstance(x, (set, frozenset)) else x
        return [_plain(v) for v in items]
    if isinstance(x, (date, datetime)):
        return x.isoformat()
    if isinstance(x, Decimal):
        return float(x)
    return x


@dataclass
class Collector:
    """What the writers report while writing; resolved by the generator."""

    files: dict[str, dict] = field(default_factory=dict)
    center_rows: list[dict] = field(default_factory=list)
    project_rows: list[dict] = field(default_factory=list)
    econ_rows: list[dict] = field(default_factory=list)
    plan_rows: list[dict] = field(default_factory=list)
    bill_rows: list[dict] = field(default_factory=list)
    registry_rows: dict[int, list[dict]] = field(default_factory=dict)  # snapshot index -> accepted rows
    rejected: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    totals: list[dict] = field(default_factory=list)
    traps: dict[str, dict] = field(default_factory=dict)
    unresolved: list[dict] = field(default_factory=list)

    def reject(self, path: str, sheet: str | None, row_number: int, reason_code: str, key: str | None,
               message: str = "") -> None:
        self.rejected.append({"path": path, "sheet": sheet, "row_number": row_number, "reason_code": reason_code,
                              "key": key, "message": message})

    def warn(self, path: str, sheet: str | None, row_number: int | None, column_name: str | None,
             raw_value: str | None, warning_code: str) -> None:
        self.warnings.append({"path": path, "sheet": sheet, "row_number": row_number, "column_name": column_name,
                              "raw_value": raw_value, "warning_code": warning_code})

    def merge(self, other: Collector) -> None:
        """Append another collector's reports (jobs run apart, merged in delivery order)."""
        self.files.update(other.files)
        for name in ("center_rows", "project_rows", "econ_rows", "plan_rows", "bill_rows", "rejected", "warnings",
                     "totals", "unresolved"):
            getattr(self, name).extend(getattr(other, name))
        self.registry_rows.update(other.registry_rows)
        for k, v in other.traps.items():
            self.traps.setdefault(k, {}).update(v)

    def trap(self, trap_name: str, /, **where) -> None:
        self.traps.setdefault(trap_name, {}).update(where)
