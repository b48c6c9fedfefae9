"""The code printed as a QR on a prescription: its identifier, signed by the
establishment's Ed25519 key, verifiable offline with the public key alone.

Text form (ASCII, fits a version-8 QR code at level M)::

    RX1.<payload, base64url>.<signature, base64url>

payload (bytes): version ``1`` · prescription id (16) · issue day and last valid day
(days since 1970-01-01, 2 bytes each, big-endian) · the first 16 bytes of the
SHA-256 of the prescription's content (`Prescription.content_digest`) · the
establishment code (ASCII). The signature (RFC 8032 Ed25519, 64 bytes) covers
``sihha-prescription-v1`` + NUL + payload. A pharmacy checks it with the public key of
the establishment the payload names; with the database at hand the server also checks
that the stored prescription still has the signed content.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sihha_kit.errors import BadRequest

PREFIX: Final = "RX1"
VERSION: Final = 1
CONTEXT: Final = b"sihha-prescription-v1\x00"
DIGEST_BYTES: Final = 16
_EPOCH: Final = date(1970, 1, 1)
_FIXED: Final = struct.Struct(">B16sHH16s")
#: the longest code accepted (a longer text is refused before decoding)
MAX_CODE_CHARS: Final = 256


@dataclass(frozen=True)
class PrescriptionCode:
    prescription_id: UUID
    facility_id: str
    issued_on: date
    valid_until: date
    digest: bytes

    def payload(self) -> bytes:
        return _FIXED.pack(
            VERSION,
            self.prescription_id.bytes,
            (self.issued_on - _EPOCH).days,
            (self.valid_until - _EPOCH).days,
            self.digest[:DIGEST_BYTES],
        ) + self.facility_id.encode("ascii")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(code: PrescriptionCode, key: Ed25519PrivateKey) -> str:
    """The text of the QR code: the payload and its signature by `key`."""
    payload = code.payload()
    return f"{PREFIX}.{_b64(payload)}.{_b64(key.sign(CONTEXT + payload))}"


class CodeMalformed(BadRequest):
    def __init__(self) -> None:
        super().__init__("prescription-code-malformed")


class CodeSignatureInvalid(BadRequest):
    def __init__(self) -> None:
        super().__init__("prescription-code-invalid")


class CodeEstablishmentUnknown(BadRequest):
    def __init__(self, facility_id: str) -> None:
        super().__init__("prescription-code-establishment-unknown", establishment=facility_id)


def read(text: str) -> tuple[PrescriptionCode, bytes, bytes]:
    """The code's fields, its payload and its signature, unverified; `CodeMalformed`
    if the text is not a prescription code."""
    text = text.strip()
    if len(text) > MAX_CODE_CHARS:
        raise CodeMalformed()
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise CodeMalformed()
    try:
        payload, signature = _unb64(parts[1]), _unb64(parts[2])
        version, raw_id, issued, valid, digest = _FIXED.unpack_from(payload)
        facility_id = payload[_FIXED.size :].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        raise CodeMalformed() from None
    if version != VERSION or len(signature) != 64 or not facility_id:
        raise CodeMalformed()
    code = PrescriptionCode(
        prescription_id=UUID(bytes=raw_id),
        facility_id=facility_id,
        issued_on=_EPOCH + timedelta(days=issued),
        valid_until=_EPOCH + timedelta(days=valid),
        digest=digest,
    )
    return code, payload, signature


def verify(text: str, public_keys: Mapping[str, Ed25519PublicKey]) -> PrescriptionCode:
    """The code's fields if its signature is the named establishment's; else
    `CodeMalformed`, `CodeEstablishmentUnknown` or `CodeSignatureInvalid` (a tampered
    or forged code). Needs nothing but the public keys: a pharmacy can run it offline."""
    code, payload, signature = read(text)
    key = public_keys.get(code.facility_id)
    if key is None:
        raise CodeEstablishmentUnknown(code.facility_id)
    try:
        key.verify(signature, CONTEXT + payload)
    except InvalidSignature:
        raise CodeSignatureInvalid() from None
    return code
