"""GB 32100-2015 unified social credit codes."""
from ingestion.uscc import ALPHABET, check_character, check_uscc, org_code_check


def _valid(body17: str) -> str:
    return body17 + check_character(body17)


def test_known_public_code_is_valid():
    # A published code (Tencent, Shenzhen): the check character must agree with the standard.
    assert check_uscc("9144030071526726XG") is None


def test_wrong_check_character_is_refused_with_the_expected_one():
    code = _valid("91520900MA6DL0001")
    wrong = code[:17] + next(c for c in ALPHABET if c != code[17])
    reason, message = check_uscc(wrong)
    assert reason == "invalid_uscc" and f"should be '{code[17]}'" in message


def test_fifteen_digit_registration_numbers_are_named_as_such():
    assert check_uscc("520900000012345")[0] == "old_registration_number"


def test_letters_outside_the_alphabet_are_refused():
    assert check_uscc("91520900MA6DL000I1")[0] == "invalid_uscc"
    assert check_uscc("short")[0] == "invalid_uscc"


def test_allow_list_accepts_legacy_codes(monkeypatch):
    code = _valid("91520900MA6DL0002")
    legacy = code[:17] + next(c for c in ALPHABET if c != code[17])
    monkeypatch.setattr("ingestion.uscc.allow_list", lambda: frozenset({legacy}))
    assert check_uscc(legacy) is None


def test_org_code_check_digit():
    assert org_code_check("D2143569") == "X"  # the example of GB 11714
    assert org_code_check("71526726") == "X"  # inside the public code above
