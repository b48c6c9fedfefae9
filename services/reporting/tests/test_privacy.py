"""Issue 11 item 8, reporting's side: reporting is not given the pseudonym key, and keeps no
patient key as the bus carried it (its own key re-keys them), in the archive or anywhere."""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from datetime import date

import httpx
import pytest
from fastapi import FastAPI

from sihha_kit.db import create_engine, session_factory
from sihha_reporting.config import ReportingSettings
from sihha_reporting.domain.rekeying import PatientRekeyer
from sihha_reporting.service_layer.archive import rekey_archive
from sihha_reporting.synthetic import EventFactory, clinic_day

from .conftest import publish, query, wait_for_archive

DAY = date(2026, 10, 6)
HEX64 = re.compile(r"[0-9a-f]{64}")


def test_reporting_is_not_given_the_pseudonym_key() -> None:
    """Its settings have no place for it (the compose file and the development launcher
    are checked in tests/containers/test_compose_file.py)."""
    assert not [name for name in ReportingSettings.model_fields if "pseudonym" in name]
    assert "patient_rekey_key" in ReportingSettings.model_fields


def test_patient_keys_are_re_keyed_wherever_they_are() -> None:
    rekeyer = PatientRekeyer(bytes(range(32)))
    raw = "ab" * 32
    payload = {
        "ticket_id": "t",
        "patient_key": raw,
        "lines": [{"merged_patient_key": raw, "n": 1}],
        "age_band": "25-44",
    }
    rekeyed = rekeyer.payload(payload)
    expected = hmac.new(bytes(range(32)), raw.encode(), hashlib.sha256).hexdigest()
    assert rekeyed["patient_key"] == expected == rekeyed["lines"][0]["merged_patient_key"]
    assert rekeyed["age_band"] == "25-44" and payload["patient_key"] == raw  # a copy
    unchanged = {"ticket_id": "t", "patient_key": None}
    assert rekeyer.payload(unchanged) is unchanged
    with pytest.raises(ValueError):
        PatientRekeyer(b"short")


async def _database_text(settings: ReportingSettings) -> str:
    tables = await query(
        settings,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE'",
    )
    texts = []
    for row in tables:
        rows = await query(settings, f'SELECT t::text AS line FROM "{row["table_name"]}" t')
        texts += [r["line"] for r in rows]
    return "\n".join(texts)


@pytest.mark.integration
async def test_no_patient_key_is_kept_as_the_bus_carried_it(
    reporting_app: tuple[FastAPI, httpx.AsyncClient], reporting_settings: ReportingSettings
) -> None:
    app, _ = reporting_app
    events = clinic_day(EventFactory(), "31-PC-001", DAY, tickets=20, rng=random.Random(4))
    raw = {e.payload["patient_key"] for e in events if e.payload.get("patient_key")}
    assert raw
    await publish(reporting_settings, events)
    assert await wait_for_archive(reporting_settings, len(events)) == len(events)
    stored = await _database_text(reporting_settings)
    assert not raw & set(HEX64.findall(stored))  # nowhere in reporting's database
    rekeyer = app.state.context.rekeyer
    archived = {
        r["key"]
        for r in await query(
            reporting_settings,
            "SELECT envelope -> 'payload' ->> 'patient_key' AS key FROM event_archive "
            "WHERE envelope -> 'payload' ->> 'patient_key' IS NOT NULL",
        )
    }
    assert archived == {rekeyer.rekey(key) for key in raw}  # the same patient, re-keyed

    # events archived before re-keying existed are re-keyed by the service, once
    [victim] = await query(
        reporting_settings,
        "SELECT event_id, envelope -> 'payload' ->> 'patient_key' AS key FROM event_archive "
        "WHERE envelope -> 'payload' ->> 'patient_key' IS NOT NULL LIMIT 1",
    )
    old = next(k for k in raw if rekeyer.rekey(k) == victim["key"])
    engine = create_engine(reporting_settings.database_url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "UPDATE event_archive SET patient_keys_rekeyed = false, "
                "envelope = jsonb_set(envelope, '{payload,patient_key}', to_jsonb($1::text)) "
                "WHERE event_id = $2",
                (old, victim["event_id"]),
            )
        sessions = session_factory(engine)
        assert await rekey_archive(sessions, rekeyer) == 1
        assert await rekey_archive(sessions, rekeyer) == 0
    finally:
        await engine.dispose()
    [again] = await query(
        reporting_settings,
        "SELECT patient_keys_rekeyed, envelope -> 'payload' ->> 'patient_key' AS key "
        "FROM event_archive WHERE event_id = :id",
        id=victim["event_id"],
    )
    assert again == {"patient_keys_rekeyed": True, "key": victim["key"]}
