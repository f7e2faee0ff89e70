"""Dagster resources: where the inbox and the warehouse are. Configuration and injection only.

Paths come from the environment (``DCW_INBOX``, ``DCW_WAREHOUSE``), resolved to absolute paths
once, so dbt (a subprocess with another working directory) sees the same files; ``environment``
sets such variables for a block (a run's month window for dbt, a test's inbox and warehouse).
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INBOX = PROJECT_ROOT / "sample_inbox"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse"


def inbox_from_env() -> Path:
    return Path(os.environ.get("DCW_INBOX") or DEFAULT_INBOX).resolve()


def warehouse_from_env() -> Path:
    return Path(os.environ.get("DCW_WAREHOUSE") or DEFAULT_WAREHOUSE).resolve()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with these values while the block runs (dagster-dbt hands its environment to
    the dbt process it starts); the former values afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


DEFAULT_LOCK_WAIT_SECONDS = 30


class WorkingFileLocked(dg.Failure):
    """Another process holds the working file; the message names it (PID) and what to do."""


def lock_holder(error: Exception) -> str | None:
    """'PID n' (with its command line when this machine shows it) from DuckDB's lock error, else None."""
    text = str(error)
    if "Could not set lock" not in text:
        return None
    found = re.search(r"\(PID (\d+)\)", text)
    if not found:
        return "another process"
    pid = found.group(1)
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        command = ""
    return f"PID {pid}" + (f": {command[:120]}" if command else "")


def open_working_file(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the working file. When another process holds the file, wait for
    it up to ``DCW_LOCK_WAIT_SECONDS`` (default 30), saying so once, then fail naming the holder."""
    wait = float(os.environ.get("DCW_LOCK_WAIT_SECONDS") or DEFAULT_LOCK_WAIT_SECONDS)
    deadline, said = time.monotonic() + wait, False
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            holder = lock_holder(exc)
            if holder is None:
                raise
            if time.monotonic() >= deadline:
                raise WorkingFileLocked(
                    f"{path} is locked by another process ({holder}); waited {wait:.0f} s. Close it (BI tools "
                    "and DuckDB shells must open published.duckdb, never the working file) and run again.") from None
            if not said:
                dg.get_dagster_logger().warning(f"waiting up to {wait:.0f} s for {path}: locked by {holder}")
                said = True
            time.sleep(0.5)


class Warehouse(dg.ConfigurableResource):
    """The inbox folder and the warehouse folder (working.duckdb, published.duckdb)."""

    inbox: str
    warehouse_dir: str

    @classmethod
    def from_env(cls) -> Warehouse:
        return cls(inbox=str(inbox_from_env()), warehouse_dir=str(warehouse_from_env()))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """The process that runs a run holds the run's lease from here on (``recovery.py``): when the
        process dies, the next run finds the lease free and releases what the run held. (No
        teardown releases it: that would make this a context-manager resource; the lease of a run
        that ended is never looked at, and its file is removed by the next recovery.)"""
        if context.run is not None:
            from orchestration.recovery import take_lease

            take_lease(Path(self.warehouse_dir), context.run.run_id)

    @property
    def inbox_path(self) -> Path:
        return Path(self.inbox)

    @property
    def working_db(self) -> Path:
        return Path(self.warehouse_dir) / "working.duckdb"

    @property
    def published_db(self) -> Path:
        return Path(self.warehouse_dir) / "published.duckdb"

    @contextmanager
    def connect(self):
        """A short-lived read-write connection to the working file (never held across dbt).

        DuckDB's memory is held to ``DCW_MEMORY_LIMIT`` (default 1GB; it spills beyond it): left
        at its default (80 % of the machine) it keeps every block a load writes cached, ~150 MB
        more at the moment a province's registry extracts peak in the parse workers."""
        self.working_db.parent.mkdir(parents=True, exist_ok=True)
        con = open_working_file(self.working_db)
        con.execute("set enable_progress_bar = false")  # no progress bars in the run logs
        con.execute("set memory_limit = ?", [os.environ.get("DCW_MEMORY_LIMIT") or "1GB"])
        try:
            yield con
        finally:
            con.close()
