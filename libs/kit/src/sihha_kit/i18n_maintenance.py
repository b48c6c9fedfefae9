"""Keeping the catalogues complete: which keys a package uses, and what is missing.

A key is *used* where the code names it literally:

- Python: ``Message("key")``, ``N_("key")``, ``_("key")``, ``t("key")`` (a renderer's
  lookup), and the first argument
  of the problem classes (``NotFound("ticket-not-found", …)``, ``Conflict``,
  ``BadRequest``, ``Forbidden``, ``TooManyRequests``, ``Unavailable``,
  ``super().__init__("code", …)`` in their subclasses, ``DomainProblem(status, "code")``);
- JavaScript: ``t("key")``;
- HTML: ``data-i18n="key"`` (and ``data-i18n-label``, ``data-i18n-title``…) and
  ``t("key")`` in templates.

Extraction is Babel's (``babel.messages.extract``) for Python and JavaScript.

Usage::

    python -m sihha_kit.i18n_maintenance check sihha_queue     # exit 1 and a list if incomplete
    python -m sihha_kit.i18n_maintenance update sihha_queue    # add missing keys, empty, to fr and ar
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po

from sihha_kit.i18n import DOMAIN, LANGUAGES, LOCALES, Catalogue, locales_directory, placeholders

#: Python callables whose first (or given) argument is a catalogue key
PYTHON_KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "Message": None,
    "N_": None,
    "_": None,
    "t": None,
    "NotFound": None,
    "Conflict": None,
    "BadRequest": None,
    "Forbidden": None,
    "TooManyRequests": None,
    "Unavailable": None,
    "Unauthenticated": None,
    "AccessDenied": None,
    "invalid_token": None,
    "invalid_claims": None,
    "AuthError": (2,),
    "__init__": None,
    "DomainProblem": (2,),
}
JAVASCRIPT_KEYWORDS: dict[str, tuple[int, ...] | None] = {"t": None}
_HTML_KEYS = re.compile(
    r"""data-i18n(?:-[a-z]+)?\s*=\s*["']([^"'{}]+)["']|\bt\(\s*["']([^"']+)["']"""
)
_SKIPPED_DIRECTORIES = {"__pycache__", "locales", "node_modules"}


@dataclass(frozen=True)
class Use:
    key: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def package_directory(package: str) -> Path:
    return locales_directory(package).parent


def used_keys(root: Path) -> Iterator[Use]:
    """Every literal key named by the Python, JavaScript and HTML files under `root`."""
    for path in sorted(root.rglob("*")):
        if not path.is_file() or _SKIPPED_DIRECTORIES & set(path.relative_to(root).parts):
            continue
        if path.suffix == ".py":
            yield from _extracted(path, "python", PYTHON_KEYWORDS)
        elif path.suffix == ".js":
            yield from _extracted(path, "javascript", JAVASCRIPT_KEYWORDS)
        elif path.suffix == ".html":
            text = path.read_text(encoding="utf-8")
            for match in _HTML_KEYS.finditer(text):
                key = match.group(1) or match.group(2)
                yield Use(key, path, text.count("\n", 0, match.start()) + 1)


def _extracted(
    path: Path, method: str, keywords: dict[str, tuple[int, ...] | None]
) -> Iterator[Use]:
    with path.open("rb") as source:
        for line, message, _comments, _context in extract(
            method, source, keywords=keywords, comment_tags=()
        ):
            key = message if isinstance(message, str) else message[0]
            if key and _looks_like_key(key):
                yield Use(key, path, line)


def _looks_like_key(text: str) -> bool:
    """Keys are kebab-case problem codes or dotted lower-case names; anything else that
    an `__init__("…")` happens to pass is not ours."""
    return re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", text) is not None


def missing_translations(
    package: str, *, layered_over: tuple[str, ...] = ("sihha_kit",)
) -> list[str]:
    """What keeps `package`'s catalogues from being complete, one line each; empty if none.

    - a key the code uses that has no text in French or in Arabic (in the package's own
      catalogue or in the catalogues it is layered over: the kit's, by default);
    - a key of the package's catalogue whose French and Arabic texts do not interpolate
      the same fields;
    - a key of the package's catalogue that its code never names (stale, or named only
      at run time: mark it with ``N_`` where the table of keys is written).
    """
    root = package_directory(package)
    own = Catalogue.from_directory(root / "locales")
    available = own if package in layered_over else Catalogue.of(*layered_over).layered(own)
    problems: list[str] = []
    used: dict[str, Use] = {}
    for use in used_keys(root):
        used.setdefault(use.key, use)
    for key, use in sorted(used.items()):
        for language in LANGUAGES:
            if key not in available.texts[language]:
                problems.append(f"{use}: {key!r} has no {language} text")
    for key in sorted(own.keys()):
        fr, ar = (own.texts[language].get(key) for language in LANGUAGES)
        if fr is not None and ar is not None and placeholders(fr) != placeholders(ar):
            problems.append(
                f"{package}: {key!r} interpolates {sorted(placeholders(fr))} in fr "
                f"but {sorted(placeholders(ar))} in ar"
            )
        if key not in used:
            problems.append(f"{package}: {key!r} is in the catalogue but no code names it")
    return problems


def update(package: str) -> list[str]:
    """Add every used key missing from the package's catalogues, with an empty text, and
    return them. Existing entries are kept as they are; files are written sorted by key."""
    root = package_directory(package)
    keys = {use.key for use in used_keys(root)}
    inherited = Catalogue.of() if package != "sihha_kit" else Catalogue({})
    added: list[str] = []
    for language in LANGUAGES:
        path = root / "locales" / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        catalog = _read(path, language)
        for key in sorted(keys):
            if key not in catalog and key not in inherited.texts[language]:
                catalog.add(key, "")
                added.append(f"{language}: {key}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as po:
            write_po(po, catalog, width=100, sort_output=True, omit_header=False)
    return added


def _read(path: Path, language: str) -> Catalog:
    if path.is_file():
        with path.open("rb") as po:
            return read_po(po, locale=LOCALES[language])  # type: ignore[index]
    return Catalog(locale=LOCALES[language], domain=DOMAIN, project="Sihha")  # type: ignore[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sihha_kit.i18n_maintenance")
    parser.add_argument("action", choices=["check", "update"])
    parser.add_argument("packages", nargs="+", help="importable package names, e.g. sihha_queue")
    args = parser.parse_args(argv)
    status = 0
    for package in args.packages:
        if args.action == "update":
            for line in update(package):
                print(f"{package}: added {line}")
        for line in missing_translations(package):
            print(line)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
