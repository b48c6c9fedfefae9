"""Appointments service settings: every variable is `APPOINTMENTS_<NAME>`."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

from pydantic import Field, SecretStr

from sihha_appointments.adapters.ratelimit import Limits
from sihha_appointments.domain.rules import BookingRules
from sihha_kit.settings import (
    PseudonymKeySettings,
    ServiceSettings,
    TokenIssuingSettings,
    service_settings_config,
)


class AppointmentsSettings(PseudonymKeySettings, TokenIssuingSettings, ServiceSettings):
    model_config = service_settings_config("APPOINTMENTS_")

    service_name: str = "appointments"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/sihha_appointments"
    http_port: int = 8102
    #: the establishments registry (None: registry/oran-establishments.yaml)
    registry_path: Path | None = None

    # -- booking rules (see domain/rules.py) ---------------------------------------------
    hold_minutes: int = Field(default=10, ge=1, le=120)
    offer_minutes: int = Field(default=120, ge=5, le=24 * 60)
    citizen_cutoff_hours: int = Field(default=24, ge=0, le=14 * 24)
    no_show_grace_minutes: int = Field(default=45, ge=0, le=24 * 60)
    one_active_per_specialty: bool = True
    #: specialties that need a general practitioner's referral code
    referral_required: list[str] = Field(
        default_factory=lambda: ["CARDIO", "NEURO", "ENDO", "RHUMA"]
    )
    referral_validity_days: int = Field(default=90, ge=1, le=365)
    #: share of each day's places kept for urgent referrals: a default, and per specialty
    urgent_share: float = Field(default=0.2, ge=0.0, le=1.0)
    urgent_share_by_specialty: dict[str, float] = Field(default_factory=dict)
    urgent_release_hours: int = Field(default=48, ge=0, le=30 * 24)
    reminder_lead_hours: list[int] = Field(default_factory=lambda: [48, 24])
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    max_active_bookings: int = Field(default=4, ge=1, le=50)
    #: how far ahead a search looks at most
    search_horizon_days: int = Field(default=120, ge=1, le=400)

    # -- abuse limits ---------------------------------------------------------------------
    #: `limits` storage URI: memory:// for one replica; redis://… shared by several
    rate_limit_storage: str = "memory://"
    searches_per_minute: int = Field(default=60, ge=1)
    holds_per_hour: int = Field(default=10, ge=1)
    sign_ins_per_hour: int = Field(default=5, ge=1)

    # -- citizens: sign-in and phone numbers ---------------------------------------------
    #: this service's own secret (hex): phone encryption and index, sign-in code digests
    secret_path: Path = Path(".dev/keys/appointments-secret.key")
    #: make the secret on first start if missing (development only); the key set that
    #: signs citizens' tokens is `signing_keys_path` (`sihha-dev keys` makes it)
    create_missing_keys: bool = True
    citizen_token_minutes: int = Field(default=30, ge=5, le=24 * 60)
    sign_in_code_minutes: int = Field(default=10, ge=1, le=60)
    sign_in_max_attempts: int = Field(default=5, ge=1, le=20)

    # -- SMS ------------------------------------------------------------------------------
    #: the SMS gateway's URL; unset: the local sink below
    sms_gateway_url: str | None = None
    sms_gateway_token: SecretStr | None = None
    sms_sink_path: Path = Path(".dev/sms-sink.jsonl")
    sms_max_attempts: int = Field(default=6, ge=1, le=50)

    # -- background work ---------------------------------------------------------------------
    #: timers and the notification outbox are polled at least this often
    timer_poll_seconds: float = Field(default=1.0, gt=0)

    def rules(self) -> BookingRules:
        return BookingRules(
            hold=timedelta(minutes=self.hold_minutes),
            offer=timedelta(minutes=self.offer_minutes),
            citizen_cutoff=timedelta(hours=self.citizen_cutoff_hours),
            no_show_grace=timedelta(minutes=self.no_show_grace_minutes),
            one_active_per_specialty=self.one_active_per_specialty,
            referral_required=frozenset(self.referral_required),
            referral_validity=timedelta(days=self.referral_validity_days),
            urgent_share=dict(self.urgent_share_by_specialty),
            default_urgent_share=self.urgent_share,
            urgent_release=timedelta(hours=self.urgent_release_hours),
            reminder_leads=tuple(timedelta(hours=h) for h in self.reminder_lead_hours),
            quiet_start=self.quiet_start,
            quiet_end=self.quiet_end,
            max_active_bookings=self.max_active_bookings,
        )

    def limits(self) -> Limits:
        return Limits(
            searches=f"{self.searches_per_minute}/minute",
            holds=f"{self.holds_per_hour}/hour",
            sign_ins=f"{self.sign_ins_per_hour}/hour",
        )
