"""Command line of the project: ``python -m orchestration.cli COMMAND`` (run, update, backfill, summary, trace,
dashboard, screenshot, dagster-home).

``run`` writes the bundled sample inbox when ``DCW_INBOX`` is unset and the sample is absent,
materialises every partition the inbox covers in-process against a persistent Dagster instance
(so the UI shows the runs; dbt rebuilds the whole history), and prints where the published file
is with a short summary. ``update`` runs what the inbox sensor would for the files not in the
manifest yet: their partitions, and of the monthly job only the assets they affect (nothing to do
when every file is known). ``backfill --from 2024-01 --to 2024-03`` runs the monthly job over that
range in one run (dbt replaces those months only) and publishes. ``trace TABLE KEY=VALUE... COLUMN``
prints one published figure back to its source cells (``orchestration/trace/``; exit status 2 for
an unknown table, column or key). ``dashboard`` rebuilds
``warehouse/dashboard/index.html`` from the published file alone (every publication builds it too);
``screenshot`` rebuilds it and renders it to ``docs/dashboard.png`` in headless Chromium (``--png``
for another file). Exit status 1 when a run
failed (the last lines then say which check blocked, or what the step failed on: a lock held by
another process names its PID); 3 when another command or a run from the UI or the sensor is
using the warehouse (one line names it; nothing is run). Before launching anything, runs left by
dead processes are marked failed and what they held is released (``recovery.py``).
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

# Nothing heavy is imported at module level: worker processes (the registry's parsers, the
# great-expectations process) are spawned, and a spawned process imports the parent's main module
# (this one, under ``python -m``) again. Dagster alone would cost each of them ~1.5 s and ~120 MB.


def ensure_sample_inbox() -> None:
    from orchestration.resources import DEFAULT_INBOX

    if os.environ.get("DCW_INBOX") or DEFAULT_INBOX.exists():
        return
    from ingestion.sample import generate

    print(f"writing the sample inbox to {DEFAULT_INBOX}")
    generate(DEFAULT_INBOX)
    from ingestion.manifest import settle_seconds

    time.sleep(settle_seconds())  # files modified more recently count as still being written


def summary(published: Path) -> str:
    import duckdb

    con = duckdb.connect(str(published), read_only=True)
    try:
        lines = [f"published warehouse: {published}"]
        for schema, table in con.execute("select table_schema, table_name from information_schema.tables "
                                         "order by 1, 2").fetchall():
            n = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
            lines.append(f"  {schema}.{table:<28} {n:>8} rows")
        run_id = con.execute("select run_id from audit.publication").fetchone()[0]
        passed, total, warned = con.execute(
            "select count(*) filter (where passed), count(*), count(*) filter (where not passed and severity = 'WARN') "
            "from audit.check_results where run_id = ?", [run_id]).fetchone()
        statuses = con.execute("select status, count(*) from audit.file_manifest group by 1 order by 1").fetchall()
        lines.append(f"checks of this run: {passed} of {total} passed, {warned} warning(s) recorded "
                     "(non-blocking; see audit.check_results where not passed)")
        warnings = [name for (name,) in con.execute(
            "select distinct check_name from audit.check_results where run_id = ? and not passed "
            "and severity = 'WARN' order by 1", [run_id]).fetchall()]
        if warnings:
            lines.append("warnings: " + ", ".join(warnings))
        lines.append("files: " + ", ".join(f"{n} {s}" for s, n in statuses))
        lines.extend(alert_lines(con))
        return "\n".join(lines)
    finally:
        con.close()


def alert_lines(con, shown: int = 5) -> list[str]:
    """Open alerts by severity, then at most ``shown`` high ones (and how many more)."""
    if not con.execute("select count(*) from information_schema.tables where table_schema = 'marts' "
                       "and table_name = 'mart_alerts'").fetchone()[0]:
        return []
    counts = dict(con.execute("select severity, count(*) from marts.mart_alerts group by 1").fetchall())
    lines = ["open alerts: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("high", "medium", "low"))]
    high = con.execute("select alert_kind, entity_code, detail from marts.mart_alerts where severity = 'high' "
                       "order by since_month, alert_kind, entity_code").fetchall()
    lines += [f"  {kind} {code}: {detail}" for kind, code, detail in high[:shown]]
    if len(high) > shown:
        lines.append(f"  and {len(high) - shown} more")
    return lines


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


def run(months: tuple[str, str] | None = None, *, new_files_only: bool = False) -> int:
    """The whole inbox (``months`` None), its new files only, or a backfill of a month range;
    prints the outcome."""
    started = time.monotonic()
    from orchestration.recovery import WarehouseBusy, WarehouseLock
    from orchestration.resources import warehouse_from_env

    command = "update" if new_files_only else "backfill" if months else "run"
    try:
        with WarehouseLock(warehouse_from_env(), f"dcw {command}"):
            return _run(started, months, new_files_only=new_files_only)
    except WarehouseBusy as exc:
        print(f"nothing run: {exc}", file=sys.stderr)
        return BUSY


BUSY = 3  # exit status when another process is using the warehouse


def _run(started: float, months: tuple[str, str] | None, *, new_files_only: bool) -> int:
    from orchestration.runs import check_month_range, run_inbox, run_months, run_new_files

    if months is None and not new_files_only:
        ensure_sample_inbox()
    elif months is not None:
        try:
            check_month_range(*months)
        except ValueError as exc:
            print(f"nothing run: {exc}", file=sys.stderr)
            return 2
    from orchestration.checks.runner import start_gx_process

    start_gx_process()  # GX's start-up (~5 s of CPU) on the other core while dbt and the definitions load
    from orchestration.instance import ensure_dagster_home
    from orchestration.resources import inbox_from_env, warehouse_from_env

    ensure_dagster_home()
    from orchestration.dbt_project import parse_in_background

    parse_in_background()  # a new working file: dbt's parse overlaps the ingestion
    import dagster as dg

    from orchestration.definitions import build_definitions

    print(f"inbox: {inbox_from_env()}\nwarehouse: {warehouse_from_env()}")
    defs = build_definitions()
    log_level = os.environ.get("DCW_LOG_LEVEL", "INFO")
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    instance = dg.DagsterInstance.get()
    from orchestration.recovery import recover

    recovered = recover(instance, warehouse_from_env())
    for line in recovered.lines():
        print(line)
    if recovered.live_runs:
        print(f"nothing run: the warehouse {warehouse_from_env()} is in use by " + "; ".join(recovered.live_runs)
              + " (from the UI, the sensor or the schedule): run again when it is done", file=sys.stderr)
        return BUSY
    from orchestration.publish_outputs import catch_up

    behind = catch_up(warehouse_from_env())  # outputs a previous run missed (PostgreSQL blocked, a death)
    if behind:
        print(behind, file=sys.stderr)
    if new_files_only:
        import duckdb

        working = warehouse_from_env() / "working.duckdb"
        try:
            results = run_new_files(defs, inbox_from_env(), working, instance, run_config)
        except duckdb.IOException as exc:  # another process (a run started from the UI) holds the file
            print(f"nothing run: {working} is in use by another process ({exc}); try again when it is done",
                  file=sys.stderr)
            return 2
        if not results:
            print("nothing to do: every inbox file is already in a publication")
            return 1 if behind else 0
    elif months is None:
        results = run_inbox(defs, inbox_from_env(), instance, run_config)
    else:
        results = run_months(defs, *months, instance, run_config)
    published = warehouse_from_env() / "published.duckdb"
    failed = next((r for r in results if not r.success), None)
    if failed is not None:
        from orchestration.publish_postgres import published_run_id

        if published_run_id(published) == failed.run_id:  # the file was published, an output after it failed
            print(f"\nRUN FAILED ({failed.job_def.name}) after publishing {published}:", file=sys.stderr)
            print("\n".join(f"- step {e.step_key}: {_cause(e.step_failure_data.error)}"
                            for e in failed.all_events if e.is_step_failure), file=sys.stderr)
            return 1
        checks = failed_checks(warehouse_from_env() / "working.duckdb", failed.run_id)
        print(f"\nRUN FAILED ({failed.job_def.name}): nothing new was published. The previous publication (if "
              f"any) is unchanged: {published}", file=sys.stderr)
        if checks:
            print(f"Where to look: ops.check_results in {warehouse_from_env() / 'working.duckdb'} (this run: "
                  f"run_id = '{failed.run_id}'), audit.rejected_rows, or `make ui`.", file=sys.stderr)
        for line in checks:
            print(f"- blocking check failed: {line}", file=sys.stderr)
        for event in failed.all_events:  # the cause comes last
            if event.is_step_failure:
                err = event.step_failure_data.error
                print(f"- step {event.step_key}: {_cause(err)}", file=sys.stderr)
        return 1
    for r in results:
        tags = r.dagster_run.tags
        scope = (f", {len(r.dagster_run.asset_selection)} assets of the job"
                 if r.dagster_run.asset_selection else "")
        print(f"run {r.run_id[:8]} {r.job_def.name}: partitions {tags.get('dagster/asset_partition_range_start')} "
              f"to {tags.get('dagster/asset_partition_range_end')}{scope}")
    print(summary(published))
    page = published.parent / "dashboard" / "index.html"
    if page.exists():
        print(f"dashboard: {page}")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


def dashboard(png: Path | None = None) -> int:
    """Rebuild the dashboard from the published file; with ``png``, also render it there."""
    from orchestration.dashboard import build_dashboard, screenshot
    from orchestration.resources import warehouse_from_env

    warehouse = warehouse_from_env()
    try:
        page = build_dashboard(warehouse / "published.duckdb", warehouse / "dashboard")
        print(f"dashboard: {page}")
        if png is not None:
            screenshot(page, png)
            print(f"screenshot: {png}")
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"nothing built: {exc}", file=sys.stderr)
        return 2
    return 0


def _cause(error) -> str:
    """The message a step failed with, without Dagster's wrapping of it."""
    if error is None:
        return "failed"
    while error.cause is not None and "Error occurred while executing" in error.message:
        error = error.cause
    return error.message.strip().removeprefix("dagster._core.definitions.events.Failure: ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.cli", description=__doc__)
    parser.add_argument("command", choices=["run", "update", "backfill", "summary", "trace", "dashboard",
                                            "screenshot", "dagster-home"])
    parser.add_argument("words", nargs="*", help="trace: TABLE KEY=VALUE... COLUMN")
    parser.add_argument("--format", dest="fmt", choices=["text", "json"], default="text", help="trace: output")
    parser.add_argument("--limit", type=int, help="trace: contributing rows shown per aggregate (all by default)")
    parser.add_argument("--from", dest="first", metavar="YYYY-MM", help="backfill: first report month")
    parser.add_argument("--to", dest="last", metavar="YYYY-MM", help="backfill: last report month (default: --from)")
    parser.add_argument("--png", type=Path, default=Path("docs/dashboard.png"),
                        help="screenshot: the PNG to write (default: docs/dashboard.png)")
    args = parser.parse_args(argv)
    if args.command == "trace":
        if not args.words:
            parser.error("trace needs TABLE KEY=VALUE... COLUMN")
        from orchestration.trace import run_trace

        return run_trace(args.words[0], args.words[1:], fmt=args.fmt, limit=args.limit)
    if args.words:
        parser.error(f"unexpected arguments: {' '.join(args.words)}")
    if args.command == "run":
        return run()
    if args.command == "update":
        return run(new_files_only=True)
    if args.command == "backfill":
        if not args.first:
            parser.error("backfill needs --from YYYY-MM (and --to YYYY-MM for more than one month)")
        return run((args.first, args.last or args.first))
    if args.command in ("dashboard", "screenshot"):
        return dashboard(args.png if args.command == "screenshot" else None)
    if args.command == "dagster-home":
        from orchestration.instance import ensure_dagster_home

        print(ensure_dagster_home())
        return 0
    from orchestration.resources import warehouse_from_env

    print(summary(warehouse_from_env() / "published.duckdb"))
    return 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])  # the project root
    status = main()
    from orchestration.checks.runner import stop_gx_process

    stop_gx_process()  # not waiting for GX's start-up when there was nothing to check
    # The process ends here: spare the interpreter's last full garbage collection over everything a
    # run loaded (Dagster's definitions, dbt's manifest), ~2 s after every command. Every
    # connection and file is closed by then; the objects are freed with the process.
    gc.freeze()
    sys.exit(status)
