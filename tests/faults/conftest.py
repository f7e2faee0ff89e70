"""The fault-injection suite's harness: the real command line in real processes, real signals.

Each test runs ``python -m orchestration.cli`` as its own process group (a new session), as an
operator would, against a warehouse folder of its own; ``kill -9`` goes to the whole group (the
command, its dbt and great-expectations processes, the registry's parse workers). Outcomes are
compared with clean runs of the same inbox through a fingerprint of the published file: every
``marts`` table's row count and checksum, and the run-independent columns of
``audit.file_manifest`` and ``audit.rejected_rows``.

The inbox is the bundled sample (a clean run is ~50 s here). The baseline warehouse holds a
publication of that inbox without its latest month's files ("held back"); the tests deliver them
and run again, so that a kill during ingestion has files to load and the previous publication is a
real one to keep intact.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- processes ---------------------------------------------------------------------------------

def _session_rss(sid: int) -> int:
    """Resident bytes of every process of session ``sid`` (the command and all it started)."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) != sid:  # field 6 of stat: the session id
                continue
            total += int((proc / "statm").read_text().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            continue
    return total


@dataclass
class Command:
    """One ``python -m orchestration.cli …`` in a session of its own, its output in a file."""

    args: list[str]
    env: dict[str, str]
    log: Path
    preexec: list[str] = field(default_factory=list)   # e.g. setpriv to drop root's file capabilities
    process: subprocess.Popen | None = None
    started: float = 0.0
    ended: float | None = None
    peak_rss: int = 0

    def start(self) -> Command:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen([*self.preexec, sys.executable, "-m", "orchestration.cli", *self.args],
                                        cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        threading.Thread(target=self._sample_memory, daemon=True).start()
        return self

    def _sample_memory(self) -> None:
        """Peak memory of the session, and when the command ended (to 0.1 s)."""
        while self.process.poll() is None:
            self.peak_rss = max(self.peak_rss, _session_rss(self.process.pid))
            time.sleep(0.1)
        self.ended = time.monotonic()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, pattern: str, timeout: float = 300) -> None:
        """Until ``pattern`` (a regular expression) appears in the output; fails if the command
        ends or the time runs out first."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            if regex.search(self.output()):
                return
            if self.process.poll() is not None:
                pytest.fail(f"the command ended before {pattern!r} appeared:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        pytest.fail(f"{pattern!r} did not appear within {timeout} s:\n{self.output()[-3000:]}")

    def kill(self) -> None:
        """``kill -9`` of the whole process group, as the memory killer or a power cut would."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        deadline = time.monotonic() + 10  # the group's other processes are reaped by init
        while _session_rss(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)

    def finish(self, timeout: float = 600) -> int:
        code = self.process.wait(timeout=timeout)
        self.ended = self.ended or time.monotonic()
        return code

    @property
    def wall(self) -> float:
        return (self.ended or time.monotonic()) - self.started


def cli_env(inbox: Path, warehouse: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DCW_", "DAGSTER_HOME"))}
    env.update({"DCW_INBOX": str(inbox), "DCW_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "true", "PYTHONUNBUFFERED": "1"},
               **extra)
    return env


_STARTED: list[Command] = []


def cli(args: list[str], inbox: Path, warehouse: Path, log: Path, preexec: list[str] | None = None,
        **extra: str) -> Command:
    command = Command(args, cli_env(inbox, warehouse, **extra), log, preexec or []).start()
    _STARTED.append(command)
    return command


@pytest.fixture(autouse=True)
def _no_command_outlives_its_test():
    """A test that fails half way leaves no command running behind it (they run in sessions of their own)."""
    yield
    while _STARTED:
        command = _STARTED.pop()
        if command.process.poll() is None:
            command.kill()


# --- fingerprints ------------------------------------------------------------------------------

MANIFEST_COLUMNS = ("path, sha256, bytes, source_kind, period, status, ingest_status, reason, rows_read, "
                    "rows_loaded, rows_rejected, rows_skipped")


def fingerprint(published: Path) -> dict[str, tuple]:
    """Table → (rows, checksum) for every marts table, and the run-independent columns of the
    file manifest and the refused rows."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts' "
                                            "order by 1").fetchall()]
        prints = {f"marts.{t}": _checksum(con, "marts", t) for t in tables}
        prints["audit.file_manifest"] = _checksum(con, "audit", "file_manifest", MANIFEST_COLUMNS.split(", "))
        prints["audit.rejected_rows"] = _checksum(con, "audit", "rejected_rows")
        return prints
    finally:
        con.close()


def _checksum(con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: list[str] | None = None) -> tuple:
    """(rows, order-independent sum of row hashes); doubles rounded to 6 decimals, since a sum of
    doubles may differ in its last bits with the order DuckDB's threads add them in."""
    types = dict(con.execute("select column_name, data_type from duckdb_columns() where schema_name = ? "
                             "and table_name = ?", [schema, table]).fetchall())
    names = columns or list(types)
    cells = ", ".join(f'round("{c}", 6)' if types[c] in ("DOUBLE", "FLOAT") else f'"{c}"' for c in names)
    return con.execute(f'select count(*), coalesce(sum(hash(({cells}, null))), 0) from {schema}."{table}"').fetchone()


def manifest(published_or_working: Path, schema: str = "audit") -> dict[str, tuple[str, str]]:
    """path → (status, reason) of the file manifest."""
    con = duckdb.connect(str(published_or_working), read_only=True)
    try:
        table = "audit.file_manifest" if schema == "audit" else "ops.file_manifest"
        return {p: (s, r) for p, s, r in con.execute(f"select path, status, reason from {table}").fetchall()}
    finally:
        con.close()


def temporary_files(warehouse: Path) -> list[str]:
    """What a publication or a parse leaves only while it runs."""
    found = [p.name for p in warehouse.glob(".published-*")]
    found += [p.name for p in (warehouse / "dbt_target").glob("parse-*")]
    leases = warehouse / ".leases"
    return found + ([f".leases/{p.name}" for p in leases.iterdir()] if leases.is_dir() else [])


# --- the world ---------------------------------------------------------------------------------

HELD_BACK_DAYS = 50  # the files delivered in the last 50 days of the sample's deliveries (its latest month)


@dataclass
class World:
    inbox: Path             # the whole sample inbox
    held_back: list[str]    # its latest deliveries (relative paths)
    full: Command           # a clean run of the whole inbox in a new warehouse
    full_warehouse: Path
    baseline: Path          # a warehouse published from the inbox without the held-back files
    partial: Path           # that inbox

    def fingerprint(self) -> dict[str, tuple]:
        return fingerprint(self.full_warehouse / "published.duckdb")

    def warehouse_copy(self, target: Path) -> Path:
        """A copy of the baseline warehouse (working file, publication, run history)."""
        shutil.copytree(self.baseline, target, symlinks=True)
        return target


def partial_inbox(inbox: Path, held_back: list[str], target: Path) -> Path:
    shutil.copytree(inbox, target)
    for rel in held_back:
        (target / rel).unlink()
    return target


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    from sample_world import generate

    root = tmp_path_factory.mktemp("faults")
    inbox = root / "inbox"
    generate(inbox)
    stamps = {p.relative_to(inbox).as_posix(): p.stat().st_mtime for p in inbox.rglob("*") if p.is_file()}
    cut = max(stamps.values()) - HELD_BACK_DAYS * 86400
    held_back = sorted(rel for rel, t in stamps.items() if t > cut)
    assert 4 <= len(held_back) <= 8 and any(rel.startswith("registry/") for rel in held_back), held_back
    full_wh = root / "full"
    full = cli(["run"], inbox, full_wh, root / "full.log")
    assert full.finish() == 0, full.output()[-3000:]
    baseline = root / "baseline"
    partial = partial_inbox(inbox, held_back, root / "partial_inbox")
    base = cli(["run"], partial, baseline, root / "baseline.log")
    assert base.finish() == 0, base.output()[-3000:]
    return World(inbox, held_back, full, full_wh, baseline, partial)


def published_bytes(warehouse: Path) -> bytes:
    return (warehouse / "published.duckdb").read_bytes()


def readable(published: Path) -> bool:
    con = duckdb.connect(str(published), read_only=True)
    try:
        return con.execute("select count(*) from marts.dim_center").fetchone()[0] > 0
    finally:
        con.close()


def when() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")
