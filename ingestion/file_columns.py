"""Which header cell of a loaded file matched which canonical column, for ``audit.file_columns``.

``record_file_headers`` runs inside the file's load transaction (``load.write_result``): it writes
the file's header cells to ``ops.file_headers`` (the header as written; the raw column it fills,
NULL when it matched no alias) and the aliases of the source's column map to
``ops.column_aliases``, so that dbt can say, in SQL, which columns a file left empty and whether
an unmatched header looks like a renamed one (the ``column_went_empty`` alert). The tables' DDL is
in ``manifest.MANIFEST_DDL``.
"""
from __future__ import annotations

import duckdb
import pyarrow as pa

from ingestion.column_maps import source_map
from ingestion.raw_schema import outputs


def alias_rows(kind: str) -> list[tuple[str, str, str, bool]]:
    """(source kind, raw column, alias, required) for every alias of the source's column map."""
    smap = source_map(kind)
    return [(kind, name, alias, col.required)
            for col in smap.columns.values() for name in outputs(col) for alias in col.aliases]


def record_file_headers(con: duckdb.DuckDBPyConnection, kind: str, sha: str, rel_path: str,
                        headers: list[tuple[str | None, str, str | None]]) -> None:
    """Replace the file's rows of ``ops.file_headers`` and the source's rows of ``ops.column_aliases``."""
    # Rows go in as Arrow tables: DuckDB's executemany costs ~4 ms a call here, ~1.5 s of a province's month.
    con.execute("delete from ops.file_headers where file_sha256 = ? and path = ?", [sha, rel_path])
    if headers:
        sheets, names, columns = zip(*headers, strict=True)
        header_rows = pa.table({"file_sha256": [sha] * len(headers), "path": [rel_path] * len(headers),  # noqa: F841
                                "sheet": pa.array(sheets, pa.string()), "header": pa.array(names, pa.string()),
                                "column_name": pa.array(columns, pa.string())})
        con.execute("insert into ops.file_headers select * from header_rows")
    con.execute("delete from ops.column_aliases where source_kind = ?", [kind])
    aliases = alias_rows(kind)
    if aliases:
        kinds, raw, names, required = zip(*aliases, strict=True)
        alias_table = pa.table({"source_kind": pa.array(kinds, pa.string()),  # noqa: F841
                                "column_name": pa.array(raw, pa.string()), "alias": pa.array(names, pa.string()),
                                "required": pa.array(required, pa.bool_())})
        con.execute("insert into ops.column_aliases select * from alias_table")
