"""The development stack: docker-compose.yml against the Compose Specification
(check-jsonschema, with the schema it ships), the service Dockerfiles through
hadolint, and the few things only this project knows: every service has its
container, its port, its own database, and settings under its own prefix; every
consuming service has its one-shot `<name>-inboxes` container, and no service (each
publishes) starts before all of them have completed (docs/messaging.md, point 6).

`make check-compose` runs the same two tools and this file.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COMPOSE = ROOT / "docker-compose.yml"
INIT_SCRIPT = ROOT / "deploy/compose/postgres-init.sql"
#: each service's HTTP port (its `<NAME>_HTTP_PORT` default, README.md)
PORTS = {"queue": 8101, "appointments": 8102, "records": 8103, "emergency": 8104, "reporting": 8105}
#: settings every service container is given, after its `<NAME>_` prefix
REQUIRED = (
    "HTTP_HOST",
    "HTTP_PORT",
    "DATABASE_URL",
    "AMQP_URL",
    "TRUSTED_ISSUERS",
    "REVOCATION_LISTS",
    "OTLP_ENDPOINT",
    "LOG_FORMAT",
)
#: each service gets only the keys it uses: the shared pseudonym key goes to the services
#: that turn NINs into patient keys; reporting never sees a NIN and has a key of its own
KEYS = {
    "queue": ("PSEUDONYM_KEY",),
    "appointments": ("PSEUDONYM_KEY",),
    "records": ("PSEUDONYM_KEY",),
    "emergency": ("PSEUDONYM_KEY",),
    "reporting": ("PATIENT_REKEY_KEY",),
}
ALL_KEYS = {key for keys in KEYS.values() for key in keys}


#: a one-shot container's restart policy: it runs once (compose's default)
ONE_SHOT_RESTART = "no"


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)


def _services() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))


def _consumers() -> list[str]:
    """The services that consume events: their composition root adds a consumer."""
    found = []
    for name in _services():
        bootstrap = ROOT / "services" / name / "src" / f"sihha_{name}" / "bootstrap.py"
        if bootstrap.is_file() and "add_consumer(" in bootstrap.read_text(encoding="utf-8"):
            found.append(name)
    return found


def inboxes_job(name: str) -> str:
    """The one-shot compose service that declares `name`'s inboxes."""
    return f"{name}-inboxes"


def _condition(service: dict[str, Any], dependency: str) -> str | None:
    """How `service` waits for `dependency` (None: it does not)."""
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):  # the short form waits for the start only
        return "service_started" if dependency in depends else None
    if dependency not in depends:
        return None
    return str((depends[dependency] or {}).get("condition", "service_started"))


# ---------------------------------------------------------------- maintained validators


def validate_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return _run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path))


def hadolint(*dockerfiles: Path) -> subprocess.CompletedProcess[str]:
    return _run(str(BIN / "hadolint"), *map(str, dockerfiles))


def test_the_compose_file_follows_the_compose_specification() -> None:
    result = validate_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_an_unknown_service_key(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE.read_text(encoding="utf-8").replace(
            "    restart: unless-stopped\n", "    restart_when: always\n", 1
        ),
        encoding="utf-8",
    )
    result = validate_compose(broken)
    assert result.returncode == 1
    assert "restart_when" in result.stdout


def test_the_dockerfiles_pass_hadolint() -> None:
    result = hadolint(*(ROOT / "services" / name / "Dockerfile" for name in _services()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_an_image_that_runs_as_root(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    text = (ROOT / "services/queue/Dockerfile").read_text(encoding="utf-8")
    broken.write_text(text.replace("USER 10001:10001", "USER root"), encoding="utf-8")
    result = hadolint(broken)
    assert result.returncode == 1
    assert "DL3002" in result.stdout  # "Last USER should not be root"


# ---------------------------------------------------------------- the project's cross-checks


def cross_check(doc: dict[str, Any]) -> list[str]:
    """What the compose document gets wrong about this repository's services."""
    problems: list[str] = []
    services: dict[str, Any] = doc["services"]
    created = INIT_SCRIPT.read_text(encoding="utf-8")
    databases: dict[str, str] = {}
    for name in _services():
        service = services.get(name)
        if service is None:
            problems.append(f"services/{name} has no compose service {name!r}")
            continue
        if service.get("build", {}).get("dockerfile") != f"services/{name}/Dockerfile":
            problems.append(f"{name}: not built from services/{name}/Dockerfile")
        prefix = name.upper() + "_"
        env = {key: str(value) for key, value in service.get("environment", {}).items()}
        problems += [
            f"{name}: {var} lacks the prefix {prefix}" for var in env if not var.startswith(prefix)
        ]
        problems += [f"{name}: {prefix}{s} is not set" for s in REQUIRED if prefix + s not in env]
        problems += [f"{name}: {prefix}{k} is not set" for k in KEYS[name] if prefix + k not in env]
        problems += [
            f"{name}: {prefix}{k} is given, a key it does not use"
            for k in sorted(ALL_KEYS - set(KEYS[name]))
            if prefix + k in env
        ]
        port = str(PORTS[name])
        dockerfile = (ROOT / "services" / name / "Dockerfile").read_text(encoding="utf-8")
        if env.get(prefix + "HTTP_HOST") != "0.0.0.0":
            problems.append(f"{name}: {prefix}HTTP_HOST is not 0.0.0.0: unreachable from outside")
        if env.get(prefix + "HTTP_PORT") != port:
            problems.append(f"{name}: {prefix}HTTP_PORT is not {port}")
        if f"127.0.0.1:{port}:{port}" not in service.get("ports", []):
            problems.append(f"{name}: port {port} is not published on 127.0.0.1")
        if not re.search(rf"^EXPOSE {port}$", dockerfile, re.M):
            problems.append(f"{name}: the Dockerfile does not EXPOSE {port}")
        if f'CMD ["python", "-m", "sihha_{name}"]' not in dockerfile:
            problems.append(f"{name}: the Dockerfile does not run python -m sihha_{name}")
        if (
            not service.get("profiles")
            and not (ROOT / "services" / name / "src" / f"sihha_{name}" / "__main__.py").is_file()
        ):
            problems.append(f"{name}: starts by default but has no __main__.py: profile `later`")
        for var, value in env.items():
            host = urlsplit(value).hostname if "://" in value else None
            if host is not None and host not in services:
                problems.append(f"{name}: {var} points at {host!r}, no compose service")
        url = urlsplit(env.get(prefix + "DATABASE_URL", ""))
        database = url.path.lstrip("/")
        if database in databases:
            problems.append(f"{name}: database {database!r} is also {databases[database]}'s")
        databases[database] = name
        for kind, wanted in (("DATABASE", database), ("ROLE", url.username)):
            if f"CREATE {kind} {wanted} " not in created:
                problems.append(f"{name}: {kind.lower()} {wanted!r} is not in {INIT_SCRIPT.name}")
    problems += _inboxes_first(services)
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            if dependency not in services:
                problems.append(f"{name} depends on {dependency!r}, no compose service")
            elif not service.get("profiles") and services[dependency].get("profiles"):
                problems.append(f"{name} starts by default, {dependency} only in a profile")
    return problems


def _inboxes_first(services: dict[str, Any]) -> list[str]:
    """Every consuming service's inboxes are declared by a one-shot container of its own
    (its image, settings and keys; the broker only), and every service waits until each
    of those has completed: an event published before an inbox exists is lost for it."""
    problems: list[str] = []
    jobs: dict[str, str] = {}
    for name in _consumers():
        job_name = inboxes_job(name)
        job = services.get(job_name)
        if job is None:
            problems.append(f"{name} consumes but has no one-shot {job_name!r} for its inboxes")
            continue
        jobs[job_name] = name
        own = services.get(name, {})
        command = ["python", "-m", f"sihha_{name}", "declare-inboxes"]
        if job.get("command") != command:
            problems.append(f"{job_name}: does not run {' '.join(command)}")
        if job.get("image") != own.get("image"):
            problems.append(f"{job_name}: does not run {name}'s image {own.get('image')!r}")
        if job.get("build") != own.get("build"):
            # with `image:` alone, `up` may try to pull an image no registry has
            problems.append(f"{job_name}: not built as {name} is")
        for key in ("environment", "volumes"):
            if job.get(key) != own.get(key):
                problems.append(
                    f"{job_name}: {key} not the same as {name}'s (it builds {name}'s context)"
                )
        if str(job.get("restart", ONE_SHOT_RESTART)) != ONE_SHOT_RESTART:
            problems.append(f"{job_name}: restarts ({job['restart']}), a one-shot runs once")
        if job.get("ports"):
            problems.append(f"{job_name}: publishes ports, a one-shot serves nothing")
        if _condition(job, "rabbitmq") != "service_healthy":
            problems.append(f"{job_name}: does not wait for rabbitmq to be healthy")
        if _condition(job, "postgres") is not None:
            problems.append(f"{job_name}: waits for postgres, it needs the broker only")
    for name in _services():  # every service publishes (its outbox)
        service = services.get(name)
        if service is None:
            continue
        for job_name, consumer in sorted(jobs.items()):
            if _condition(service, job_name) != "service_completed_successfully":
                problems.append(
                    f"{name}: may publish before {consumer}'s inbox exists (depends_on "
                    f"{job_name} with condition service_completed_successfully)"
                )
    return problems


@pytest.fixture(scope="module")
def compose_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return doc


def test_the_compose_file_agrees_with_the_services(compose_doc: dict[str, Any]) -> None:
    assert cross_check(compose_doc) == []


def test_dockerignore_keeps_keys_and_environments_out_of_images() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert {".dev/", ".env", "**/*.pem", "**/*.key", ".git/", ".venv/"} <= set(lines)


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "a service without container": (
        lambda d: d["services"].pop("records"),
        "services/records has no compose service",
    ),
    "another service's prefix": (
        lambda d: d["services"]["reporting"]["environment"].update(QUEUE_LOG_LEVEL="DEBUG"),
        "reporting: QUEUE_LOG_LEVEL lacks the prefix REPORTING_",
    ),
    "a missing setting": (
        lambda d: d["services"]["queue"]["environment"].pop("QUEUE_AMQP_URL"),
        "queue: QUEUE_AMQP_URL is not set",
    ),
    "the pseudonym key given to reporting": (
        lambda d: d["services"]["reporting"]["environment"].update(
            REPORTING_PSEUDONYM_KEY="00" * 32
        ),
        "reporting: REPORTING_PSEUDONYM_KEY is given, a key it does not use",
    ),
    "reporting without its own key": (
        lambda d: d["services"]["reporting"]["environment"].pop("REPORTING_PATIENT_REKEY_KEY"),
        "reporting: REPORTING_PATIENT_REKEY_KEY is not set",
    ),
    "a loopback host": (
        lambda d: d["services"]["queue"]["environment"].update(QUEUE_HTTP_HOST="127.0.0.1"),
        "queue: QUEUE_HTTP_HOST is not 0.0.0.0",
    ),
    "another port": (
        lambda d: d["services"]["queue"]["environment"].update(QUEUE_HTTP_PORT="8102"),
        "queue: QUEUE_HTTP_PORT is not 8101",
    ),
    "a shared database": (
        lambda d: d["services"]["reporting"]["environment"].update(
            REPORTING_DATABASE_URL=d["services"]["queue"]["environment"]["QUEUE_DATABASE_URL"]
        ),
        "database 'sihha_queue' is also queue's",
    ),
    "a database nobody creates": (
        lambda d: d["services"]["queue"]["environment"].update(
            QUEUE_DATABASE_URL="postgresql+asyncpg://sihha_queue:x@postgres:5432/sihha_tickets"
        ),
        "queue: database 'sihha_tickets' is not in postgres-init.sql",
    ),
    "an unknown host": (
        lambda d: d["services"]["queue"]["environment"].update(
            QUEUE_AMQP_URL="amqp://sihha:x@broker:5672/"
        ),
        "queue: QUEUE_AMQP_URL points at 'broker'",
    ),
    "a producer that may start before an inbox": (
        lambda d: d["services"]["queue"].update(
            depends_on={
                name: wait
                for name, wait in d["services"]["queue"]["depends_on"].items()
                if name != "reporting-inboxes"
            }
        ),
        "queue: may publish before reporting's inbox exists",
    ),
    "an inbox waited for until its declaration starts only": (
        lambda d: d["services"]["appointments"].update(
            depends_on={
                **d["services"]["appointments"]["depends_on"],
                "queue-inboxes": {"condition": "service_started"},
            }
        ),
        "appointments: may publish before queue's inbox exists",
    ),
    "a consumer without its one-shot": (
        lambda d: d["services"].pop("appointments-inboxes"),
        "appointments consumes but has no one-shot 'appointments-inboxes'",
    ),
    "a one-shot that runs the service": (
        lambda d: d["services"]["queue-inboxes"].update(command=["python", "-m", "sihha_queue"]),
        "queue-inboxes: does not run python -m sihha_queue declare-inboxes",
    ),
    "a one-shot with settings of its own": (
        lambda d: d["services"]["reporting-inboxes"].update(
            environment={
                **d["services"]["reporting"]["environment"],
                "REPORTING_BROKER_NAMESPACE": "other.",
            }
        ),
        "reporting-inboxes: environment not the same as reporting's",
    ),
    "a one-shot with an image only": (
        lambda d: d["services"]["appointments-inboxes"].pop("build"),
        "appointments-inboxes: not built as appointments is",
    ),
    "a one-shot that restarts": (
        lambda d: d["services"]["queue-inboxes"].update(restart="unless-stopped"),
        "queue-inboxes: restarts (unless-stopped)",
    ),
    "a one-shot that waits for the database": (
        lambda d: d["services"]["queue-inboxes"].update(
            depends_on={
                **d["services"]["queue-inboxes"]["depends_on"],
                "postgres": {"condition": "service_healthy"},
            }
        ),
        "queue-inboxes: waits for postgres",
    ),
    "a dependency in a profile": (
        lambda d: (
            d["services"]["records"].update(profiles=["later"]),
            d["services"]["queue"]["depends_on"].update(records={}),
        ),
        "queue starts by default, records only in a profile",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_cross_check_reports_a_broken_document(case: str, compose_doc: dict[str, Any]) -> None:
    breaker, expected = BROKEN[case]
    doc = copy.deepcopy(compose_doc)
    breaker(doc)
    problems = cross_check(doc)
    assert any(expected in problem for problem in problems), problems


def test_the_cross_check_reports_a_skeleton_started_by_default(
    compose_doc: dict[str, Any],
) -> None:
    skeletons = [
        name
        for name in _services()
        if not (ROOT / "services" / name / "src" / f"sihha_{name}" / "__main__.py").is_file()
    ]
    if not skeletons:
        pytest.skip("every service has its __main__.py: no skeleton left to start by mistake")
    doc = copy.deepcopy(compose_doc)
    doc["services"][skeletons[0]].pop("profiles", None)
    assert f"{skeletons[0]}: starts by default but has no __main__.py" in " ".join(cross_check(doc))


def test_the_development_launcher_gives_each_service_only_its_keys(tmp_path: Path) -> None:
    from sihha_runner.launcher import SERVICES, PlatformConfig

    config = PlatformConfig(keys_dir=tmp_path)
    for spec in SERVICES:
        env = config.environment(spec)
        given = {k for k in ALL_KEYS if any(v.startswith(spec.prefix + k) for v in env)}
        assert given == set(KEYS[spec.name]), spec.name
