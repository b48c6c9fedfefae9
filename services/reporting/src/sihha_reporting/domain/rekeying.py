"""Patient keys as reporting keeps them: re-keyed with a key of its own.

The bus names a patient by a pseudonymous key, the HMAC of the national identification
number under the key the pseudonymising services share (`sihha_kit.pseudonym`).
Reporting is not given that key, and keeps nothing that can be matched with it: before
an event is archived or projected, every patient key it carries — any field whose name
ends in ``patient_key``, at any depth, whether reporting knows the event type or not —
is replaced by the HMAC-SHA256 of it under reporting's own key
(`REPORTING_PATIENT_REKEY_KEY`). The same patient remains the same (re-keyed) patient
across events, so a projection may still count distinct patients; but whoever holds the
shared key and a NIN cannot find that patient in reporting's database.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

#: the contracts name every patient key so (`sihha_contracts` checks it for every payload)
PATIENT_KEY_SUFFIX = "patient_key"
#: a re-keying key shorter than this is refused
MIN_KEY_BYTES = 32


class PatientRekeyer:
    """Replaces the patient keys of event payloads by their HMAC under reporting's key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(
                f"the patient re-keying key is too short ({len(key)} bytes, "
                f"at least {MIN_KEY_BYTES})"
            )
        self._key = key

    def rekey(self, patient_key: str) -> str:
        """64 lowercase hex digits (the shape of a patient key, so payloads stay valid)."""
        return hmac.new(self._key, patient_key.encode("utf-8"), hashlib.sha256).hexdigest()

    def payload(self, data: dict[str, Any]) -> dict[str, Any]:
        """A copy of a payload (JSON mapping) with every patient key re-keyed; the same
        object when it holds none (nothing to copy for most events)."""
        changed = self._walk(data)
        return data if changed is _SAME else changed

    def _walk(self, value: Any) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] | None = None
            for name, item in value.items():
                if isinstance(name, str) and name.endswith(PATIENT_KEY_SUFFIX):
                    new = self.rekey(item) if isinstance(item, str) else self._walk(item)
                else:
                    new = self._walk(item)
                if new is not _SAME:
                    out = dict(value) if out is None else out
                    out[name] = new
            return _SAME if out is None else out
        if isinstance(value, list):
            items = [self._walk(item) for item in value]
            if all(item is _SAME for item in items):
                return _SAME
            return [old if new is _SAME else new for old, new in zip(value, items, strict=True)]
        return _SAME


_SAME: Any = object()
