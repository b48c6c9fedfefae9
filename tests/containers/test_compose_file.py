"""The development stack's compose file, Dockerfiles and .dockerignore pass tools/check_compose.py,
and the checker reports what a broken compose document or Dockerfile gets wrong."""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load_checker() -> ModuleType:
    # tools/ is not an installed package: load the script by its path
    name = "sihha_tools_check_compose"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "check_compose.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


@pytest.fixture(scope="module")
def compose_doc() -> dict[str, Any]:
    doc: dict[str, Any] = checker.load_yaml(ROOT / "docker-compose.yml")
    return doc


def _messages(report: Any) -> str:
    return "\n".join(str(p) for p in report.problems)


def test_the_repository_passes_every_check() -> None:
    report = checker.check(ROOT)
    assert report.problems == [], _messages(report)


def test_the_command_line_exits_zero_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert checker.main(["--root", str(ROOT)]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_the_vendored_schema_is_the_compose_specification() -> None:
    schema = checker.load_schema(ROOT / checker.DEFAULT_SCHEMA)
    assert schema["title"] == "Compose Specification"
    assert {"services", "volumes", "networks"} <= set(schema["properties"])


def test_every_service_package_has_a_container(compose_doc: dict[str, Any]) -> None:
    packages = set(checker.service_dirs(ROOT))
    assert {"queue", "appointments", "records", "emergency", "reporting"} <= packages
    assert packages <= set(compose_doc["services"])


def test_only_the_implemented_services_start_by_default(compose_doc: dict[str, Any]) -> None:
    services = compose_doc["services"]
    for name in ("appointments", "records", "emergency"):
        assert services[name]["profiles"] == ["later"]
    for name in ("queue", "reporting", "postgres", "rabbitmq", "otel-collector", "jaeger"):
        assert not services[name].get("profiles")


def test_each_service_has_its_own_database_created_by_the_init_script() -> None:
    databases, roles = checker.init_script_objects(ROOT / "deploy/compose/postgres-init.sql")
    names = {f"sihha_{name}" for name in checker.service_dirs(ROOT)}
    assert names <= databases
    assert names <= roles


# --------------------------------------------------------------------------- broken documents


def _unknown_key(doc: dict[str, Any]) -> None:
    doc["services"]["queue"]["restart_when"] = "always"


def _missing_dockerfile(doc: dict[str, Any]) -> None:
    doc["services"]["reporting"]["build"]["dockerfile"] = "services/reporting/Dockerfile.missing"


def _missing_service(doc: dict[str, Any]) -> None:
    del doc["services"]["records"]


def _foreign_prefix(doc: dict[str, Any]) -> None:
    env = doc["services"]["reporting"]["environment"]
    env["QUEUE_DATABASE_URL"] = env.pop("REPORTING_DATABASE_URL")


def _missing_setting(doc: dict[str, Any]) -> None:
    del doc["services"]["queue"]["environment"]["QUEUE_AMQP_URL"]


def _shared_database(doc: dict[str, Any]) -> None:
    queue_url = doc["services"]["queue"]["environment"]["QUEUE_DATABASE_URL"]
    doc["services"]["reporting"]["environment"]["REPORTING_DATABASE_URL"] = queue_url


def _database_not_created(doc: dict[str, Any]) -> None:
    doc["services"]["queue"]["environment"]["QUEUE_DATABASE_URL"] = (
        "postgresql+asyncpg://sihha_queue:x@postgres:5432/sihha_tickets"
    )


def _unknown_host(doc: dict[str, Any]) -> None:
    doc["services"]["queue"]["environment"]["QUEUE_AMQP_URL"] = "amqp://sihha:x@broker:5672/"


def _wrong_port(doc: dict[str, Any]) -> None:
    doc["services"]["queue"]["environment"]["QUEUE_HTTP_PORT"] = "8102"


def _healthy_without_healthcheck(doc: dict[str, Any]) -> None:
    doc["services"]["queue"]["depends_on"]["jaeger"] = {"condition": "service_healthy"}


def _depends_on_later_profile(doc: dict[str, Any]) -> None:
    doc["services"]["queue"]["depends_on"]["records"] = {"condition": "service_started"}


def _undeclared_volume(doc: dict[str, Any]) -> None:
    doc["services"]["postgres"]["volumes"][0] = "pgdata:/var/lib/postgresql/data"


def _missing_bind_source(doc: dict[str, Any]) -> None:
    doc["services"]["otel-collector"]["volumes"][0] = (
        "./deploy/compose/otel.yaml:/etc/otelcol-contrib/config.yaml:ro"
    )


def _renamed_service(doc: dict[str, Any]) -> None:
    doc["services"]["queue-service"] = doc["services"].pop("queue")


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown service key": (_unknown_key, "unknown key(s) 'restart_when'"),
    "missing Dockerfile": (_missing_dockerfile, "Dockerfile.missing' not found"),
    "service missing": (_missing_service, "services/records has no compose service"),
    "foreign env prefix": (_foreign_prefix, "QUEUE_DATABASE_URL does not carry the prefix"),
    "required setting": (_missing_setting, "QUEUE_AMQP_URL is not set"),
    "shared database": (_shared_database, "one database per service"),
    "database not created": (_database_not_created, "'sihha_tickets' is not created"),
    "unknown host": (_unknown_host, "'broker', which is no compose service"),
    "wrong port": (_wrong_port, "QUEUE_HTTP_PORT is 8102"),
    "healthy without healthcheck": (_healthy_without_healthcheck, "has no healthcheck"),
    "depends on a profile": (_depends_on_later_profile, "only with profile later"),
    "undeclared volume": (_undeclared_volume, "'pgdata' is not declared"),
    "missing bind source": (_missing_bind_source, "otel.yaml' does not exist"),
    "renamed service": (_renamed_service, "name the compose service 'queue'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_compose_document_is_reported(case: str, compose_doc: dict[str, Any]) -> None:
    breaker, expected = BROKEN[case]
    doc = copy.deepcopy(compose_doc)
    breaker(doc)
    report = checker.check(ROOT, doc=doc)
    assert report.problems, f"{case}: nothing reported"
    assert expected in _messages(report), _messages(report)


def test_the_command_line_exits_non_zero_on_a_broken_file(
    tmp_path: Path, compose_doc: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    doc = copy.deepcopy(compose_doc)
    _unknown_key(doc)
    target = tmp_path / "docker-compose.yml"
    target.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert checker.main(["--root", str(ROOT), "--compose", str(target)]) == 1
    err = capsys.readouterr().err
    assert "restart_when" in err
    assert "problem(s) found" in err


# --------------------------------------------------------------------------- broken Dockerfiles


def _good_dockerfile() -> str:
    return (ROOT / "services/queue/Dockerfile").read_text(encoding="utf-8")


DOCKERFILE_BREAKS: dict[str, tuple[Callable[[str], str], str]] = {
    "CMD names another service": (
        lambda t: t.replace('"sihha_queue"]', '"sihha_reporting"]'),
        "CMD runs 'sihha_reporting' in the Dockerfile of 'queue'",
    ),
    "CMD names no package": (
        lambda t: t.replace('"sihha_queue"]', '"sihha_billing"]'),
        "services/billing/src/sihha_billing/ is no package",
    ),
    "runs as root": (lambda t: t.replace("USER 10001:10001", "USER root"), "use a non-root user"),
    "no healthcheck": (
        lambda t: t.replace("HEALTHCHECK --interval", "# HEALTHCHECK --interval").replace(
            '    CMD ["python", "-c"', '#    CMD ["python", "-c"'
        ),
        "no HEALTHCHECK",
    ),
    "wrong port": (lambda t: t.replace("EXPOSE 8101", "EXPOSE 8080"), "EXPOSE 8101 missing"),
    "not from the lock": (lambda t: t.replace("uv sync --frozen", "uv sync"), "add --frozen"),
    "with dev dependencies": (lambda t: t.replace(" --no-dev", ""), "add --no-dev"),
    "foreign ENV prefix": (
        lambda t: t.replace("QUEUE_LOG_FORMAT=json", "REPORTING_LOG_FORMAT=json"),
        "ENV REPORTING_LOG_FORMAT does not carry the service's prefix QUEUE_",
    ),
    "another package": (
        lambda t: t.replace("--package sihha-queue", "--package sihha-records"),
        "expected --package sihha-queue",
    ),
    "copies a missing path": (
        lambda t: t.replace("COPY registry/ /app/registry/", "COPY registries/ /app/registry/"),
        "'registries/' does not exist",
    ),
    "other base": (
        lambda t: t.replace("ARG PYTHON_IMAGE=python:3.11-slim", "ARG PYTHON_IMAGE=python:3.12"),
        "expected 'python:3.11-slim'",
    ),
}


@pytest.mark.parametrize("case", sorted(DOCKERFILE_BREAKS))
def test_a_broken_dockerfile_is_reported(case: str, tmp_path: Path) -> None:
    breaker, expected = DOCKERFILE_BREAKS[case]
    text = _good_dockerfile()
    broken = breaker(text)
    assert broken != text, f"{case}: the replacement did not apply"
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(broken, encoding="utf-8")
    problems = checker.dockerfile_problems("queue", dockerfile, ROOT)
    assert expected in "\n".join(map(str, problems)), problems


def test_a_good_dockerfile_copy_has_no_problem(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(_good_dockerfile(), encoding="utf-8")
    assert checker.dockerfile_problems("queue", dockerfile, ROOT) == []


def test_dockerignore_keeps_the_keys_out_and_what_is_copied_in() -> None:
    patterns = checker.dockerignore_patterns(ROOT / ".dockerignore")
    assert checker.is_ignored(".dev/keys/jwt-private.pem", patterns)
    assert checker.is_ignored(".git/HEAD", patterns)
    assert checker.is_ignored("libs/kit/src/sihha_kit/__pycache__/x.pyc", patterns)
    for copied in ("pyproject.toml", "uv.lock", "libs/kit/pyproject.toml", "registry"):
        assert not checker.is_ignored(copied, patterns), copied
    assert not checker.is_ignored("services/queue/src/sihha_queue/__init__.py", patterns)
