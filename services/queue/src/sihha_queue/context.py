"""What the entry points need at hand, built once by `bootstrap`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sihha_kit.clock import Clock
from sihha_kit.runtime import ServiceRuntime
from sihha_queue.adapters.board import BoardFeed
from sihha_queue.adapters.directory import ClinicDirectory
from sihha_queue.adapters.prescription_keys import EstablishmentKeys
from sihha_queue.config import QueueSettings
from sihha_queue.domain.policy import CallPolicy
from sihha_queue.service_layer.unit_of_work import QueueUnitOfWork


@dataclass
class QueueContext:
    settings: QueueSettings
    runtime: ServiceRuntime
    clock: Clock
    uow: Callable[[], QueueUnitOfWork]
    policy: CallPolicy
    board: BoardFeed
    directory: ClinicDirectory
    pseudonym_key: bytes | None
    #: the establishments' keys that sign prescriptions
    prescription_keys: EstablishmentKeys
    #: the service's own HMAC key for request digests (read at start-up)
    idempotency_secret: bytes = b""
