"""What a command checks before it launches anything: permanent errors fail at once, in one line.

A setting with a bad value, an inbox that is missing or cannot be read, a warehouse folder that
cannot be written: no retry would mend any of them, so a command stops before its first run with
one line naming the cause and the fix (``Problem``). Each setting is checked by the function that
reads it in the pipeline, so the message is the pipeline's own.

What does not belong here: transient trouble (a working file locked by another process is waited
for, ``resources.open_working_file``; another command using the warehouse is ``recovery.py``'s),
and anything about the files' contents (bad rows and files are refused one by one at ingestion).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Problem(Exception):
    """A permanent error: its message names the cause and the fix, in one line."""


def _number(name: str, kind: type, default: str, what: str) -> None:
    value = (os.environ.get(name) or "").strip()
    try:
        ok = not value or kind(value) >= 0
    except ValueError:
        ok = False
    if not ok:
        raise Problem(f"{name} must be {what}, not {value!r}: set it to one (e.g. {name}={default}) or unset it")


def check_settings() -> None:
    """Every ``DCW_*`` setting the pipeline reads parses, or ``Problem`` naming the first that does not."""
    from ingestion.limits import Limits
    from ingestion.load import ingest_workers
    from ingestion.manifest import settle_seconds

    for read in (settle_seconds, Limits.from_env, ingest_workers):
        try:
            read()
        except ValueError as exc:
            raise Problem(f"{exc}: fix the setting or unset it for the default") from None
    _number("DCW_LOCK_WAIT_SECONDS", float, "30", "a number of seconds")
    _number("DCW_POSTGRES_LOCK_TIMEOUT", float, "60", "a number of seconds")
    _number("DCW_FRESHNESS_MONTHS", int, "3", "a whole number of months")
    level = os.environ.get("DCW_LOG_LEVEL") or "INFO"
    if level.strip().upper() not in LOG_LEVELS:
        raise Problem(f"DCW_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}: set it to one "
                      "or unset it (INFO)")
    memory = os.environ.get("DCW_MEMORY_LIMIT")
    if memory:
        import duckdb

        try:
            with duckdb.connect() as con:
                con.execute("set memory_limit = ?", [memory])
        except duckdb.Error:
            raise Problem(f"DCW_MEMORY_LIMIT must be an amount of memory such as 1GB or 512MB, not {memory!r}: "
                          "set it to one or unset it (1GB)") from None


def check_inbox(inbox: Path) -> None:
    """The inbox is a folder this process can list, or ``Problem``."""
    if not inbox.exists():
        raise Problem(f"the inbox {inbox} does not exist: create it, or set DCW_INBOX to the inbox folder")
    if not inbox.is_dir():
        raise Problem(f"the inbox {inbox} is not a folder: set DCW_INBOX to the inbox folder")
    try:
        with os.scandir(inbox) as entries:
            next(entries, None)
    except OSError as exc:
        raise Problem(f"the inbox {inbox} cannot be read ({exc.strerror}): give this user read access to it, "
                      "or set DCW_INBOX to another folder") from None


def check_warehouse(warehouse: Path) -> None:
    """The warehouse folder exists (it is created if absent) and this process can write in it, or ``Problem``."""
    try:
        warehouse.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=warehouse, prefix=".dcw-write-test-"):
            pass
    except OSError as exc:
        raise Problem(f"the warehouse folder {warehouse} cannot be written ({exc.strerror}): give this user write "
                      "access to it, or set DCW_WAREHOUSE to another folder") from None
