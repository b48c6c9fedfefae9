"""Queue service settings: every variable is `QUEUE_<NAME>`, e.g. `QUEUE_DATABASE_URL`."""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, Field

from sihha_kit.settings import (
    PseudonymKeySettings,
    ServiceSettings,
    TokenIssuingSettings,
    service_settings_config,
)


class QueueSettings(PseudonymKeySettings, TokenIssuingSettings, ServiceSettings):
    """The queue pseudonymises NINs at the kiosk (the pseudonym key) and enrols its
    clinic terminals (signing and device-credential keys)."""

    model_config = service_settings_config("QUEUE_")

    service_name: str = "queue"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/sihha_queue"
    http_port: int = 8101
    #: the establishments registry loaded at start-up (None: registry/oran-establishments.yaml)
    registry_path: Path | None = None
    #: the address patients' phones reach the service at (the QR code printed on each
    #: ticket opens `<public_base_url>/terminals/ticket/<id>`); None: the address the
    #: kiosk itself used, right only when the kiosk and the phones see the same one
    public_base_url: AnyHttpUrl | None = None
    #: the establishments' Ed25519 keys that sign prescriptions (`<code>.pem` each)
    prescription_keys_dir: Path = Path(".dev/keys/prescriptions")
    #: create a missing establishment key on first use (development); off in production
    prescription_keys_create: bool = True
    #: import the shipped excerpt of the June 2026 nomenclature at start-up when no
    #: edition is imported yet (so that a new installation can prescribe at once; the IT
    #: unit imports the full file with `python -m sihha_queue.nomenclature_cli`)
    nomenclature_seed_excerpt: bool = True
    #: how long a service day's queue stays current after its last opening interval
    #: closes (counters finish the patients still there); then its open tickets expire
    day_close_grace_minutes: int = Field(default=120, ge=0, le=12 * 60)
    #: how often the day's closing looks for service days that are over
    day_close_every_seconds: float = Field(default=300.0, gt=0)
    #: HTTP worker processes on the one port (`python -m sihha_queue`), each a whole
    #: service process with its own connection budget
    http_workers: int = Field(default=1, ge=1, le=16)
