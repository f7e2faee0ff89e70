"""Benchmark: the whole pipeline at several input scales, against the floor of merely reading the inbox.

For each scale it generates an inbox (not timed), runs ``python -m orchestration.cli run`` in a
fresh warehouse and reports wall time, peak memory of the whole process tree (sampled from /proc,
so dbt's subprocess counts), rows per second, the time of each stage (Dagster step durations),
and the floor: DuckDB reading every csv (GB18030 transcoded in a stream first) and calamine reading
every xlsx sheet, with no transformation. Results go to bench/results/latest.json and a Markdown
table (bench/results/latest.md). A measurement, never a test.

Usage: python bench/run.py [--scales sample 0.01 0.1 1] [--keep DIR]
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
STEP = re.compile(r'Finished execution of step "([^"]+)" in ([0-9.]+)(ms|s|m)')


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
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
    return total


def _run_measured(cmd: list[str], env: dict) -> tuple[float, int, str]:
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

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


def _stages(log: str) -> dict[str, float]:
    stages: dict[str, float] = {}
    for step, value, unit in STEP.findall(log):
        seconds = float(value) / 1000 if unit == "ms" else float(value) * (60 if unit == "m" else 1)
        if step.startswith("raw__") or step == "ops__file_manifest":
            name = "ingest " + step.removeprefix("raw__").removeprefix("ops__")
        elif step.startswith("quality__"):
            name = "checks"
        elif step == "warehouse_models":
            name = "dbt build"
        elif step == "published__warehouse":
            name = "publish"
        else:
            name = step
        stages[name] = round(stages.get(name, 0.0) + seconds, 2)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", default=["sample", "0.01", "0.1"])
    parser.add_argument("--keep", type=Path, help="keep inboxes and warehouses under this folder")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="dcw-bench-"))
    runs = []
    for scale in args.scales:
        inbox, warehouse = work / f"inbox-{scale}", work / f"warehouse-{scale}"
        shutil.rmtree(warehouse, ignore_errors=True)
        if not inbox.exists():
            gen = [sys.executable, "-m", "ingestion.sample", "--out", str(inbox)]
            subprocess.run(gen + ([] if scale == "sample" else ["--scale", scale]), cwd=ROOT, check=True)
        floor_s = floor(inbox)
        env = {**os.environ, "DCW_INBOX": str(inbox), "DCW_WAREHOUSE": str(warehouse), "DCW_LOG_LEVEL": "DEBUG"}
        wall, peak_kib, log = _run_measured([sys.executable, "-m", "orchestration.cli", "run"], env)
        import duckdb

        con = duckdb.connect(str(warehouse / "published.duckdb"), read_only=True)
        rows = con.execute("select coalesce(sum(rows_read), 0) from audit.file_manifest").fetchone()[0]
        con.close()
        run = {"scale": scale, "total_wall_s": round(wall, 1), "peak_rss_mib": round(peak_kib / 1024),
               "rows_read": rows, "rows_per_s": round(rows / wall), "floor_s": round(floor_s, 1),
               "ratio_to_floor": round(wall / floor_s, 1) if floor_s else None, "stages": _stages(log)}
        runs.append(run)
        print(json.dumps(run, ensure_ascii=False))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
    result = {"machine": machine, "measured_at": time.strftime("%Y-%m-%d %H:%M"), "runs": runs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    lines = ["| scale | wall s | peak MiB | rows read | rows/s | floor s | × floor | dbt build s | checks s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        lines.append(f"| {r['scale']} | {r['total_wall_s']} | {r['peak_rss_mib']} | {r['rows_read']} | "
                     f"{r['rows_per_s']} | {r['floor_s']} | {r['ratio_to_floor']} | "
                     f"{r['stages'].get('dbt build')} | {r['stages'].get('checks')} |")
    (RESULTS / "latest.md").write_text(f"Machine: {machine}\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
