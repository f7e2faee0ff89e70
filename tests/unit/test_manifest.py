"""The manifest: delivery order, duplicates, refused files, idempotent re-registration."""
import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from ingestion.manifest import register_inbox


def _put(inbox, rel, data: bytes, mtime: float):
    path = inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield c
    c.close()


def _rows(con):
    return con.execute("select path, delivery_seq, status, reason from ops.file_manifest order by delivery_seq").fetchall()


def test_delivery_order_duplicates_and_refusals(tmp_path, con):
    inbox = tmp_path / "inbox"
    _put(inbox, "power/b.csv", b"x,y\n1,2\n", 100)
    _put(inbox, "power/a.csv", b"x,y\n1,2\n", 100)            # same bytes, same time: name decides
    _put(inbox, "power/early.csv", b"other\n", 50)
    _put(inbox, "power/notes.txt", b"hello", 10)
    _put(inbox, "power/empty.csv", b"", 20)
    _put(inbox, "elsewhere/file.csv", b"z\n", 30)
    _put(inbox, "bureau/dc_ledger/~$lock.xlsx", b"lock", 40)
    counts = register_inbox(con, inbox, now=dt.datetime(2024, 3, 1))
    rows = _rows(con)
    assert [r[0] for r in rows] == ["power/notes.txt", "power/empty.csv", "elsewhere/file.csv",
                                    "bureau/dc_ledger/~$lock.xlsx", "power/early.csv", "power/a.csv", "power/b.csv"]
    status = {p: (s, r) for p, _, s, r in rows}
    assert status["power/a.csv"] == ("pending", None)
    assert status["power/b.csv"][0] == "duplicate" and "power/a.csv" in status["power/b.csv"][1]
    assert status["power/notes.txt"][0] == "rejected" and ".txt" in status["power/notes.txt"][1]
    assert status["power/empty.csv"][0] == "rejected" and "empty" in status["power/empty.csv"][1]
    assert status["elsewhere/file.csv"][0] == "rejected" and "not an inbox folder" in status["elsewhere/file.csv"][1]
    assert status["bureau/dc_ledger/~$lock.xlsx"][0] == "rejected"
    assert counts == {"rejected": 4, "pending": 2, "duplicate": 1}


def test_registration_is_idempotent_and_a_changed_file_is_new(tmp_path, con):
    inbox = tmp_path / "inbox"
    path = _put(inbox, "registry/r_20240331.csv", b"a\n", 100)
    register_inbox(con, inbox)
    os.utime(path, (200, 200))                                  # touched, unchanged
    assert register_inbox(con, inbox) == {}
    _put(inbox, "registry/r_20240331.csv", b"b\n", 300)          # same name, new content
    assert register_inbox(con, inbox) == {"pending": 1}
    assert [(p, seq) for p, seq, _, _ in _rows(con)] == [("registry/r_20240331.csv", 1), ("registry/r_20240331.csv", 2)]


def test_a_copy_delivered_in_a_later_run_is_a_duplicate(tmp_path, con):
    inbox = tmp_path / "inbox"
    _put(inbox, "power/202401.csv", b"same", 100)
    register_inbox(con, inbox)
    _put(inbox, "power/202401 (copy).csv", b"same", 50)          # older mtime, but seen in a later run
    register_inbox(con, inbox)
    assert [(p, s) for p, _, s, _ in _rows(con)] == [("power/202401.csv", "pending"),
                                                     ("power/202401 (copy).csv", "duplicate")]


def test_unregistered_files_are_the_new_and_the_changed_ones(tmp_path, con):
    """What `make update` runs for: files whose path and content the manifest does not hold."""
    from ingestion.manifest import unregistered

    inbox = tmp_path / "inbox"
    _put(inbox, "power/202403.csv", b"a,b\n1,2\n", 100)
    changed = _put(inbox, "registry/r_20240331.csv", b"a\n", 100)
    assert unregistered(None, inbox) == ["power/202403.csv", "registry/r_20240331.csv"]   # a new warehouse
    assert unregistered(con, inbox) == ["power/202403.csv", "registry/r_20240331.csv"]    # no manifest table yet
    register_inbox(con, inbox)
    assert unregistered(con, inbox) == []
    os.utime(changed, (200, 200))                                                         # touched, unchanged
    assert unregistered(con, inbox) == []
    _put(inbox, "registry/r_20240331.csv", b"b\n", 300)                                  # same name, new content
    _put(inbox, "power/202404.csv", b"a,b\n1,3\n", 300)                                  # a new file
    assert unregistered(con, inbox) == ["power/202404.csv", "registry/r_20240331.csv"]


def test_a_file_is_hashed_once_per_process_until_it_changes_even_with_its_old_size_and_mtime(tmp_path, monkeypatch):
    """``make update`` looks for new files, then registers them: one read of the inbox, not two.
    A rewrite is noticed even when it keeps the size and puts the modification time back."""
    import hashlib
    import time

    from ingestion import manifest

    reads = []
    real_open = open
    monkeypatch.setattr(manifest, "open", lambda path, mode: reads.append(path) or real_open(path, mode),
                        raising=False)
    path = _put(tmp_path, "power/202403.csv", b"a,b\n1,2\n", 100)
    first = manifest.sha256_of(path)
    assert first == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert manifest.sha256_of(path) == first and len(reads) == 2   # just written: read each time

    monkeypatch.setattr(manifest, "RACY_SECONDS", 0.0)
    assert manifest.sha256_of(path) == first and manifest.sha256_of(path) == first and len(reads) == 3
    time.sleep(0.05)  # beyond the file system clock's tick
    _put(tmp_path, "power/202403.csv", b"a,b\n1,3\n", 100)   # same size, same mtime, new bytes
    assert manifest.sha256_of(path) == hashlib.sha256(b"a,b\n1,3\n").hexdigest() and len(reads) == 4


def test_a_later_run_reads_only_the_files_no_run_has_hashed_yet(tmp_path, con, monkeypatch):
    """``ops.inbox_hashes``: a monthly run reads its new files, not the inbox's whole history. A file
    hashed while it was still being written is read again by the next run, and a file rewritten in
    place (same size, modification time put back) is read again and is a change."""
    import time

    from ingestion import manifest
    from ingestion.manifest import unregistered

    reads = []
    real_open = open
    monkeypatch.setattr(manifest, "open", lambda path, mode: reads.append(Path(path).name) or real_open(path, mode),
                        raising=False)
    monkeypatch.setattr(manifest, "RACY_SECONDS", 1.0)  # room for a slow machine between writing and hashing

    def in_a_new_process(step):  # each run is a process of its own: nothing hashed in memory
        manifest._sha256.cache_clear()
        reads.clear()
        return step()

    inbox = tmp_path / "inbox"
    old = _put(inbox, "power/202401.csv", b"a,b\n1,2\n", 100)
    time.sleep(1.1)
    assert in_a_new_process(lambda: register_inbox(con, inbox)) == {"pending": 1} and reads == ["202401.csv"]
    _put(inbox, "power/202402.csv", b"a,b\n1,3\n", 200)                 # hashed just after it was written
    assert in_a_new_process(lambda: register_inbox(con, inbox)) == {"pending": 1} and reads == ["202402.csv"]
    time.sleep(1.1)
    assert in_a_new_process(lambda: register_inbox(con, inbox)) == {} and reads == ["202402.csv"]  # racy: again
    assert in_a_new_process(lambda: register_inbox(con, inbox)) == {} and reads == []
    assert in_a_new_process(lambda: unregistered(con, inbox)) == [] and reads == []
    time.sleep(0.05)  # beyond the file system clock's tick
    _put(inbox, "power/202401.csv", b"a,b\n9,9\n", 100)                 # same size, same mtime, new bytes
    assert old.stat().st_size == 8 and old.stat().st_mtime == 100
    assert in_a_new_process(lambda: unregistered(con, inbox)) == ["power/202401.csv"] and reads == ["202401.csv"]


@pytest.mark.parametrize("kind", ["power", "registry", "dc_ledger"])
def test_worker_processes_load_what_this_process_loads(sample_inbox, tmp_path, monkeypatch, kind):
    """Large deliveries are parsed by worker processes: the raw rows, refused rows, warnings and
    manifest they leave are those of parsing in this process, file by file in delivery order."""
    from ingestion import load
    from ingestion.column_maps import source_map

    table = source_map(kind).table

    def loaded(threshold):
        monkeypatch.setattr(load, "PARALLEL_BYTES", threshold)
        con = duckdb.connect(str(tmp_path / f"w{threshold}.duckdb"))
        register_inbox(con, sample_inbox, now=dt.datetime(2024, 3, 1))
        summary = load.load_source(con, sample_inbox, kind)
        state = [con.execute(f"select * from {t} order by all").fetchall() for t in
                 (f"raw.{table}", "ops.rejected_rows", "ops.parse_warnings", "ops.file_manifest")]
        con.close()
        return summary, state

    pools = []

    class Pool(load.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(load, "ProcessPoolExecutor", Pool)
    monkeypatch.setenv("DCW_INGEST_WORKERS", "2")
    serial = loaded(1 << 40)
    assert not pools and serial[0]["files_loaded"] + serial[0]["files_rejected"] > 1
    assert loaded(0) == serial and len(pools) == 1
