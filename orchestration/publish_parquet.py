"""Parquet export of the published DuckDB file: ``<warehouse>/parquet/<schema>/<table>.parquet``.

Pure: it takes the published file and the warehouse folder, and knows nothing of Dagster. Each
publication is written to a folder of its own (``.parquet-<run id>``); ``parquet`` is a symbolic
link to the current one, switched by renaming a new link over it (atomic), so a reader that
resolves ``parquet/`` sees one complete publication. Then every other ``.parquet-*`` folder is
removed: the previous one, and those of publications that died before or after the switch (a
process may die at any instant; the next export cleans up). A reader holding a file of a removed
folder open keeps reading it (POSIX); one that lists the folder and then opens its files should
resolve the link once (``os.path.realpath``) and read from there.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

SCHEMAS = ("marts", "audit")
LINK = "parquet"
PREFIX = ".parquet-"


def current_run_id(warehouse_dir: Path) -> str | None:
    """The run id of the publication ``parquet/`` points at; None when there is none."""
    link = warehouse_dir / LINK
    if not link.is_symlink():
        return None
    target = os.readlink(link)
    return target[len(PREFIX):] if target.startswith(PREFIX) and (warehouse_dir / target).is_dir() else None


def export_parquet(published_db: Path, warehouse_dir: Path) -> dict[str, int]:
    """Write every table of the published schemas to a new folder and make it current; returns
    table → row count."""
    con = duckdb.connect(str(published_db), read_only=True)
    try:
        run_id = con.execute("select run_id from audit.publication").fetchone()[0]
        folder = warehouse_dir / f"{PREFIX}{run_id}"
        if folder.exists():  # a run of this publication that died before the switch
            shutil.rmtree(folder)
        counts = {}
        tables = con.execute(f"""
            select schema_name, table_name from duckdb_tables()
            where database_name = current_database() and schema_name in {SCHEMAS} order by 1, 2""").fetchall()
        for schema, table in tables:
            (folder / schema).mkdir(parents=True, exist_ok=True)
            target = folder / schema / f"{table}.parquet"
            con.execute(f'copy (select * from {schema}."{table}") to \'{target}\' (format parquet, compression zstd)')
            counts[f"{schema}.{table}"] = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
    finally:
        con.close()
    _fsync_tree(folder)
    _switch(warehouse_dir, folder.name)
    _remove_others(warehouse_dir, folder.name)
    return counts


def _fsync_tree(folder: Path) -> None:
    """The files' contents on disk before the link names them (a power cut after the switch)."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _switch(warehouse_dir: Path, folder_name: str) -> None:
    link = warehouse_dir / LINK
    if link.exists() and not link.is_symlink():  # a real folder of an older layout: not switchable by rename
        shutil.rmtree(link)
    new_link = warehouse_dir / f"{PREFIX}link.tmp"
    new_link.unlink(missing_ok=True)
    new_link.symlink_to(folder_name)  # relative: the warehouse folder may be moved or mounted elsewhere
    os.replace(new_link, link)
    fd = os.open(warehouse_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_others(warehouse_dir: Path, current: str) -> None:
    for path in warehouse_dir.glob(f"{PREFIX}*"):
        if path.name != current and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
