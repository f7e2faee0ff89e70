"""One writer, said plainly; readers undisturbed; the published file stays compact.

- Two ``run``s started together on one new warehouse, three times: one runs and publishes, the
  other refuses at once with one line naming the first (its PID) and exit status 3 — never a
  failure inside dbt, never a mixed publication (the result equals a clean run's).
- A reader holding ``published.duckdb`` open across five publications keeps reading (the
  publication it opened), a new reader sees the latest, and the file stays within 1.2x of its
  size before them.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.faults.conftest import cli, fingerprint, temporary_files

BUSY = 3


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_two_runs_at_once_one_runs_the_other_refuses(world, tmp_path, attempt):
    warehouse = tmp_path / "warehouse"
    first = cli(["run"], world.inbox, warehouse, tmp_path / "first.log")
    time.sleep(0.2 * attempt)  # started together, a little apart
    second = cli(["run"], world.inbox, warehouse, tmp_path / "second.log")
    codes = sorted([first.finish(), second.finish()])
    outputs = first.output() + second.output()
    assert codes == [0, BUSY], outputs[-4000:]
    refused = first if first.process.returncode == BUSY else second
    lines = [line for line in refused.output().splitlines() if line.startswith("nothing run:")]
    assert len(lines) == 1 and "in use by PID" in lines[0], refused.output()[-2000:]
    assert refused.wall < 20, f"the refusal took {refused.wall:.0f} s: it must not wait"
    assert "Catalog write-write conflict" not in outputs and "RUN FAILED" not in outputs
    assert fingerprint(warehouse / "published.duckdb") == world.fingerprint()
    assert temporary_files(warehouse) == []


def test_a_reader_keeps_reading_across_five_publications(world, tmp_path):
    warehouse = world.warehouse_copy(tmp_path / "warehouse")
    published = warehouse / "published.duckdb"
    first_size = published.stat().st_size
    reader = duckdb.connect(str(published), read_only=True)
    try:
        opened = reader.execute("select run_id from audit.publication").fetchone()[0]
        centers = reader.execute("select count(*) from marts.dim_center").fetchone()[0]
        seen = {opened}
        for i in range(5):
            run = cli(["backfill", "--from", "2025-05", "--to", "2025-05"], world.partial, warehouse,
                      tmp_path / f"backfill-{i}.log")
            assert run.finish() == 0, run.output()[-3000:]
            assert reader.execute("select run_id from audit.publication").fetchone()[0] == opened
            assert reader.execute("select count(*) from marts.dim_center").fetchone()[0] == centers
            seen.add(_run_id_seen_by_a_new_process(published))
            assert published.stat().st_size <= 1.2 * first_size, (
                f"publication {i + 1}: {published.stat().st_size} bytes against {first_size} at first")
        assert len(seen) == 6, "each publication is a new one"
    finally:
        reader.close()


def _run_id_seen_by_a_new_process(published: Path) -> str:
    """What a reader opening the file now sees. (Not from this process: DuckDB shares one database
    instance per path within a process, so a new connection here would see the old file.)"""
    code = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(con.execute('select run_id from audit.publication').fetchone()[0])")
    done = subprocess.run([sys.executable, "-c", code, str(published)], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_lock_on_the_working_file_is_the_runs_last_word(world, tmp_path):
    """A DuckDB shell left open on the working file: the run waits (bounded), then its final line
    names that process."""
    warehouse = world.warehouse_copy(tmp_path / "warehouse")
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(600)", str(warehouse / "working.duckdb")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        run = cli(["run"], world.partial, warehouse, tmp_path / "run.log", DCW_LOCK_WAIT_SECONDS="2")
        assert run.finish() == 1
    finally:
        holder.kill()
        holder.wait()
    last = run.output().strip().splitlines()[-1]
    assert f"locked by another process (PID {holder.pid}" in last, run.output()[-3000:]
    assert "max_retries" not in run.output()
