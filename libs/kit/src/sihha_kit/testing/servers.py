"""Where the tests' PostgreSQL and RabbitMQ come from, and how to take the broker away.

`TEST_DATABASE_URL` (any database on the server, e.g.
`postgresql://postgres@127.0.0.1:5432/postgres`) and `TEST_AMQP_URL` name real
servers. When they are unset and a Docker engine answers, testcontainers
starts them. Otherwise the tests that need them fail with a clear message.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url


@dataclass
class Servers:
    #: `postgresql+asyncpg://…/postgres` on the test server
    database_url: str
    amqp_url: str
    broker: BrokerControl
    _containers: list[Any] = field(default_factory=list)

    def database(self, name: str) -> str:
        return make_url(self.database_url).set(database=name).render_as_string(hide_password=False)

    def stop(self) -> None:
        for container in self._containers:
            container.stop()


class BrokerControl:
    """Stop/start the broker application, or cut every client connection."""

    def __init__(self, exec_prefix: list[str] | None = None) -> None:
        self.exec_prefix = exec_prefix or []

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        command = [*self.exec_prefix, "rabbitmqctl", *args]
        if not self.exec_prefix and shutil.which("rabbitmqctl") is None:
            raise RuntimeError("rabbitmqctl is not installed: cannot control the broker")
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def stop(self) -> None:
        self._ctl("stop_app")

    def start(self) -> None:
        self._ctl("start_app")
        self._ctl("await_startup", timeout=120)

    def close_all_connections(self) -> None:
        self._ctl("close_all_connections", "test: cut every connection")

    def close_connections_from(self, client_ports: Collection[int], reason: str) -> int:
        """Close the client connections whose client end is one of these local TCP ports
        (found from a process's sockets): `close_all_connections` for some clients only,
        the others on a shared broker untouched. Returns how many were closed. Through a
        NAT (a broker in a container) the ports the broker sees differ: none match."""
        command = [*self.exec_prefix, "rabbitmqctl", "-q", "list_connections"]
        command += ["--no-table-headers", "pid", "peer_port"]
        result = subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
        closed = 0
        for line in result.stdout.splitlines():
            pid, _, port = line.strip().partition("\t")
            if port.strip().isdigit() and int(port) in client_ports:
                with contextlib.suppress(subprocess.CalledProcessError):  # gone meanwhile
                    self._ctl("close_connection", pid, reason)
                    closed += 1
        return closed

    @contextmanager
    def outage(self) -> Iterator[None]:
        """The broker is stopped inside the block and always started again after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def clear_policies(self, prefix: str, vhost: str = "/") -> None:
        """Remove the policies whose name starts with `prefix`."""
        command = [*self.exec_prefix, "rabbitmqctl", "-q", "list_policies", "-p", vhost]
        command += ["--formatter", "json"]
        result = subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
        for policy in json.loads(result.stdout or "[]"):
            if policy["name"].startswith(prefix):
                self._ctl("clear_policy", "-p", vhost, policy["name"])

    def set_memory_watermark(self, fraction: float) -> None:
        """`vm_memory_high_watermark` of the running node: a tiny one raises the memory
        alarm (publishing connections are blocked) until it is set back."""
        self._ctl("set_vm_memory_high_watermark", str(fraction))

    def list_connections(self) -> list[dict[str, Any]]:
        """The node's client connections: name, client properties, state, channels."""
        command = [*self.exec_prefix, "rabbitmqctl", "-q", "list_connections"]
        command += ["name", "client_properties", "state", "channels"]
        command += ["--formatter", "json"]
        result = subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
        return list(json.loads(result.stdout or "[]"))

    def list_names(self, kind: str) -> list[str]:
        command = [*self.exec_prefix, "rabbitmqctl", "-q", f"list_{kind}", "name"]
        result = subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
        return [line.strip() for line in result.stdout.splitlines()[1:] if line.strip()]


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


def _as_asyncpg(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg", database="postgres").render_as_string(
        hide_password=False
    )


def start_servers() -> Servers:
    database_url = os.environ.get("TEST_DATABASE_URL")
    amqp_url = os.environ.get("TEST_AMQP_URL")
    containers: list[Any] = []
    broker = BrokerControl()
    if not (database_url and amqp_url) and _docker_available():
        from testcontainers.postgres import PostgresContainer
        from testcontainers.rabbitmq import RabbitMqContainer

        if not database_url:
            postgres = PostgresContainer("postgres:16-alpine", driver="asyncpg").start()
            containers.append(postgres)
            database_url = postgres.get_connection_url()
        if not amqp_url:
            rabbit = RabbitMqContainer("rabbitmq:3.13-management").start()
            containers.append(rabbit)
            params = rabbit.get_connection_params()
            amqp_url = f"amqp://guest:guest@{params.host}:{params.port}/"
            broker = BrokerControl(["docker", "exec", rabbit.get_wrapped_container().id])
            time.sleep(1)
    if not (database_url and amqp_url):
        raise RuntimeError(
            "Integration tests need PostgreSQL and RabbitMQ: set TEST_DATABASE_URL and "
            "TEST_AMQP_URL (see README.md, `make test` sets them for this machine), "
            "or run where a Docker engine is available."
        )
    return Servers(_as_asyncpg(database_url), amqp_url, broker, containers)


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb + pg_ctl in a temporary folder, on a
    free loopback port): a test may stop and start it without touching the shared server.

    Run as root, the server runs as the `postgres` system user (PostgreSQL refuses root).
    """

    BIN = Path("/usr/lib/postgresql/15/bin")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @classmethod
    def available(cls) -> bool:
        return (cls.BIN / "initdb").is_file() and (
            os.geteuid() != 0 or shutil.which("runuser") is not None
        )

    def _run(self, *command: str, timeout: float = 120) -> None:
        subprocess.run(
            [*self._as_postgres, *command], check=True, capture_output=True, timeout=timeout
        )

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            str(self.BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N"
        )
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
        self._run(
            str(self.BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l",
            str(self.folder / "log"), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`pg_ctl stop -m <mode>`: `fast` (roll back and disconnect, checkpoint), or
        `immediate` (every server process killed at once, crash recovery at the next start:
        what a power cut or an OOM kill does to the server)."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"unknown pg_ctl shutdown mode: {mode}")
        self._run(str(self.BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
