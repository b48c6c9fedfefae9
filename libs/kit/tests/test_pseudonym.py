"""The pseudonymous patient key: NIN validation and HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from sihha_kit.pseudonym import (
    is_patient_key,
    load_pseudonym_key,
    parse_pseudonym_key,
    pseudonymise_nin,
    validate_nin,
)

NIN = "109870123456789012"
KEY = bytes(range(32))


def test_validate_nin_accepts_18_digits_and_strips_spaces() -> None:
    assert validate_nin(NIN) == NIN
    assert validate_nin(f"  {NIN}\n") == NIN
    assert validate_nin("109870 123456 789012") == NIN


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("12345678901234567", "not 17"),
        ("1234567890123456789", "not 19"),
        ("10987012345678901X", "only the digits"),
        ("-10987012345678901", "only the digits"),
        ("١٠٩٨٧٠١٢٣٤٥٦٧٨٩٠١٢", "only the digits"),  # Arabic-Indic digits are not ASCII
        ("１０９８７０１２３４５６７８９０１２", "only the digits"),  # full-width digits
    ],
)
def test_validate_nin_refuses_anything_else(value: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as caught:
        validate_nin(value)
    assert "18" in str(caught.value)


def test_validation_errors_never_repeat_the_nin() -> None:
    almost = NIN[:-1]
    with pytest.raises(ValueError) as caught:
        validate_nin(almost)
    assert almost not in str(caught.value)


def test_validate_nin_refuses_non_text() -> None:
    with pytest.raises(ValueError, match="text"):
        validate_nin(109870123456789012)  # type: ignore[arg-type]


def test_pseudonymise_is_hex_hmac_sha256_of_the_digits() -> None:
    expected = hmac.new(KEY, NIN.encode("ascii"), hashlib.sha256).hexdigest()
    assert pseudonymise_nin(NIN, KEY) == expected
    assert is_patient_key(expected)


def test_pseudonymise_is_stable_and_ignores_spacing() -> None:
    assert pseudonymise_nin(NIN, KEY) == pseudonymise_nin("109870 123456 789012", KEY)


def test_pseudonymise_depends_on_key_and_nin() -> None:
    other_key = bytes(reversed(KEY))
    assert pseudonymise_nin(NIN, KEY) != pseudonymise_nin(NIN, other_key)
    assert pseudonymise_nin(NIN, KEY) != pseudonymise_nin("109870123456789013", KEY)


def test_pseudonymise_validates_nin_and_key() -> None:
    with pytest.raises(ValueError, match="18"):
        pseudonymise_nin("123", KEY)
    with pytest.raises(ValueError, match="too short"):
        pseudonymise_nin(NIN, b"short")


def test_is_patient_key() -> None:
    assert is_patient_key("a" * 64)
    assert not is_patient_key("A" * 64)
    assert not is_patient_key("a" * 63)
    assert not is_patient_key("g" * 64)


def test_parse_and_load_key(tmp_path: Path) -> None:
    assert parse_pseudonym_key(KEY.hex() + "\n") == KEY
    with pytest.raises(ValueError, match="hexadecimal"):
        parse_pseudonym_key("not hex")
    with pytest.raises(ValueError, match="too short"):
        parse_pseudonym_key("abcd")
    path = tmp_path / "pseudonym.key"
    path.write_text(KEY.hex() + "\n", encoding="ascii")
    assert load_pseudonym_key(path) == KEY
