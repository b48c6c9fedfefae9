"""What the entry points need at hand, built once by `bootstrap`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sihha_kit.clock import Clock
from sihha_kit.consumer import EventConsumer
from sihha_kit.registry import Registry
from sihha_kit.runtime import ServiceRuntime
from sihha_reporting.config import ReportingSettings
from sihha_reporting.domain.rekeying import PatientRekeyer
from sihha_reporting.projections import Projector
from sihha_reporting.service_layer.delivery import DeliveryWorker
from sihha_reporting.service_layer.monitor import LiveHub
from sihha_reporting.service_layer.publishing import ReportService
from sihha_reporting.service_layer.scheduler import Scheduler
from sihha_reporting.service_layer.unit_of_work import ReportingUnitOfWork


@dataclass
class ReportingContext:
    settings: ReportingSettings
    runtime: ServiceRuntime
    registry: Registry
    projector: Projector
    hub: LiveHub
    consumer: EventConsumer
    clock: Clock
    uow: Callable[[], ReportingUnitOfWork]
    reports: ReportService
    delivery: DeliveryWorker
    scheduler: Scheduler
    #: re-keys the patient keys of every event reporting keeps
    rekeyer: PatientRekeyer
