"""Identifier codes of the sample: unified social credit codes (USCC), old registration numbers,
grid account numbers.

What belongs here: the arithmetic of Chinese enterprise identifiers, both scalar (for the few
tracked firms and for tests) and vectorised with numpy (for a million registry rows).

- USCC, GB 32100-2015: 18 characters from ``0-9A-HJ-NPQRTUWXY``:
  1 registration-authority code (``9`` = market regulation), 2 entity kind (``1`` = enterprise),
  3-8 administrative-division code of the registering office, 9-17 the organisation code
  (GB 11714: 8 body characters + 1 check character), 18 the check character
  (weights ``3^(i-1) mod 31``; check = 31 - sum mod 31, 31 -> ``0``).
- Organisation code, GB 11714-1997: body weights 3,7,9,10,5,8,4,2 over character values
  (digits as is, letters A=10 .. Z=35); check = 11 - sum mod 11, 10 -> ``X``, 11 -> ``0``.
- Old 15-digit business registration number (GB/T 17710-1999, ISO 7064 MOD 11,10 check digit).
"""
from __future__ import annotations

import numpy as np

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARS)}
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]

# Bijections that turn a firm index into an organisation-code body (unique per index).
_NUM_SPACE = 10**8
_NUM_MUL, _NUM_ADD = 48_271_723, 12_345_679  # multiplier coprime with 10
_MA_SPACE = 31**6
_MA_MUL, _MA_ADD = 1_000_003, 97_531  # multiplier coprime with 31


def _org_value(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - 55


def org_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation-code body."""
    s = sum(_org_value(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    c = 11 - s % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check_char(first17: str) -> str:
    """GB 32100 check character of the first 17 characters."""
    s = sum(USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    c = 31 - s % 31
    return USCC_CHARS[0 if c == 31 else c]


def make_uscc(region6: str, body8: str, authority: str = "9", kind: str = "1") -> str:
    first17 = authority + kind + region6 + body8 + org_check_char(body8)
    return first17 + uscc_check_char(first17)


def is_valid_uscc(code: str) -> bool:
    """Charset, length, GB 32100 check character (the spec's rule)."""
    if len(code) != 18 or any(c not in USCC_VALUE for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def org_code_ok(code: str) -> bool:
    """The GB 11714 check of the organisation code inside a USCC (characters 9-17)."""
    return org_check_char(code[8:16]) == code[16]


def corrupt_check_char(code: str) -> str:
    """The same code with a wrong (but charset-valid) check character."""
    good = USCC_VALUE[code[17]]
    return code[:17] + USCC_CHARS[(good + 7) % 31]


def org_body(index: int, new_style: bool) -> str:
    """Organisation-code body for a firm index: ``MA`` + 6 chars (codes issued since 2015) or
    8 digits (older organisation codes). Injective in ``index``."""
    if new_style:
        n = (index * _MA_MUL + _MA_ADD) % _MA_SPACE
        chars = []
        for _ in range(6):
            n, r = divmod(n, 31)
            chars.append(USCC_CHARS[r])
        return "MA" + "".join(reversed(chars))
    return f"{(index * _NUM_MUL + _NUM_ADD) % _NUM_SPACE:08d}"


def old_registration_number(region6: str, seq8: int) -> str:
    """15-digit registration number (pre-2015): region, sequence, ISO 7064 MOD 11,10 check."""
    digits = f"{region6}{seq8:08d}"
    p = 10
    for ch in digits:
        s = (p + int(ch)) % 10 or 10
        p = (s * 2) % 11
    check = (11 - p) % 10  # (p + check) mod 10 == 1
    return digits + str(check)


def old_registration_ok(number: str) -> bool:
    if len(number) != 15 or not number.isdigit():
        return False
    p = 10
    for ch in number[:14]:
        s = (p + int(ch)) % 10 or 10
        p = (s * 2) % 11
    return (p + int(number[14])) % 10 == 1


# ---------------------------------------------------------------------------------------------
# vectorised USCC
_CHARS_BYTES = np.frombuffer(USCC_CHARS.encode("ascii"), dtype=np.uint8)
_ORG_VALUE_BY_INDEX = np.array([_org_value(c) for c in USCC_CHARS], dtype=np.int64)
_X_INDEX = USCC_VALUE["X"]


def uscc_array(indices: np.ndarray, region_codes: np.ndarray, new_style: np.ndarray) -> np.ndarray:
    """Vectorised :func:`make_uscc` ∘ :func:`org_body`: returns an array of 18-byte strings (dtype S18).

    ``region_codes`` are 6-digit integers (e.g. 520900), ``new_style`` booleans."""
    n = len(indices)
    idx = np.empty((n, 18), dtype=np.int64)
    idx[:, 0] = 9
    idx[:, 1] = 1
    reg = region_codes.astype(np.int64)
    for j in range(6):
        idx[:, 2 + j] = (reg // 10 ** (5 - j)) % 10
    ind = indices.astype(np.int64)
    num = (ind * _NUM_MUL + _NUM_ADD) % _NUM_SPACE
    ma = (ind * _MA_MUL + _MA_ADD) % _MA_SPACE
    body = np.empty((n, 8), dtype=np.int64)
    for j in range(8):
        body[:, j] = (num // 10 ** (7 - j)) % 10
    ma_body = np.empty((n, 8), dtype=np.int64)
    ma_body[:, 0] = USCC_VALUE["M"]
    ma_body[:, 1] = USCC_VALUE["A"]
    for j in range(6):
        ma_body[:, 2 + j] = (ma // 31 ** (5 - j)) % 31
    body = np.where(new_style[:, None], ma_body, body)
    idx[:, 8:16] = body
    s = (_ORG_VALUE_BY_INDEX[body] * np.array(ORG_WEIGHTS, dtype=np.int64)).sum(axis=1)
    c = 11 - s % 11
    idx[:, 16] = np.where(c == 10, _X_INDEX, np.where(c == 11, 0, c))
    s2 = (idx[:, :17] * np.array(USCC_WEIGHTS, dtype=np.int64)).sum(axis=1)
    c2 = 31 - s2 % 31
    idx[:, 17] = np.where(c2 == 31, 0, c2)
    return _CHARS_BYTES[idx].view("S18").ravel()
