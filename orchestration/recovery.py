"""Crash-only operation: one writer per warehouse, and what dead processes left behind.

Any process may die at any instant (``kill -9``, the machine's memory killer, a power cut); the
next plain run must finish the work with no manual step. Three pieces:

- ``WarehouseLock``: the command line's exclusive lock on a warehouse folder (``flock`` on
  ``<warehouse>/.dcw.lock``, which also names the holder). The kernel releases it when the process
  dies, however it dies. A second ``run``, ``update`` or ``backfill`` on the same warehouse refuses
  at once with one line naming the other process; it never waits and never races.
- Run leases: the process executing a run holds ``<warehouse>/.leases/<run_id>`` locked for as
  long as it runs (taken when the ``Warehouse`` resource is set up, released by the kernel when the
  process dies). A run that Dagster still counts as in progress but whose lease is free was left by
  a dead process.
- ``recover``: marks such runs failed and frees the concurrency slots they held (through the
  instance's public API), frees the slots of runs that ended, and removes the temporary files of
  dead publications. The command line calls it before it launches anything, the inbox sensor before
  it requests runs.

What does not belong here: deciding which runs to launch (``runs.py``), the publication itself.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = ".dcw.lock"
LEASES = ".leases"
LEASE_GRACE_SECONDS = 120  # a run started this long ago without a lease was left by a dead process
TEMPORARY_PATTERNS = (".published-*.tmp.duckdb", ".published-*.tmp.duckdb.wal", ".published-*.compact.duckdb",
                      ".published-*.compact.duckdb.wal")


class WarehouseBusy(Exception):
    """Another live process is using the warehouse; the message names it."""


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


@dataclass
class WarehouseLock:
    """Held by one command at a time on a warehouse folder (``with WarehouseLock(folder, what):``)."""

    warehouse: Path
    command: str
    fd: int | None = None

    @property
    def path(self) -> Path:
        return self.warehouse / LOCK_NAME

    def __enter__(self) -> WarehouseLock:
        self.warehouse.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise WarehouseBusy(f"the warehouse {self.warehouse} is in use by {holder}: run again "
                                "when it has finished")
        os.ftruncate(fd, 0)
        started = dt.datetime.now().isoformat(timespec="seconds")
        os.pwrite(fd, f"PID {os.getpid()} ({self.command}, since {started})\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing releases the lock
            self.fd = None


# --- run leases ---------------------------------------------------------------------------------

_HELD: dict[str, tuple[int, Path]] = {}  # run id → (locked file descriptor, lease file) held by this process


def take_lease(warehouse: Path, run_id: str) -> None:
    """Hold this run's lease for as long as this process runs it (idempotent)."""
    if run_id in _HELD:
        return
    folder = warehouse / LEASES
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / run_id, os.O_RDWR | os.O_CREAT, 0o644)
    if not _try_lock(fd):  # another process runs it (a re-execution): it keeps the lease
        os.close(fd)
        return
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"PID {os.getpid()}\n".encode(), 0)
    _HELD[run_id] = (fd, folder / run_id)


def release_lease(run_id: str) -> None:
    """Give up the lease of a run this process has finished (its file removed)."""
    fd, path = _HELD.pop(run_id, (None, None))
    if fd is not None:
        path.unlink(missing_ok=True)
        os.close(fd)


def lease_state(warehouse: Path, run_id: str) -> str:
    """``held`` (a live process runs it), ``free`` (its process died) or ``none`` (never taken)."""
    if run_id in _HELD:
        return "held"
    path = warehouse / LEASES / run_id
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return "none"
    try:
        if _try_lock(fd):
            return "free"
        return "held"
    finally:
        os.close(fd)


# --- recovery -----------------------------------------------------------------------------------

@dataclass
class Recovered:
    runs_failed: list[str]       # run ids marked failed: their process was gone
    slots_freed: int             # concurrency slots freed (of those runs and of runs that ended)
    files_removed: list[str]     # temporary files of dead publications
    live_runs: list[str]         # runs in progress in a live process (one line each)

    def lines(self) -> list[str]:
        out = [f"recovered: run {r[:8]} was left by a process that died; marked failed" for r in self.runs_failed]
        if self.slots_freed:
            out.append(f"recovered: {self.slots_freed} concurrency slot(s) held by runs no longer running, freed")
        out += [f"recovered: removed {name}, left by a publication that died" for name in self.files_removed]
        return out


IN_PROGRESS = ("STARTING", "STARTED", "CANCELING")


def recover(instance, warehouse: Path, *, now: float | None = None) -> Recovered:
    """Mark failed the runs whose process died, free their slots and the slots of ended runs, and
    (when no run is alive) remove the temporary files of dead publications."""
    import dagster as dg

    now = now or time.time()
    statuses = [dg.DagsterRunStatus[s] for s in IN_PROGRESS]
    failed, live = [], []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=statuses)):
        run = record.dagster_run
        state = lease_state(warehouse, run.run_id)
        started = record.start_time or record.create_timestamp.timestamp()
        if state == "held" or (state == "none" and now - started < LEASE_GRACE_SECONDS):
            live.append(f"run {run.run_id[:8]} of job {run.job_name} (started "
                        f"{dt.datetime.fromtimestamp(started).isoformat(timespec='seconds')})")
            continue
        instance.report_run_failed(run, "The process running this run died (found by the next run, which "
                                        "marked it failed and freed its concurrency slots).")
        (warehouse / LEASES / run.run_id).unlink(missing_ok=True)
        failed.append(run.run_id)
    freed = 0
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holding = set(storage.get_concurrency_run_ids())
        if holding:
            records = instance.get_run_records(filters=dg.RunsFilter(run_ids=list(holding)))
            ended = {r.dagster_run.run_id for r in records
                     if r.dagster_run.status.value not in IN_PROGRESS + ("QUEUED", "NOT_STARTED")}
            gone = holding - {r.dagster_run.run_id for r in records}  # runs deleted from the history
            for run_id in sorted(holding & (ended | gone | set(failed))):
                storage.free_concurrency_slots_for_run(run_id)
                freed += 1
    in_progress = {r.dagster_run.run_id for r in instance.get_run_records(filters=dg.RunsFilter(statuses=statuses))}
    for lease in sorted((warehouse / LEASES).glob("*")):
        if lease.name not in in_progress and lease_state(warehouse, lease.name) == "free":
            lease.unlink(missing_ok=True)  # of a run that ended
    removed = []
    if not live:
        for pattern in TEMPORARY_PATTERNS:
            for path in sorted(warehouse.glob(pattern)):
                path.unlink(missing_ok=True)
                removed.append(path.name)
    return Recovered(failed, freed, removed, live)
