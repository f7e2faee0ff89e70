"""The file manifest: every file ever seen in the inbox, in delivery order, with its fate.

``register_inbox`` hashes the inbox (each file once: ``ops.inbox_hashes`` remembers what it read,
so a later run reads only new or changed files), records new (path, sha256) pairs in ``ops.file_manifest``
in delivery order (first seen run, then modification time, then name), refuses files that are
outside the known folders, of another extension or empty, and marks byte-identical copies as
duplicates. Files it leaves ``pending`` are for the source loaders (``load.py``).

What does not belong here: reading file contents (``spreadsheet.py``), supersession (dbt).
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

SOURCE_FOLDERS = {
    "bureau/dc_ledger": ("dc_ledger", (".xlsx", ".csv")),
    "bureau/projects": ("projects", (".xlsx", ".csv")),
    "bureau/economics": ("economics", (".xlsx", ".csv")),
    "bureau/plans": ("plans", (".xlsx", ".csv")),
    "registry": ("registry", (".csv", ".jsonl")),
    "power": ("power", (".csv", ".xlsx")),
}

MANIFEST_DDL = """
create schema if not exists ops;
create table if not exists ops.file_manifest (
    file_sha256 varchar not null, path varchar not null, source_kind varchar, bytes bigint,
    modified_at timestamp, received_at timestamp, delivery_seq bigint not null,
    status varchar not null, reason varchar, period varchar,
    rows_read bigint, rows_loaded bigint, rows_rejected bigint, rows_skipped bigint, sheets varchar,
    primary key (path, file_sha256)
);
create table if not exists ops.rejected_rows (
    file_sha256 varchar, path varchar, sheet varchar, row_number integer, raw_values varchar,
    reason_code varchar, message varchar
);
create table if not exists ops.parse_warnings (
    file_sha256 varchar, path varchar, sheet varchar, row_number integer, column_name varchar,
    raw_value varchar, warning_code varchar, message varchar
);
create table if not exists ops.file_headers (
    file_sha256 varchar, path varchar, sheet varchar, header varchar, column_name varchar
);
create table if not exists ops.column_aliases (
    source_kind varchar, column_name varchar, alias varchar, required boolean
);
create table if not exists ops.inbox_hashes (
    path varchar primary key, file_sha256 varchar not null, bytes bigint, mtime_ns bigint, ctime_ns bigint,
    inode bigint, device bigint, hashed_at_ns bigint
);
create table if not exists ops.check_results (
    check_name varchar, asset varchar, passed boolean, severity varchar, observed_value varchar,
    failing_sample varchar, run_id varchar, checked_at timestamp
);
"""


@dataclass(frozen=True)
class InboxFile:
    path: str          # relative, '/' separated
    sha256: str
    bytes: int
    modified_at: dt.datetime


RACY_SECONDS = 2.0  # a file changed less than this long ago is hashed on every call


def sha256_of(path: Path) -> str:
    """The file's sha256. A process hashes a file once while it stays the same file: the same
    inode, size, modification and change time (the change time moves with any write or touch and
    cannot be set back), so a run that looks for new files and then registers them reads the
    inbox once, not twice. A file changed in the last ``RACY_SECONDS`` is always read (as git
    does): the file system's clock is coarse, so a second write may keep its change time."""
    st = path.stat()
    if time.time() - st.st_ctime < RACY_SECONDS:
        return _sha256.__wrapped__(str(path))
    return _sha256(str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@functools.lru_cache(maxsize=4096)
def _sha256(path: str, *identity: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def classify(rel_path: str) -> tuple[str | None, str | None]:
    """(source kind, refusal reason or None) from the folder and extension of a path."""
    folder, _, name = rel_path.rpartition("/")
    entry = SOURCE_FOLDERS.get(folder)
    if entry is None:
        known = ", ".join(f"{k}/" for k in SOURCE_FOLDERS)
        return None, f"'{folder or '.'}' is not an inbox folder ({known}): move the file into the folder of its kind"
    kind, extensions = entry
    if name.startswith("~$"):
        return kind, "an Excel lock file (the workbook was open when copied): deliver the workbook itself"
    suffix = Path(name).suffix.lower()
    if suffix not in extensions:
        return kind, f"'{suffix or 'no extension'}' files are not read in {folder}/ (expected {', '.join(extensions)})"
    return kind, None


Identity = tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, inode, device


def _identity(st) -> Identity:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def _has_ops_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = 'ops' "
                            "and table_name = ?", [name]).fetchone()[0])


def known_hashes(con: duckdb.DuckDBPyConnection | None) -> dict[str, tuple[Identity, str]]:
    """path → (identity, sha256) of the inbox files hashed by earlier runs (``ops.inbox_hashes``)
    that can be trusted: each was unchanged for ``RACY_SECONDS`` before it was hashed, so any
    later write moved its change time. A file with the same identity now holds the same bytes."""
    if con is None or not _has_ops_table(con, "inbox_hashes"):
        return {}
    rows = con.execute("select path, bytes, mtime_ns, ctime_ns, inode, device, file_sha256 from ops.inbox_hashes "
                       "where ctime_ns < hashed_at_ns - ?", [int(RACY_SECONDS * 1e9)]).fetchall()
    return {path: (tuple(identity), sha) for path, *identity, sha in rows}


def scan(inbox: Path, known: dict[str, tuple[Identity, str]] | None = None) -> tuple[list[InboxFile], list[tuple]]:
    """Every inbox file with its sha256, and the ``ops.inbox_hashes`` rows of the files it hashed.

    A file whose identity (size, modification and change time, inode, device) is that of ``known``
    is not read again: a monthly run reads the new files, not the whole history of the inbox. The
    change time moves with any write, touch or copy over the file and cannot be set back (as git
    decides which files to look at again)."""
    known = known or {}
    files, hashed = [], []
    for p in sorted(inbox.rglob("*")):
        if not p.is_file():
            continue
        rel, st = p.relative_to(inbox).as_posix(), p.stat()
        identity = _identity(st)
        before = known.get(rel)
        if before is not None and before[0] == identity:
            sha = before[1]
        else:
            hashed_at_ns = time.time_ns()
            sha = sha256_of(p)
            hashed.append((rel, sha, *identity, hashed_at_ns))
        files.append(InboxFile(rel, sha, st.st_size, dt.datetime.fromtimestamp(st.st_mtime)))
    return files, hashed


def inbox_changes(inbox: Path, known: dict[str, list]) -> tuple[list[str], dict[str, list]]:
    """Files whose content is new or changed since ``known`` (path → [size, mtime, sha256]).

    Only files whose size or mtime moved are hashed again; a touched but unchanged file (same
    sha256) is not a change. Returns (changed paths, the new state to remember).
    """
    state: dict[str, list] = {}
    changed: list[str] = []
    for p in sorted(inbox.rglob("*")):
        if not p.is_file():
            continue
        rel, st = p.relative_to(inbox).as_posix(), p.stat()
        before = known.get(rel)
        if before and before[0] == st.st_size and before[1] == st.st_mtime:
            state[rel] = before
            continue
        sha = sha256_of(p)
        state[rel] = [st.st_size, st.st_mtime, sha]
        if not before or before[2] != sha:
            changed.append(rel)
    return changed, state


def unregistered(con: duckdb.DuckDBPyConnection | None, inbox: Path) -> list[str]:
    """Inbox files (relative paths) whose path and content are not in ``ops.file_manifest`` yet:
    new files, and files changed since they were registered. ``con`` None: a new warehouse."""
    known: set[tuple[str, str]] = set()
    if con is not None and _has_ops_table(con, "file_manifest"):
        known = set(con.execute("select path, file_sha256 from ops.file_manifest").fetchall())
    files, _ = scan(inbox, known_hashes(con) if known else None)
    return [f.path for f in files if (f.path, f.sha256) not in known]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(MANIFEST_DDL)


def register_inbox(con: duckdb.DuckDBPyConnection, inbox: Path, now: dt.datetime | None = None) -> dict:
    """Record the inbox's new files; returns counts by status of the newly seen files."""
    ensure_schema(con)
    now = now or dt.datetime.now()
    known = set(con.execute("select path, file_sha256 from ops.file_manifest").fetchall())
    first_path = dict(con.execute(
        "select file_sha256, arg_min(path, delivery_seq) from ops.file_manifest "
        "where status <> 'rejected' group by 1").fetchall())
    seq = con.execute("select coalesce(max(delivery_seq), 0) from ops.file_manifest").fetchone()[0]
    files, hashed = scan(inbox, known_hashes(con))
    if hashed:
        con.executemany("insert or replace into ops.inbox_hashes (path, file_sha256, bytes, mtime_ns, ctime_ns, "
                        "inode, device, hashed_at_ns) values (?, ?, ?, ?, ?, ?, ?, ?)", hashed)
    new = [f for f in files if (f.path, f.sha256) not in known]
    new.sort(key=lambda f: (f.modified_at, Path(f.path).name, f.path))
    counts: dict[str, int] = {}
    rows = []
    for f in new:
        seq += 1
        kind, refusal = classify(f.path)
        if refusal is None and f.bytes == 0:
            refusal = "the file is empty (0 bytes): deliver it again"
        if refusal is not None:
            status, reason = "rejected", refusal
        elif f.sha256 in first_path:
            status, reason = "duplicate", f"same bytes as '{first_path[f.sha256]}', delivered earlier: nothing added"
        else:
            status, reason = "pending", None
            first_path[f.sha256] = f.path
        counts[status] = counts.get(status, 0) + 1
        rows.append((f.sha256, f.path, kind, f.bytes, f.modified_at, now, seq, status, reason))
    if rows:
        con.executemany(
            "insert into ops.file_manifest (file_sha256, path, source_kind, bytes, modified_at, received_at, "
            "delivery_seq, status, reason) values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return counts


def pending(con: duckdb.DuckDBPyConnection, kind: str) -> list[tuple[str, str]]:
    """(sha256, path) of the files of a kind still to load, in delivery order."""
    ensure_schema(con)
    return con.execute(
        "select file_sha256, path from ops.file_manifest where source_kind = ? and status = 'pending' "
        "order by delivery_seq", [kind]).fetchall()
