"""RSA keys and JSON Web Key Sets (RFC 7517): what tokens are signed and verified with.

Every key has a key id (``kid``); a token names the key that signed it in its header
and is verified with that key alone. The kit's key ids are RFC 7638 thumbprints
(SHA-256 of the key's required members, base64url): the same key always has the
same id, and nothing but the key is needed to compute it.

A *public* key set is what verifiers trust (``{"keys": [{"kty": "RSA", "kid": …,
"n": …, "e": …}]}``), served by an issuer at ``/.well-known/jwks.json`` or kept in a
file. A *private* key set is what an issuer signs with: the same document with the
private members (``d``, ``p``, ``q``…), first key signing, every key published
(rotation: put a new key first, keep the old one until the tokens it signed have
expired, then remove it).

Only RSA keys of at least 2048 bits for RS256 are accepted; members that are not
(another key type, another algorithm, a key for encryption) are skipped.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt import PyJWK, PyJWKSet
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import PyJWKError, PyJWKSetError

__all__ = [
    "ALGORITHM",
    "MIN_RSA_BITS",
    "KeyPair",
    "generate_private_key",
    "key_id",
    "parse_public_key_set",
    "private_key_set_document",
    "public_key",
    "public_key_set_document",
    "read_private_key_set",
]

ALGORITHM: Final = "RS256"
#: RSA keys shorter than this are refused
MIN_RSA_BITS: Final = 2048


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def key_id(key: RSAPublicKey | RSAPrivateKey) -> str:
    """The RFC 7638 thumbprint of an RSA key (of its public part): 43 base64url characters."""
    public = key.public_key() if isinstance(key, RSAPrivateKey) else key
    numbers = public.public_numbers()
    members = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("ascii")
    digest = hashlib.sha256(canonical).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _checked(key: object) -> None:
    if not isinstance(key, RSAPublicKey | RSAPrivateKey):
        raise ValueError(f"RS256 needs an RSA key, not {type(key).__name__}")
    if key.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA key too short: {key.key_size} bits, at least {MIN_RSA_BITS}")


def public_key(pem: bytes | str | RSAPublicKey) -> RSAPublicKey:
    """An RSA public key from PEM (SubjectPublicKeyInfo); ValueError if it is not one of
    at least 2048 bits."""
    if isinstance(pem, RSAPublicKey):
        loaded: object = pem
    else:
        data = pem.encode("ascii") if isinstance(pem, str) else bytes(pem)
        try:
            loaded = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as error:
            raise ValueError(f"not a PEM public key: {error}") from None
    _checked(loaded)
    assert isinstance(loaded, RSAPublicKey)
    return loaded


def generate_private_key(bits: int = MIN_RSA_BITS) -> RSAPrivateKey:
    """A new RSA private key (public exponent 65537)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


#: a key and its id
KeyPair = tuple[str, RSAPrivateKey]


def _jwk(kid: str, key: RSAPublicKey | RSAPrivateKey) -> dict[str, Any]:
    document: dict[str, Any] = RSAAlgorithm.to_jwk(key, as_dict=True)
    document.pop("key_ops", None)  # `use` says it, as JWKS documents usually do
    document.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    return document


def public_key_set_document(
    keys: Iterable[tuple[str, RSAPublicKey | RSAPrivateKey]],
) -> dict[str, Any]:
    """``{"keys": [...]}``: the public JWKS of these ``(kid, key)`` (private parts never
    included)."""
    return {
        "keys": [
            _jwk(kid, key.public_key() if isinstance(key, RSAPrivateKey) else key)
            for kid, key in keys
        ]
    }


def private_key_set_document(keys: Iterable[RSAPrivateKey]) -> dict[str, Any]:
    """``{"keys": [...]}`` with the private members, each key named by its RFC 7638
    thumbprint: an issuer's signing keys, first signing. Keep it like a password (mode
    0600, a secret store)."""
    return {"keys": [_jwk(key_id(key), key) for key in keys]}


def _usable(member: Mapping[str, Any]) -> bool:
    return (
        member.get("kty") == "RSA"
        and member.get("alg", ALGORITHM) == ALGORITHM
        and member.get("use", "sig") == "sig"
        and isinstance(member.get("kid"), str)
        and bool(member.get("kid"))
    )


def parse_public_key_set(document: Any) -> dict[str, RSAPublicKey]:
    """``{kid: key}`` of the usable members of a JWKS document (RSA, RS256, signing, with
    a ``kid``, at least 2048 bits); ValueError if it is not a key set or has none."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('a JWKS is an object with a "keys" list')
    members = [m for m in document["keys"] if isinstance(m, dict) and _usable(m)]
    try:
        parsed = PyJWKSet(members) if members else None
    except PyJWKSetError as error:
        raise ValueError(f"no usable key in the JWKS: {error}") from None
    keys: dict[str, RSAPublicKey] = {}
    for jwk in parsed or ():
        key = jwk.key
        if isinstance(key, RSAPrivateKey):
            key = key.public_key()
        if isinstance(key, RSAPublicKey) and key.key_size >= MIN_RSA_BITS and jwk.key_id:
            keys[jwk.key_id] = key
    if not keys:
        raise ValueError("no usable key in the JWKS (RSA, RS256, kid, at least 2048 bits)")
    return keys


def read_private_key_set(path: str | Path) -> list[KeyPair]:
    """The ``(kid, key)`` of a private JWKS file, in order (the first signs); ValueError
    if it holds none."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError(f'{path}: a JWKS is an object with a "keys" list')
    keys: list[KeyPair] = []
    for member in document["keys"]:
        if not isinstance(member, dict) or not _usable(member) or "d" not in member:
            continue
        try:
            key = PyJWK(member, ALGORITHM).key
        except PyJWKError as error:
            raise ValueError(f"{path}: unreadable key {member.get('kid')!r}: {error}") from None
        if not isinstance(key, RSAPrivateKey):
            continue
        _checked(key)
        keys.append((str(member["kid"]), key))
    if not keys:
        raise ValueError(f"{path}: no RSA private key for RS256 in the key set")
    return keys
