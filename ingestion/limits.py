"""Bounds on what one inbox file may cost: its size, what a workbook unpacks to, csv lines and fields.

An inbox file comes from outside: a 1 MB workbook can unpack to gigabytes, a csv can hold one line
of gigabytes. Each limit is checked before the content is held in memory, and a file over a limit
is refused with the limit named (and the setting that raises it), so that one hostile or broken
file costs only itself. The defaults hold a province's million-row registry extracts and bureau
workbooks with room to spare; each is overridable by an environment variable:

| setting | default | what |
| --- | --- | --- |
| ``DCW_MAX_FILE_BYTES`` | 4 GiB | size of one inbox file on disk |
| ``DCW_MAX_UNPACKED_BYTES`` | 512 MiB | bytes a workbook's parts decompress to, all parts together |
| ``DCW_MAX_SHEET_CELLS`` | 20,000,000 | cells of one worksheet |
| ``DCW_MAX_LINE_BYTES`` | 1 MiB | one line of a csv or jsonl file |
| ``DCW_MAX_FIELD_BYTES`` | 128 KiB | one cell of a csv file |
| ``DCW_MAX_COLUMNS`` | 1,000 | cells in one row of the first rows of a csv file |

What does not belong here: reading the files (``spreadsheet.py``); the checks themselves live
beside the readers they protect.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


def _setting(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip().replace("_", "")
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of bytes (or cells) above 0, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 4 * GIB
    unpacked_bytes: int = 512 * MIB
    sheet_cells: int = 20_000_000
    line_bytes: int = 1 * MIB
    field_bytes: int = 128 * KIB
    columns: int = 1000

    @classmethod
    def from_env(cls) -> Limits:
        d = cls()
        return cls(file_bytes=_setting("DCW_MAX_FILE_BYTES", d.file_bytes),
                   unpacked_bytes=_setting("DCW_MAX_UNPACKED_BYTES", d.unpacked_bytes),
                   sheet_cells=_setting("DCW_MAX_SHEET_CELLS", d.sheet_cells),
                   line_bytes=_setting("DCW_MAX_LINE_BYTES", d.line_bytes),
                   field_bytes=_setting("DCW_MAX_FIELD_BYTES", d.field_bytes),
                   columns=_setting("DCW_MAX_COLUMNS", d.columns))


def size_text(n: int) -> str:
    """Bytes as a clerk reads them: 1.5 GiB, 300 MiB, 12 KiB, 80 bytes."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"
