"""The file manifest: every file ever seen in the inbox, in delivery order, with its fate.

``register_inbox`` hashes the inbox (each file once: ``ops.inbox_hashes`` remembers what it read,
so a later run reads only new or changed files), records new (path, sha256) pairs in ``ops.file_manifest``
in delivery order (first seen run, then modification time, then name), refuses files that are
outside the known folders, of another extension or empty, and marks byte-identical copies as
duplicates. Files it leaves ``pending`` are for the source loaders (``load.py``).

The inbox is a boundary: a file is read only if its real path lies inside the inbox (a symlink
that leaves it is refused as ``outside_inbox`` without being opened). A file that cannot be read
(permission denied) or is over the size limit is recorded as rejected with an empty sha256 (its
bytes were never read) and tried again once it changes. A file still being written (modified in
the last ``DCW_SETTLE_SECONDS``, or changing while it was hashed) is left for the next run.

What does not belong here: reading file contents (``spreadsheet.py``), supersession (dbt).
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.column_maps import SOURCES

# inbox folder → (source kind, accepted file types), from the registry of source kinds (column_maps/sources.yaml)
SOURCE_FOLDERS = {spec["folder"]: (kind, tuple(spec["extensions"])) for kind, spec in SOURCES.items()}

MANIFEST_DDL = """
create schema if not exists ops;
create table if not exists ops.file_manifest (
    file_sha256 varchar not null, path varchar not null, source_kind varchar, bytes bigint,
    modified_at timestamp, received_at timestamp, delivery_seq bigint not null,
    status varchar not null, reason varchar, period varchar,
    rows_read bigint, rows_loaded bigint, rows_rejected bigint, rows_skipped bigint, sheets varchar,
    published_run_id varchar,
    primary key (path, file_sha256)
);
alter table ops.file_manifest add column if not exists published_run_id varchar;
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
    sha256: str        # "" when the bytes were not read (refusal says why)
    bytes: int
    modified_at: dt.datetime
    refusal: str | None = None  # refused without reading: outside the inbox, unreadable, too large


NOT_READ = ""  # the sha256 recorded for a file whose bytes were never read
DEFAULT_SETTLE_SECONDS = 2.0


def settle_seconds() -> float:
    """``DCW_SETTLE_SECONDS`` (default 2): a file modified more recently is taken as still being
    written and left for the next run."""
    value = os.environ.get("DCW_SETTLE_SECONDS", "").strip()
    try:
        return float(value) if value else DEFAULT_SETTLE_SECONDS
    except ValueError:
        raise ValueError(f"DCW_SETTLE_SECONDS must be a number of seconds, not {value!r}") from None


@dataclass(frozen=True)
class Entry:
    """One file found in the inbox: where, its stat, and a refusal when it must not be opened."""
    rel: str
    path: Path
    stat: os.stat_result
    refusal: str | None = None


def inbox_entries(inbox: Path) -> list[Entry]:
    """Every file of the inbox, in path order, without following anything out of it.

    A symlink whose real path is outside the inbox is listed with the refusal ``outside_inbox``
    (it is never opened); a symlinked folder inside the inbox is not walked (its files are listed
    where they really are). Anything else that is no regular file (a pipe, a device) is refused.
    A file gone between listing and its stat is not listed: it was never seen."""
    root = inbox.resolve()
    entries = []
    for folder, dirs, names in os.walk(inbox):
        base = Path(folder)
        for name in list(dirs):
            link = base / name
            if link.is_symlink():
                dirs.remove(name)
                if not _inside(link, root):
                    names.append(name)  # listed (and refused) as a file
        dirs.sort()
        for name in sorted(names):
            path = base / name
            rel = path.relative_to(inbox).as_posix()
            try:
                st = path.lstat()
                if path.is_symlink():
                    if not _inside(path, root):
                        entries.append(Entry(rel, path, st, "outside_inbox: a link to a file outside the inbox "
                                             f"({os.path.realpath(path)}); it is not read: copy the file itself "
                                             "into the inbox"))
                        continue
                    st = path.stat()
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode):
                entries.append(Entry(rel, path, st, "not_a_file: not a regular file (a pipe, device or folder "
                                     "link); deliver the file itself"))
                continue
            entries.append(Entry(rel, path, st))
    entries.sort(key=lambda e: e.rel)
    return entries


def _inside(path: Path, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(root)


def readable_in_inbox(inbox: Path, rel_path: str) -> bool:
    """Whether the file may be opened at all: a regular file whose real path lies inside the inbox,
    within the size limit. (The period probe asks before it reads; the manifest records why not.)"""
    from ingestion.limits import Limits

    path = inbox / rel_path
    try:
        st = path.stat()
    except OSError:
        return False
    return _inside(path, inbox.resolve()) and stat.S_ISREG(st.st_mode) and st.st_size <= Limits.from_env().file_bytes


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


def _refused_before_reading(entry: Entry, max_bytes: int) -> str | None:
    from ingestion.limits import size_text

    if entry.refusal is None and entry.stat.st_size > max_bytes:
        return (f"too_large: the file is {size_text(entry.stat.st_size)}, over the limit of {size_text(max_bytes)} "
                "(DCW_MAX_FILE_BYTES): split the delivery, or raise the limit")
    return entry.refusal


def _hash_entry(entry: Entry) -> tuple[str | None, str | None]:
    """(sha256, None) for a settled file; (NOT_READ, refusal) for one that cannot be read; (None,
    None) for one still being written (modified in the last ``settle_seconds()``, or changing while
    hashed) or gone: the next run takes it."""
    identity = _identity(entry.stat)
    if time.time() - entry.stat.st_mtime < settle_seconds():
        return None, None
    try:
        sha = sha256_of(entry.path)
        after = _identity(entry.path.stat())
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return NOT_READ, ("unreadable_file: the file cannot be opened: permission denied; give the pipeline's user "
                          "read access and it is read on the next run" if isinstance(exc, PermissionError) else
                          f"unreadable_file: the file cannot be read ({exc.strerror or exc}): deliver it again")
    return (sha, None) if after == identity else (None, None)


def scan(inbox: Path, known: dict[str, tuple[Identity, str]] | None = None,
         left: list[str] | None = None) -> tuple[list[InboxFile], list[tuple]]:
    """Every inbox file with its sha256, and the ``ops.inbox_hashes`` rows of the files it hashed.

    A file whose identity (size, modification and change time, inode, device) is that of ``known``
    is not read again: a monthly run reads the new files, not the whole history of the inbox. The
    change time moves with any write, touch or copy over the file and cannot be set back (as git
    decides which files to look at again). A file still being written is left out (the next run
    takes it, and ``left`` gets its path); one that must not or cannot be read is listed with its
    refusal and an empty sha256."""
    from ingestion.limits import Limits

    known = known or {}
    max_bytes = Limits.from_env().file_bytes
    files, hashed = [], []
    for entry in inbox_entries(inbox):
        rel, st = entry.rel, entry.stat
        modified = dt.datetime.fromtimestamp(st.st_mtime)
        refusal = _refused_before_reading(entry, max_bytes)
        if refusal is not None:
            files.append(InboxFile(rel, NOT_READ, st.st_size, modified, refusal))
            continue
        identity = _identity(st)
        before = known.get(rel)
        if before is not None and before[0] == identity:
            files.append(InboxFile(rel, before[1], st.st_size, modified))
            continue
        hashed_at_ns = time.time_ns()
        sha, refusal = _hash_entry(entry)
        if sha is None:
            if left is not None:
                left.append(rel)
            continue
        if refusal is None:
            hashed.append((rel, sha, *identity, hashed_at_ns))
        files.append(InboxFile(rel, sha, st.st_size, modified, refusal))
    return files, hashed


def inbox_changes(inbox: Path, known: dict[str, list]) -> tuple[list[str], dict[str, list]]:
    """Files whose content is new or changed since ``known`` (path → [size, mtime, sha256]).

    Only files whose size or mtime moved are hashed again; a touched but unchanged file (same
    sha256) is not a change. A file still being written is no change yet; one that must not or
    cannot be read is a change once (with an empty sha256), so that a run records its refusal.
    Returns (changed paths, the new state to remember).
    """
    from ingestion.limits import Limits

    max_bytes = Limits.from_env().file_bytes
    state: dict[str, list] = {}
    changed: list[str] = []
    for entry in inbox_entries(inbox):
        rel, st = entry.rel, entry.stat
        before = known.get(rel)
        if before and before[0] == st.st_size and before[1] == st.st_mtime:
            state[rel] = before
            continue
        if _refused_before_reading(entry, max_bytes) is not None:
            sha = NOT_READ
        else:
            sha, _ = _hash_entry(entry)
            if sha is None:
                continue  # still being written: a later tick sees it settled
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
    left: list[str] = []
    files, hashed = scan(inbox, known_hashes(con), left)
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
        refusal = f.refusal or refusal
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
    if left:
        counts["still_being_written"] = len(left)  # not registered: the next run takes them
    return counts


def pending(con: duckdb.DuckDBPyConnection, kind: str) -> list[tuple[str, str]]:
    """(sha256, path) of the files of a kind still to load, in delivery order."""
    ensure_schema(con)
    return con.execute(
        "select file_sha256, path from ops.file_manifest where source_kind = ? and status = 'pending' "
        "order by delivery_seq", [kind]).fetchall()


def registered_state(con: duckdb.DuckDBPyConnection, inbox: Path, rel_path: str, sha: str) -> str:
    """``same`` when the file at ``rel_path`` still has the identity it had when it was hashed as
    ``sha`` (so it holds those bytes), ``gone`` when it is no longer there, else ``changed``."""
    path = inbox / rel_path
    try:
        st = path.stat()
    except FileNotFoundError:
        return "gone"
    if path.is_symlink() and not _inside(path, inbox.resolve()):
        return "changed"
    row = con.execute("select bytes, mtime_ns, ctime_ns, inode, device from ops.inbox_hashes "
                      "where path = ? and file_sha256 = ?", [rel_path, sha]).fetchone()
    if row is None:  # registered before identities were kept: the bytes decide
        return "same" if sha256_of(path) == sha else "changed"
    return "same" if tuple(row) == _identity(st) else "changed"


def forget_registration(con: duckdb.DuckDBPyConnection, sha: str, rel_path: str) -> None:
    """Take a pending file off the manifest: what it held when registered is no longer there to read
    (it is being rewritten), and the next run registers what it holds then."""
    con.execute("delete from ops.file_manifest where file_sha256 = ? and path = ? and status = 'pending'",
                [sha, rel_path])
    con.execute("delete from ops.inbox_hashes where path = ? and file_sha256 = ?", [rel_path, sha])


def unpublished(con: duckdb.DuckDBPyConnection | None) -> list[str]:
    """Paths of the manifest's files that no publication has included yet: still pending (a run
    died or failed before loading them), or loaded, refused or found duplicate since the last
    publication. ``update`` runs for them as for new files."""
    if con is None or not _has_ops_table(con, "file_manifest"):
        return []
    columns = {name for (name,) in con.execute(
        "select column_name from information_schema.columns where table_schema = 'ops' "
        "and table_name = 'file_manifest'").fetchall()}
    if "published_run_id" not in columns:
        return []
    return [path for (path,) in con.execute(
        "select distinct path from ops.file_manifest where published_run_id is null order by path").fetchall()]


def mark_published(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Record ``run_id`` as the first publication of every manifest file that has none yet."""
    if not _has_ops_table(con, "file_manifest"):
        return
    con.execute("alter table ops.file_manifest add column if not exists published_run_id varchar")
    con.execute("update ops.file_manifest set published_run_id = ? where published_run_id is null", [run_id])
