"""Runs the quality suites of ``suites.yaml`` against the working DuckDB file. No Dagster here.

SQL checks run in DuckDB and return a count of offending rows. great-expectations checks read
only the columns they name (never whole tables) into pandas and validate them with an ephemeral
GX 1.x context, created once per process; GX is imported lazily (it costs seconds), in the
background from a run's first step (the inbox manifest) on, with analytics and progress bars off.
"""
from __future__ import annotations

import functools
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

SUITES_FILE = Path(__file__).with_name("suites.yaml")
SAMPLE_SIZE = 5


def parameters() -> dict[str, object]:
    """Values a SQL check may use as $name (configuration from the environment)."""
    return {"freshness_months": int(os.environ.get("DCW_FRESHNESS_MONTHS") or 3)}


@dataclass(frozen=True)
class CheckSpec:
    asset: str          # '/'-joined asset key
    table: str
    name: str
    severity: str       # ERROR | WARN
    description: str
    gx: str | None = None
    kwargs: dict | None = None
    sql: str | None = None

    @property
    def columns(self) -> list[str]:
        kw = self.kwargs or {}
        return list(kw.get("column_list") or [kw["column"]])


@dataclass
class Outcome:
    passed: bool
    observed: str
    sample: str | None


@functools.cache
def suites() -> dict[str, list[CheckSpec]]:
    raw = yaml.safe_load(SUITES_FILE.read_text(encoding="utf-8"))
    out: dict[str, list[CheckSpec]] = {}
    for asset, suite in raw.items():
        out[asset] = [CheckSpec(asset=asset, table=suite["table"], name=c["name"], severity=c["severity"],
                                description=c.get("description") or _describe(c), gx=c.get("gx"),
                                kwargs=c.get("kwargs"), sql=c.get("sql")) for c in suite["checks"]]
    return out


def _describe(c: dict) -> str:
    if not c.get("gx"):
        return " ".join(c["sql"].split())
    return f"{c['gx']}({', '.join(f'{k}={v}' for k, v in (c.get('kwargs') or {}).items())})"


_GX_LOCK = threading.Lock()


def prepare_gx_in_background() -> threading.Thread:
    """Import GX and build its context in a daemon thread (~5 s of imports), so a run pays for it
    while it waits on something else (hashing, DuckDB, the registry's parse workers); ``run_suite``
    then finds it ready, or waits for it. Start it once this process's own imports are done."""
    thread = threading.Thread(target=_gx_context, name="prepare-great-expectations", daemon=True)
    thread.start()
    return thread


def _gx_context():
    with _GX_LOCK:  # one preparation, whichever thread asks first
        return _gx_context_once()


@functools.cache
def _gx_context_once():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every dataframe batch under HASH_THRESHOLD bytes (pandas' hash of every row,
    # then md5) for batch markers these checks never read: ~3 s for the province's 4M registry rows.
    # A GX internal (pinned in uv.lock); tests/unit/test_quality_gates.py notices if it stops applying.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (context.data_sources.add_pandas("warehouse")
                        .add_dataframe_asset("table").add_batch_definition_whole_dataframe("whole"))
    return gx, batch_definition


def run_suite(con: duckdb.DuckDBPyConnection, specs: list[CheckSpec]) -> dict[str, Outcome]:
    """Run the checks of one asset; one read of the table for all its GX checks."""
    outcomes: dict[str, Outcome] = {}
    gx_specs = [s for s in specs if s.gx]
    for spec in specs:
        if spec.sql:
            params = {k: v for k, v in parameters().items() if f"${k}" in spec.sql}
            bad = con.execute(spec.sql, params).fetchone()[0] or 0
            outcomes[spec.name] = Outcome(bad == 0, json.dumps({"offending_rows": bad}), None)
    if gx_specs:
        columns = sorted({c for s in gx_specs for c in s.columns})
        frame = con.execute(f"select {', '.join(columns)} from {gx_specs[0].table}").df()
        gx, batch_definition = _gx_context()
        suite = gx.ExpectationSuite(name=gx_specs[0].asset.replace("/", "__"))
        for spec in gx_specs:
            suite.add_expectation(getattr(gx.expectations, spec.gx)(**spec.kwargs))
        result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            suite, result_format="SUMMARY")
        for spec, res in zip(gx_specs, result.results, strict=True):
            r = res.result or {}
            sample = r.get("partial_unexpected_list") or r.get("partial_unexpected_index_list")
            outcomes[spec.name] = Outcome(
                bool(res.success),
                json.dumps({"unexpected_count": r.get("unexpected_count"), "element_count": r.get("element_count"),
                            "unexpected_percent": r.get("unexpected_percent")}, default=str),
                json.dumps(sample[:SAMPLE_SIZE], ensure_ascii=False, default=str) if sample else None)
    return outcomes
