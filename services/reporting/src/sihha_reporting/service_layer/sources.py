"""Which producing services reconciliation asks, and with which credentials."""

from __future__ import annotations

from sihha_kit.auth import Role
from sihha_kit.devtools import TokenIssuer
from sihha_reporting.adapters.sources import QueueCounts
from sihha_reporting.config import ReportingSettings


def service_token(settings: ReportingSettings) -> str | None:
    """The configured token; on a developer machine, one minted with the dev private key."""
    if settings.service_token is not None:
        return settings.service_token.get_secret_value()
    path = settings.jwt_private_key_path
    if path.is_file():
        issuer = TokenIssuer.from_file(path, audience=settings.jwt_audience)
        return issuer.mint("service:reporting", [Role.it_unit.value], ["*"])
    return None


def queue_source(settings: ReportingSettings) -> QueueCounts:
    return QueueCounts(settings.queue_url, service_token(settings))
