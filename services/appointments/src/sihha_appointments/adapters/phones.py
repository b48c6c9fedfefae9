"""Citizens' phone numbers: personal data that never leaves this service's database in
clear. Stored encrypted (AES-256-GCM, `cryptography`), found by a keyed index
(HMAC-SHA256), both under keys derived (HKDF-SHA256) from this service's secret, which
is not the platform's pseudonym key. Sign-in codes are kept only as keyed digests.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: an Algerian mobile number: 05, 06 or 07 and eight digits, or +213 / 00213 without the 0
_MOBILE = re.compile(r"^(?:\+213|00213|0)([567][0-9]{8})$")
_SEPARATORS = re.compile(r"[\s.\-()]")
NONCE_BYTES = 12
SECRET_BYTES = 32


def normalise_phone(raw: str) -> str:
    """The number in E.164 (``+213661234567``); ValueError (without the value) if it is not
    an Algerian mobile number."""
    compact = _SEPARATORS.sub("", raw or "")
    match = _MOBILE.fullmatch(compact)
    if match is None:
        raise ValueError("not an Algerian mobile number (05, 06 or 07 and eight digits)")
    return "+213" + match.group(1)


def mask_phone(phone: str) -> str:
    """``+213 6•• •• •• 67``: enough for a citizen to recognise their number, no more."""
    return f"{phone[:4]} {phone[4]}•• •• •• {phone[-2:]}"


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class PhoneVault:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < SECRET_BYTES:
            raise ValueError(f"the service secret must have at least {SECRET_BYTES} bytes")
        self._aead = AESGCM(_derive(secret, b"sihha-appointments phone encryption v1"))
        self._index_key = _derive(secret, b"sihha-appointments phone index v1")
        self._code_key = _derive(secret, b"sihha-appointments sign-in code v1")

    def encrypt(self, phone: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, phone.encode("ascii"), b"phone")

    def decrypt(self, ciphertext: bytes) -> str:
        nonce, sealed = ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:]
        return self._aead.decrypt(nonce, sealed, b"phone").decode("ascii")

    def index(self, phone: str) -> bytes:
        """The keyed index of a number: equal numbers, equal index; no key, no number."""
        return hmac.new(self._index_key, phone.encode("ascii"), hashlib.sha256).digest()

    def code_digest(self, challenge_id: str, code: str) -> bytes:
        return hmac.new(
            self._code_key, f"{challenge_id}:{code}".encode("ascii"), hashlib.sha256
        ).digest()

    def same_code(self, challenge_id: str, code: str, digest: bytes) -> bool:
        return hmac.compare_digest(self.code_digest(challenge_id, code), digest)


def new_sign_in_code(digits: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def load_or_create_secret(path: Path, *, create: bool) -> bytes:
    """The service secret (hex text in `path`); with `create`, made on first start (a
    developer machine; production mounts its own and sets create off)."""
    if not path.is_file():
        if not create:
            raise RuntimeError(f"the appointments secret {path} is missing")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of the service made it first
            pass
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(SECRET_BYTES) + "\n")
    return bytes.fromhex(path.read_text(encoding="ascii").strip())
