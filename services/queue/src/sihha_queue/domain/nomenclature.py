"""The national nomenclature of pharmaceutical products, as the ministry publishes it.

Pure domain: it reads the text of the published file and compares editions; the
service layer (`service_layer.prescriptions.import_nomenclature`) stores what this module returns.

The file (``NOMENCLATURE NATIONALE DES PRODUITS PHARMACEUTIQUES A USAGE DE LA MEDECINE
HUMAINE AU <date>``, Ministry of the Pharmaceutical Industry) is semicolon-separated
UTF-8 text: a few title rows, then the header row (``N°;N°ENREGISTREMENT;CODE;…``),
then one row per registered product. The columns this module reads:

=====================================  ==============================================
column                                 meaning, as kept in `Product`
=====================================  ==============================================
``N°ENREGISTREMENT``                   registration number, ``352/01 A 003/06/22``:
                                       serial / code / year of registration
                                       [/ year of the last renewal] → `registration`
``CODE``                               the nomenclature code of the DCI, form and
                                       dosage shared by every brand of it, ``01 A 003``
``DENOMINATION COMMUNE INTERNATIONALE``  the DCI (INN) as written by the ministry
``NOM DE MARQUE``                      the brand name
``FORME``, ``DOSAGE``, ``CONDITIONNEMENT``  pharmaceutical form, strength, pack
``LISTE``                              ``LISTE I``, ``LISTE II``, ``STUPEFIANT`` or empty
``P1``, ``P2``                         ``HOP`` (hospital), ``OFF`` (community pharmacy)
``TYPE``                               ``RE`` reference product, ``GE`` generic
``STATUT``                             ``F`` manufactured in Algeria, ``I`` imported
``DATE D'ENREGISTREMENT INITIAL/FINAL``  dd/mm/yyyy
=====================================  ==============================================

A file is taken whole or not at all: `parse_edition` raises `NomenclatureFileError`
with the line (1-based, as an editor shows it) and the reason of the first defect.

`ListClass` (the regime of the ``LISTE`` column) is the contracts' enum.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from sihha_contracts.events.queue import ListClass
from sihha_kit.i18n import N_

#: a nomenclature code (`sihha_contracts.types.DrugCode`): ``01 A 003``
CODE_PATTERN: Final = re.compile(r"^[0-9]{2} [A-Z] [0-9]{3}$")
#: ``352/01 A 003/06/22``: serial / code / year [/ renewal year]
REGISTRATION_PATTERN: Final = re.compile(
    r"^(?P<serial>[0-9A-Z]{1,6})/(?P<code>[0-9]{2} ?[A-Z] ?[0-9]{3})/(?P<year>[0-9]{2})(?:/(?P<renewed>[0-9]{2}))?$"
)
_TITLE_DATE: Final = re.compile(r"\bAU ([0-9]{1,2}) ([A-Z]+) ([0-9]{4})")
_MONTHS: Final = {
    "JANVIER": 1,
    "FEVRIER": 2,
    "MARS": 3,
    "AVRIL": 4,
    "MAI": 5,
    "JUIN": 6,
    "JUILLET": 7,
    "AOUT": 8,
    "SEPTEMBRE": 9,
    "OCTOBRE": 10,
    "NOVEMBRE": 11,
    "DECEMBRE": 12,
}
#: a file larger than this is refused before parsing (the 2026 edition is ~1.2 MB)
MAX_FILE_BYTES: Final = 32 * 1024 * 1024


_LIST_VALUES: Final = {
    "": ListClass.NONE,
    "LISTE I": ListClass.LIST_I,
    "LISTE 1": ListClass.LIST_I,
    "LISTE II": ListClass.LIST_II,
    "LISTE 2": ListClass.LIST_II,
    "STUPEFIANT": ListClass.NARCOTIC,
    "STUPEFIANTS": ListClass.NARCOTIC,
}


def normalise(text: str) -> str:
    """Upper case, accents dropped, every run of other characters one space:
    ``"Lidocaïne  chlorhydrate"`` → ``"LIDOCAINE CHLORHYDRATE"``. Used to compare the
    ministry's spellings and to search as the doctor types."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
    return " ".join(re.findall(r"[A-Z0-9]+(?:[.,][0-9]+)?", bare))


def _header_key(text: str) -> str:
    return normalise(text).replace(" ", "")


@dataclass(frozen=True)
class Column:
    name: str
    #: the header's text, compared by `_header_key` (accents, case, spaces ignored)
    header: str
    required: bool = True


COLUMNS: Final[tuple[Column, ...]] = (
    Column("registration", "N°ENREGISTREMENT"),
    Column("code", "CODE"),
    Column("dci", "DENOMINATION COMMUNE INTERNATIONALE"),
    Column("brand", "NOM DE MARQUE"),
    Column("form", "FORME"),
    Column("dosage", "DOSAGE"),
    Column("packaging", "CONDITIONNEMENT"),
    Column("list", "LISTE"),
    Column("p1", "P1", required=False),
    Column("p2", "P2", required=False),
    Column("observation", "OBS", required=False),
    Column("laboratory", "LABORATOIRES DETENTEUR DE LA DECISION D'ENREGISTREMENT", False),
    Column("country", "PAYS DU LABORATOIRE DETENTEUR DE LA DECISION D'ENREGISTREMENT", False),
    Column("registered_on", "DATE D'ENREGISTREMENT INITIAL", required=False),
    Column("renewed_on", "DATE D'ENREGISTREMENT FINAL", required=False),
    Column("type", "TYPE", required=False),
    Column("status", "STATUT", required=False),
    Column("shelf_life", "DUREE DE STABILITE", required=False),
)


@dataclass(frozen=True)
class Product:
    """One registered product (a brand, form, dosage and pack) of an edition."""

    registration: str
    code: str
    dci: str
    brand: str
    form: str
    dosage: str
    packaging: str
    list_class: ListClass
    #: ``P2 = OFF``: sold in community pharmacies (else hospital use only)
    community: bool
    hospital: bool
    generic: bool | None
    manufactured_locally: bool | None
    laboratory: str
    country: str
    registered_on: date | None
    renewed_on: date | None
    observation: str = ""

    @property
    def product_key(self) -> str:
        """The registration number without its renewal year: the same product across
        editions (``352/01 A 003/06/22`` → ``352/01 A 003/06``)."""
        match = REGISTRATION_PATTERN.match(self.registration)
        if match is None:
            return self.registration
        return f"{match['serial']}/{match['code']}/{match['year']}"

    @property
    def substances(self) -> tuple[str, ...]:
        """The active substances of the DCI, canonical (see `substances_of`)."""
        return substances_of(self.dci)


@dataclass(frozen=True)
class NomenclatureFileError(Exception):
    """The file cannot be imported: `line` (1-based) and a `reason` code with its fields."""

    line: int
    reason: str
    fields: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason} {dict(self.fields)}"


#: reasons of `NomenclatureFileError`, texts in the catalogues
REASONS: Final = {
    "header-missing": N_("nomenclature.reason.header-missing"),
    "column-missing": N_("nomenclature.reason.column-missing"),
    "row-too-short": N_("nomenclature.reason.row-too-short"),
    "value-missing": N_("nomenclature.reason.value-missing"),
    "bad-code": N_("nomenclature.reason.bad-code"),
    "bad-registration": N_("nomenclature.reason.bad-registration"),
    "bad-list": N_("nomenclature.reason.bad-list"),
    "bad-date": N_("nomenclature.reason.bad-date"),
    "duplicate-registration": N_("nomenclature.reason.duplicate-registration"),
    "not-utf8": N_("nomenclature.reason.not-utf8"),
    "empty": N_("nomenclature.reason.empty"),
    "too-large": N_("nomenclature.reason.too-large"),
}


@dataclass(frozen=True)
class ParsedEdition:
    """What a file holds: its products and the date in its title, if it gives one."""

    products: tuple[Product, ...]
    title_date: date | None
    title: str


def decode(data: bytes) -> str:
    """The file's text (UTF-8, with or without a byte-order mark)."""
    if len(data) > MAX_FILE_BYTES:
        raise NomenclatureFileError(0, "too-large", {"limit": str(MAX_FILE_BYTES)})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise NomenclatureFileError(line, "not-utf8") from None


def parse_edition(text: str) -> ParsedEdition:
    """Every product of a nomenclature file; `NomenclatureFileError` on the first defect."""
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    if not rows:
        raise NomenclatureFileError(1, "empty")
    header_at, positions = _find_header(rows)
    title = next(
        (" ".join(row[0].split()) for row in rows[:header_at] if row and "NOMENCLATURE" in row[0]),
        "",
    )
    last_needed = max(positions[c.name] for c in COLUMNS if c.required)
    products: list[Product] = []
    seen: dict[str, int] = {}
    for index in range(header_at + 1, len(rows)):
        row = rows[index]
        line = index + 1
        if not any(cell.strip() for cell in row):
            continue  # the ministry's files end with empty rows
        if len(row) <= last_needed:
            raise NomenclatureFileError(
                line, "row-too-short", {"cells": str(len(row)), "expected": str(last_needed + 1)}
            )
        product = _product(row, positions, line)
        if product.registration in seen:
            raise NomenclatureFileError(
                line,
                "duplicate-registration",
                {"registration": product.registration, "first": str(seen[product.registration])},
            )
        seen[product.registration] = line
        products.append(product)
    if not products:
        raise NomenclatureFileError(header_at + 1, "empty")
    return ParsedEdition(tuple(products), _title_date(title), title)


def _find_header(rows: Sequence[Sequence[str]]) -> tuple[int, dict[str, int]]:
    wanted = {_header_key(c.header): c for c in COLUMNS}
    for index, row in enumerate(rows[:60]):
        keys = [_header_key(cell) for cell in row]
        if _header_key("N°ENREGISTREMENT") not in keys:
            continue
        positions: dict[str, int] = {}
        for position, key in enumerate(keys):
            column = wanted.get(key)
            if column is not None and column.name not in positions:
                positions[column.name] = position
        for column in COLUMNS:
            if column.required and column.name not in positions:
                raise NomenclatureFileError(index + 1, "column-missing", {"column": column.header})
        return index, positions
    raise NomenclatureFileError(1, "header-missing")


def _cell(row: Sequence[str], positions: Mapping[str, int], name: str) -> str:
    position = positions.get(name)
    if position is None or position >= len(row):
        return ""
    return " ".join(row[position].split())


def _date(value: str, line: int, column: str) -> date | None:
    if not value:
        return None
    match = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", value)
    if match is None:
        raise NomenclatureFileError(line, "bad-date", {"column": column, "value": value[:40]})
    try:
        return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        raise NomenclatureFileError(
            line, "bad-date", {"column": column, "value": value[:40]}
        ) from None


def _product(row: Sequence[str], positions: Mapping[str, int], line: int) -> Product:
    def cell(name: str) -> str:
        return _cell(row, positions, name)

    for name, header in (
        ("registration", "N°ENREGISTREMENT"),
        ("code", "CODE"),
        ("dci", "DENOMINATION COMMUNE INTERNATIONALE"),
        ("brand", "NOM DE MARQUE"),
    ):
        if not cell(name):
            raise NomenclatureFileError(line, "value-missing", {"column": header})
    code = cell("code")
    if not CODE_PATTERN.match(code):
        raise NomenclatureFileError(line, "bad-code", {"value": code[:40]})
    registration = cell("registration")
    if not REGISTRATION_PATTERN.match(registration):
        raise NomenclatureFileError(line, "bad-registration", {"value": registration[:40]})
    listed = normalise(cell("list"))
    if listed not in _LIST_VALUES:
        raise NomenclatureFileError(line, "bad-list", {"value": cell("list")[:40]})
    kind = cell("type").upper()
    status = cell("status").upper()
    return Product(
        registration=registration,
        code=code,
        dci=cell("dci"),
        brand=cell("brand"),
        form=cell("form"),
        dosage=cell("dosage"),
        packaging=cell("packaging"),
        list_class=_LIST_VALUES[listed],
        community=cell("p2").upper() == "OFF",
        hospital=cell("p1").upper() == "HOP",
        generic=True if kind == "GE" else False if kind == "RE" else None,
        manufactured_locally=True if status == "F" else False if status == "I" else None,
        laboratory=cell("laboratory"),
        country=cell("country"),
        registered_on=_date(cell("registered_on"), line, "DATE D'ENREGISTREMENT INITIAL"),
        renewed_on=_date(cell("renewed_on"), line, "DATE D'ENREGISTREMENT FINAL"),
        observation=cell("observation"),
    )


def _title_date(title: str) -> date | None:
    match = _TITLE_DATE.search(normalise(title))
    if match is None:
        return None
    month = _MONTHS.get(normalise(match[2]))
    if month is None:
        return None
    try:
        return date(int(match[3]), month, int(match[1]))
    except ValueError:
        return None


# -- substances ---------------------------------------------------------------------

#: words of the ministry's DCIs that name a salt, a hydrate or a qualifier, not the
#: substance (``TRAMADOL CHLORHYDRATE`` and ``CHLORHYDRATE DE TRAMADOL`` are tramadol)
_SALT_WORDS: Final = frozenset(
    """CHLORHYDRATE DICHLORHYDRATE DICHLORBYDRATE HYDROCHLORIDE HYDROCHLORURE SODIQUE
    SODIUM POTASSIQUE CALCIQUE SULFATE SUCCINATE CITRATE MALEATE BESYLATE BESILATE
    BROMURE BROMIDE PHOSPHATE HEMIHYDRATE MONOHYDRATE DIHYDRATE ANHYDRE FUMARATE
    TROMETAMOL TARTRATE BITARTRATE TRATRATE CARBONATE MESILATE MESYLATE ACETATE DE D L DL DU DES ET
    MEDICINAL MEDICINALE GAZEUX LIQUIDE BASE""".split()
)
#: a substance named differently in the file (typos included) → its canonical name
SUBSTANCE_ALIASES: Final = {
    "ACIDE ACETYLSALICYTIQUE": "ACIDE ACETYLSALICYLIQUE",
    "ACETYLSALICYLATE LYSINE": "ACIDE ACETYLSALICYLIQUE",
    "ACETYLSALICYLATE": "ACIDE ACETYLSALICYLIQUE",
    "ARTICALINE": "ARTICAINE",
    "EPINEPHRINE": "ADRENALINE",
    "ADRENALINE": "ADRENALINE",
    "PROTOXYLE AZOTE": "PROTOXYDE D AZOTE",
    "PROTOXYDE AZOTE": "PROTOXYDE D AZOTE",
    "OXYGENE": "OXYGENE",
    "DEXKETOPROFENE": "DEXKETOPROFENE",
    "ROCURONIUM": "ROCURONIUM",
    "SUGAMMADEX": "SUGAMMADEX",
}


def substances_of(dci: str) -> tuple[str, ...]:
    """The canonical active substances of a DCI as the ministry writes it, in order:
    ``PARACETAMOL/CODEINE PHOSPHATE HEMIHYDRATE`` → (``PARACETAMOL``, ``CODEINE``);
    ``TRAMADOL CHLORHYDRATE EXPRIME EN TRAMADOL`` → (``TRAMADOL``,). Salts, hydrates
    and "expressed as" clauses are dropped; known spellings are unified
    (`SUBSTANCE_ALIASES`). Duplicate and interaction checks compare these."""
    text = unicodedata.normalize("NFKD", dci)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
    if text.startswith("EXTRAITS ALLERGENIQU"):
        return ("EXTRAITS ALLERGENIQUES",)
    text = re.sub(r"\(.*?\)", " ", text)
    text = re.sub(r"\bS/F\b", " SOUS FORME ", text)
    found: list[str] = []
    for part in re.split(r"/|\+|\bET\b", text):
        part = re.split(r"\bEXPRIME\w*\b|\bSOUS FORME\b", part)[0]
        words = [w for w in re.findall(r"[A-Z]+", part) if w not in _SALT_WORDS]
        if not words:
            continue
        name = " ".join(words)
        name = SUBSTANCE_ALIASES.get(name, name)
        if name not in found:
            found.append(name)
    return tuple(found)


# -- editions ----------------------------------------------------------------------


@dataclass(frozen=True)
class EditionChanges:
    """What changed from one edition to the next, by `Product.product_key`."""

    added: tuple[str, ...]
    withdrawn: tuple[str, ...]
    renewed: tuple[str, ...]
    #: products whose list (regime) changed: key → (before, after)
    relisted: Mapping[str, tuple[ListClass, ListClass]]
    unchanged: int

    def as_dict(self) -> dict[str, object]:
        return {
            "added": len(self.added),
            "withdrawn": len(self.withdrawn),
            "renewed": len(self.renewed),
            "relisted": len(self.relisted),
            "unchanged": self.unchanged,
            "added_keys": list(self.added[:50]),
            "withdrawn_keys": list(self.withdrawn[:50]),
            "relisted_keys": {
                k: [a.value, b.value] for k, (a, b) in list(self.relisted.items())[:50]
            },
        }


def compare_editions(before: Iterable[Product], after: Iterable[Product]) -> EditionChanges:
    """Products added, withdrawn (in `before`, not in `after`), renewed (a new
    registration number for the same product) and moved to another list."""
    old = {p.product_key: p for p in before}
    new = {p.product_key: p for p in after}
    added = tuple(sorted(new.keys() - old.keys()))
    withdrawn = tuple(sorted(old.keys() - new.keys()))
    renewed: list[str] = []
    relisted: dict[str, tuple[ListClass, ListClass]] = {}
    unchanged = 0
    for key in sorted(old.keys() & new.keys()):
        a, b = old[key], new[key]
        if a.registration != b.registration:
            renewed.append(key)
        if a.list_class != b.list_class:
            relisted[key] = (a.list_class, b.list_class)
        if a == b:
            unchanged += 1
    return EditionChanges(added, withdrawn, tuple(renewed), relisted, unchanged)
