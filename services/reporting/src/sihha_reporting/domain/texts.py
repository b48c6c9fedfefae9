"""The service's words, from its catalogues (`sihha_kit.i18n`): what a report document
stores in both languages (``label_fr``/``label_ar``) and what its renderers print in one.

The texts live in ``sihha_reporting/locales/{fr,ar}/LC_MESSAGES/messages.po``, layered
over the kit's; code names keys only.
"""

from __future__ import annotations

from typing import Any

from sihha_kit.i18n import Catalogue, Language, Message

PACKAGE = "sihha_reporting"


def catalogue() -> Catalogue:
    """The kit's texts with the reporting service's over them (read once per process)."""
    return Catalogue.of(PACKAGE)


def text(language: str, key: str | Message, /, **params: Any) -> str:
    """The text of `key` (or of a `Message`) in `language` (``fr`` or ``ar``)."""
    if isinstance(key, Message):
        return catalogue().render(language, key)
    return catalogue().text(language, key, **params)


def both(key: str | Message, /, **params: Any) -> dict[Language, str]:
    """``{"fr": …, "ar": …}``: the text of `key` in both working languages."""
    return {language: text(language, key, **params) for language in ("fr", "ar")}


def labelled(key: str | Message, /, prefix: str = "label", **params: Any) -> dict[str, str]:
    """``{"<prefix>_fr": …, "<prefix>_ar": …}``, the shape report documents store."""
    texts = both(key, **params)
    return {f"{prefix}_fr": texts["fr"], f"{prefix}_ar": texts["ar"]}
