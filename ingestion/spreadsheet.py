"""From a file to located tables: grids of cells, the header found and mapped, rows classified.

- ``read_grids``: xlsx (python-calamine), csv (UTF-8, UTF-8 with BOM, GB18030; read by DuckDB
  after a streaming transcode) and jsonl (DuckDB's JSON functions) into grids of raw cells held
  column by column, one per sheet, with absolute row numbers as a spreadsheet program shows them.
- ``locate_table``: finds the header under title and blank rows (one row, or two rows with merged
  group cells), maps each header cell through the source's aliases and reads the unit in the
  header; ``row_kind`` tells data, blank, totals and notes rows apart.

What does not belong here: converting a cell to its typed value (``normalize.py``, ``rows.py``),
and anything about which file is current (dbt).
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import itertools
import json
import re
import tempfile
import threading
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import python_calamine

from ingestion.column_maps import SourceMap, common, header_key
from ingestion.limits import Limits, size_text
from ingestion.normalize import clean_text, squeeze


class FileRefused(Exception):
    """The file as a whole cannot be loaded; the message says why, for the manifest."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Grid:
    """The raw cells of one sheet (or of a csv / jsonl file), held column by column.

    A column is a pyarrow string array (csv and jsonl, read by DuckDB) or a numpy object array
    (xlsx cells as python-calamine gives them). Row ``i`` is spreadsheet row ``first_row_number + i``.
    """
    sheet: str | None                # None for csv / jsonl
    columns: list                    # raw cells by column, all of the same length
    first_row_number: int = 1
    truncated_after: int | None = None  # csv: cells beyond this many columns were not read

    @classmethod
    def from_rows(cls, sheet: str | None, rows: list[list], first_row_number: int = 1) -> Grid:
        width = max((len(r) for r in rows), default=0)
        columns = [np.empty(len(rows), dtype=object) for _ in range(width)]
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                columns[j][i] = str(value) if isinstance(value, bool) else value
        return cls(sheet, columns, first_row_number)

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def rows_at(self, indices: list[int]) -> list[list]:
        """Rows at ``indices`` as lists of Python values."""
        if not indices:
            return []
        take = pa.array(indices, pa.int64())
        cols = [c.take(take).to_pylist() if isinstance(c, (pa.Array, pa.ChunkedArray)) else list(c[indices])
                for c in self.columns]
        return [list(r) for r in zip(*cols, strict=True)]

    def rows(self, start: int = 0, stop: int | None = None) -> list[list]:
        """Rows ``start:stop`` as lists of Python values (for the header search and refused rows)."""
        stop = self.n_rows if stop is None else min(stop, self.n_rows)
        if start >= stop:
            return []
        cols = [c[start:stop].to_pylist() if isinstance(c, (pa.Array, pa.ChunkedArray)) else list(c[start:stop])
                for c in self.columns]
        return [list(r) for r in zip(*cols, strict=True)]


# --- reading -----------------------------------------------------------------------------------

_CHUNK = 1 << 24
_SPARE_COLUMNS = 8  # csv: columns read beyond the widest of the first records, to catch cells beyond the header


def _blank_lines(body: bytes) -> list[int]:
    """Offsets in ``body`` (whole lines) where a blank line starts (an empty line, or a lone \r).

    Bytes, not text: a line break, a carriage return and a quote are single bytes in UTF-8 and in
    GB18030 alike (never part of a multi-byte character), and ``bytes.find`` is C speed.
    """
    starts = [0] if body.startswith((b"\n", b"\r\n")) else []
    for pattern in (b"\n\n", b"\n\r\n"):
        i = body.find(pattern)
        while i >= 0:
            starts.append(i + 1)
            i = body.find(pattern, i + 1)
    return sorted(starts)


def _scan(src: Path, encoding: str, dst: Path | None, *, blank_line: str, quoted: bool,
          max_line: int | None = None) -> bool:
    """Decode ``src`` as ``encoding`` in a stream; with ``dst``, write it there as UTF-8 with every
    blank line outside quoted cells replaced by ``blank_line``. Without ``dst``, only say whether
    such a blank line exists. Raises UnicodeDecodeError when ``src`` is not in ``encoding``.

    In csv (``quoted``), whether a point is inside a quoted cell is the parity of the quote
    characters before it (an escaped quote is two); a jsonl record is one line whatever its quotes.
    A line longer than ``max_line`` bytes refuses the file before it is held in memory.
    """
    utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")  # a leading byte-order mark is dropped
    decoder = codecs.getincrementaldecoder("utf-8" if utf8 else encoding)()
    marker = blank_line.encode("ascii")
    found, first = False, True
    sink = dst.open("wb") if dst else contextlib.nullcontext()
    with src.open("rb") as fin, sink as fout:
        carry, quotes = b"", 0
        while True:
            chunk = fin.read(_CHUNK)
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            body, carry = data[:cut], data[cut:]
            if max_line and (len(carry) > max_line or not _lines_within(body, max_line)):
                raise _line_too_long(max_line)
            if first and utf8 and body.startswith(codecs.BOM_UTF8):
                body = body[len(codecs.BOM_UTF8):]
            pieces, last, counted = [], 0, 0
            for start in _blank_lines(body):
                quotes += body.count(b'"', counted, start) if quoted else 0
                counted = start
                if quotes % 2 == 0:
                    found = True
                    pieces += [body[last:start], marker]
                    last = start
            quotes += body.count(b'"', counted) if quoted else 0
            if pieces:
                pieces.append(body[last:])
                body = b"".join(pieces)
            text = decoder.decode(body, final=not chunk)  # the encoding's check, and the transcoding
            if fout is not None:
                fout.write(body if utf8 else text.encode("utf-8"))
            first = first and not body  # the byte-order mark can only open the first line
            if not chunk:
                return found


def _lines_within(body: bytes, limit: int) -> bool:
    """Whether every line of ``body`` (whole lines) is at most ``limit`` bytes long: each window of
    ``limit`` bytes from a line start must hold a line break, found from its end (a few calls per
    chunk, at C speed, instead of one per line)."""
    start = 0
    while len(body) - start > limit:
        end = body.rfind(b"\n", start, start + limit + 1)
        if end < 0:
            return False
        start = end + 1
    return True


def _line_too_long(limit: int) -> FileRefused:
    return FileRefused("line_too_long", f"a line is longer than {size_text(limit)} (DCW_MAX_LINE_BYTES): "
                       "the file is not a table export of this source; re-export it, or raise the limit")


def _utf8_source(src: Path, tmp: Path, *, blank_line: str, quoted: bool) -> Path:
    """A UTF-8 file DuckDB can read for ``src``: ``src`` itself when it is UTF-8 (with or without
    BOM) without blank lines, else a copy (GB18030 — a superset of GBK — transcoded in a stream).

    Blank lines become ``blank_line`` (an empty record) in the copy, because DuckDB skips blank
    lines and the row numbers must stay those a spreadsheet program shows.
    """
    dst = tmp / "utf8.txt"
    scan = functools.partial(_scan, blank_line=blank_line, quoted=quoted, max_line=Limits.from_env().line_bytes)
    try:
        if not scan(src, "utf-8-sig", None):
            return src
        scan(src, "utf-8-sig", dst)
        return dst
    except UnicodeDecodeError:
        pass
    try:
        scan(src, "gb18030", dst)
        return dst
    except UnicodeDecodeError:
        raise FileRefused("bad_encoding", "the file is neither UTF-8 nor GB18030/GBK text: save it as "
                          "CSV UTF-8 or re-export it from the source system") from None


def _field_too_long(limit: int) -> FileRefused:
    return FileRefused("field_too_long", f"a cell is longer than {size_text(limit)} (DCW_MAX_FIELD_BYTES): "
                       "the file is not a table export of this source; re-export it, or raise the limit")


def _read_csv(con: duckdb.DuckDBPyConnection, sql: str, path: Path, limits: Limits) -> pa.Table:
    """DuckDB's ``read_csv`` under the line limit: a longer line refuses the file, naming the limit."""
    try:
        return con.execute(sql, [str(path)]).to_arrow_table()
    except duckdb.Error as exc:
        if "line size" in str(exc).lower():
            raise _line_too_long(limits.line_bytes) from None
        raise


def _csv_grid(con: duckdb.DuckDBPyConnection, utf8: Path) -> Grid:
    limits = Limits.from_env()
    csv.field_size_limit(limits.field_bytes)
    try:
        with utf8.open(encoding="utf-8-sig", newline="") as fh:
            first = list(itertools.islice(csv.reader(fh), 4 * int(common()["header_search_rows"])))
    except csv.Error:
        raise _field_too_long(limits.field_bytes) from None
    width = max((len(r) for r in first), default=1) + _SPARE_COLUMNS
    if width > limits.columns:
        raise FileRefused("too_many_columns", f"a row has more than {limits.columns:,} cells (DCW_MAX_COLUMNS): the "
                          "file is not a table export of this source; re-export it, or raise the limit")
    columns = ", ".join(f"'c{j}': 'varchar'" for j in range(width))
    options = (f"columns={{{columns}}}, header=false, auto_detect=false, delim=',', quote='\"', escape='\"', "
               f"null_padding=true, strict_mode=false, max_line_size={limits.line_bytes}")
    try:
        table = _read_csv(con, f"select * from read_csv(?, {options})", utf8, limits)
    except duckdb.Error as exc:  # quoted line breaks with padded short rows: only the serial reader copes
        if "parallel=false" not in str(exc):
            raise
        table = _read_csv(con, f"select * from read_csv(?, {options}, parallel=false)", utf8, limits)
    cols = [table.column(j) for j in range(width)]
    longest = max((pc.max(pc.binary_length(c)).as_py() or 0 for c in cols), default=0)
    if longest > limits.field_bytes:
        raise _field_too_long(limits.field_bytes)
    last = cols[-1]
    truncated = width if last.null_count < len(last) else None
    while len(cols) > 1 and cols[-1].null_count == len(cols[-1]):
        cols.pop()
    return Grid(None, cols, truncated_after=truncated)


def _jsonl_grid(con: duckdb.DuckDBPyConnection, utf8: Path) -> Grid:
    """jsonl → a grid whose first row is the union of keys (first-seen order).

    The header is virtual: data row i is line i, so rows start at line 0 (the header). A line
    that is not a JSON object is kept whole in a cell beyond the header (the row layer refuses it).
    """
    try:
        return _jsonl_table(con, utf8)
    finally:
        con.execute("drop table if exists jsonl_raw")  # the connection is kept: free the lines now


def _jsonl_table(con: duckdb.DuckDBPyConnection, utf8: Path) -> Grid:
    path = str(utf8).replace("'", "''")
    limit = Limits.from_env().line_bytes
    try:
        con.execute("create or replace temp table jsonl_raw as select line from read_csv("
                    f"'{path}', columns={{'line': 'varchar'}}, header=false, auto_detect=false, delim='{chr(31)}', "
                    f"quote='', escape='', strict_mode=false, max_line_size={limit})")
    except duckdb.Error as exc:
        if "line size" in str(exc).lower():
            raise _line_too_long(limit) from None
        raise
    is_object = "ltrim(line) like '{%'"
    keys: dict[str, None] = {}
    for (names,) in con.execute(f"select try(json_keys(line)) as k from jsonl_raw where {is_object} "
                                "group by k order by min(rowid)").fetchall():
        keys.update(dict.fromkeys(names or []))
    keys = list(keys)
    structure = json.dumps({k: "VARCHAR" for k in keys}, ensure_ascii=False).replace("'", "''")
    fields = ", ".join(f"struct_extract_at(o, {j + 1})" for j in range(len(keys))) or "null"
    table = con.execute(  # one JSON parse per line; a line that is no JSON object is kept whole
        f"select {fields}, case when o is null and trim(line) <> '' then line end from ("
        f"select line, case when {is_object} then try(from_json(line, '{structure}')) end as o "
        "from jsonl_raw)").to_arrow_table()  # in line order: DuckDB preserves insertion order (no sort copy)
    # the virtual header row, then the lines (chunked arrays: nothing is copied here)
    cols = [pa.chunked_array([pa.array([k], pa.string()), *table.column(j).chunks], pa.string())
            for j, k in enumerate(keys)]
    odd = table.column(len(keys))
    if odd.null_count < len(odd):
        cols.append(pa.chunked_array([pa.array([None], pa.string()), *odd.chunks], pa.string()))
    if not cols:
        cols = [pa.nulls(table.num_rows + 1, pa.string())]
    return Grid(None, cols, first_row_number=0)


_CELL_TAGS = (b"<c ", b"<c>")


def check_workbook(path: Path, limits: Limits) -> None:
    """Refuse a workbook whose parts decompress to more than ``limits.unpacked_bytes`` in all, or
    one of whose worksheets holds more than ``limits.sheet_cells`` cells, before any reader holds
    it in memory. The sizes a zip declares can lie, so the bytes are counted as they are really
    decompressed, in a stream (1 MiB at a time), stopping at the limit; cells are counted as the
    cell tags of the sheet parts. A file that is no zip archive is left to the reader (an old .xls)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return
    total = 0
    with archive:
        for info in archive.infolist():
            is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
            cells, tail = 0, b""
            with archive.open(info) as part:
                while block := part.read(1 << 20):
                    total += len(block)
                    if total > limits.unpacked_bytes:
                        raise FileRefused("too_large", f"the workbook unpacks to more than "
                                          f"{size_text(limits.unpacked_bytes)} (DCW_MAX_UNPACKED_BYTES): split it "
                                          "into smaller workbooks, or raise the limit")
                    if is_sheet:
                        window = tail + block
                        cells += sum(window.count(tag) for tag in _CELL_TAGS)
                        tail = block[-2:]  # a tag cut by the block boundary is whole in the next window
                        if cells > limits.sheet_cells:
                            raise FileRefused("too_large", f"sheet part {info.filename} holds more than "
                                              f"{limits.sheet_cells:,} cells (DCW_MAX_SHEET_CELLS): split the "
                                              "sheet, or raise the limit")


def read_grids(path: Path) -> list[Grid]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            check_workbook(path, Limits.from_env())
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
            raise FileRefused("unreadable_file", f"the workbook cannot be unpacked ({type(exc).__name__}: "
                              f"{str(exc)[:200]}): re-save it in Excel as .xlsx and deliver it again") from None
        try:
            book = python_calamine.CalamineWorkbook.from_path(str(path))
            return [Grid.from_rows(name, book.get_sheet_by_name(name).to_python(skip_empty_area=False))
                    for name in book.sheet_names]
        except Exception as exc:  # calamine raises several exception types for broken files
            raise FileRefused("unreadable_file", f"the workbook cannot be opened ({type(exc).__name__}: "
                              f"{str(exc)[:200]}): re-save it in Excel as .xlsx and deliver it again") from None
    if suffix not in (".csv", ".jsonl"):
        raise FileRefused("unsupported_format", f"'{suffix or path.name}' files are not read here")
    if not path.is_file():
        raise FileRefused("unreadable_file", "the file cannot be read (it is missing)")
    with tempfile.TemporaryDirectory(prefix="dcw-") as tmp:
        try:
            utf8 = _utf8_source(path, Path(tmp), blank_line='""' if suffix == ".csv" else "{}",
                                quoted=suffix == ".csv")
        except OSError as exc:
            raise FileRefused("unreadable_file", f"the file cannot be read ({exc.strerror})") from None
        con = _reader()
        return [_csv_grid(con, utf8) if suffix == ".csv" else _jsonl_grid(con, utf8)]


_READERS = threading.local()


def _reader() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB connection for reading text files, kept from file to file
    (a new connection costs ~25 ms, a tenth of reading a month's bill export)."""
    con = getattr(_READERS, "con", None)
    if con is None:
        con = _READERS.con = duckdb.connect()
        con.execute("set enable_progress_bar = false")
    return con


# --- locating the table ------------------------------------------------------------------------

_UNIT_IN_HEADER = re.compile(r"^(?P<base>.*?)\((?P<unit>[^()]*)\)$")


@dataclass
class HeaderCell:
    index: int
    text: str                  # the header as written, cleaned (group/sub for two-row headers)
    column: str | None = None  # canonical column, None when unknown
    unit: str | None = None    # unit found in the header, as written
    ignored: bool = False      # a 序号 column


@dataclass
class Table:
    sheet: str | None
    header_rows: tuple[int, ...]   # spreadsheet row numbers of the header
    title: str                     # text of the rows above the header
    cells: list[HeaderCell]
    grid: Grid                     # the sheet; the table's rows are grid rows ``start:``
    start: int                     # index in the grid of the first row below the header
    problems: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return self.grid.n_rows - self.start

    def column(self, index: int):
        """Raw cells below the header of grid column ``index`` (None-filled beyond the grid's width)."""
        if index < len(self.grid.columns):
            return self.grid.columns[index][self.start:]
        return pa.nulls(self.n_rows, pa.string())

    def distinct(self, index: int) -> list:
        """The distinct raw cells below the header in grid column ``index`` (None included)."""
        column = self.column(index)
        if isinstance(column, (pa.Array, pa.ChunkedArray)):
            return pc.unique(column).to_pylist()
        return list(dict.fromkeys(column.tolist()))

    def row_number(self, k: int) -> int:
        return self.grid.first_row_number + self.start + k

    def rows_at(self, ks: list[int]) -> list[list]:
        """Raw cells of the table rows ``ks`` (for refused rows)."""
        return self.grid.rows_at([self.start + k for k in ks])

    @property
    def mapped(self) -> dict[str, HeaderCell]:
        return {c.column: c for c in self.cells if c.column}

    @property
    def unknown(self) -> list[HeaderCell]:
        return [c for c in self.cells if not c.column and not c.ignored and c.text]


def split_unit(header: str) -> tuple[str, str | None]:
    """``计划总投资（亿元）`` → (``计划总投资``, ``亿元``): a trailing bracket is read as the unit."""
    text = squeeze(header) or ""
    m = _UNIT_IN_HEADER.match(text)
    if m and m["base"]:
        return m["base"], m["unit"]
    return text, None


def _match(smap: SourceMap, text: str) -> tuple[str | None, str | None]:
    """Canonical column and unit of a header; a bracket that is part of an alias is no unit."""
    base, unit = split_unit(text)
    column = smap.alias_index.get(header_key(base))
    if column is None and unit is not None:
        column, unit = smap.alias_index.get(header_key(text)), None
    return column, unit


def _header_candidates(top: list[str], below: list[str] | None) -> list[str]:
    """Names for each column (cells already squeezed, '' for none): the row itself, or group/sub
    for a two-row header."""
    width = max(len(top), len(below or []))
    top = top + [""] * (width - len(top))
    if below is None:
        return top
    sub = below + [""] * (width - len(below))
    group, last = [], ""
    for j in range(width):
        if top[j]:
            last = top[j]
        group.append(top[j] or (last if sub[j] else ""))
    return [f"{g}/{s}" if g and s and g != s else (s or g) for g, s in zip(group, sub, strict=True)]


@functools.cache
def _row_number_headers() -> frozenset[str]:
    return frozenset(header_key(h) for h in common()["row_number_headers"])


def _match_name(smap: SourceMap, name: str) -> tuple[str | None, str | None, bool]:
    """(column, unit, is a 序号 column) of a header name; memoised per source map, as the header
    search tries the first rows of every file and the same texts recur from file to file."""
    memo = smap.header_matches
    found = memo.get(name)
    if found is None:
        column, unit = _match(smap, name)
        if column is None and "/" in name:       # group/sub: try the sub-header, then the group
            group, sub = name.split("/", 1)
            column, unit = _match(smap, sub)
            if column is None:
                column, unit = _match(smap, group)
        ignored = column is None and header_key(split_unit(name.split("/")[-1])[0]) in _row_number_headers()
        if len(memo) > 100_000:
            memo.clear()
        found = memo[name] = (column, unit, ignored)
    return found


def _map_cells(smap: SourceMap, names: list[str]) -> list[HeaderCell]:
    cells = []
    for j, name in enumerate(names):
        cell = HeaderCell(index=j, text=name)
        if name:
            cell.column, cell.unit, cell.ignored = _match_name(smap, name)
        cells.append(cell)
    return cells


def _score(cells: list[HeaderCell]) -> int:
    return len({c.column for c in cells if c.column})


def locate_table(grid: Grid, smap: SourceMap) -> Table | None:
    """The table of this source in a grid, or None when no header row names its key columns."""
    limit = min(grid.n_rows, int(common()["header_search_rows"]))
    head = grid.rows(0, limit + 1)
    squeezed = [[squeeze(c) or "" for c in row] for row in head]
    required = {c.name for c in smap.required}
    best: tuple[int, int, int, list[HeaderCell]] | None = None  # (score, -rows, index, cells)
    for i in range(limit):
        row = squeezed[i]
        if not any(row):
            continue
        options = [(1, _map_cells(smap, _header_candidates(row, None)))]
        if i + 1 < len(head):
            options.append((2, _map_cells(smap, _header_candidates(row, squeezed[i + 1]))))
        for height, cells in options:
            found = {c.column for c in cells if c.column}
            if not required <= found or _score(cells) < 2:
                continue
            candidate = (_score(cells), -height, -i, cells)
            if best is None or candidate[:3] > best[:3]:
                best = candidate
    if best is None:
        return None
    _, neg_height, neg_i, cells = best
    start, height = -neg_i, -neg_height
    title = " ".join(t for r in head[:start] for c in r if (t := clean_text(c)))
    first = grid.first_row_number
    table = Table(
        sheet=grid.sheet,
        header_rows=tuple(first + start + k for k in range(height)),
        title=title,
        cells=cells,
        grid=grid,
        start=start + height,
    )
    seen: dict[str, str] = {}
    for c in cells:
        if c.column and c.column in seen:
            table.problems.append(f"columns '{seen[c.column]}' and '{c.text}' both mean {c.column}: "
                                  "keep one of them")
        elif c.column:
            seen[c.column] = c.text
    return table


def row_kind(cells: list) -> str:
    """data / blank / total / note, from the first non-empty cell of the row."""
    first = next((t for c in cells if (t := clean_text(c)) is not None), None)
    if first is None:
        return "blank"
    first = unicodedata.normalize("NFKC", first).replace(" ", "")
    if any(first.startswith(m) for m in common()["total_markers"]):
        return "total"
    if any(first.startswith(unicodedata.normalize("NFKC", m)) for m in common()["note_markers"]):
        return "note"
    return "data"


def total_level(cells: list) -> str:
    """'sub' for 小计 rows, 'grand' for 合计/总计."""
    first = next((t for c in cells if (t := clean_text(c)) is not None), "")
    return "sub" if first.replace(" ", "").startswith("小计") else "grand"
