"""Reporting service settings: every variable is `REPORTING_<NAME>`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from sihha_kit.settings import DEV_KEYS, ServiceSettings, service_settings_config

#: the development re-keying key, written by `sihha-dev keys`
DEV_REKEY_KEY_PATH = DEV_KEYS / "reporting-rekey.key"


class ReportingSettings(ServiceSettings):
    """Reporting never sees a NIN: it is not given the pseudonym key the pseudonymising
    services share (no `PseudonymKeySettings` here), only a key of its own that re-keys
    the patient keys it stores (`domain/rekeying.py`)."""

    model_config = service_settings_config("REPORTING_")

    service_name: str = "reporting"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/sihha_reporting"
    http_port: int = 8105
    consumer_batch_size: int = 256
    consumer_prefetch: int = 512

    #: the establishments registry (None: registry/oran-establishments.yaml, found upwards)
    registry_path: Path | None = None

    # -- rollout and monitoring rules ------------------------------------------------------
    #: an equipped establishment is *silent* after this many hours of opening time without events
    silent_after_hours: float = Field(default=2.0, gt=0, le=240)
    #: terminal heartbeats in opening hours that a working day needs to count as operating
    operating_min_heartbeats: int = Field(default=1, ge=1)
    #: consumers whose queues the IT-unit monitor shows (their `<name>.inbox` and `.dead`)
    monitored_consumers: list[str] = Field(default_factory=lambda: ["reporting", "queue"])

    # -- scheduled generation and revisions ----------------------------------------------
    schedule_enabled: bool = True
    #: Algiers hour after which the day's scheduled reports are generated
    schedule_hour: int = Field(default=1, ge=0, le=23)
    schedule_poll_seconds: float = Field(default=60.0, gt=0)
    #: closed daily reports re-checked for late data every day (a change → a new revision)
    revision_lookback_days: int = Field(default=7, ge=0, le=90)

    # -- delivery of the ministry report ---------------------------------------------------
    #: where the monthly ministry report is pushed (unset: not pushed)
    ministry_endpoint_url: str | None = None
    ministry_destination: str = Field(
        default="ministry-portal", pattern=r"^[a-z0-9][a-z0-9_.-]{3,63}$"
    )
    ministry_delivery_format: Literal["json", "dhis2"] = "json"
    #: the DHIS2 mapping (YAML or JSON): data elements, org units (see docs/reporting.md)
    dhis2_mapping_path: Path | None = None
    delivery_poll_seconds: float = Field(default=5.0, gt=0)
    delivery_timeout_seconds: float = Field(default=15.0, gt=0)
    delivery_max_attempts: int = Field(default=30, ge=1)
    #: first retry after this many seconds, doubling at each failure, at most an hour
    delivery_retry_base_seconds: float = Field(default=5.0, gt=0)

    # -- reconciliation ----------------------------------------------------------------------
    queue_url: str = "http://127.0.0.1:8101"
    #: the appointments service, whose `GET /counts/appointments` is reconciled too
    appointments_url: str = "http://127.0.0.1:8102"
    #: bearer token (role it_unit) the reconciliation presents to the producing services
    service_token: SecretStr | None = None
    #: development only: mint that token with this private key set when no token is set
    jwt_private_key_path: Path = Path(".dev/keys/jwks-private.json")

    # -- rendering ---------------------------------------------------------------------------
    #: a TTF with Arabic and Latin glyphs for PDFs (unset: IBM Plex Sans Arabic from PyPI)
    pdf_font_path: Path | None = None
    pdf_bold_font_path: Path | None = None

    # -- privacy -----------------------------------------------------------------------------
    #: reporting's own HMAC key (64 hex digits or more) re-keying the patient keys it keeps
    patient_rekey_key: SecretStr | None = None
    #: ... or the file holding it (hex text)
    patient_rekey_key_path: Path = DEV_REKEY_KEY_PATH

    def load_patient_rekey_key(self) -> bytes:
        """The re-keying key; a clear error when neither the key nor its file is there."""
        if self.patient_rekey_key is not None:
            text = self.patient_rekey_key.get_secret_value()
        elif self.patient_rekey_key_path.is_file():
            text = self.patient_rekey_key_path.read_text(encoding="ascii")
        else:
            raise RuntimeError(
                "reporting's patient re-keying key is missing: set REPORTING_PATIENT_REKEY_KEY "
                f"(hex) or create {self.patient_rekey_key_path} (`sihha-dev keys`)"
            )
        try:
            return bytes.fromhex(text.strip())
        except ValueError:
            raise RuntimeError("REPORTING_PATIENT_REKEY_KEY must be hexadecimal text") from None

    #: archived events read per round trip by a rebuild
    replay_chunk_size: int = Field(default=5000, ge=100, le=100_000)
