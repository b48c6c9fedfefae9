"""The broker's settings that are not declarations: policies, and what the node supports.

An inbox's delivery limit and dead-lettering are a **policy** (`inbox_policy`), not
queue arguments: a policy can be changed on a running broker and applies to the queue at
once, where an argument is fixed for the queue's life (changing it means deleting the
queue). AMQP 0-9-1 cannot set policies or read feature flags, so this module speaks to
the node with `rabbitmqctl` (`Rabbitmqctl`), which a service uses when the tool is there
and it may use it (`<PREFIX>_BROKER_ADMIN=rabbitmqctl`, the default where `rabbitmqctl`
is installed). Elsewhere (containers) the operator applies the same policies
(`sihha-dev broker-policies` prints the commands) and readiness says they were not
applied by the service.

At-least-once dead-lettering (RabbitMQ ≥ 3.10) needs the `stream_queue` feature flag
enabled on the node; without it the queue falls back to at-most-once dead-lettering.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from sihha_kit.broker import Topology
from sihha_kit.logs import get_logger

log = get_logger(__name__)

#: the feature flag at-least-once dead-lettering depends on
AT_LEAST_ONCE_FEATURE_FLAG = "stream_queue"
#: above the default 0, below what an operator would use for an override
POLICY_PRIORITY = 10


@dataclass(frozen=True)
class Policy:
    """A RabbitMQ policy: `definition` applies to the queues whose name matches `pattern`."""

    name: str
    pattern: str
    definition: dict[str, Any]
    priority: int = POLICY_PRIORITY
    apply_to: str = "queues"

    def rabbitmqctl_args(self, vhost: str) -> list[str]:
        return [
            "set_policy",
            "-p",
            vhost,
            "--priority",
            str(self.priority),
            "--apply-to",
            self.apply_to,
            self.name,
            self.pattern,
            json.dumps(self.definition, sort_keys=True),
        ]


def inbox_policy(topology: Topology, consumer: str, delivery_limit: int) -> Policy:
    """The policy of `<consumer>.inbox`: after `delivery_limit` failed deliveries a message
    is dead-lettered through `<consumer>.dlx`, at least once (which needs the
    `reject-publish` overflow); a full inbox refuses publishes instead of dropping."""
    queue = topology.inbox_queue(consumer)
    return Policy(
        name=f"sihha-inbox-{queue}",
        pattern=f"^{re.escape(queue)}$",
        definition={
            "delivery-limit": delivery_limit,
            "dead-letter-exchange": topology.dead_letter_exchange(consumer),
            "dead-letter-strategy": "at-least-once",
            "overflow": "reject-publish",
        },
    )


def vhost_of(amqp_url: str) -> str:
    """The virtual host an AMQP URL names (`/` when it names none)."""
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


@dataclass
class NodeReport:
    """What the kit found out about the node, for readiness."""

    admin: str  # "rabbitmqctl" or "none"
    feature_flags: dict[str, str] = field(default_factory=dict)
    policies_applied: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def at_least_once_dead_lettering(self) -> bool | None:
        """True/False once the feature flags were read; None if they could not be."""
        if not self.feature_flags:
            return None
        return self.feature_flags.get(AT_LEAST_ONCE_FEATURE_FLAG) == "enabled"

    def as_dict(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "admin": self.admin,
            "at_least_once_dead_lettering": self.at_least_once_dead_lettering,
            "policies_applied": self.policies_applied,
        }
        if self.error:
            report["admin_error"] = self.error
        return report


class Rabbitmqctl:
    """The node's own CLI, on the machine the node runs on (development, CI, this
    machine's shared broker)."""

    def __init__(self, executable: str = "rabbitmqctl", timeout: float = 60.0) -> None:
        self.executable = executable
        self.timeout = timeout

    @staticmethod
    def available() -> bool:
        return shutil.which("rabbitmqctl") is not None

    async def _run(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            self.executable,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(self.timeout):
                out, err = await process.communicate()
        except BaseException:
            if process.returncode is None:
                process.kill()
            raise
        if process.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {args[0]} failed ({process.returncode}): {err.decode()[:300]}"
            )
        return out.decode()

    async def feature_flags(self) -> dict[str, str]:
        """{flag name: state}, e.g. {"stream_queue": "enabled", ...}."""
        out = await self._run("-q", "list_feature_flags", "name", "state")
        flags: dict[str, str] = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] != "name":
                flags[parts[0]] = parts[1]
        return flags

    async def set_policy(self, policy: Policy, vhost: str) -> None:
        await self._run(*policy.rabbitmqctl_args(vhost))

    async def clear_policy(self, name: str, vhost: str) -> None:
        await self._run("clear_policy", "-p", vhost, name)

    async def policies(self, vhost: str) -> dict[str, dict[str, Any]]:
        """{policy name: definition} of a virtual host."""
        out = await self._run("-q", "list_policies", "-p", vhost, "--formatter", "json")
        return {row["name"]: json.loads(row["definition"]) for row in json.loads(out or "[]")}


async def prepare_node(
    admin: Rabbitmqctl | None, amqp_url: str, policies: list[Policy]
) -> NodeReport:
    """Read the node's feature flags and apply `policies` (idempotent: `set_policy`
    replaces a policy of the same name). Never raises: what failed is in the report."""
    if admin is None:
        return NodeReport(admin="none")
    report = NodeReport(admin="rabbitmqctl")
    vhost = vhost_of(amqp_url)
    try:
        report.feature_flags = await admin.feature_flags()
        for policy in policies:
            await admin.set_policy(policy, vhost)
            report.policies_applied.append(policy.name)
    except Exception as error:
        report.error = f"{type(error).__name__}: {error}"[:300]
        log.error("broker.admin_failed", error=report.error)
        return report
    if report.at_least_once_dead_lettering is False:
        log.error(
            "broker.at_least_once_unavailable",
            feature_flag=AT_LEAST_ONCE_FEATURE_FLAG,
            detail="dead letters fall back to at-most-once: enable the feature flag "
            f"(rabbitmqctl enable_feature_flag {AT_LEAST_ONCE_FEATURE_FLAG})",
        )
    return report
