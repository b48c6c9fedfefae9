"""The message catalogues: language negotiation, lookup, completeness, formatting."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from sihha_kit import i18n_maintenance
from sihha_kit.errors import Conflict, NotFound
from sihha_kit.i18n import (
    Catalogue,
    Localized,
    Message,
    format_date,
    format_datetime,
    format_number,
    format_percentage,
    format_time,
    negotiate,
    placeholders,
)
from sihha_kit.problems import install_problem_handlers


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "fr"),
        ("", "fr"),
        ("ar", "ar"),
        ("ar-DZ,ar;q=0.9,fr;q=0.8", "ar"),
        ("fr-FR,fr;q=0.9,ar;q=0.8", "fr"),
        ("en-US,en;q=0.9,ar;q=0.5", "ar"),
        ("fr;q=0.2, ar;q=0.7", "ar"),
        ("ar;q=0, fr", "fr"),
        ("de, en", "fr"),
        ("AR-dz", "ar"),
        ("ar;q=abc, fr", "fr"),
    ],
)
def test_negotiate_takes_the_heaviest_working_language(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def test_texts_are_looked_up_and_filled_in_each_language() -> None:
    catalogue = Catalogue(
        {
            "fr": {
                "greeting": "Bonjour {name}",
                "status.waiting": "en attente",
                "s": "Le ticket est {status}.",
            },
            "ar": {
                "greeting": "مرحبا {name}",
                "status.waiting": "في الانتظار",
                "s": "التذكرة {status}.",
            },
        }
    )
    assert catalogue.both("greeting", name="Amina") == {"fr": "Bonjour Amina", "ar": "مرحبا Amina"}
    nested = Message("s", status=Message("status.waiting"))
    assert catalogue.render("ar", nested) == "التذكرة في الانتظار."
    assert catalogue.render("fr", nested) == "Le ticket est en attente."
    # a missing field stays visible instead of failing an error response
    assert catalogue.text("fr", "greeting") == "Bonjour {name}"
    # an unknown key shows itself (the completeness check keeps it from shipping)
    assert catalogue.text("fr", "nowhere") == "nowhere"


def test_the_kit_catalogue_is_complete() -> None:
    assert i18n_maintenance.missing_translations("sihha_kit") == []


def test_placeholders() -> None:
    assert placeholders("{label} à {time} ({count})") == {"label", "time", "count"}
    assert placeholders("sans champ") == frozenset()


def _package(tmp_path: Path, source: str, fr: str, ar: str) -> Path:
    root = tmp_path / "pkg"
    for language, entries in (("fr", fr), ("ar", ar)):
        folder = root / "locales" / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text(entries, encoding="utf-8")
    (root / "module.py").write_text(source, encoding="utf-8")
    return root


def test_the_check_fails_on_a_missing_text_a_stale_key_and_mismatched_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _package(
        tmp_path,
        'raise NotFound("ticket-not-found", ticket_id=1)\nLABEL = N_("kiosk.title")\n',
        'msgid "ticket-not-found"\nmsgstr "Ticket {ticket_id} introuvable."\n\n'
        'msgid "kiosk.title"\nmsgstr "Borne"\n\nmsgid "old.key"\nmsgstr "Ancien"\n',
        'msgid "ticket-not-found"\nmsgstr "التذكرة غير موجودة."\n',
    )
    monkeypatch.setattr(i18n_maintenance, "package_directory", lambda package: root)
    problems = "\n".join(i18n_maintenance.missing_translations("pkg"))
    assert "'kiosk.title' has no ar text" in problems
    assert "'ticket-not-found' interpolates ['ticket_id'] in fr but [] in ar" in problems
    assert "'old.key' is in the catalogue but no code names it" in problems
    assert "'ticket-not-found' has no" not in problems


def test_update_adds_missing_keys_empty_and_keeps_existing_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _package(
        tmp_path,
        'x = Message("board.title")\nraise Conflict("counter-busy")\n',
        'msgid "board.title"\nmsgstr "Tableau"\n',
        "",
    )
    (root / "page.js").write_text('el.textContent = t("board.next");\n', encoding="utf-8")
    (root / "page.html").write_text('<h1 data-i18n="board.heading"></h1>\n', encoding="utf-8")
    monkeypatch.setattr(i18n_maintenance, "package_directory", lambda package: root)
    added = i18n_maintenance.update("pkg")
    assert sorted(added) == sorted(
        [
            "fr: board.heading",
            "fr: board.next",
            "fr: counter-busy",
            "ar: board.heading",
            "ar: board.next",
            "ar: board.title",
            "ar: counter-busy",
        ]
    )
    fr = Catalogue.from_directory(root / "locales")
    assert fr.texts["fr"] == {"board.title": "Tableau"}  # empty texts are not translations
    assert len(i18n_maintenance.missing_translations("pkg")) == 7


def test_problems_are_rendered_from_the_app_catalogue_in_the_callers_language() -> None:
    app = FastAPI()
    app.state.catalogue = Catalogue.of().layered(
        Catalogue(
            {
                "fr": {
                    "ticket-not-found": "Ticket {ticket_id} introuvable.",
                    "counter-busy": "Le guichet {counter} est occupé par {label}.",
                },
                "ar": {
                    "ticket-not-found": "التذكرة {ticket_id} غير موجودة.",
                    "counter-busy": "الشباك {counter} مشغول بالتذكرة {label}.",
                },
            }
        )
    )
    install_problem_handlers(app)
    router = APIRouter()

    @router.get("/missing")
    async def missing() -> None:
        raise NotFound("ticket-not-found", ticket_id="42")

    @router.get("/busy")
    async def busy() -> None:
        raise Conflict("counter-busy", counter="C1", params={"label": "MG-042"})

    @router.get("/typed/{n}")
    async def typed(n: int) -> int:
        return n

    app.include_router(router)
    client = TestClient(app)
    response = client.get("/missing", headers={"Accept-Language": "ar-DZ,fr;q=0.5"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == "التذكرة 42 غير موجودة."
    assert body["detail_fr"] == "Ticket 42 introuvable."
    assert body["ticket_id"] == "42"
    busy_body = client.get("/busy").json()
    assert busy_body["detail"] == "Le guichet C1 est occupé par MG-042."
    assert "label" not in busy_body  # params fill the text, they are not members
    assert busy_body["counter"] == "C1"
    invalid = client.get("/typed/x", headers={"Accept-Language": "ar"}).json()
    assert invalid["code"] == "invalid-input"
    assert invalid["detail"] == "بيانات غير صالحة: n."


def test_numbers_dates_and_times_follow_each_language_in_algiers_time() -> None:
    instant = datetime(2026, 12, 15, 23, 30, tzinfo=UTC)  # 00:30 on the 16th in Algiers
    assert format_time(instant, "fr") == "00:30"
    assert format_time(instant, "ar") == "00:30"
    assert format_date(instant, "fr") == "16 décembre 2026"
    assert format_date(instant, "ar") == "16 ديسمبر 2026"
    assert format_datetime(instant, "fr") == "16 décembre 2026 00:30"
    assert format_date(date(2026, 12, 15), "fr", form="full") == "mardi 15 décembre 2026"
    assert format_number(1234.5, "fr") == "1\u202f234,5"
    assert format_number(1234.5, "ar") == "1.234,5"
    assert format_number(12, "fr", decimals=1) == "12,0"
    assert format_percentage(0.125, "fr", decimals=1) == "12,5\u00a0%"
    with pytest.raises(ValueError, match="time zone"):
        format_time(datetime(2026, 12, 15, 9, 0), "fr")


def test_a_localized_parameter_is_written_in_each_texts_language() -> None:
    catalogue = Catalogue(
        {"fr": {"due": "Prévu le {day} à {time}."}, "ar": {"due": "مقرر يوم {day} على {time}."}}
    )
    instant = datetime(2026, 12, 15, 23, 30, tzinfo=UTC)  # Wednesday the 16th in Algiers
    day = Localized(lambda language: format_date(instant, language, form="full"))
    at = Localized(lambda language: format_time(instant, language))
    assert catalogue.both("due", day=day, time=at) == {
        "fr": "Prévu le mercredi 16 décembre 2026 à 00:30.",
        "ar": "مقرر يوم الأربعاء، 16 ديسمبر 2026 على 00:30.",
    }
    # inside a message too
    assert catalogue.render("fr", Message("due", day=day, time=at)).startswith("Prévu le mercredi")


def test_the_app_serves_its_catalogue_to_the_pages() -> None:
    from sihha_kit.app import health_router

    app = FastAPI()
    app.state.catalogue = Catalogue.of()
    app.include_router(health_router())
    client = TestClient(app)
    arabic = client.get("/i18n/ar.json").json()
    assert arabic["forbidden"] == "الوصول مرفوض."
    assert client.get("/i18n/fr.json").json()["forbidden"] == "Accès refusé."
    assert client.get("/i18n/en.json").status_code == 422
