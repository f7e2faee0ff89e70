"""Loading one source kind: pending files → ``raw.<table>``, ``ops.rejected_rows``, ``ops.parse_warnings``.

``parse_file`` turns one file into a ``FileResult`` (pure, no database); ``load_source`` writes
the results of every pending file of a kind, one transaction per file, so a run that fails half
way leaves every file either fully loaded or still pending (in delivery order, also when
``DCW_INGEST_WORKERS`` lets worker processes parse large deliveries). The raw tables' DDL is
derived from the column maps, so a new column is a YAML change.

What does not belong here: header and cell rules (``spreadsheet.py``, ``rows.py``), which file
is current (dbt), Dagster.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.column_maps import SourceMap, source_map
from ingestion.file_columns import record_file_headers
from ingestion.limits import Limits, size_text
from ingestion.manifest import ensure_schema, forget_registration, pending, registered_state
from ingestion.normalize import date_in_text, month_in_text, year_in_text
from ingestion.raw_schema import LINEAGE, raw_columns
from ingestion.rows import Parsed, RowError, parse_table, reject_duplicate_keys
from ingestion.spreadsheet import FileRefused, locate_table, read_grids


def raw_ddl(smap: SourceMap) -> str:
    cols = {**LINEAGE, **raw_columns(smap), "extras": "varchar"}
    body = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in cols.items())
    return f"create schema if not exists raw;\ncreate table if not exists raw.{smap.table} (\n    {body}\n);"


@dataclass
class FileResult:
    status: str                         # loaded / rejected
    reason: str | None = None
    period: str | None = None
    parsed: Parsed = field(default_factory=Parsed)
    sheets: dict[str, str] = field(default_factory=dict)


def period_from_title_or_name(smap: SourceMap, title: str, file_name: str):
    """The period a table gives in its title or its file name (as the column map allows), or None."""
    kind = smap.period["kind"]
    if kind == "month":
        found = smap.period.get("from_title") and month_in_text(title)
        return found or (smap.period.get("from_file_name") and month_in_text(file_name, file_name=True)) or None
    if kind == "year":
        found = smap.period.get("from_title") and year_in_text(title)
        return found or (smap.period.get("from_file_name") and year_in_text(file_name)) or None
    if kind == "date":
        return (smap.period.get("from_file_name") and date_in_text(file_name)) or None
    return None


def _period_text(smap: SourceMap, parsed: Parsed) -> str | None:
    rows = parsed.rows_table()
    if rows is None:
        return None
    values = sorted(v for v in pc.unique(rows.column(smap.period["column"])).to_pylist() if v is not None)
    if not values or smap.period["kind"] == "quarter":
        return None
    if smap.period["kind"] == "month":
        return ",".join(v.strftime("%Y-%m") for v in values)
    return ",".join(str(v) for v in values)


def refusal_of(exc: BaseException) -> tuple[str, str]:
    """(reason code, message) for an error met while reading one file: the file is refused, the run
    goes on. What a clerk can do about it is part of the message."""
    if isinstance(exc, PermissionError):
        return "unreadable_file", ("the file cannot be opened: permission denied; give the pipeline's user read "
                                   "access (or deliver it again) and it is read on the next run")
    if isinstance(exc, FileNotFoundError):
        return "file_gone", "the file was removed from the inbox between listing and reading"
    if isinstance(exc, MemoryError):
        return "too_large", ("reading the file ran out of memory: split the delivery, or lower the limits "
                             "(DCW_MAX_* settings) so such a file is refused before it is read")
    if isinstance(exc, OSError):
        return "unreadable_file", f"the file cannot be read ({exc.strerror or exc}): deliver it again"
    return "unreadable_file", (f"the file could not be parsed ({type(exc).__name__}: {str(exc)[:200]}): "
                               "re-export it from the source system, or check it against the template")


def parse_file(kind: str, path: Path) -> FileResult:
    """Read and parse one file of a source kind. Never raises for the file's sake: a file that
    cannot be read or parsed, whatever the reason, is refused with that reason instead."""
    try:
        return _parse_file(kind, path)
    except Exception as exc:  # noqa: BLE001 -- one bad file costs only itself
        code, message = refusal_of(exc)
        return FileResult(status="rejected", reason=f"{code}: {message}")


def _parse_file(kind: str, path: Path) -> FileResult:
    smap = source_map(kind)
    limits = Limits.from_env()
    size = path.stat().st_size
    if size > limits.file_bytes:
        return FileResult(status="rejected", reason=(
            f"too_large: the file is {size_text(size)}, over the limit of {size_text(limits.file_bytes)} "
            "(DCW_MAX_FILE_BYTES): split the delivery, or raise the limit"))
    result = FileResult(status="loaded")
    try:
        grids = read_grids(path)
        parsed = result.parsed
        data_sheets = 0
        for grid in grids:
            label = grid.sheet or "(file)"
            table = locate_table(grid, smap)
            if table is None:
                if grid.sheet is None:
                    keys = "; ".join(f"{c.name} ({' / '.join(c.aliases[:3])})" for c in smap.required)
                    raise FileRefused("no_header", f"no header row naming {keys} in the first rows: "
                                      "check the columns against the template")
                result.sheets[label] = "skipped: no header of this source"
                continue
            if table.problems:
                raise FileRefused("ambiguous_header", f"sheet {label}: " + "; ".join(table.problems))
            missing_period = smap.period["column"] not in table.mapped
            default = period_from_title_or_name(smap, table.title, path.name)
            if missing_period and default is None and smap.period["kind"] in ("month", "year", "date"):
                what = {"month": "report month", "year": "plan year", "date": "snapshot date"}[smap.period["kind"]]
                raise FileRefused("no_period", f"sheet {label}: no {what} in a column, the title or the file name "
                                  f"('{path.name}'): add it to the title (e.g. 2024年3月) or the file name")
            try:
                parse_table(smap, table, default, parsed)
            except RowError as exc:  # a header-level problem, e.g. an unknown unit
                raise FileRefused(exc.code, f"sheet {label}: {exc}") from None
            result.sheets[label] = "data"
            data_sheets += 1
        if data_sheets == 0:
            raise FileRefused("no_data_sheet", "no sheet has a header of this source ("
                              + ", ".join(f"{n}: {s}" for n, s in result.sheets.items()) + ")")
        reject_duplicate_keys(smap, parsed)
        result.period = _period_text(smap, parsed)
    except FileRefused as exc:
        return FileResult(status="rejected", reason=f"{exc.code}: {exc}", sheets=result.sheets)
    return result


ROW_GROUP = 122_880  # DuckDB's row group: it inserts Arrow batches of this size in parallel (1M rows: 3.6 -> 2.1 s)


def _frame(smap: SourceMap, sha: str, parsed: Parsed) -> pa.Table:
    """The raw table's rows of one file, in the raw table's column order, in batches DuckDB inserts in parallel."""
    rows = parsed.rows_table()
    cols = [*raw_columns(smap), "extras"]
    table = pa.table({"file_sha256": pa.repeat(pa.scalar(sha, pa.string()), rows.num_rows),
                      "sheet": rows.column("sheet"), "row_number": rows.column("row_number"),
                      **{c: rows.column(c) for c in cols}})
    return pa.Table.from_batches(table.to_batches(max_chunksize=ROW_GROUP), table.schema)


def write_result(con: duckdb.DuckDBPyConnection, kind: str, sha: str, rel_path: str, result: FileResult) -> None:
    """Write one file's result in one transaction (replacing any earlier partial attempt)."""
    smap = source_map(kind)
    p = result.parsed
    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{smap.table} where file_sha256 = ?", [sha])
        con.execute("delete from ops.rejected_rows where file_sha256 = ? and path = ?", [sha, rel_path])
        con.execute("delete from ops.parse_warnings where file_sha256 = ? and path = ?", [sha, rel_path])
        if result.status == "loaded" and p.n_records:
            frame = _frame(smap, sha, p)  # noqa: F841 (read by DuckDB's replacement scan)
            con.execute(f"insert into raw.{smap.table} by name select * from frame")
        if p.rejections:
            con.executemany("insert into ops.rejected_rows values (?, ?, ?, ?, ?, ?, ?)", [
                (sha, rel_path, r.sheet, r.row_number, json.dumps(r.raw_values, ensure_ascii=False),
                 r.reason_code, r.message) for r in p.rejections])
        if p.warnings:
            con.executemany("insert into ops.parse_warnings values (?, ?, ?, ?, ?, ?, ?, ?)", [
                (sha, rel_path, w.sheet, w.row_number, w.column_name, w.raw_value, w.warning_code, w.message)
                for w in p.warnings])
        record_file_headers(con, kind, sha, rel_path, p.headers if result.status == "loaded" else [])
        loaded = p.n_records if result.status == "loaded" else 0
        con.execute(
            "update ops.file_manifest set status = ?, reason = ?, period = ?, rows_read = ?, rows_loaded = ?, "
            "rows_rejected = ?, rows_skipped = ?, sheets = ? where file_sha256 = ? and path = ?",
            [result.status, result.reason, result.period,
             p.rows_read if result.status == "loaded" else None, loaded if result.status == "loaded" else None,
             len(p.rejections) if result.status == "loaded" else None,
             p.rows_skipped if result.status == "loaded" else None,
             json.dumps(result.sheets, ensure_ascii=False) if result.sheets else None, sha, rel_path])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    from ingestion.column_maps import SOURCE_KINDS
    ensure_schema(con)
    for kind in SOURCE_KINDS:
        con.execute(raw_ddl(source_map(kind)))


PARALLEL_BYTES = 64 << 20  # deliveries larger than this in all are parsed by the workers
DEFAULT_WORKERS = 2


def ingest_workers() -> int:
    """Worker processes that parse large deliveries (``DCW_INGEST_WORKERS``; default 2, or 1 on a
    single core).

    Two take a province's four registry extracts from ~70 s to 42-52 s on two cores. Each holds
    one parsed extract of a million firms (~1.2-1.3 GiB) while this process writes the previous
    one, so a scale-1 run peaks at ~3.8 GiB instead of ~3.2 GiB. More than two raise the peak by as
    much again per worker; 1 parses in this process."""
    value = os.environ.get("DCW_INGEST_WORKERS") or str(min(DEFAULT_WORKERS, os.cpu_count() or 1))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"DCW_INGEST_WORKERS must be a whole number of at least 1, not {value!r}")
    return int(value)


def load_source(con: duckdb.DuckDBPyConnection, inbox: Path, kind: str,
                on_file: Callable[[int, int, dict], None] | None = None) -> dict:
    """Load every pending file of a kind; returns a summary for the orchestration's metadata.
    ``on_file(done, total, summary)`` is called after each file (progress for the caller)."""
    ensure_raw_tables(con)
    summary = {"files_loaded": 0, "files_rejected": 0, "files_left": 0, "rows_loaded": 0, "rows_rejected": 0,
               "warnings": 0}
    files = []
    for sha, rel_path in pending(con, kind):
        if _still_the_registered_file(con, inbox, kind, sha, rel_path):
            files.append((sha, rel_path))
        else:
            summary["files_left" if (inbox / rel_path).exists() else "files_rejected"] += 1
    for done, ((sha, rel_path), result) in enumerate(
            zip(files, _parsed(kind, [inbox / rel for _, rel in files]), strict=True), start=1):
        if not _still_the_registered_file(con, inbox, kind, sha, rel_path):  # written to while it was read
            summary["files_left" if (inbox / rel_path).exists() else "files_rejected"] += 1
        else:
            write_result(con, kind, sha, rel_path, result)
            summary["files_loaded" if result.status == "loaded" else "files_rejected"] += 1
            if result.status == "loaded":
                summary["rows_loaded"] += result.parsed.n_records
                summary["rows_rejected"] += len(result.parsed.rejections)
                summary["warnings"] += len(result.parsed.warnings)
        if on_file is not None:
            on_file(done, len(files), summary)
    return summary


def _still_the_registered_file(con: duckdb.DuckDBPyConnection, inbox: Path, kind: str, sha: str,
                               rel_path: str) -> bool:
    """Whether the inbox file at ``rel_path`` still holds the bytes registered as ``sha``. A file
    gone since is recorded as refused (``file_gone``); a file changed since (still being written,
    or replaced) is taken off the manifest, so that the next run registers what it holds then.
    Nothing is read from a file that is not the registered one."""
    state = registered_state(con, inbox, rel_path, sha)
    if state == "same":
        return True
    if state == "gone":
        write_result(con, kind, sha, rel_path, FileResult(status="rejected", reason=(
            "file_gone: the file was removed from the inbox between listing and reading; deliver it again")))
    else:
        forget_registration(con, sha, rel_path)
    return False


def _parsed(kind: str, paths: list[Path]) -> Iterator[FileResult]:
    """Each file's result, in order. With ``ingest_workers()`` > 1, large deliveries (registry
    extracts of a million firms) are parsed by worker processes while this one writes the results
    already parsed: parsing is mostly single-threaded. Small ones always stay in this process,
    where starting workers would cost more than it saves."""
    workers = min(ingest_workers(), len(paths))
    if workers < 2 or sum(_size(p) for p in paths) < PARALLEL_BYTES:
        yield from (parse_file(kind, path) for path in paths)
        return
    with tempfile.TemporaryDirectory(prefix="dcw-parsed-") as tmp, ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for result, rows_file in pool.map(_parse_to_file, [kind] * len(paths), paths, [Path(tmp)] * len(paths)):
            if rows_file is not None:
                result.parsed.frames = [pa.ipc.open_file(pa.memory_map(str(rows_file))).read_all()]
            yield result
            if rows_file is not None:
                result.parsed.frames = []
                rows_file.unlink()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # parse_file says why


def _parse_to_file(kind: str, path: Path, tmp: Path) -> tuple[FileResult, Path | None]:
    """In a worker process: parse a file, write its rows to an Arrow file in ``tmp`` and return
    the result without them (nor the grids it was read from), for the parent to write."""
    result = parse_file(kind, path)
    parsed = result.parsed
    rows_file = None
    if parsed.frames:
        rows = pa.concat_tables(parsed.frames)
        rows_file = tmp / f"{uuid.uuid4().hex}.arrow"
        with pa.OSFile(str(rows_file), "wb") as sink, pa.ipc.new_file(sink, rows.schema) as writer:
            writer.write_table(rows)
    result.parsed = Parsed(rejections=parsed.rejections, warnings=parsed.warnings, rows_read=parsed.rows_read,
                           rows_skipped=parsed.rows_skipped, headers=parsed.headers)
    return result, rows_file
