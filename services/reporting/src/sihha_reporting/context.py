"""What the entry points need at hand, built once by `bootstrap`."""

from __future__ import annotations

from dataclasses import dataclass

from sihha_kit.runtime import ServiceRuntime
from sihha_reporting.config import ReportingSettings


@dataclass
class ReportingContext:
    settings: ReportingSettings
    runtime: ServiceRuntime
