"""Start the whole platform on this machine: `make run` (or `.venv/bin/sihha-run`).

Every service built so far runs as its own process (`python -m sihha_<name>`)
on its own port with its own database (created and migrated by the service at
start-up). Configuration comes from the environment with working defaults for
a developer machine (PostgreSQL and RabbitMQ on 127.0.0.1). Ctrl-C stops
everything cleanly.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sihha_kit.devtools import (
    PSEUDONYM_KEY_FILE,
    REPORTING_REKEY_KEY_FILE,
    TOKEN_SIGNING_SERVICES,
    dev_environment,
)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    #: the issue that brings a service not built yet; None once it runs
    pending: str | None = None
    #: whether it turns NINs into patient keys, and so needs the shared pseudonym key (a
    #: service gets only the keys it uses)
    pseudonymises: bool = True

    @property
    def module(self) -> str:
        return f"sihha_{self.name}"

    @property
    def prefix(self) -> str:
        return f"{self.name.upper()}_"


SERVICES = (
    ServiceSpec("queue", 8101),
    ServiceSpec("appointments", 8102),
    ServiceSpec("records", 8103, pending="a later issue (digital medical record)"),
    ServiceSpec("emergency", 8104, pending="a later issue (emergency department flow)"),
    ServiceSpec("reporting", 8105, pseudonymises=False),
)


@dataclass
class PlatformConfig:
    database_host: str = os.environ.get("SIHHA_DATABASE_HOST", "127.0.0.1:5432")
    database_user: str = os.environ.get("SIHHA_DATABASE_USER", "postgres")
    amqp_url: str = os.environ.get("SIHHA_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    keys_dir: Path = Path(os.environ.get("SIHHA_KEYS_DIR", ".dev/keys"))
    host: str = "127.0.0.1"
    database_prefix: str = "sihha_"
    broker_namespace: str = ""
    log_level: str = "WARNING"
    extra_env: dict[str, str] = field(default_factory=dict)
    #: a port per service where it is not the usual one (`ServiceSpec.port`): a second
    #: platform beside `make run` or the demo (the fault matrix, `bench/faults.py`, the
    #: demo's test)
    ports: dict[str, int] = field(default_factory=dict)

    def port(self, spec: ServiceSpec) -> int:
        return self.ports.get(spec.name, spec.port)

    def url(self, service: str) -> str:
        """The base URL of `service` on this platform."""
        spec = next(s for s in SERVICES if s.name == service)
        return f"http://{self.host}:{self.port(spec)}"

    def database_url(self, service: str) -> str:
        return (
            f"postgresql+asyncpg://{self.database_user}@{self.database_host}/"
            f"{self.database_prefix}{service}"
        )

    def environment(self, spec: ServiceSpec) -> dict[str, str]:
        p = spec.prefix
        env = {
            f"{p}DATABASE_URL": self.database_url(spec.name),
            f"{p}AMQP_URL": self.amqp_url,
            f"{p}HTTP_HOST": self.host,
            f"{p}HTTP_PORT": str(self.port(spec)),
            **dev_environment(
                p,
                self.keys_dir,
                issuer=spec.name if spec.name in TOKEN_SIGNING_SERVICES else None,
            ),
            f"{p}BROKER_NAMESPACE": self.broker_namespace,
            f"{p}LOG_LEVEL": self.log_level,
        }
        if spec.pseudonymises:
            env[f"{p}PSEUDONYM_KEY_PATH"] = str(self.keys_dir / PSEUDONYM_KEY_FILE)
        if spec.name == "reporting":
            # its own key, re-keying the patient keys it keeps (never the pseudonym key)
            env[f"{p}PATIENT_REKEY_KEY_PATH"] = str(self.keys_dir / REPORTING_REKEY_KEY_FILE)
            # it asks the sources for their counts (reconciliation)
            env[f"{p}QUEUE_URL"] = self.url("queue")
            env[f"{p}APPOINTMENTS_URL"] = self.url("appointments")
        # anything the caller set explicitly for this service wins
        env.update({k: v for k, v in os.environ.items() if k.startswith(p)})
        env.update({k: v for k, v in self.extra_env.items() if k.startswith(p)})
        return env


def running_services() -> tuple[ServiceSpec, ...]:
    return tuple(spec for spec in SERVICES if spec.pending is None)


def free_ports(count: int) -> list[int]:
    """`count` TCP ports free on the loopback interface now (the system picks them)."""
    import socket

    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def ensure_keys(keys_dir: Path) -> None:
    from sihha_kit.devtools import main as devtools

    devtools(["keys", "--dir", str(keys_dir)])  # creates only what is missing


@dataclass
class Platform:
    config: PlatformConfig
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    log_dir: Path | None = None

    def url(self, service: str) -> str:
        return self.config.url(service)

    def start(self, log_dir: Path | None = None) -> None:
        ensure_keys(self.config.keys_dir)
        self.log_dir = log_dir
        for spec in running_services():
            self.start_service(spec.name)

    def start_service(self, name: str) -> None:
        """Start one service, or start it again once its process has ended (stopped or
        killed: the fault matrix restarts a service it killed); its log is appended to."""
        spec = next(s for s in running_services() if s.name == name)
        previous = self.processes.get(name)
        if previous is not None and previous.poll() is None:
            raise RuntimeError(f"the {name} service is still running (pid {previous.pid})")
        env = {**os.environ, **self.config.environment(spec)}
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{spec.name}.log").open("ab")
        try:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", spec.module], env=env, stdout=output, stderr=output
            )
        finally:
            if output is not None:
                output.close()  # the child has its own copy of the descriptor

    def wait_ready(self, timeout: float = 60.0, names: list[str] | None = None) -> None:
        """Until every service (or those named) answers 200 on `/health/ready` with each of
        its consumers `consuming`: its inbox declared and bound. A service is ready to serve
        before that, but an event published while a consumer's inbox does not exist yet
        is not kept for it (RabbitMQ confirms it if another inbox takes it), so the
        platform's traffic starts only once every inbox is there. (Found by the fault
        matrix: reporting's inbox declared after the first tickets missed 15 of them.)"""
        deadline = time.monotonic() + timeout
        for name, process in self.processes.items():
            if names is not None and name not in names:
                continue
            url = self.url(name) + "/health/ready"
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the {name} service exited with code {process.returncode}")
                try:
                    answer = httpx.get(url, timeout=2)
                    consumers = answer.json().get("consumers", {}) if answer.is_success else {}
                    if answer.status_code == 200 and all(
                        state == "consuming" for state in consumers.values()
                    ):
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the {name} service was not ready after {timeout:.0f} s")
                time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()


@contextmanager
def platform(
    config: PlatformConfig | None = None, log_dir: Path | None = None
) -> Iterator[Platform]:
    """The platform running for the duration of the block."""
    running = Platform(config or PlatformConfig())
    try:
        running.start(log_dir)
        running.wait_ready()
        yield running
    finally:
        running.stop()


def print_urls(running: Platform) -> None:
    print("Sihha platform running / منصة صحة تعمل:")
    for spec in SERVICES:
        if spec.pending:
            print(f"  {spec.name:<13} not built yet: {spec.pending}")
        else:
            base = running.url(spec.name)
            print(f"  {spec.name:<13} {base}  (API docs {base}/docs, health {base}/health/ready)")
    for line in try_it_lines(running):
        print(line)


#: the command-line tools `make setup` installs (paths from the repository's root)
SIHHA_DEV = ".venv/bin/sihha-dev"


def try_it_lines(running: Platform, clinic: str = "31-PC-001") -> list[str]:
    """Commands to try the running platform, each working when pasted at the repository's
    root: a token, then a ticket. The services run on the real clock, so outside the
    clinic's opening hours (Sunday–Thursday 08:00–16:30, Saturday 08:00–12:00, Algiers)
    the ticket is refused with 409 `service-closed`, which the last line explains."""
    keys = shlex.quote(str(running.config.keys_dir))
    queue = running.url("queue")
    return [
        "Try it (from the repository's root) / للتجربة:",
        f"  TOKEN=$({SIHHA_DEV} token --role receptionist --establishment {clinic} --dir {keys})",
        f"  curl -sS -X POST {queue}/establishments/{clinic}/tickets "
        '-H "Authorization: Bearer $TOKEN" -H "content-type: application/json" '
        """-d '{"service_code": "MG"}'""",
        "  (outside opening hours — Sun–Thu 08:00–16:30, Sat 08:00–12:00, Algiers — the "
        "answer is 409 service-closed: `make demo` plays a whole day on a simulated clock)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sihha-run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=Path("out/logs"),
        help="where each service writes its log (default out/logs)",
    )
    args = parser.parse_args(argv)
    stop = False

    def interrupted(*_: object) -> None:
        nonlocal stop
        stop = True

    with platform(log_dir=args.log_dir) as running:
        print_urls(running)
        print(f"Logs in {args.log_dir}/. Ctrl-C to stop / للإيقاف Ctrl-C")
        signal.signal(signal.SIGINT, interrupted)
        signal.signal(signal.SIGTERM, interrupted)
        while not stop:
            for name, process in running.processes.items():
                if process.poll() is not None:
                    print(
                        f"the {name} service stopped (exit code {process.returncode})",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.5)
    print("stopped / توقفت")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
