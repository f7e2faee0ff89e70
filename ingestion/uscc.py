"""Unified social credit codes (统一社会信用代码): GB 32100-2015 and the GB 11714 organisation code.

``check_uscc`` says why a code is not a valid USCC, or None when it is. The allow-list of
legally issued legacy codes whose check character fails lives in ``column_maps/uscc_allow_list.csv``.
Nothing else belongs here.
"""
from __future__ import annotations

import csv
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_FORMAT = re.compile(f"^[{ALPHABET}]{{18}}$")
_OLD_REG_NO = re.compile(r"^\d{15}$")
ALLOW_LIST = Path(__file__).parent / "column_maps" / "uscc_allow_list.csv"


def check_character(first17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_code_check(first8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c, 36) * w for c, w in zip(first8, weights, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


@functools.cache
def allow_list() -> frozenset[str]:
    with ALLOW_LIST.open(encoding="utf-8") as f:
        return frozenset(row["uscc"].strip().upper() for row in csv.DictReader(f) if row.get("uscc"))


def check_uscc(code: str) -> tuple[str, str] | None:
    """None when valid; else (reason_code, message)."""
    if _OLD_REG_NO.match(code):
        return ("old_registration_number",
                f"'{code}' is a 15-digit registration number from before 2015, not a unified social "
                "credit code: ask the firm or the registry for its 18-character code")
    if not _FORMAT.match(code):
        return ("invalid_uscc",
                f"'{code}' is not a unified social credit code (18 characters of 0-9 and A-Y without "
                "I, O, S, V, Z)")
    if code in allow_list():
        return None
    expected = check_character(code[:17])
    if code[17] != expected:
        return ("invalid_uscc",
                f"'{code}' fails the GB 32100 check character (last character should be '{expected}'): "
                "a typing error, or a legacy code to add to the allow-list")
    return None


def valid_many(codes: pa.Array) -> np.ndarray:
    """``check_uscc(code) is None`` for an Arrow array of codes already in canonical form.

    A fast path only: True means valid by format and check character; False means "ask
    ``check_uscc``" (wrong form, a failing check character that may be on the allow-list, …).
    """
    import numpy as np  # the bulk path's libraries, not needed by check_uscc
    import pyarrow as pa
    import pyarrow.compute as pc

    shaped = pc.fill_null(pc.and_(pc.equal(pc.binary_length(codes), 18), pc.string_is_ascii(codes)), False)
    out = np.zeros(len(codes), dtype=bool)
    positions = np.nonzero(shaped.to_numpy(zero_copy_only=False))[0]
    if not len(positions):
        return out
    fixed = pa.concat_arrays([codes.take(pa.array(positions))])  # offset 0: 18 bytes per value, back to back
    raw = np.frombuffer(fixed.buffers()[2], dtype=np.uint8)[:18 * len(positions)].reshape(-1, 18)
    value = np.full(256, -1, dtype=np.int64)
    value[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(len(ALPHABET))
    v = value[raw]
    in_alphabet = (v >= 0).all(axis=1)
    expected = (31 - (v[:, :17] * np.array(_WEIGHTS)).sum(axis=1) % 31) % 31
    out[positions] = in_alphabet & (expected == v[:, 17])
    return out
