"""Runs the quality suites of ``suites.yaml`` against the working DuckDB file. No Dagster here.

SQL checks run in DuckDB and return a count of offending rows. great-expectations checks read
only the columns they name (never whole tables) and validate them, as a pandas frame, with an
ephemeral GX 1.x context in a process of its own (``start_gx_process``): importing GX costs ~5 s
of CPU, which that process pays on the other core. Analytics and progress bars are off.
"""
from __future__ import annotations

import functools
import json
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
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
_gx_pool: ProcessPoolExecutor | None = None
_gx_started: Future | None = None  # done once the GX process has imported GX and built its context
_gx_processes: list[multiprocessing.Process] = []  # the pool's process, as multiprocessing lists its children


def start_gx_process() -> None:
    """Start the process that runs the great-expectations checks, if it is not running yet.

    It imports GX and builds its context as it starts (~5 s of CPU), on the other core while this
    process does its own work (the command line starts it before importing Dagster and dbt; a run's
    first step, the inbox manifest, starts it otherwise). In this process, importing GX would take
    turns with everything else for Python's interpreter lock. It is spawned (not forked, which is
    unsafe once threads run), so it imports only this module's dependencies, and it is reused for
    the rest of this process's life."""
    global _gx_pool, _gx_started, _gx_processes
    with _GX_LOCK:
        if _gx_pool is None:
            _gx_pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_gx_context_once)
            before = set(multiprocessing.active_children())
            _gx_started = _gx_pool.submit(int)  # the pool starts its process on the first task, in submit
            _gx_processes = [p for p in multiprocessing.active_children() if p not in before]


def gx_processes() -> list[multiprocessing.Process]:
    """The processes of the running GX pool (none when it is not running)."""
    return list(_gx_processes) if _gx_pool is not None else []


def stop_gx_process() -> None:
    """Stop the GX process now, even while it is still starting: the command line calls this as it
    ends, which would otherwise wait for GX's start-up to finish (a run with nothing to check)."""
    global _gx_pool
    with _GX_LOCK:
        pool, _gx_pool = _gx_pool, None
    if pool is None:
        return
    if _gx_started is not None and _gx_started.done():
        pool.shutdown(wait=True)  # idle: it ends at once
        return
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in _gx_processes:  # before 3.14 the executor has no way of its own
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _gx_validate(table: pa.Table, checks: list[CheckSpec], suite_name: str) -> list[Outcome]:
    """Submit one suite's GX checks over these rows to the GX process; return their outcomes."""
    global _gx_pool
    start_gx_process()
    try:
        return _gx_pool.submit(validate_with_gx, table, checks, suite_name).result()
    except BrokenProcessPool:
        with _GX_LOCK:
            _gx_pool = None  # the next check starts a new one
        raise RuntimeError("the great-expectations process ended unexpectedly (out of memory?); "
                           "the checks did not run: run again") from None


@functools.cache
def _gx_context_once():
    """GX and a batch definition of in-memory dataframes, built once per process (the GX process)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (context.data_sources.add_pandas("warehouse")
                        .add_dataframe_asset("table").add_batch_definition_whole_dataframe("whole"))
    return gx, batch_definition


def validate_with_gx(table: pa.Table, checks: list[CheckSpec], suite_name: str) -> list[Outcome]:
    """In the GX process: validate GX checks over the rows of ``table`` (the columns they name)."""
    gx, batch_definition = _gx_context_once()
    frame = duckdb.from_arrow(table).df()  # DuckDB's own conversion: the frame a query's .df() gives
    suite = gx.ExpectationSuite(name=suite_name)
    for spec in checks:
        suite.add_expectation(getattr(gx.expectations, spec.gx)(**spec.kwargs))
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format="SUMMARY")
    outcomes = []
    for res in result.results:
        r = res.result or {}
        sample = r.get("partial_unexpected_list") or r.get("partial_unexpected_index_list")
        outcomes.append(Outcome(
            bool(res.success),
            json.dumps({"unexpected_count": r.get("unexpected_count"), "element_count": r.get("element_count"),
                        "unexpected_percent": r.get("unexpected_percent")}, default=str),
            json.dumps(sample[:SAMPLE_SIZE], ensure_ascii=False, default=str) if sample else None))
    return outcomes


def run_suite(con: duckdb.DuckDBPyConnection, specs: list[CheckSpec]) -> dict[str, Outcome]:
    """Run the checks of one asset: SQL checks here, GX checks in the GX process over one read of
    the columns they name."""
    outcomes: dict[str, Outcome] = {}
    gx_specs = [s for s in specs if s.gx]
    for spec in specs:
        if spec.sql:
            params = {k: v for k, v in parameters().items() if f"${k}" in spec.sql}
            bad = con.execute(spec.sql, params).fetchone()[0] or 0
            outcomes[spec.name] = Outcome(bad == 0, json.dumps({"offending_rows": bad}), None)
    if gx_specs:
        columns = sorted({c for s in gx_specs for c in s.columns})
        table = con.execute(f"select {', '.join(columns)} from {gx_specs[0].table}").to_arrow_table()
        results = _gx_validate(table, gx_specs, gx_specs[0].asset.replace("/", "__"))
        outcomes.update({spec.name: outcome for spec, outcome in zip(gx_specs, results, strict=True)})
    return outcomes
