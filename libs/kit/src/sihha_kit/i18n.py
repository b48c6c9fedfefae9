"""The platform's words in Arabic and French: gettext catalogues read with Babel.

Every user-facing string has a stable key (a problem code such as
``ticket-not-found``, or a dotted key such as ``kiosk.title``) and one entry per
language in the package's catalogues::

    <package>/locales/fr/LC_MESSAGES/messages.po
    <package>/locales/ar/LC_MESSAGES/messages.po

(``msgid`` is the key, ``msgstr`` the text; placeholders are Python brace fields,
``{label}``). A service's catalogue is layered over the kit's, so generic texts
(authentication, validation) exist once. Code never holds the texts: it names the
key (``_("kiosk.title")``, ``NotFound("ticket-not-found", …)``) and the text is
looked up in the language the caller asked for. Pages load the same catalogue as
JSON (``GET /i18n/{lang}.json``).

``python -m sihha_kit.i18n_maintenance update <package>`` extracts the keys a
package's Python, JavaScript and HTML use and adds the missing ones, empty, to both
catalogues; ``check`` (run by the test suite for every package) fails on a key
without its text in either language, or whose placeholders differ between them.

Numbers, dates and times are formatted for each language by Babel with the
locales of Algeria (``fr_DZ``, ``ar_DZ``: Latin digits, as on Algerian public
documents), in Africa/Algiers, on the 24-hour clock.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.dates import format_skeleton
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "Catalogue",
    "Language",
    "Localized",
    "Message",
    "format_date",
    "format_datetime",
    "format_number",
    "format_percentage",
    "format_time",
    "negotiate",
]

Language = Literal["fr", "ar"]
#: the platform's working languages, the default first
LANGUAGES: Final[tuple[Language, ...]] = ("fr", "ar")
DEFAULT_LANGUAGE: Final[Language] = "fr"
#: the CLDR locale used to format numbers and dates in each language
LOCALES: Final[Mapping[Language, str]] = {"fr": "fr_DZ", "ar": "ar_DZ"}
ALGIERS: Final[tzinfo] = ZoneInfo("Africa/Algiers")
DOMAIN: Final = "messages"


def as_language(value: str) -> Language:
    """`value` if it is a working language, else the default (French)."""
    return "ar" if value == "ar" else "fr" if value == "fr" else DEFAULT_LANGUAGE


def N_(key: str) -> str:
    """Mark a key for extraction without translating it now (gettext's ``N_``):
    for keys chosen at run time from a table, e.g. ``STATUS = {"waiting": N_("status.waiting")}``."""
    return key


@dataclass(frozen=True)
class Message:
    """A key and its parameters, rendered later in the reader's language.

    Parameters that are themselves `Message`s are rendered in the same language
    (``Message("illegal-transition", action=Message("ticket.action.call"))``), and so are
    `Localized` ones (a date formatted for each language).
    """

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, key: str, /, **params: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "params", params)


@dataclass(frozen=True)
class Localized:
    """A parameter written differently in each language, rendered when its text is:
    ``Localized(partial(format_date, slot_start, form="full"))`` gives
    ``mardi 15 décembre 2026`` in a French text and ``الثلاثاء 15 ديسمبر 2026`` in an
    Arabic one. `render` takes the language (``"fr"`` or ``"ar"``) and returns the text."""

    render: Callable[[str], str]


def negotiate(accept_language: str | None) -> Language:
    """The working language an ``Accept-Language`` header (RFC 9110 §12.5.4) prefers.

    Ranges are taken by weight (``q``), then order; the first that names Arabic or
    French wins (``ar-DZ`` is Arabic); anything else, or no header, gives French.
    """
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, parameters = part.strip().partition(";")
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0:
            ranked.append((-weight, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-", 1)[0]
        if primary in LANGUAGES:
            return as_language(primary)
    return DEFAULT_LANGUAGE


def placeholders(text: str) -> frozenset[str]:
    """The brace fields a text interpolates (``"{label} à {time}"`` → {label, time})."""
    return frozenset(
        name.split(".", 1)[0].split("[", 1)[0]
        for _, name, _, _ in string.Formatter().parse(text)
        if name
    )


class Catalogue:
    """The texts of one or more packages in every working language.

    Later packages override earlier ones: ``Catalogue.of("sihha_kit", "sihha_queue")``
    is the kit's generic texts with the queue service's over them.
    """

    def __init__(self, texts: Mapping[Language, Mapping[str, str]]) -> None:
        self.texts: dict[Language, dict[str, str]] = {
            language: dict(texts.get(language, {})) for language in LANGUAGES
        }

    @classmethod
    def of(cls, *packages: str) -> Catalogue:
        """Load (once per process) and layer the catalogues of these packages."""
        return _catalogue_of(tuple(dict.fromkeys(("sihha_kit", *packages))))

    @classmethod
    def from_directory(cls, locales: Path) -> Catalogue:
        """One package's catalogues from its ``locales/`` directory."""
        return cls({language: read_catalogue(locales, language) for language in LANGUAGES})

    def layered(self, other: Catalogue) -> Catalogue:
        return Catalogue(
            {language: {**self.texts[language], **other.texts[language]} for language in LANGUAGES}
        )

    def keys(self) -> frozenset[str]:
        return frozenset(key for language in LANGUAGES for key in self.texts[language])

    def text(self, language: str, key: str, /, **params: Any) -> str:
        """The text of `key` in `language`, its brace fields filled from `params`.

        A key missing from the catalogue is returned as is (the completeness test
        keeps that from reaching anyone); a field missing from `params` is left as
        ``{field}`` rather than failing an error response.
        """
        lang = as_language(language)
        template = self.texts[lang].get(key) or key
        rendered = {
            name: self.render(lang, value)
            if isinstance(value, Message)
            else value.render(lang)
            if isinstance(value, Localized)
            else value
            for name, value in params.items()
        }
        if not rendered:
            return template
        return string.Formatter().vformat(template, (), _KeepMissing(rendered))

    def render(self, language: str, message: Message) -> str:
        return self.text(language, message.key, **message.params)

    def both(self, key: str, /, **params: Any) -> dict[Language, str]:
        """``{"fr": …, "ar": …}``: the text in every working language."""
        return {language: self.text(language, key, **params) for language in LANGUAGES}

    def as_json(self, language: str) -> dict[str, str]:
        """Every text of one language, for pages (``GET /i18n/{lang}.json``)."""
        return dict(sorted(self.texts[as_language(language)].items()))


class _KeepMissing(dict[str, Any]):
    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


def locales_directory(package: str) -> Path:
    """``<package>/locales`` of an installed package."""
    return Path(str(resources.files(package))) / "locales"


def read_catalogue(locales: Path, language: str) -> dict[str, str]:
    """``{key: text}`` from ``locales/<language>/LC_MESSAGES/messages.po`` (empty texts
    and fuzzy entries left out: they are not translations yet)."""
    path = locales / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return {}
    with path.open("rb") as po:
        catalog = read_po(po, locale=LOCALES[as_language(language)])
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }


@cache
def _catalogue_of(packages: tuple[str, ...]) -> Catalogue:
    catalogue = Catalogue({})
    for package in packages:
        catalogue = catalogue.layered(Catalogue.from_directory(locales_directory(package)))
    return catalogue


# -- formatting --------------------------------------------------------------


def _locale(language: str) -> str:
    return LOCALES[as_language(language)]


def format_number(
    value: int | float | Decimal, language: str, *, decimals: int | None = None
) -> str:
    """``1 234,5`` in French, ``1.234,5`` in Arabic (Algeria's CLDR conventions)."""
    if decimals is not None:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=_locale(language))
    return format_decimal(value, locale=_locale(language))


def format_percentage(ratio: float, language: str, *, decimals: int = 0) -> str:
    """A ratio (0.125) as a percentage (``12,5 %``) in the language's conventions."""
    locale = Locale.parse(_locale(language))
    pattern = locale.percent_formats[None].pattern  # e.g. "#,##0\u00a0%" (fr), "#,##0%" (ar)
    if decimals:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * decimals, 1)
    return format_percent(ratio, format=pattern, locale=locale)


def _in_algiers(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("an instant to show must carry its time zone (UTC in storage)")
    return instant.astimezone(ALGIERS)


def format_time(instant: datetime, language: str) -> str:
    """``09:30``: hours and minutes in Africa/Algiers, 24-hour clock."""
    return format_skeleton("Hm", _in_algiers(instant), locale=_locale(language), fuzzy=True)


def format_date(day: date | datetime, language: str, *, form: str = "long") -> str:
    """``15 décembre 2026`` / ``15 ديسمبر 2026`` (``form`` is a CLDR width:
    short, medium, long or full); an instant is first put in Africa/Algiers."""
    if isinstance(day, datetime):
        day = _in_algiers(day).date()
    return _babel_format_date(day, form, locale=_locale(language))


def format_datetime(instant: datetime, language: str, *, form: str = "long") -> str:
    """The date (``form`` as in `format_date`) then the 24-hour time, in Africa/Algiers."""
    return f"{format_date(instant, language, form=form)} {format_time(instant, language)}"
