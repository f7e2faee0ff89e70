"""Benchmark: the whole pipeline at several input scales, against the floor of merely reading the inbox.

For each scale it generates an inbox (not timed), runs ``python -m orchestration.cli run`` in a
fresh warehouse and reports wall time, peak memory of the whole process tree (sampled from /proc,
so dbt's subprocess counts), rows per second, the time of each stage (Dagster step durations),
and the floor: DuckDB reading every csv (GB18030 transcoded in a stream first) and calamine reading
every xlsx sheet, with no transformation. Results go to bench/results/latest.json and a Markdown
table (bench/results/latest.md). A measurement, never a test. The outputs of each publication are
stages of their own: the Parquet export, the dashboard and, when ``DCW_POSTGRES_URL`` is set (it
is passed on to the runs), the PostgreSQL publication.

At the scales given to ``--incremental`` (default: 1) the full run holds back the latest month's
ledgers, projects and bills; a second run adds them and runs the month range the inbox sensor
requests for them (``cli backfill``; a bill export also re-issues earlier months): the time of
one new month (``incremental_month_wall_s``).

Usage: python bench/run.py [--scales sample 0.01 0.1 1] [--incremental 1] [--keep DIR]
"""
from __future__ import annotations

import argparse
import codecs
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _tree_rss_kib(pid: int) -> tuple[int, int]:
    """Resident memory of a process and all its descendants, and of the process alone, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        m = re.search(r"VmRSS:\s+(\d+)", status)
        rss[int(entry.name)] = int(m[1]) if m else 0
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total, rss.get(pid, 0)


def _run_measured(cmd: list[str], env: dict) -> tuple[float, tuple[int, int], str]:
    """Wall seconds, (peak RSS of the process tree, of the process itself at that moment) in KiB, output."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [(0, 0)]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_kib(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    proc.wait()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    return time.monotonic() - started, peak[0], out


def _stage_name(step: str) -> str:
    if step.startswith("raw__") or step == "ops__file_manifest":
        return "ingest " + step.removeprefix("raw__").removeprefix("ops__")
    if step.startswith("quality__"):
        return "checks"
    return {"warehouse_models": "dbt build", "published__warehouse": "publish"}.get(step, step)


OUTPUT_STAGES = {"parquet": "parquet export", "dashboard": "dashboard", "postgres": "postgres publication"}


def _stages(warehouse: Path, since: float) -> dict[str, float]:
    """Seconds per stage, summed over the runs started after ``since``, from the Dagster instance
    the CLI used (``$DCW_WAREHOUSE/.dagster_home``), plus the time outside any run. The outputs made
    within the publish step (Parquet, the dashboard, PostgreSQL) are stages of their own, from the
    seconds the publish asset records; ``publish`` is the rest of that step (the file's swap)."""
    import dagster as dg

    stages: dict[str, float] = {}
    outputs: dict[str, float] = {}
    in_runs = 0.0
    published = dg.AssetKey(["published", "warehouse"])
    with dg.DagsterInstance.from_config(str(warehouse / ".dagster_home")) as instance:
        for record in instance.get_run_records():
            if not record.start_time or record.start_time < since:
                continue
            in_runs += (record.end_time or record.start_time) - record.start_time
            for step in instance.get_run_step_stats(record.dagster_run.run_id):
                if step.start_time and step.end_time:
                    name = _stage_name(step.step_key)
                    stages[name] = round(stages.get(name, 0.0) + step.end_time - step.start_time, 2)
            run_id = record.dagster_run.run_id
            for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
                materialization = entry.asset_materialization
                seconds = materialization.metadata.get("output_seconds") if materialization.asset_key == published \
                    else None
                for output, value in (seconds.value if seconds else {}).items():
                    name = OUTPUT_STAGES.get(output, output)
                    outputs[name] = round(outputs.get(name, 0.0) + value, 2)
    if outputs and "publish" in stages:
        stages["publish"] = round(stages["publish"] - sum(outputs.values()), 2)
    stages.update(outputs)
    stages["runs (sum)"] = round(in_runs, 1)
    return stages


def floor(inbox: Path) -> float:
    """Seconds to merely read the inbox into tables: DuckDB for csv, calamine for xlsx."""
    import duckdb
    import python_calamine

    started = time.monotonic()
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(sorted(inbox.rglob("*"))):
            if path.suffix.lower() == ".csv" and path.stat().st_size:
                source = path
                with path.open("rb") as f:
                    head = f.read(65536)
                try:
                    codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
                except UnicodeDecodeError:  # GB18030: transcode in a stream, 4 MiB at a time
                    source = Path(tmp) / f"{i}.csv"
                    decoder = codecs.getincrementaldecoder("gb18030")()
                    with path.open("rb") as src, source.open("w", encoding="utf-8") as dst:
                        while block := src.read(1 << 22):
                            dst.write(decoder.decode(block))
                        dst.write(decoder.decode(b"", final=True))
                con.execute(f"create or replace table t as select * from read_csv('{source}', all_varchar = true, "
                            "header = false, null_padding = true, strict_mode = false)")
            elif path.suffix.lower() == ".jsonl":
                con.execute(f"create or replace table t as select * from read_json('{path}', "
                            "format = 'newline_delimited')")
            elif path.suffix.lower() == ".xlsx":
                try:
                    book = python_calamine.CalamineWorkbook.from_path(str(path))
                except Exception:  # the corrupt sample workbook
                    continue
                for name in book.sheet_names:
                    book.get_sheet_by_name(name).to_python()
    return time.monotonic() - started


def _hold_back_last_month(inbox: Path, held: Path, truth) -> list[str]:
    """Move the latest report month's monthly files (ledgers, projects, bills) out of the inbox."""
    month = truth.months[-1]
    moved = []
    for f in truth.files:
        last = f.get("period") == month.strftime("%Y-%m") or (
            f["kind"] == "power" and month.strftime("%Y%m") in Path(f["path"]).name)
        if last and f["kind"] in ("dc_ledger", "projects", "power") and (inbox / f["path"]).exists():
            (held / f["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(inbox / f["path"], held / f["path"])
            moved.append(f["path"])
    return moved


def _sensor_months(inbox: Path, paths: list[str]) -> tuple[str, str]:
    """The month range the inbox sensor requests for these files (a bill export may re-issue earlier months)."""
    from ingestion.periods import probe_inbox_file
    from orchestration.partitions import MONTHLY_JOB, last_month_key, plan_launches

    periods: dict = {}
    for path in paths:
        kind, found = probe_inbox_file(inbox, path)
        periods.setdefault(kind, set()).update(found)
    monthly = next(launch for launch in plan_launches(periods, last_month_key()) if launch.job == MONTHLY_JOB)
    return monthly.start, monthly.end


def _pipeline(inbox: Path, warehouse: Path, *args: str) -> tuple[float, tuple[int, int], dict]:
    """``python -m orchestration.cli run`` (or the given command) against this inbox and warehouse."""
    env = {**os.environ, "DCW_INBOX": str(inbox), "DCW_WAREHOUSE": str(warehouse)}
    since = time.time()
    wall, peak_kib, _ = _run_measured([sys.executable, "-m", "orchestration.cli", *(args or ["run"])], env)
    stages = _stages(warehouse, since)
    stages["outside runs (start-up, dbt parse, period probe, run planning)"] = round(wall - stages["runs (sum)"], 1)
    return wall, peak_kib, stages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", default=["sample", "0.01", "0.1", "1"])
    parser.add_argument("--incremental", nargs="*", default=["1"],
                        help="scales at which to also time one new month (default: 1)")
    parser.add_argument("--keep", type=Path, help="keep inboxes and warehouses under this folder")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="dcw-bench-"))
    sys.path.insert(0, str(ROOT))
    from ingestion.sample import generate

    runs = []
    for scale in args.scales:
        inbox, warehouse, held = work / f"inbox-{scale}", work / f"warehouse-{scale}", work / f"held-{scale}"
        for d in (inbox, warehouse, held):
            shutil.rmtree(d, ignore_errors=True)
        started = time.monotonic()
        truth = generate(str(inbox), None if scale == "sample" else float(scale))
        gen_s = time.monotonic() - started
        incremental = scale in args.incremental
        moved = _hold_back_last_month(inbox, held, truth) if incremental else []
        floor_s = floor(inbox)
        wall, peak_kib, stages = _pipeline(inbox, warehouse)
        import duckdb

        con = duckdb.connect(str(warehouse / "published.duckdb"), read_only=True)
        rows = con.execute("select coalesce(sum(rows_read), 0) from audit.file_manifest").fetchone()[0]
        con.close()
        run = {"scale": scale if scale == "sample" else float(scale), "generate_s": round(gen_s, 1),
               "total_wall_s": round(wall, 1), "peak_rss_mib": round(peak_kib[0] / 1024),
               "peak_rss_parts_mib": {"pipeline process": round(peak_kib[1] / 1024),
                                      "its subprocesses (dbt)": round((peak_kib[0] - peak_kib[1]) / 1024)},
               "rows_read": rows, "rows_per_s": round(rows / wall), "floor_s": round(floor_s, 1),
               "ratio_to_floor": round(wall / floor_s, 1) if floor_s else None, "stages": stages}
        if incremental:
            for path in moved:
                (inbox / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(held / path, inbox / path)
            first, last = _sensor_months(inbox, moved)
            try:
                inc_wall, inc_peak, inc_stages = _pipeline(inbox, warehouse, "update")
            except RuntimeError as exc:  # recorded, so the other scales' figures are not lost
                run["incremental_month_error"] = str(exc)[-2000:]
                runs.append(run)
                continue
            run.update({"incremental_month_wall_s": round(inc_wall, 1), "incremental_month_files": len(moved),
                        "incremental_month_peak_rss_mib": round(inc_peak[0] / 1024),
                        "incremental_month_stages": inc_stages, "incremental_months": [first, last],
                        "note": "the full run holds back the latest month's ledgers, projects and bills; "
                                "the incremental run adds them and runs what the inbox sensor requests for "
                                "them (cli update: the months they cover, a bill export also re-issuing "
                                "earlier months, and only the assets they affect)"})
        runs.append(run)
        print(json.dumps(run, ensure_ascii=False), flush=True)
    write_results(runs)
    return 0


def write_results(runs: list[dict]) -> None:
    """bench/results/latest.json and the Markdown table docs/performance.md quotes."""
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
    result = {"machine": machine, "measured_at": time.strftime("%Y-%m-%d %H:%M"), "runs": runs}
    for r in runs:
        if "incremental_month_wall_s" in r:
            result["incremental_month_wall_s"] = r["incremental_month_wall_s"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    lines = ["| scale | wall s | peak MiB | rows read | rows/s | floor s | × floor | ingest s | dbt build s "
             "| checks s | publish s | parquet s | dashboard s | one new month s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        ingest = round(sum(v for k, v in r["stages"].items() if k.startswith("ingest")), 1)
        lines.append(f"| {r['scale']} | {r['total_wall_s']} | {r['peak_rss_mib']} | {r['rows_read']} | "
                     f"{r['rows_per_s']} | {r['floor_s']} | {r['ratio_to_floor']} | {ingest} | "
                     f"{r['stages'].get('dbt build')} | {r['stages'].get('checks')} | {r['stages'].get('publish')} "
                     f"| {r['stages'].get('parquet export')} | {r['stages'].get('dashboard')} "
                     f"| {r.get('incremental_month_wall_s', '')} |")
    (RESULTS / "latest.md").write_text(f"Machine: {machine}\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
