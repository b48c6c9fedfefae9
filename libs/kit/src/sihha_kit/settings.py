"""Settings every service shares, read from the environment with a per-service prefix.

A service subclasses `ServiceSettings` and sets its own prefix::

    class QueueSettings(ServiceSettings):
        model_config = service_settings_config("QUEUE_")

so that `QUEUE_DATABASE_URL`, `QUEUE_AMQP_URL`, ... configure it. The defaults
work on a developer machine with PostgreSQL and RabbitMQ on localhost.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from sihha_kit.auth.trust import TrustedIssuer

#: where `sihha-dev keys` writes the development keys
DEV_KEYS = Path(".dev/keys")


def service_settings_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", frozen=True)


class ServiceSettings(BaseSettings):
    model_config = service_settings_config("SIHHA_")

    #: the service's name: exchange `<service_name>.events`, queue `<service_name>.inbox`
    service_name: str = "service"
    service_version: str = "0.1.0"

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/sihha"
    #: connections kept open to the service's database (plus a quarter for bursts)
    database_pool_size: int = Field(default=20, ge=1, le=200)
    #: every statement on every connection of the service ends after this (PostgreSQL's
    #: `statement_timeout`); migrations are not bound by it
    database_statement_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    #: prefix of every exchange and queue name; tests use it to isolate runs
    broker_namespace: str = ""

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8100, ge=1, le=65535)
    #: bodies larger than this are refused with 413 before they are read
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    #: whose tokens are accepted: each issuer's name, key set (file or URL) and the roles
    #: it may grant (`sihha_kit.auth.trust`); JSON in the environment, e.g.
    #: ``[{"issuer": "sihha-dev", "jwks": "https://idp.example/jwks.json"}]``
    trusted_issuers: list[TrustedIssuer] = Field(
        default_factory=lambda: [
            TrustedIssuer(issuer="sihha-dev", jwks=str(DEV_KEYS / "jwks.json"))
        ]
    )
    jwt_audience: str = "sihha"
    #: revoked tokens and subjects (files or URLs, `sihha_kit.auth.revocation`); a missing
    #: file is an empty list
    revocation_lists: list[str] = Field(default_factory=lambda: [str(DEV_KEYS / "revoked.json")])
    #: how often key sets and revocation lists are reloaded (seconds)
    jwks_refresh_seconds: float = Field(default=300.0, ge=1)
    revocation_refresh_seconds: float = Field(default=15.0, ge=0.1)

    log_format: Literal["json", "console"] = "console"
    log_level: str = "INFO"
    otlp_endpoint: str | None = None

    #: demo only: a simulated clock that read `clock_start` at wall-clock epoch
    #: `clock_anchor` and runs `clock_speed` times faster (unset: the real clock)
    clock_start: datetime | None = None
    clock_speed: float = Field(default=1.0, gt=0, le=10_000)
    clock_anchor: float | None = None

    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    #: the relay polls at least this often: how it finds rows another process committed
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    #: where the outbox relay runs: in every serving process (`in-process`: woken by the
    #: process's own commits), or only in processes of its own started with
    #: `python -m <service> relay` (`separate`: the serving processes leave it out and the
    #: relay finds committed rows by polling every `outbox_poll_seconds`; a deployment
    #: scales it apart from the HTTP workers, and its CPU leaves the request's process)
    outbox_relay: Literal["in-process", "separate"] = "in-process"
    consumer_prefetch: int = Field(default=256, ge=1, le=10_000)
    consumer_batch_size: int = Field(default=128, ge=1, le=10_000)
    #: failed deliveries of one message before it is dead-lettered (the inbox's policy)
    delivery_limit: int = Field(default=5, ge=1, le=1000)
    #: how the service applies its inboxes' policies and reads the node's feature flags:
    #: `rabbitmqctl` (the node's CLI on this machine), `none` (the operator applies them:
    #: `sihha-dev broker-policies`), `auto` (rabbitmqctl where it is installed)
    broker_admin: Literal["auto", "rabbitmqctl", "none"] = "auto"
    #: how long `python -m <service> declare-inboxes` waits for the broker to accept its
    #: inboxes (connection, declarations, policies) before it gives up and exits non-zero
    declare_inboxes_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)

    #: days a published outbox row, a consumed event's inbox row and a conflict are kept
    outbox_retention_days: float = Field(default=7.0, gt=0)
    inbox_retention_days: float = Field(default=30.0, gt=0)
    conflicts_retention_days: float = Field(default=90.0, gt=0)
    #: seconds between two rounds of retention deletes
    retention_interval_seconds: float = Field(default=300.0, gt=0)


class PseudonymKeySettings(BaseSettings):
    """For the services that pseudonymise patients (a NIN becomes a patient key): the
    shared HMAC key (`sihha_kit.pseudonym`). A service that never sees a NIN does not
    include this, so it never holds the key. Mix in before `ServiceSettings`::

        class QueueSettings(PseudonymKeySettings, ServiceSettings): ...
    """

    pseudonym_key_path: Path = DEV_KEYS / "pseudonym.key"
    #: the key itself (64 hex digits), instead of the file
    pseudonym_key: SecretStr | None = None

    def load_pseudonym_key(self) -> bytes | None:
        """The key, from `pseudonym_key` or else its file; None if neither is there."""
        from sihha_kit.pseudonym import load_pseudonym_key, parse_pseudonym_key

        if self.pseudonym_key is not None:
            return parse_pseudonym_key(self.pseudonym_key.get_secret_value())
        if self.pseudonym_key_path.is_file():
            return load_pseudonym_key(self.pseudonym_key_path)
        return None


class TokenIssuingSettings(BaseSettings):
    """For a service that signs tokens of its own (`sihha_kit.auth.signing`) and enrols
    terminals (`sihha_kit.auth.enrolment`). Mix in before `ServiceSettings`."""

    #: its private key set (JWKS with private members); None: the development one,
    #: ``.dev/keys/<service_name>-signing.json`` (`sihha-dev keys --issuer <service_name>`)
    signing_keys_path: Path | None = None
    #: the HMAC key device credentials are stored under (32+ random bytes as hex); None:
    #: ``.dev/keys/<service_name>-device.key``
    device_credential_key_path: Path | None = None
    #: lifetime of a terminal's access token (minutes)
    terminal_token_minutes: int = Field(default=10, ge=1, le=60)
    #: lifetime of an enrolment code (minutes)
    enrolment_code_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)

    def signing_keys_file(self, service_name: str) -> Path:
        return self.signing_keys_path or DEV_KEYS / f"{service_name}-signing.json"

    def device_credential_key_file(self, service_name: str) -> Path:
        return self.device_credential_key_path or DEV_KEYS / f"{service_name}-device.key"
