"""Each establishment's Ed25519 key that signs its prescriptions, kept as PEM files.

``<QUEUE_PRESCRIPTION_KEYS_DIR>/<establishment code>.pem``: the private key (PKCS#8,
unencrypted, mode 0600). With ``QUEUE_PRESCRIPTION_KEYS_CREATE`` (the development
default) a missing key is created on first use; in production the IT unit provisions
the keys and turns creation off, and a missing key refuses signing (503). Pharmacies
verify with the public keys (`GET /prescription-keys`), which they may keep offline.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sihha_contracts.types import FACILITY_CODE_PATTERN
from sihha_kit.errors import Unavailable

#: an establishment code: the contracts' one pattern
_CODE = re.compile(FACILITY_CODE_PATTERN)


class EstablishmentKeys:
    def __init__(self, directory: Path, *, create_missing: bool) -> None:
        self.directory = directory
        self.create_missing = create_missing
        self._private: dict[str, Ed25519PrivateKey] = {}

    def _path(self, facility_id: str) -> Path:
        if not _CODE.fullmatch(facility_id):
            raise ValueError(f"not an establishment code: {facility_id!r}")
        return self.directory / f"{facility_id}.pem"

    def private_key(self, facility_id: str) -> Ed25519PrivateKey:
        """The establishment's signing key; `Unavailable` (503) if it has none."""
        key = self._private.get(facility_id)
        if key is not None:
            return key
        path = self._path(facility_id)
        if not path.is_file():
            if not self.create_missing:
                raise Unavailable("prescription-signing-key-missing", establishment=facility_id)
            self._create(path)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise Unavailable("prescription-signing-key-missing", establishment=facility_id)
        self._private[facility_id] = loaded
        return loaded

    def _create(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # O_EXCL: two processes creating the same key keep the first one
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)

    def public_key(self, facility_id: str) -> Ed25519PublicKey | None:
        """The establishment's public key, or None if this directory has no key for it
        (never created here: a code naming an unknown establishment is refused)."""
        if facility_id not in self._private and not self._path(facility_id).is_file():
            return None
        return self.private_key(facility_id).public_key()

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every establishment's public key that this directory holds."""
        keys: dict[str, Ed25519PublicKey] = {}
        if self.directory.is_dir():
            for path in sorted(self.directory.glob("*.pem")):
                facility_id = path.stem
                if _CODE.fullmatch(facility_id):
                    keys[facility_id] = self.private_key(facility_id).public_key()
        return keys

    def public_pem(self, facility_id: str) -> str:
        return (
            self.private_key(facility_id)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )
