"""Parsing rules as data: the YAML files beside this module, loaded into small typed objects.

``sources.yaml`` (the registry of source kinds: inbox folder, file types), one YAML per source kind
(raw table, period, aliases, types, units, value synonyms, keys), ``units.yaml`` (unit factors to
the canonical unit) and ``common.yaml`` (footer markers, currencies, exchange rates).
A renamed header or a new synonym is a one-line change in a YAML file, never in code.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingestion.normalize import squeeze

HERE = Path(__file__).parent
SOURCES: dict[str, dict] = yaml.safe_load((HERE / "sources.yaml").read_text(encoding="utf-8"))
SOURCE_KINDS = tuple(SOURCES)  # in load order


def kinds_by_period(*period_kinds: str) -> tuple[str, ...]:
    """The source kinds whose period is of one of these kinds (month, quarter, date, year), in load order."""
    return tuple(kind for kind in SOURCE_KINDS if source_map(kind).period["kind"] in period_kinds)


def header_key(text: str) -> str:
    """How header cells and aliases are compared: NFKC, no whitespace, case-folded."""
    return (squeeze(text) or "").casefold()


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    aliases: tuple[str, ...]
    required: bool = False
    unit_kind: str | None = None
    default_unit: str | None = None
    values: dict[str, str] = field(default_factory=dict)  # any accepted spelling → canonical value
    open: bool = False                                     # unknown enum values load (and are flagged)
    keep_raw_as: str | None = None


@dataclass(frozen=True)
class SourceMap:
    source: str
    table: str
    period: dict
    key: tuple[str, ...]
    columns: dict[str, Column]
    firm: dict | None = None
    correction: dict | None = None

    @functools.cached_property
    def alias_index(self) -> dict[str, str]:
        """header key → canonical column; the canonical names themselves are accepted too."""
        index: dict[str, str] = {}
        for col in self.columns.values():
            for alias in (col.name, *col.aliases):
                index[header_key(alias)] = col.name
        return index

    @functools.cached_property
    def header_matches(self) -> dict[str, tuple]:
        """Memo of the reader: header text → what it maps to (ingestion/spreadsheet.py)."""
        return {}

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns.values() if c.required]


def _column(name: str, spec: dict) -> Column:
    values: dict[str, str] = {}
    for canonical, synonyms in (spec.get("values") or {}).items():
        for spelling in (canonical, *(synonyms or [])):
            values[squeeze(spelling)] = canonical
    return Column(
        name=name, type=spec["type"], aliases=tuple(spec.get("aliases", [])),
        required=bool(spec.get("required", False)), unit_kind=spec.get("unit_kind"),
        default_unit=spec.get("default_unit"), values=values, open=bool(spec.get("open", False)),
        keep_raw_as=spec.get("keep_raw_as"),
    )


@functools.cache
def source_map(kind: str) -> SourceMap:
    raw = yaml.safe_load((HERE / f"{kind}.yaml").read_text(encoding="utf-8"))
    return SourceMap(
        source=raw["source"], table=raw["table"], period=raw["period"], key=tuple(raw["key"]),
        columns={name: _column(name, spec) for name, spec in raw["columns"].items()},
        firm=raw.get("firm"), correction=raw.get("correction"),
    )


@functools.cache
def units() -> dict[str, dict[str, float]]:
    raw = yaml.safe_load((HERE / "units.yaml").read_text(encoding="utf-8"))
    return {kind: {header_key(u): float(f) for u, f in table.items()} for kind, table in raw.items()}


@functools.cache
def common() -> dict:
    return yaml.safe_load((HERE / "common.yaml").read_text(encoding="utf-8"))
