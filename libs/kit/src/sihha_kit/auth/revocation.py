"""Revoked tokens and subjects, checked on every request.

A revocation names either one token (its ``jti``: a stolen phone's session) or a
subject (``terminal:<uuid>``, a person's id: every token of that subject issued up to
the moment of the revocation is refused; tokens issued afterwards are accepted again,
so a re-enrolled terminal or a person signed in anew works).

The list is the union of its sources, reloaded without restart:

- JSON documents, files or URLs (setting ``REVOCATION_LISTS``), in the form
  ``sihha-dev revoke`` writes::

      {"tokens": {"<jti>": "2026-12-15T10:00:00+00:00"},      # jti → when it expires
       "subjects": {"terminal:8f…": "2026-12-15T09:12:00+00:00"}}  # subject → revoked at

  (an entry whose token has expired can be dropped; ``sihha-dev revoke`` does so);
- the revocations a token-issuing service keeps in its own database
  (`sihha_kit.auth.issuing`), added in the same process at once.

Checking is two dictionary look-ups on the request path; reloading happens in the
verifier's background task (`sihha_kit.auth.verification.TokenVerifier.keep_fresh`),
every ``REVOCATION_REFRESH_SECONDS`` (15 s by default): that is how long a revocation
made elsewhere takes to reach a service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from sihha_kit.auth.sources import DocumentSource, SourceUnavailable
from sihha_kit.logs import get_logger

__all__ = ["RevocationList", "Revocations", "parse_revocations", "revocations_document"]

log = get_logger(__name__)


@dataclass(frozen=True)
class Revocations:
    """What one source revokes: token ids (→ their expiry, Unix time) and subjects
    (→ the Unix time of the revocation: tokens issued at or before it are refused)."""

    tokens: Mapping[str, float] = field(default_factory=dict)
    subjects: Mapping[str, float] = field(default_factory=dict)

    def merged(self, other: Revocations) -> Revocations:
        subjects = dict(self.subjects)
        for subject, moment in other.subjects.items():
            subjects[subject] = max(moment, subjects.get(subject, moment))
        return Revocations({**self.tokens, **other.tokens}, subjects)


def _instant(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone")
        return moment.timestamp()
    raise ValueError(f"{value!r} is not an instant")


def parse_revocations(document: Any) -> Revocations:
    """A revocation document (see the module's docstring); ValueError if malformed."""
    if not isinstance(document, dict):
        raise ValueError("a revocation list is a JSON object")
    tokens = document.get("tokens", {})
    subjects = document.get("subjects", {})
    if not isinstance(tokens, dict) or not isinstance(subjects, dict):
        raise ValueError('"tokens" and "subjects" are objects')
    return Revocations(
        {str(jti): _instant(until) for jti, until in tokens.items()},
        {str(subject): _instant(moment) for subject, moment in subjects.items()},
    )


def revocations_document(revocations: Revocations, *, now: float | None = None) -> dict[str, Any]:
    """The JSON form of `revocations`, without the tokens that expired before `now`."""

    def iso(moment: float) -> str:
        return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")

    return {
        "tokens": {
            jti: iso(until)
            for jti, until in sorted(revocations.tokens.items())
            if now is None or until >= now
        },
        "subjects": {subject: iso(at) for subject, at in sorted(revocations.subjects.items())},
    }


#: a source kept by the service itself (its database): returns its revocations
RevocationReader = Callable[[], Awaitable[Revocations]]


class RevocationList:
    """The union of the revocations of its sources, as of the last refresh."""

    def __init__(
        self,
        locations: Iterable[str] = (),
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.sources = [DocumentSource(location) for location in locations]
        self.readers: list[RevocationReader] = []
        self._client = client
        self._by_source: dict[int, Revocations] = {}
        self.current = Revocations()
        self.errors: dict[str, str] = {}

    def add_reader(self, reader: RevocationReader) -> None:
        """Another source: a service's own store (`sihha_kit.auth.issuing`)."""
        self.readers.append(reader)

    def add(self, revocations: Revocations) -> None:
        """Revocations made in this process, effective at once (they also go to their
        store, where the next refresh finds them)."""
        self.current = self.current.merged(revocations)

    def is_revoked(self, subject: str, token_id: str | None, issued_at: float) -> bool:
        current = self.current
        if token_id is not None and token_id in current.tokens:
            return True
        revoked_at = current.subjects.get(subject)
        return revoked_at is not None and issued_at <= revoked_at

    def load_files_now(self) -> None:
        """Read the file sources at once (start-up), so that no request is served before
        the revocations are known; URLs and readers wait for `refresh`."""
        for index, source in enumerate(self.sources):
            if source.is_url:
                continue
            try:
                self._by_source[index] = parse_revocations(source.read_file(force=True))
            except SourceUnavailable as error:
                if "No such file" not in str(error):
                    self._report(source.location, str(error))
            except ValueError as error:
                self._report(source.location, f"malformed: {error}")
        merged = Revocations()
        for revocations in self._by_source.values():
            merged = merged.merged(revocations)
        self.current = merged

    async def refresh(self) -> None:
        """Reload every source; one that cannot be read keeps what it said before. A
        missing file is an empty list (nothing revoked yet)."""
        for index, source in enumerate(self.sources):
            try:
                document = await source.read(self._client)
                if document is not None:
                    self._by_source[index] = parse_revocations(document)
                self.errors.pop(source.location, None)
            except SourceUnavailable as error:
                if not source.is_url and "No such file" in str(error):
                    self._by_source[index] = Revocations()
                    continue
                self._report(source.location, str(error))
            except ValueError as error:
                self._report(source.location, f"malformed: {error}")
        for offset, reader in enumerate(self.readers):
            key = len(self.sources) + offset
            try:
                self._by_source[key] = await reader()
            except Exception as error:  # its database may be away: keep the last list
                self._report(f"reader {offset}", f"{type(error).__name__}: {error}")
        merged = Revocations()
        for revocations in self._by_source.values():
            merged = merged.merged(revocations)
        self.current = merged

    def _report(self, where: str, error: str) -> None:
        if self.errors.get(where) != error:
            log.warning("auth.revocations_unavailable", source=where, error=error[:300])
        self.errors[where] = error
