"""The raw layer's columns as the column maps define them: which raw columns a column-map entry
fills, and their SQL types.

What belongs here: the mapping from a column-map entry to raw table columns and types, shared by the
loader's DDL (``load.py``), the row parser's Arrow types (``rows.py``) and the header audit
(``file_columns.py``). What does not: reading files, converting cells, writing tables.
"""
from __future__ import annotations

from ingestion.column_maps import Column, SourceMap

LINEAGE = {"file_sha256": "varchar", "sheet": "varchar", "row_number": "integer"}
SQL_TYPES = {"int": "bigint", "measure": "double", "ratio": "double", "date": "date", "month": "date",
             "quarter": "date", "year": "integer"}


def outputs(col: Column) -> list[str]:
    """The canonical raw columns a column map entry fills."""
    if col.type == "capital":
        return [f"{col.name}_amount", f"{col.name}_currency", f"{col.name}_cny"]
    return [col.name] + ([col.keep_raw_as] if col.keep_raw_as else [])


def raw_columns(smap: SourceMap) -> dict[str, str]:
    """Canonical raw columns and their SQL types, in column-map order (lineage and extras apart)."""
    cols: dict[str, str] = {}
    for col in smap.columns.values():
        if col.type == "capital":
            cols.update({f"{col.name}_amount": "double", f"{col.name}_currency": "varchar",
                         f"{col.name}_cny": "double"})
            continue
        cols[col.name] = SQL_TYPES.get(col.type, "varchar")
        if col.keep_raw_as:
            cols[col.keep_raw_as] = "varchar"
    return cols
