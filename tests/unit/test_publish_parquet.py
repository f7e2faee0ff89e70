"""Parquet export of a small published file: contents read back, the switched link, the clean-up."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.publish_outputs import bring_up_to_date, catch_up
from orchestration.publish_parquet import current_run_id, export_parquet
from tests.publication_files import checksum, duckdb_checksums, make_published, tables

ROOT = Path(__file__).resolve().parents[2]


def parquet_checksums(warehouse: Path, relations: list[str]) -> dict[str, tuple[int, str]]:
    con = duckdb.connect()
    try:
        return {relation: checksum(con.execute(
            f"select * from read_parquet('{warehouse / 'parquet' / relation.replace('.', '/')}.parquet')").fetchall())
            for relation in relations}
    finally:
        con.close()


def column_types(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple]:
    return [(name, kind) for name, kind, *_ in con.execute(f"describe select * from {source}").fetchall()]


def test_every_table_reads_back_equal_to_the_duckdb_table(tmp_path):
    published = make_published(tmp_path / "published.duckdb", "run-1", 1)
    counts = export_parquet(published, tmp_path)
    relations = tables(published)
    assert sorted(counts) == relations
    assert sorted(str(p.relative_to(tmp_path / "parquet")) for p in (tmp_path / "parquet").rglob("*.parquet")) == \
        sorted(relation.replace(".", "/") + ".parquet" for relation in relations)
    assert parquet_checksums(tmp_path, relations) == duckdb_checksums(published)
    con = duckdb.connect(str(published), read_only=True)
    try:
        for relation in relations:   # DECIMAL(18,2), DATE, ... survive, not only the values
            path = tmp_path / "parquet" / (relation.replace(".", "/") + ".parquet")
            assert column_types(con, f"read_parquet('{path}')") == column_types(con, relation)
    finally:
        con.close()


def test_each_publication_is_switched_in_whole_and_the_others_are_removed(tmp_path):
    published = make_published(tmp_path / "published.duckdb", "run-1", 1)
    export_parquet(published, tmp_path)
    link = tmp_path / "parquet"
    assert link.is_symlink() and os.readlink(link) == ".parquet-run-1"
    assert current_run_id(tmp_path) == "run-1"
    held = (link / "marts" / "dim_month.parquet").open("rb")   # a reader with a file of run-1 open
    # what dead exports leave: a folder never switched in, a half-made link
    (tmp_path / ".parquet-run-dead" / "marts").mkdir(parents=True)
    (tmp_path / ".parquet-run-dead" / "marts" / "x.parquet").write_bytes(b"partial")
    (tmp_path / ".parquet-link.tmp").symlink_to(".parquet-run-dead")
    make_published(published, "run-2", 2)
    export_parquet(published, tmp_path)
    assert os.readlink(link) == ".parquet-run-2"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".parquet", "parquet"))) == \
        [".parquet-run-2", "parquet"]
    assert parquet_checksums(tmp_path, tables(published)) == duckdb_checksums(published)
    assert len(held.read()) > 0    # still readable after its folder was removed
    held.close()


def test_a_folder_of_an_older_layout_is_replaced(tmp_path):
    (tmp_path / "parquet" / "marts").mkdir(parents=True)
    (tmp_path / "parquet" / "marts" / "old.parquet").write_bytes(b"old")
    published = make_published(tmp_path / "published.duckdb", "run-1", 1)
    export_parquet(published, tmp_path)
    assert (tmp_path / "parquet").is_symlink()
    assert not (tmp_path / "parquet" / "marts" / "old.parquet").exists()


def test_an_export_killed_before_the_switch_leaves_the_previous_one_current(tmp_path):
    published = make_published(tmp_path / "published.duckdb", "run-1", 1)
    export_parquet(published, tmp_path)
    before = parquet_checksums(tmp_path, tables(published))
    make_published(published, "run-2", 2)
    code = ("import os, sys; from pathlib import Path; import orchestration.publish_parquet as p; "
            "p._switch = lambda *a: os.kill(os.getpid(), 9); "   # dies at the instant of the switch
            "p.export_parquet(Path(sys.argv[1]), Path(sys.argv[2]))")
    done = subprocess.run([sys.executable, "-c", code, str(published), str(tmp_path)], cwd=ROOT)
    assert done.returncode == -9
    assert (tmp_path / ".parquet-run-2").is_dir()                # written, never switched in
    assert current_run_id(tmp_path) == "run-1"
    assert parquet_checksums(tmp_path, list(before)) == before
    export_parquet(published, tmp_path)                          # the next export
    assert current_run_id(tmp_path) == "run-2"
    assert not (tmp_path / ".parquet-run-1").exists()
    assert parquet_checksums(tmp_path, tables(published)) == duckdb_checksums(published)



def test_a_publication_whose_export_never_ran_is_caught_up(tmp_path, monkeypatch):
    """The process died between swapping in the file and exporting it: the next run's catch-up exports."""
    monkeypatch.delenv("DCW_POSTGRES_URL", raising=False)
    published = make_published(tmp_path / "published.duckdb", "run-1", 1)
    export_parquet(published, tmp_path)
    make_published(published, "run-2", 2)
    assert catch_up(tmp_path) is None
    assert current_run_id(tmp_path) == "run-2"
    assert parquet_checksums(tmp_path, tables(published)) == duckdb_checksums(published)
    assert bring_up_to_date(published, tmp_path).parquet is None   # up to date: nothing written
