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

    jwt_public_key_path: Path = Path(".dev/keys/jwt-public.pem")
    jwt_issuer: str = "sihha-dev"
    jwt_audience: str = "sihha"
    pseudonym_key_path: Path = Path(".dev/keys/pseudonym.key")
    pseudonym_key: SecretStr | None = None

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
    consumer_prefetch: int = Field(default=256, ge=1, le=10_000)
    consumer_batch_size: int = Field(default=128, ge=1, le=10_000)
    #: failed deliveries of one message before it is dead-lettered (the inbox's policy)
    delivery_limit: int = Field(default=5, ge=1, le=1000)
    #: how the service applies its inboxes' policies and reads the node's feature flags:
    #: `rabbitmqctl` (the node's CLI on this machine), `none` (the operator applies them:
    #: `sihha-dev broker-policies`), `auto` (rabbitmqctl where it is installed)
    broker_admin: Literal["auto", "rabbitmqctl", "none"] = "auto"

    #: days a published outbox row, a consumed event's inbox row and a conflict are kept
    outbox_retention_days: float = Field(default=7.0, gt=0)
    inbox_retention_days: float = Field(default=30.0, gt=0)
    conflicts_retention_days: float = Field(default=90.0, gt=0)
    #: seconds between two rounds of retention deletes
    retention_interval_seconds: float = Field(default=300.0, gt=0)
