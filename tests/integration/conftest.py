"""The platform's services side by side in one process, on real servers.

Each service gets its own database; all share this test's broker namespace,
as they share the broker's virtual host in production.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sihha_kit.devtools import REPORTING_REKEY_KEY_FILE
from sihha_kit.testing.plugin import dev_auth_settings
from sihha_kit.testing.servers import Servers
from sihha_queue.config import QueueSettings
from sihha_reporting.config import ReportingSettings


@pytest.fixture
async def platform_settings(
    make_database: Callable[[str], Awaitable[str]],
    servers: Servers,
    clean_broker_namespace: str,
    dev_keys: Path,
) -> tuple[QueueSettings, ReportingSettings]:
    namespace = f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}."
    common = {
        "amqp_url": servers.amqp_url,
        "broker_namespace": namespace,
        "outbox_poll_seconds": 0.5,
    }
    queue = QueueSettings(
        database_url=await make_database("queue"),
        pseudonym_key_path=dev_keys / "pseudonym.key",
        **common,
        **dev_auth_settings(dev_keys, issuer="queue"),
    )
    reporting = ReportingSettings(
        database_url=await make_database("reporting"),
        patient_rekey_key_path=dev_keys / REPORTING_REKEY_KEY_FILE,
        **common,
        **dev_auth_settings(dev_keys),
    )
    return queue, reporting
