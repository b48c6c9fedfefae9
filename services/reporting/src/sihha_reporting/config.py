"""Reporting service settings: every variable is `REPORTING_<NAME>`."""

from __future__ import annotations

from sihha_kit.settings import ServiceSettings, service_settings_config


class ReportingSettings(ServiceSettings):
    model_config = service_settings_config("REPORTING_")

    service_name: str = "reporting"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/sihha_reporting"
    http_port: int = 8105
    consumer_batch_size: int = 256
    consumer_prefetch: int = 512
