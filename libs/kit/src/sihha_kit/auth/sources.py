"""Where key sets and revocation lists come from: a file, or an http(s) URL.

A `DocumentSource` reads a JSON document and says whether it changed since the last
read (a file's modification time and size; a URL's ``ETag``), so that reloading every
few seconds costs a ``stat`` or a ``304 Not Modified``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

__all__ = ["DocumentSource", "SourceUnavailable"]

FETCH_TIMEOUT_SECONDS: Final = 5.0
MAX_DOCUMENT_BYTES: Final = 1024 * 1024


class SourceUnavailable(Exception):
    """The document could not be read (file missing or unreadable, URL unreachable,
    not JSON); the holder keeps what it had."""


@dataclass
class DocumentSource:
    """A JSON document at `location`: a filesystem path, or an ``http://``/``https://`` URL."""

    location: str
    _version: tuple[Any, ...] | None = None

    @property
    def is_url(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    def __str__(self) -> str:
        return self.location

    async def read(self, client: httpx.AsyncClient | None = None, *, force: bool = False) -> Any:
        """The document if it changed since the last read (or `force`), else None;
        SourceUnavailable if it cannot be read."""
        if self.is_url:
            return await self._fetch(client, force)
        return self.read_file(force=force)

    def read_file(self, *, force: bool = False) -> Any:
        """A file source read now (start-up); as `read`."""
        path = Path(self.location)
        try:
            status = path.stat()
            version = (status.st_mtime_ns, status.st_size)
            if not force and version == self._version:
                return None
            if status.st_size > MAX_DOCUMENT_BYTES:
                raise SourceUnavailable(f"{path}: larger than {MAX_DOCUMENT_BYTES} bytes")
            document = json.loads(path.read_bytes())
        except (OSError, ValueError) as error:
            raise SourceUnavailable(f"{path}: {error}") from None
        self._version = version
        return document

    async def _fetch(self, client: httpx.AsyncClient | None, force: bool) -> Any:
        headers = {"accept": "application/json"}
        if not force and self._version is not None:
            headers["if-none-match"] = str(self._version[0])
        own = client is None
        http = client or httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS)
        try:
            response = await http.get(self.location, headers=headers)
        except httpx.HTTPError as error:
            raise SourceUnavailable(f"{self.location}: {type(error).__name__}: {error}") from None
        finally:
            if own:
                await http.aclose()
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            raise SourceUnavailable(f"{self.location}: HTTP {response.status_code}")
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise SourceUnavailable(f"{self.location}: larger than {MAX_DOCUMENT_BYTES} bytes")
        try:
            document = response.json()
        except ValueError as error:
            raise SourceUnavailable(f"{self.location}: not JSON: {error}") from None
        etag = response.headers.get("etag")
        self._version = (etag,) if etag else None
        return document
