"""The national nomenclature's file, as the ministry publishes it: parsed whole or
refused with its line and reason; substances; what changed between editions."""

from __future__ import annotations

from typing import Any

import pytest

from sihha_contracts.events.queue import ListClass
from sihha_queue.adapters.nomenclature_import import excerpt_bytes, synthetic_edition
from sihha_queue.adapters.prescription_repository import search_terms
from sihha_queue.domain.nomenclature import (
    NomenclatureFileError,
    compare_editions,
    decode,
    normalise,
    parse_edition,
    substances_of,
)

HEADER_LINE = 14  # the excerpt's header row, as an editor numbers it


def excerpt_text() -> str:
    return decode(excerpt_bytes())


def test_the_excerpt_is_read_whole() -> None:
    edition = parse_edition(excerpt_text())
    assert len(edition.products) == 386
    assert str(edition.title_date) == "2026-06-30"
    first = edition.products[0]
    assert (first.registration, first.code, first.dci, first.brand) == (
        "352/01 A 003/06/22",
        "01 A 003",
        "CETIRIZINE DICHLORHYDRATE",
        "ARTIZ",
    )
    assert (first.form, first.dosage, first.packaging) == (
        "COMPRIME PELLICULE SECABLE",
        "10MG",
        "B/10",
    )
    assert first.list_class is ListClass.LIST_II
    assert first.community and first.hospital and first.generic
    assert first.manufactured_locally is True
    assert str(first.registered_on) == "2006-07-31" and str(first.renewed_on) == "2025-08-10"
    assert first.product_key == "352/01 A 003/06"
    counts = {c: sum(p.list_class is c for p in edition.products) for c in ListClass}
    assert counts == {
        ListClass.NONE: 129,
        ListClass.LIST_I: 102,
        ListClass.LIST_II: 136,
        ListClass.NARCOTIC: 19,
    }
    # a product without P2 = OFF is for hospital use only
    assert any(not p.community for p in edition.products)


def test_a_generated_full_size_file_is_read() -> None:
    edition = parse_edition(decode(synthetic_edition(5000)))
    assert len(edition.products) == 5000
    assert len({p.registration for p in edition.products}) == 5000


@pytest.mark.parametrize(
    ("dci", "substances"),
    [
        ("TRAMADOL CHLORHYDRATE EXPRIME EN TRAMADOL", ("TRAMADOL",)),
        ("CHLORHYDRATE DE TRAMADOL", ("TRAMADOL",)),
        ("TRAMADOL HYDROCHLORIDE", ("TRAMADOL",)),
        ("PARACETAMOL/CODEINE PHOSPHATE HEMIHYDRATE", ("PARACETAMOL", "CODEINE")),
        ("PARACETAMOL/CAFEINE ANHYDRE/CODEINE HEMIHYDRATE", ("PARACETAMOL", "CAFEINE", "CODEINE")),
        ("ACIDE ACETYLSALICYTIQUE ", ("ACIDE ACETYLSALICYLIQUE",)),
        ("DICHLORBYDRATE DE LEVOCETIRIZINE", ("LEVOCETIRIZINE",)),
        ("LIDOCAÏNE CHLORHYDRATE EXPRIME EN CHLORHYDRATE DE LIDOCAÏNE ANHYDRE", ("LIDOCAINE",)),
        ("RUPATADINE S/F FUMARATE", ("RUPATADINE",)),
        ("MORPHINE SULFATE", ("MORPHINE",)),
        ("SULFATE DE MORPHINE", ("MORPHINE",)),
    ],
)
def test_substances_are_the_active_moieties(dci: str, substances: tuple[str, ...]) -> None:
    assert substances_of(dci) == substances


def test_search_terms_find_a_word_of_the_dci_and_the_brand() -> None:
    edition = parse_edition(excerpt_text())
    tramadol = next(p for p in edition.products if p.dci == "CHLORHYDRATE DE TRAMADOL")
    terms = search_terms(tramadol)
    assert any(t.startswith("TRAM") for t in terms)
    assert not any(t.startswith("DE ") for t in terms)
    assert normalise("  Paracétamol ") == "PARACETAMOL"


def _broken(text: str, line_no: int, new_line: str) -> str:
    lines = text.split("\n")
    lines[line_no - 1] = new_line
    return "\n".join(lines)


def test_a_missing_column_is_refused_with_the_header_line() -> None:
    text = excerpt_text().replace(";DENOMINATION COMMUNE INTERNATIONALE;", ";DCI?;", 1)
    with pytest.raises(NomenclatureFileError) as refused:
        parse_edition(text)
    assert refused.value.line == HEADER_LINE
    assert refused.value.reason == "column-missing"
    assert refused.value.fields["column"] == "DENOMINATION COMMUNE INTERNATIONALE"


def test_a_broken_row_is_refused_with_its_line() -> None:
    text = excerpt_text()
    lines = text.split("\n")
    row = HEADER_LINE + 20
    cells = lines[row - 1].split(";")
    with pytest.raises(NomenclatureFileError) as short:
        parse_edition(_broken(text, row, ";".join(cells[:5])))
    assert (short.value.line, short.value.reason) == (row, "row-too-short")
    cells[2] = "1A3"
    with pytest.raises(NomenclatureFileError) as code:
        parse_edition(_broken(text, row, ";".join(cells)))
    assert (code.value.line, code.value.reason) == (row, "bad-code")


def test_other_defects_are_named() -> None:
    text = excerpt_text()
    row = HEADER_LINE + 3
    cells = text.split("\n")[row - 1].split(";")
    for index, value, reason in (
        (8, "LISTE III", "bad-list"),
        (14, "31/02/2020", "bad-date"),
        (3, "", "value-missing"),
        (1, "not a number", "bad-registration"),
    ):
        changed = list(cells)
        changed[index] = value
        with pytest.raises(NomenclatureFileError) as refused:
            parse_edition(_broken(text, row, ";".join(changed)))
        assert (refused.value.line, refused.value.reason) == (row, reason)
    duplicate = text.split("\n")[HEADER_LINE]  # the first product again, further down
    with pytest.raises(NomenclatureFileError) as twice:
        parse_edition(_broken(text, row, duplicate))
    assert twice.value.reason == "duplicate-registration"
    with pytest.raises(NomenclatureFileError) as not_utf8:
        decode("N°;CODE\n".encode("latin-1"))
    assert not_utf8.value.reason == "not-utf8"
    with pytest.raises(NomenclatureFileError) as headless:
        parse_edition("a;b;c\n1;2;3\n")
    assert headless.value.reason == "header-missing"


def test_changes_between_editions() -> None:
    before = parse_edition(excerpt_text()).products
    after_text = synthetic_edition(386, withdraw_every=10)
    after = list(parse_edition(decode(after_text)).products)
    # one product renewed (new registration year), one moved to another list
    renewed = after[1]
    after[1] = type(renewed)(**{**renewed.__dict__, "registration": renewed.product_key + "/26"})
    changes = compare_editions(before, after)
    assert len(changes.withdrawn) == 39
    assert changes.added == ()
    assert renewed.product_key in changes.renewed
    relisted = after[2]
    after[2] = type(relisted)(**{**relisted.__dict__, "list_class": ListClass.NARCOTIC})
    assert relisted.product_key in compare_editions(before, after).relisted


@pytest.mark.integration
async def test_the_command_line_imports_a_file_or_refuses_it_with_its_line(
    make_database: Any, tmp_path: Any
) -> None:
    import asyncio
    import json
    import os
    import sys

    url = await make_database("queue")
    broken = tmp_path / "broken.csv"
    broken.write_bytes(excerpt_bytes().replace(b";LISTE II;HOP", b";LISTE 9;HOP", 1))
    env = {**os.environ, "QUEUE_DATABASE_URL": url}

    async def run(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sihha_queue.nomenclature_cli", *args,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), 120)
        return process.returncode or 0, out.decode()

    status, out = await run(str(broken))
    assert status == 2
    refused = json.loads(out)
    assert refused["refused"] == "nomenclature-file-invalid"
    assert (refused["line"], refused["reason"]) == (15, "bad-list")
    status, out = await run("--excerpt")
    assert status == 0, out
    assert json.loads(out)["products"] == 386
