"""The command line, ``dcw`` (also ``python -m orchestration.cli``): one subcommand per thing to do.

``dcw run`` runs the whole pipeline on the inbox and publishes; ``dcw update`` only what new
files call for; ``dcw backfill --from 2024-01 --to 2024-03`` rebuilds a range of months;
``dcw summary``, ``dcw trace``, ``dcw dashboard`` (and ``dcw screenshot``), ``dcw docs``, ``dcw ui``
and ``dcw bench`` read, explain and show what was published. Each has ``--help`` with examples.

Exit status: 0 done; 1 a run failed (the last lines say why); 2 a usage error, or a permanent
error found before anything ran (a bad setting, a missing inbox: one line, the last, says what
to do); 3 another command or run is using the warehouse (one line names it; nothing is run).

What does not belong here: what the commands do (``orchestration/commands.py``), how the console
looks (``orchestration/console.py``). Nothing heavy is imported at module level: worker processes
(the registry's parse workers, the great-expectations process) are spawned, and a spawned
process imports the parent's main module (this one, under ``python -m``) again. Dagster alone
would cost each of them ~1.5 s and ~120 MB.
"""
from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

PROJECT_ROOT = Path(__file__).resolve().parents[1]
USAGE = 2

app = typer.Typer(name="dcw", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="The data-center cluster warehouse: inbox in, a checked warehouse published.\n\n"
                       "Start with: dcw run (the bundled sample inbox, or DCW_INBOX). Then dcw summary.")

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Print the full log live (it always goes to a "
                                                                "file in the warehouse folder).")]


@app.command()
def run(verbose: Verbose = False) -> int:
    """Run the whole pipeline on the inbox and publish.

    Loads every inbox file, rebuilds the whole history with dbt, runs the checks and, when every
    blocking check passed, publishes published.duckdb (and its Parquet copies). Without DCW_INBOX
    the bundled sample inbox is written to sample_inbox/ first.

    \b
    Examples:
      dcw run
      DCW_INBOX=/data/inbox DCW_WAREHOUSE=/data/warehouse dcw run
      dcw run --verbose
    """
    from orchestration.commands import run as run_command

    return run_command("run", verbose=verbose)


@app.command()
def update(verbose: Verbose = False) -> int:
    """Run what the inbox sensor would for files new since the last publication.

    Only the months and assets the new files affect are rebuilt; with no new file it says
    "nothing to do" and stops.

    \b
    Examples:
      dcw update
      DCW_INBOX=/data/inbox dcw update
    """
    from orchestration.commands import run as run_command

    return run_command("update", verbose=verbose)


@app.command()
def backfill(first: Annotated[str | None, typer.Option("--from", metavar="YYYY-MM", help="First report month.")] = None,
             last: Annotated[str | None, typer.Option("--to", metavar="YYYY-MM",
                                                      help="Last report month (default: --from).")] = None,
             verbose: Verbose = False) -> int:
    """Rebuild and publish a range of report months, in one run.

    dbt replaces those months only; the checks gate the publication as in every run.

    \b
    Examples:
      dcw backfill --from 2024-01 --to 2024-03
      dcw backfill --from 2025-06
    """
    if not first:
        return _usage("backfill needs the first month: type dcw backfill --from 2024-01 --to 2024-03 "
                      "(or --from alone for one month)")
    from orchestration.commands import run as run_command

    return run_command("backfill", (first, last or first), verbose=verbose)


@app.command()
def summary() -> int:
    """Print what is published: tables and rows, the checks, the files, open alerts.

    \b
    Examples:
      dcw summary
      DCW_WAREHOUSE=/data/warehouse dcw summary
    """
    from orchestration.resources import warehouse_from_env
    from orchestration.summary import summary as published_summary

    published = warehouse_from_env() / "published.duckdb"
    if not published.exists():
        return _usage(f"nothing is published in {published.parent} yet: type dcw run first "
                      "(or set DCW_WAREHOUSE to the warehouse folder)")
    print(published_summary(published))
    return 0


@app.command()
def trace(table: Annotated[str, typer.Argument(metavar="TABLE", help="A published table, e.g. fct_center_month.")],
          args: Annotated[list[str], typer.Argument(help="KEY=VALUE items that select the row, and the column.",
                                                    metavar="KEY=VALUE... COLUMN")],
          fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
          limit: Annotated[int | None, typer.Option("--limit", help="At most this many source rows.")] = None) -> int:
    """Trace a published value back to its inbox files, sheets and rows.

    \b
    Examples:
      dcw trace fct_center_month center_code=GA-DC-004 month=2024-12 facility_energy_kwh
      dcw trace mart_cluster_month month=2025-06 racks_built --limit 5 --format json
    """
    try:
        from orchestration.trace import run_trace
    except ImportError as exc:
        return _unavailable("trace", exc)
    return run_trace(table, list(args), fmt=fmt, limit=limit)


@app.command()
def dashboard() -> int:
    """Rebuild the static HTML dashboard from the published file alone (every publication builds it too).

    \b
    Examples:
      dcw dashboard        (then open warehouse/dashboard/index.html)
      DCW_WAREHOUSE=/data/warehouse dcw dashboard
    """
    return _dashboard(None)


@app.command()
def screenshot(png: Annotated[Path, typer.Option(help="The PNG to write.")] = Path("docs/dashboard.png")) -> int:
    """Rebuild the dashboard and render it to a PNG in headless Chromium.

    \b
    Examples:
      dcw screenshot
      dcw screenshot --png /tmp/dashboard.png
    """
    return _dashboard(png)


def _dashboard(png: Path | None) -> int:
    try:
        from orchestration.dashboard import build_dashboard
        from orchestration.dashboard import screenshot as render
    except ImportError as exc:
        return _unavailable("screenshot" if png else "dashboard", exc)
    from orchestration.resources import warehouse_from_env

    warehouse = warehouse_from_env()
    try:
        page = build_dashboard(warehouse / "published.duckdb", warehouse / "dashboard")
        print(f"dashboard: {page}")
        if png is not None:
            render(page, png)
            print(f"screenshot: {png}")
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"nothing built: {exc}", file=sys.stderr)
        return USAGE
    return 0


@app.command()
def docs() -> int:
    """Write the dbt docs (descriptions, columns, lineage graph) as one static page.

    Runs the pipeline first when there is no working warehouse yet.

    \b
    Examples:
      dcw docs        (then open warehouse/docs/index.html)
    """
    from orchestration.docs import main as docs_main

    return docs_main()


@app.command()
def ui(port: Annotated[int, typer.Option(help="Port of the UI.")] = 3000,
       host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1") -> int:
    """Start the Dagster UI on this warehouse's run history (runs of dcw run show there too).

    \b
    Examples:
      dcw ui                 (then open http://127.0.0.1:3000)
      dcw ui --port 3001
    """
    import subprocess

    from orchestration.instance import ensure_dagster_home

    env = {**os.environ, "DAGSTER_HOME": str(ensure_dagster_home())}
    dagster = str(Path(sys.executable).with_name("dagster"))
    # the code location named in pyproject.toml ([tool.dagster]), read from the project's folder
    return subprocess.call([dagster, "dev", "-h", host, "-p", str(port)], env=env, cwd=PROJECT_ROOT)


@app.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def bench(ctx: typer.Context) -> int:
    """Benchmark the pipeline at several input scales: bench/results/latest.json and latest.md.

    Any option is passed on to bench/run.py (--scales, --incremental, --keep).

    \b
    Examples:
      dcw bench
      dcw bench --scales sample 0.01 --incremental
    """
    import subprocess

    return subprocess.call([sys.executable, str(PROJECT_ROOT / "bench" / "run.py"), *ctx.args])


@app.command("dagster-home", hidden=True)
def dagster_home() -> int:
    """Print the Dagster instance's home for this warehouse (created if absent)."""
    from orchestration.instance import ensure_dagster_home

    print(ensure_dagster_home())
    return 0


def _usage(message: str) -> int:
    print(f"usage error: {message}", file=sys.stderr)
    return USAGE


def _unavailable(command: str, exc: ImportError) -> int:
    print(f"dcw {command} is not available in this installation ({exc})", file=sys.stderr)
    return USAGE


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status (usage errors: one line, status 2)."""
    command = typer.main.get_command(app)
    try:
        status = command.main(args=argv, prog_name="dcw", standalone_mode=False)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except Exception as exc:  # a usage error (typer's own copy of click's UsageError: exit_code 2, a message)
        if getattr(exc, "exit_code", None) != USAGE or not hasattr(exc, "format_message"):
            raise
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "dcw"
        message = exc.format_message().rstrip()
        return _usage(f"{message}{'' if message.endswith(('.', '?', '!')) else '.'} Type {where} --help for what it "
                      "takes.")
    return status if isinstance(status, int) else 0


def entry() -> None:
    """The ``dcw`` console script."""
    os.chdir(PROJECT_ROOT)
    status = main()
    if "orchestration.checks.runner" in sys.modules:
        from orchestration.checks.runner import stop_gx_process

        stop_gx_process()  # not waiting for GX's start-up when there was nothing to check
    # The process ends here: spare the interpreter's last full garbage collection over everything a
    # run loaded (Dagster's definitions, dbt's manifest), ~2 s after every command. Every
    # connection and file is closed by then; the objects are freed with the process.
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    entry()
