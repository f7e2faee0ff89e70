"""What ``dcw run``, ``dcw update`` and ``dcw backfill`` do, in order, and what they print.

``run`` writes the bundled sample inbox when ``DCW_INBOX`` is unset and the sample is absent,
then materialises every partition the inbox covers in-process against a persistent Dagster
instance (so the UI shows the runs; dbt rebuilds the whole history). ``update`` runs what the
inbox sensor would for the files not in a publication yet (nothing to do when there are none:
it then stops before loading Dagster's definitions or dbt). ``backfill`` runs the monthly job
over a month range in one run (dbt replaces those months only).

In order: permanent errors are looked for first (``preflight.py``: exit status 2, one line);
the warehouse lock is taken (another command or run using the warehouse: exit status 3, one
line); runs left by dead processes are marked failed and what they held is released
(``recovery.py``); then the runs. Exit status 1 when a run failed: the last lines say which
check blocked, or what the step failed on. The console shows one line per stage; the full log
is a file in the warehouse folder (``console.py``), named at the end.

Nothing heavy is imported at module level: the command line imports this module, and worker
processes are spawned (they import the command line's main module again).
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

BUSY = 3  # exit status when another process is using the warehouse
USAGE = 2  # exit status of a usage error or a permanent error found before anything ran


def ensure_sample_inbox(say) -> None:
    from orchestration.resources import DEFAULT_INBOX

    if os.environ.get("DCW_INBOX") or DEFAULT_INBOX.exists():
        return
    from sample_world import generate

    say(f"writing the sample inbox to {DEFAULT_INBOX}")
    generate(DEFAULT_INBOX)
    from ingestion.manifest import settle_seconds

    time.sleep(settle_seconds())  # files modified more recently count as still being written


def run(command: str, months: tuple[str, str] | None = None, *, verbose: bool = False) -> int:
    """``command`` ('run', 'update' or 'backfill' over ``months``); prints the outcome, returns the exit status."""
    started = time.monotonic()
    from orchestration.preflight import Problem, check_inbox, check_settings, check_warehouse
    from orchestration.resources import inbox_from_env, warehouse_from_env

    warehouse = warehouse_from_env()
    try:
        check_settings()
        check_warehouse(warehouse)
        if months is not None:
            from orchestration.runs import check_month_range

            try:
                check_month_range(*months)
            except ValueError as exc:
                raise Problem(f"{exc}: type e.g. dcw backfill --from 2024-01 --to 2024-03") from None
        if command != "run" or os.environ.get("DCW_INBOX"):  # run writes the sample inbox when absent
            check_inbox(inbox_from_env())
    except Problem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    from orchestration.console import RunConsole
    from orchestration.recovery import WarehouseBusy, WarehouseLock

    try:
        with WarehouseLock(warehouse, f"dcw {command}"), RunConsole(warehouse, command, verbose=verbose) as console:
            try:
                status = _run(console, command, months)
            except Exception as exc:  # a defect or an unforeseen failure outside the runs: its traceback in the log
                traceback.print_exc()
                first = (str(exc).strip().splitlines() or [""])[0]
                console.error(f"error: {type(exc).__name__}: {first} (the traceback is in {console.log_path})")
                return 1
            if status == 0:
                console.line(f"full log: {console.log_path}")
                console.line(f"done in {time.monotonic() - started:.1f} s")
            return status
    except WarehouseBusy as exc:
        print(f"nothing run: {exc}", file=sys.stderr)
        return BUSY


def _run(console, command: str, months: tuple[str, str] | None) -> int:
    from orchestration.preflight import Problem, check_inbox
    from orchestration.resources import inbox_from_env, warehouse_from_env

    inbox, warehouse = inbox_from_env(), warehouse_from_env()
    if command == "run":
        ensure_sample_inbox(console.line)
        try:
            check_inbox(inbox)
        except Problem as exc:
            console.error(f"error: {exc}")
            return USAGE
    if command != "update":
        _start_helpers()
    console.line(f"inbox: {inbox}\nwarehouse: {warehouse}")
    from orchestration.instance import ensure_dagster_home

    ensure_dagster_home()
    import dagster as dg

    instance = dg.DagsterInstance.get()
    from orchestration.recovery import recover

    recovered = recover(instance, warehouse)
    for line in recovered.lines():
        console.line(line)
    if recovered.live_runs:
        console.error(f"nothing run: the warehouse {warehouse} is in use by " + "; ".join(recovered.live_runs)
                      + " (from the UI, the sensor or the schedule): run again when it is done")
        return BUSY
    from orchestration.publish_outputs import catch_up

    behind = catch_up(warehouse, console.line)  # outputs a previous run missed (PostgreSQL blocked, a death)
    if behind:
        console.error(behind)
    new: list[str] = []
    if command == "update":
        import duckdb

        from orchestration.runs import new_files

        working = warehouse / "working.duckdb"
        try:
            new = new_files(inbox, working)
        except duckdb.IOException as exc:  # another process (a run started from the UI) holds the file
            console.error(f"nothing run: {working} is in use by another process ({exc}); try again when it is done")
            return USAGE
        if not new:
            console.line("nothing to do: every inbox file is already in a publication")
            return 1 if behind else 0
        console.line(f"{len(new)} file(s) not in a publication yet")
        _start_helpers()
    from orchestration.definitions import build_definitions
    from orchestration.runs import run_inbox, run_months, run_new_files

    defs = build_definitions()
    log_level = (os.environ.get("DCW_LOG_LEVEL") or "INFO").strip().upper()
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if command == "update":
        results = run_new_files(defs, inbox, warehouse / "working.duckdb", instance, run_config, new=new)
    elif months is None:
        results = run_inbox(defs, inbox, instance, run_config)
    else:
        results = run_months(defs, *months, instance, run_config)
    published = warehouse / "published.duckdb"
    failed = next((r for r in results if not r.success), None)
    if failed is not None:
        return _failed(console, failed, published)
    from orchestration.summary import summary

    for line in summary(published, [r.run_id for r in results]).splitlines():
        console.line(line)
    page = warehouse / "dashboard" / "index.html"
    if page.exists():
        console.line(f"dashboard: {page}")
    return 0


def _start_helpers() -> None:
    """Start what a run will need on the other core while this process loads Dagster and dbt: the
    great-expectations process (~5 s of CPU) and, for a new working file, dbt's parse."""
    from orchestration.checks.runner import start_gx_process

    start_gx_process()
    from orchestration.dbt_project import parse_in_background

    parse_in_background()  # a new working file: dbt's parse overlaps the ingestion


def _failed(console, failed, published: Path) -> int:
    """What a failed run says, its cause last; exit status 1."""
    from orchestration.publish_postgres import published_run_id
    from orchestration.resources import warehouse_from_env

    causes = [f"- step {e.step_key}: {_cause(e.step_failure_data.error)}" for e in failed.all_events
              if e.is_step_failure]
    console.line(f"full log: {console.log_path}")
    if published_run_id(published) == failed.run_id:  # the file was published, an output after it failed
        console.error(f"\nRUN FAILED ({failed.job_def.name}) after publishing {published}:")
        for line in causes:
            console.error(line)
        return 1
    working = warehouse_from_env() / "working.duckdb"
    checks = failed_checks(working, failed.run_id)
    console.error(f"\nRUN FAILED ({failed.job_def.name}): nothing new was published. The previous publication (if "
                  f"any) is unchanged: {published}")
    if checks:
        console.error(f"Where to look: ops.check_results in {working} (this run: run_id = '{failed.run_id}'), "
                      "audit.rejected_rows, or dcw ui.")
    for line in checks:
        console.error(f"- blocking check failed: {line}")
    for line in causes:  # the cause comes last
        console.error(line)
    return 1


def failed_checks(working: Path, run_id: str) -> list[str]:
    """The blocking checks that failed in a run, with their table and a sample of failing values."""
    import duckdb

    if not working.exists():
        return []
    try:
        con = duckdb.connect(str(working), read_only=True)
    except duckdb.IOException:  # held by another process: the step failures say so
        return []
    try:
        rows = con.execute("select check_name, asset, observed_value, failing_sample from ops.check_results "
                           "where run_id = ? and not passed and severity = 'ERROR' order by 2, 1", [run_id]).fetchall()
    except duckdb.CatalogException:
        return []
    finally:
        con.close()
    return [f"{name} on {asset.replace('/', '.')}: observed {obs}" + (f"; failing values {sample}" if sample else "")
            for name, asset, obs, sample in rows]


def _cause(error) -> str:
    """The message a step failed with, without Dagster's wrapping of it."""
    if error is None:
        return "failed"
    while error.cause is not None and "Error occurred while executing" in error.message:
        error = error.cause
    message = error.message.strip()
    # The message opens with the exception's qualified class name ("package.module.Failure: ...").
    head, sep, rest = message.partition(f"{error.cls_name}: ") if error.cls_name else ("", "", "")
    return rest if sep and all(part.isidentifier() for part in head.split(".") if part) else message
