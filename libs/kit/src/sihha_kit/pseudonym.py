"""The pseudonymous patient key.

A patient is known to the platform by `HMAC-SHA256(key, NIN)` written as 64
lowercase hex digits, never by the national identification number (NIN)
itself. The key is shared by the services that must compute it (it is never
put on the bus, in a log or in a report); on a developer machine it lives in
`.dev/keys/pseudonym.key` (`sihha-dev keys`), as hex text.

Nothing here echoes a NIN back in an error message: callers may log them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

__all__ = [
    "MIN_KEY_BYTES",
    "NIN_DIGITS",
    "PATIENT_KEY_PATTERN",
    "is_patient_key",
    "load_pseudonym_key",
    "parse_pseudonym_key",
    "pseudonymise_nin",
    "validate_nin",
]

#: a NIN has exactly this many decimal digits
NIN_DIGITS = 18
#: a pseudonym key shorter than this is refused
MIN_KEY_BYTES = 16
#: what `pseudonymise_nin` returns
PATIENT_KEY_PATTERN = re.compile(r"[0-9a-f]{64}")

_DIGITS = re.compile(rf"[0-9]{{{NIN_DIGITS}}}")
_WHITESPACE = re.compile(r"\s+")


def validate_nin(nin: str) -> str:
    """The NIN as 18 ASCII digits, spaces (anywhere) removed.

    Raises ValueError for anything else, without repeating the value.
    """
    if not isinstance(nin, str):
        raise ValueError(f"a NIN must be given as text, not {type(nin).__name__}")
    compact = _WHITESPACE.sub("", nin)
    if _DIGITS.fullmatch(compact):
        return compact
    if not compact:
        raise ValueError(f"the NIN is empty: it must have exactly {NIN_DIGITS} digits")
    if not all(c in "0123456789" for c in compact):
        raise ValueError(
            f"the NIN must contain only the digits 0-9 (exactly {NIN_DIGITS} of them); "
            "it contains other characters"
        )
    raise ValueError(f"the NIN must have exactly {NIN_DIGITS} digits, not {len(compact)}")


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray):
        raise ValueError("the pseudonym key must be bytes")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"the pseudonym key is too short ({len(key)} bytes, at least {MIN_KEY_BYTES})"
        )


def pseudonymise_nin(nin: str, key: bytes) -> str:
    """The pseudonymous patient key of a NIN: hex HMAC-SHA256 under `key` (64 hex digits)."""
    _check_key(key)
    digits = validate_nin(nin)
    return hmac.new(bytes(key), digits.encode("ascii"), hashlib.sha256).hexdigest()


def is_patient_key(value: str) -> bool:
    """Whether `value` has the form of a pseudonymous patient key."""
    return isinstance(value, str) and PATIENT_KEY_PATTERN.fullmatch(value) is not None


def parse_pseudonym_key(text: str) -> bytes:
    """The key bytes from their hex text form (surrounding whitespace ignored)."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError("the pseudonym key must be written as hexadecimal text") from None
    _check_key(key)
    return key


def load_pseudonym_key(path: str | Path) -> bytes:
    """Read a pseudonym key file (hex text, as written by `sihha-dev keys`)."""
    return parse_pseudonym_key(Path(path).read_text(encoding="ascii"))
