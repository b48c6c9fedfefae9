"""Check the development stack: docker-compose.yml, the service Dockerfiles, .dockerignore.

    uv run python tools/check_compose.py [--root DIR] [--compose FILE] [--schema FILE]

No Docker engine is needed: the compose file is validated against the Compose
Specification's JSON schema (vendored at deploy/compose/compose-spec.schema.json)
and then against what this repository expects of it:

- every service with a `build` has a build context and Dockerfile that exist;
- every package under services/ has a compose service of the same name built
  from services/<name>/Dockerfile, and no compose service builds from a
  services/<name>/ that is not there;
- each Dockerfile is multi-stage on python:3.11-slim, installs with
  `uv sync --frozen --no-dev --package sihha-<name>` (or `uv export`), copies
  only paths that exist, ends as a non-root USER, EXPOSEs the service's port,
  has a HEALTHCHECK on /health/live, sets only variables with the service's
  prefix (besides PATH, PYTHON*, UV_*), and its CMD `python -m sihha_<name>`
  names the package of the service it builds, which exists;
- every environment variable of a service carries that service's prefix
  (QUEUE_ for queue, ...), the settings every service needs are set, the HTTP
  port agrees with the Dockerfile and the published port, URLs name compose
  hosts, and each database URL names its own database and role, both created
  by the PostgreSQL init script mounted into the postgres service;
- depends_on names defined services, `service_healthy` only those with a
  healthcheck, and a service started by default depends on none that sits in
  a profile;
- named volumes are declared, bind-mounted files exist (except the generated
  ./.dev/ keys);
- .dockerignore keeps ./.dev (the keys), .git and .venv out of the build
  context and does not exclude what the Dockerfiles copy.

Problems make it exit 1, each printed as `where: what`; warnings (for example a
service started by default whose package has no __main__.py yet) are printed
but do not fail the check.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import shlex
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml
from jsonschema.exceptions import best_match

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COMPOSE = Path("docker-compose.yml")
DEFAULT_SCHEMA = Path("deploy/compose/compose-spec.schema.json")

#: the HTTP port of each service (its `<NAME>_HTTP_PORT` default)
DEFAULT_PORTS: Mapping[str, int] = {
    "queue": 8101,
    "appointments": 8102,
    "records": 8103,
    "emergency": 8104,
    "reporting": 8105,
}
#: settings every service container must be given (after its `<NAME>_` prefix)
REQUIRED_SETTINGS = (
    "HTTP_HOST",
    "HTTP_PORT",
    "DATABASE_URL",
    "AMQP_URL",
    "TRUSTED_ISSUERS",
    "REVOCATION_LISTS",
    "OTLP_ENDPOINT",
    "LOG_FORMAT",
    "PSEUDONYM_KEY",
)
BASE_IMAGE = "python:3.11-slim"
DATABASE_SCHEME = "postgresql+asyncpg"
INITDB_DIR = "/docker-entrypoint-initdb.d"
#: bind-mount sources under these folders are generated on the developer's machine
GENERATED_DIRS = (".dev",)
#: variables a Dockerfile may set without the service's prefix (the interpreter's, uv's)
GENERIC_ENV_PREFIXES = ("PATH", "PYTHON", "UV_", "LANG", "LC_")
#: what .dockerignore must keep out of every build context
MUST_IGNORE = (".dev", ".git", ".venv")


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------- loading


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_schema(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def service_dirs(root: Path) -> dict[str, Path]:
    """`{name: services/<name>}` for every folder under services/ with a pyproject.toml."""
    base = root / "services"
    if not base.is_dir():
        return {}
    return {p.parent.name: p.parent for p in sorted(base.glob("*/pyproject.toml"))}


def project_name(service_dir: Path) -> str | None:
    try:
        data = tomllib.loads((service_dir / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    name = data.get("project", {}).get("name")
    return name if isinstance(name, str) else None


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


# --------------------------------------------------------------------------- schema


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def schema_problems(doc: Any, schema: Mapping[str, Any], where: str) -> list[Problem]:
    """Every place where `doc` breaks the Compose Specification schema."""
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema)
    problems = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path))):
        shown = _explain(error)
        at = f"{where} {_json_path(shown.absolute_path)}"
        if shown.validator in {"additionalProperties", "unevaluatedProperties"}:
            unknown = _unknown_keys(shown, schema)
            if not unknown:
                continue  # only a consequence of an error inside a known key, reported itself
            keys = ", ".join(repr(k) for k in unknown)
            _, patterns = _declared_keys(shown.schema, schema)
            hint = " (an extension key must start with x-)" if "^x-" in patterns else ""
            problems.append(Problem(at, f"schema: unknown key(s) {keys}{hint}"))
        else:
            problems.append(Problem(at, f"schema: {shown.message}"))
    return problems


def _explain(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most telling sub-error of a oneOf/anyOf failure.

    Drops the branches that expected another type altogether (a mapping is not
    wrong for failing to be a list), then lets jsonschema pick among the rest.
    """
    if not error.context:
        return error
    candidates = [e for e in error.context if not (e.validator == "type" and not e.relative_path)]
    chosen = best_match(candidates) if candidates else None
    return error if chosen is None else _explain(chosen)


def _declared_keys(
    fragment: Any, schema: Mapping[str, Any], depth: int = 0
) -> tuple[set[str], list[str]]:
    """Property names and patterns a schema fragment declares, via $ref/allOf/anyOf/oneOf."""
    names: set[str] = set()
    patterns: list[str] = []
    if not isinstance(fragment, Mapping) or depth > 8:
        return names, patterns
    names.update(fragment.get("properties", {}))
    patterns.extend(fragment.get("patternProperties", {}))
    ref = fragment.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        more_names, more_patterns = _declared_keys(target, schema, depth + 1)
        names |= more_names
        patterns += more_patterns
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in fragment.get(keyword, []):
            more_names, more_patterns = _declared_keys(sub, schema, depth + 1)
            names |= more_names
            patterns += more_patterns
    return names, patterns


def _unknown_keys(error: jsonschema.ValidationError, schema: Mapping[str, Any]) -> list[str]:
    """The keys of the object that no part of its schema declares.

    Under JSON Schema 2020-12 a key whose value is wrong also counts as
    "unevaluated", as do its siblings in a failed allOf branch; those are not
    unknown, and their real error is reported on its own.
    """
    if not isinstance(error.instance, Mapping):
        return []
    names, patterns = _declared_keys(error.schema, schema)
    return [
        str(key)
        for key in error.instance
        if key not in names and not any(re.search(p, str(key)) for p in patterns)
    ]


# --------------------------------------------------------------------------- Dockerfiles


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int
    stage: int


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Instruction]]:
    """The ARG defaults declared before the first FROM, and every instruction.

    Handles comments, blank lines and backslash continuations (enough for
    this repository's Dockerfiles; heredocs are not supported).
    """
    instructions: list[Instruction] = []
    global_args: dict[str, str] = {}
    stage = -1
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment line inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(part for part in pending if part)
        pending = []
        keyword, _, args = joined.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        elif keyword == "ARG" and stage == -1:
            name, _, default = args.strip().partition("=")
            global_args[name.strip()] = default.strip().strip('"')
        instructions.append(Instruction(keyword, args.strip(), start, stage))
    return global_args, instructions


def _substitute(text: str, variables: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables.get(name, match.group(0))

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", value, text)


def _exec_form(args: str) -> list[str] | None:
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _copy_sources(args: str) -> tuple[list[str], bool]:
    """The sources of a COPY/ADD, and whether it copies from another stage or image."""
    exec_form = _exec_form(args)
    words = exec_form if exec_form is not None else shlex.split(args)
    from_stage = any(w.startswith("--from") for w in words)
    plain = [w for w in words if not w.startswith("--")]
    return plain[:-1], from_stage


def dockerfile_problems(name: str, dockerfile: Path, root: Path) -> list[Problem]:
    """What is wrong with the Dockerfile that builds the service `name`."""
    where = _display(dockerfile, root)
    if not dockerfile.is_file():
        return [Problem(where, "Dockerfile not found")]
    global_args, instructions = parse_dockerfile(dockerfile.read_text(encoding="utf-8"))
    problems: list[Problem] = []

    def add(message: str, line: int | None = None) -> None:
        problems.append(Problem(f"{where}:{line}" if line else where, message))

    froms = [i for i in instructions if i.keyword == "FROM"]
    if not froms:
        return [Problem(where, "no FROM instruction")]
    if len(froms) < 2:
        add("not a multi-stage build (one FROM): build with uv in a first stage")
    last_stage = froms[-1].stage
    final = [i for i in instructions if i.stage == last_stage]

    base = _substitute(froms[-1].args.split()[0], global_args)
    if not (base == BASE_IMAGE or base.startswith(BASE_IMAGE + "@")):
        add(f"the final stage is based on {base!r}, expected {BASE_IMAGE!r}", froms[-1].line)

    # installs from the lock, for this service's package
    expected_package = project_name(root / "services" / name) or f"sihha-{name}"
    installs = [
        i
        for i in instructions
        if i.keyword == "RUN" and re.search(r"\buv\s+(sync|export)\b", i.args)
    ]
    if not installs:
        add("no `uv sync` (or `uv export`) from the workspace lock")
    for i in installs:
        words = i.args.split()
        if "--frozen" not in words and "--locked" not in words:
            add("uv must install from the lock as it is: add --frozen", i.line)
        if "--no-dev" not in words:
            add("uv installs the dev dependency group too: add --no-dev", i.line)
        packages = [words[k + 1] for k, w in enumerate(words[:-1]) if w == "--package"] + [
            w.split("=", 1)[1] for w in words if w.startswith("--package=")
        ]
        if packages != [expected_package]:
            add(
                f"uv installs package {', '.join(packages) or '(none)'}; "
                f"expected --package {expected_package}",
                i.line,
            )

    # what is copied from the build context exists
    for i in instructions:
        if i.keyword not in {"COPY", "ADD"}:
            continue
        sources, from_stage = _copy_sources(i.args)
        if from_stage:
            continue
        for source in sources:
            if any(ch in source for ch in "*?[") or "://" in source:
                continue
            if not (root / source).exists():
                add(f"{i.keyword} source {source!r} does not exist in the build context", i.line)

    users = [i for i in final if i.keyword == "USER"]
    if not users:
        add("the final stage runs as root: add a USER")
    elif users[-1].args.split(":")[0] in {"root", "0"}:
        add(f"the final stage runs as {users[-1].args!r}: use a non-root user", users[-1].line)

    port = DEFAULT_PORTS.get(name)
    exposed = {p.split("/")[0] for i in final if i.keyword == "EXPOSE" for p in i.args.split()}
    if port is not None and str(port) not in exposed:
        add(f"EXPOSE {port} missing (exposes {', '.join(sorted(exposed)) or 'nothing'})")

    checks = [i for i in final if i.keyword == "HEALTHCHECK"]
    if not checks or checks[-1].args.upper() == "NONE":
        add("no HEALTHCHECK in the final stage")
    elif "/health/live" not in checks[-1].args:
        add("the HEALTHCHECK does not probe /health/live", checks[-1].line)

    prefix = name.upper() + "_"
    for i in final:
        if i.keyword != "ENV":
            continue
        for var in _env_names(i.args):
            if not var.startswith((prefix, *GENERIC_ENV_PREFIXES)):
                add(f"ENV {var} does not carry the service's prefix {prefix}", i.line)

    _check_cmd(name, final, root, add)
    return problems


def _env_names(args: str) -> list[str]:
    """The variables an ENV instruction sets (`ENV A=1 B=2`, or the old `ENV A 1`)."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return [words[0]]
    return [w.split("=", 1)[0] for w in words if "=" in w]


def _check_cmd(
    name: str, final: Sequence[Instruction], root: Path, add: Callable[..., None]
) -> None:
    """The CMD runs `python -m sihha_<name>`, a package that exists."""
    if any(i.keyword == "ENTRYPOINT" for i in final):
        add("an ENTRYPOINT in the final stage: the service starts by CMD alone")
    cmds = [i for i in final if i.keyword == "CMD"]
    if not cmds:
        add("no CMD in the final stage")
        return
    cmd = cmds[-1]
    argv = _exec_form(cmd.args)
    if argv is None:
        add("CMD must use the exec (JSON array) form", cmd.line)
        return
    if len(argv) != 3 or argv[:2] != ["python", "-m"]:
        add(f"CMD is {argv}, expected ['python', '-m', 'sihha_{name}']", cmd.line)
        return
    module = argv[2]
    match = re.fullmatch(r"sihha_([a-z][a-z0-9_]*)", module)
    if match is None:
        add(f"CMD runs module {module!r}, not a sihha_<name> service package", cmd.line)
        return
    target = match.group(1)
    package = root / "services" / target / "src" / module
    if not (package / "__init__.py").is_file():
        add(f"CMD runs {module!r} but services/{target}/src/{module}/ is no package", cmd.line)
    if target != name:
        add(f"CMD runs {module!r} in the Dockerfile of {name!r} (expected sihha_{name})", cmd.line)


# --------------------------------------------------------------------------- compose


def _environment(service: Mapping[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, Mapping):
        return {str(k): None if v is None else str(v) for k, v in env.items()}
    out: dict[str, str | None] = {}
    for item in env:
        key, sep, value = str(item).partition("=")
        out[key] = value if sep else None
    return out


def _depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, Mapping):
        return {str(k): str((v or {}).get("condition", "service_started")) for k, v in deps.items()}
    return {str(d): "service_started" for d in deps}


def _build(service: Mapping[str, Any]) -> tuple[str, str] | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return build, "Dockerfile"
    return str(build.get("context", ".")), str(build.get("dockerfile", "Dockerfile"))


def _volume_mounts(service: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(type, source, target) of each mount: type is 'bind', 'volume' or 'tmpfs'."""
    for volume in service.get("volumes") or []:
        if isinstance(volume, Mapping):
            kind = str(volume.get("type", "volume"))
            yield kind, str(volume.get("source", "")), str(volume.get("target", ""))
            continue
        parts = str(volume).split(":")
        if len(parts) == 1:
            yield "volume", "", parts[0]  # anonymous volume
            continue
        source, target = parts[0], parts[1]
        bind = source.startswith((".", "/", "~")) or "${" in source
        yield ("bind" if bind else "volume"), source, target


def _container_ports(service: Mapping[str, Any]) -> set[str]:
    ports: set[str] = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, Mapping):
            ports.add(str(entry.get("target", "")))
        else:
            ports.add(str(entry).rsplit(":", 1)[-1].split("/")[0])
    return ports


def _built_service(
    service: Mapping[str, Any], compose_dir: Path, root: Path
) -> tuple[str | None, Path | None]:
    """The services/<name> a compose service builds from, and its Dockerfile path."""
    build = _build(service)
    if build is None:
        return None, None
    context, dockerfile = build
    path = (compose_dir / context / dockerfile).resolve()
    try:
        rel = path.relative_to((root / "services").resolve())
    except ValueError:
        return None, path
    return (rel.parts[0] if len(rel.parts) > 1 else None), path


def init_script_objects(script: Path) -> tuple[set[str], set[str]]:
    """The databases and roles an SQL init script creates."""
    text = re.sub(r"--[^\n]*", "", script.read_text(encoding="utf-8"))
    databases = set(re.findall(r"(?i)\bcreate\s+database\s+\"?([A-Za-z_][\w$]*)", text))
    roles = set(re.findall(r"(?i)\bcreate\s+(?:role|user)\s+\"?([A-Za-z_][\w$]*)", text))
    return databases, roles


def compose_problems(
    doc: Any, root: Path, compose_path: Path
) -> tuple[list[Problem], list[Problem]]:
    """Problems and warnings of a compose document beyond what the schema says."""
    where = _display(compose_path, root)
    compose_dir = compose_path.parent
    problems: list[Problem] = []
    warnings: list[Problem] = []

    def add(at: str, message: str) -> None:
        problems.append(Problem(f"{where} {at}", message))

    if not isinstance(doc, Mapping) or not isinstance(doc.get("services"), Mapping):
        return [Problem(where, "no `services` mapping")], []
    services: Mapping[str, Any] = doc["services"]
    declared_volumes = set((doc.get("volumes") or {}).keys())
    hosts = set(services)
    for service in services.values():
        if isinstance(service, Mapping) and service.get("hostname"):
            hosts.add(str(service["hostname"]))

    built: dict[str, str] = {}  # compose key -> services/<name>
    dockerfiles: dict[str, Path] = {}
    for key, service in services.items():
        if not isinstance(service, Mapping):
            continue
        build = _build(service)
        if build is not None:
            context_dir = (compose_dir / build[0]).resolve()
            if not context_dir.is_dir():
                add(f"services.{key}.build.context", f"{build[0]!r} is not a directory")
            elif not (context_dir / build[1]).is_file():
                add(
                    f"services.{key}.build.dockerfile",
                    f"{build[1]!r} not found in the build context {build[0]!r}",
                )
        name, dockerfile = _built_service(service, compose_dir, root)
        if name is not None and dockerfile is not None:
            built[key] = name
            dockerfiles[key] = dockerfile

    # every service package has its container, named after it
    packages = service_dirs(root)
    by_name = {name: key for key, name in built.items()}
    for name in packages:
        if name not in by_name:
            add("services", f"services/{name} has no compose service built from its Dockerfile")
    for key, name in built.items():
        if name not in packages:
            add(f"services.{key}.build", f"builds from services/{name}/, which is no service")
        elif key != name:
            add(f"services.{key}", f"builds services/{name}: name the compose service {name!r}")

    databases: dict[str, str] = {}
    init_scripts = _init_scripts(services, compose_dir)
    created_dbs: set[str] = set()
    created_roles: set[str] = set()
    for script in init_scripts:
        if script.is_file():
            dbs, roles = init_script_objects(script)
            created_dbs |= dbs
            created_roles |= roles

    for key, name in built.items():
        service = services[key]
        prefix = name.upper() + "_"
        env = _environment(service)
        at = f"services.{key}.environment"
        for var in env:
            if not var.startswith(prefix):
                owner = next(
                    (n for n in packages if var.startswith(n.upper() + "_") and n != name), None
                )
                hint = f" (the prefix of {owner!r})" if owner else ""
                add(at, f"{var} does not carry the prefix {prefix}{hint}")
        for setting in REQUIRED_SETTINGS:
            if prefix + setting not in env:
                add(at, f"{prefix}{setting} is not set")

        port = env.get(prefix + "HTTP_PORT")
        expected = DEFAULT_PORTS.get(name)
        if port is not None and expected is not None and port != str(expected):
            add(at, f"{prefix}HTTP_PORT is {port}, the service's port is {expected}")
        container_ports = _container_ports(service)
        effective = port or (str(expected) if expected else None)
        if container_ports and effective and effective not in container_ports:
            add(f"services.{key}.ports", f"publishes {sorted(container_ports)}, not {effective}")
        host = env.get(prefix + "HTTP_HOST")
        if host is not None and host not in {"0.0.0.0", "::"}:
            add(at, f"{prefix}HTTP_HOST is {host}: unreachable from outside the container")

        for var, value in env.items():
            if not value or "://" not in value or "${" in value:
                continue
            hostname = urlsplit(value).hostname
            if hostname and hostname not in hosts:
                add(at, f"{var} points at {hostname!r}, which is no compose service")

        db_url = env.get(prefix + "DATABASE_URL")
        if db_url and "${" not in db_url:
            parts = urlsplit(db_url)
            db = parts.path.lstrip("/")
            if parts.scheme != DATABASE_SCHEME:
                add(at, f"{prefix}DATABASE_URL must use {DATABASE_SCHEME}://")
            if not db:
                add(at, f"{prefix}DATABASE_URL names no database")
            elif db in databases:
                add(
                    at,
                    f"database {db!r} is also used by {databases[db]!r}: one database per service",
                )
            else:
                databases[db] = key
            if init_scripts and db and db not in created_dbs:
                add(at, f"database {db!r} is not created by the PostgreSQL init script")
            if init_scripts and parts.username and parts.username not in created_roles:
                add(at, f"role {parts.username!r} is not created by the PostgreSQL init script")

        package = root / "services" / name / "src" / f"sihha_{name}"
        if not service.get("profiles") and not (package / "__main__.py").is_file():
            warnings.append(
                Problem(
                    f"{where} services.{key}",
                    f"started by default, but sihha_{name} has no __main__.py yet "
                    "(python -m will fail): put it in a profile until it has one",
                )
            )

    _dependency_problems(services, built, dockerfiles, add)

    for key, service in services.items():
        if not isinstance(service, Mapping):
            continue
        for kind, source, _target in _volume_mounts(service):
            at = f"services.{key}.volumes"
            if kind == "volume" and source and source not in declared_volumes:
                add(at, f"named volume {source!r} is not declared under top-level `volumes`")
            if kind == "bind" and "${" not in source and not source.startswith("~"):
                path = (compose_dir / source).resolve()
                rel = _display(path, compose_dir)
                if rel.split("/")[0] in GENERATED_DIRS:
                    continue
                if not path.exists():
                    add(at, f"bind-mounted {source!r} does not exist")
    return problems, warnings


def _init_scripts(services: Mapping[str, Any], compose_dir: Path) -> list[Path]:
    scripts = []
    for service in services.values():
        if not isinstance(service, Mapping):
            continue
        for kind, source, target in _volume_mounts(service):
            if kind == "bind" and target.startswith(INITDB_DIR) and "${" not in source:
                scripts.append((compose_dir / source).resolve())
    return scripts


def _dependency_problems(
    services: Mapping[str, Any],
    built: Mapping[str, str],
    dockerfiles: Mapping[str, Path],
    add: Callable[[str, str], None],
) -> None:
    for key, service in services.items():
        if not isinstance(service, Mapping):
            continue
        for dep, condition in _depends_on(service).items():
            at = f"services.{key}.depends_on.{dep}"
            target = services.get(dep)
            if not isinstance(target, Mapping):
                add(at, f"depends on {dep!r}, which is no service")
                continue
            if condition == "service_healthy" and not _has_healthcheck(
                target, dockerfiles.get(dep) if dep in built else None
            ):
                add(at, f"waits for {dep!r} to be healthy, but {dep!r} has no healthcheck")
            if not service.get("profiles") and target.get("profiles"):
                add(
                    at,
                    f"{key!r} starts by default but {dep!r} only with profile "
                    f"{', '.join(map(str, target['profiles']))}",
                )


def _has_healthcheck(service: Mapping[str, Any], dockerfile: Path | None) -> bool:
    check = service.get("healthcheck")
    if isinstance(check, Mapping):
        return not check.get("disable", False) and check.get("test") not in (["NONE"], "NONE")
    if dockerfile is not None and dockerfile.is_file():
        _, instructions = parse_dockerfile(dockerfile.read_text(encoding="utf-8"))
        last = max((i.stage for i in instructions), default=-1)
        return any(
            i.keyword == "HEALTHCHECK" and i.stage == last and i.args.upper() != "NONE"
            for i in instructions
        )
    return False


# --------------------------------------------------------------------------- .dockerignore


def dockerignore_patterns(path: Path) -> list[str]:
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def is_ignored(relpath: str, patterns: Sequence[str]) -> bool:
    """Whether .dockerignore `patterns` exclude `relpath` (or a folder holding it).

    A simplification of Docker's matcher: `**` matches any depth, the last
    matching pattern wins, `!` re-includes.
    """
    candidates = []
    parts = relpath.strip("/").split("/")
    for n in range(1, len(parts) + 1):
        candidates.append("/".join(parts[:n]))
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip().lstrip("/").rstrip("/")
        if pattern.startswith("./"):
            pattern = pattern[2:]
        variants = {pattern}
        if pattern.startswith("**/"):
            variants.add(pattern[3:])
        if any(fnmatch.fnmatchcase(c, v) for c in candidates for v in variants):
            ignored = not negate
    return ignored


def dockerignore_problems(root: Path, dockerfiles: Iterable[Path]) -> list[Problem]:
    path = root / ".dockerignore"
    where = _display(path, root)
    if not path.is_file():
        return [Problem(where, "missing: the build context is the whole repository")]
    patterns = dockerignore_patterns(path)
    problems = [
        Problem(where, f"does not exclude {name}/ from the build context")
        for name in MUST_IGNORE
        if not is_ignored(f"{name}/x", patterns)
    ]
    copied: set[str] = set()
    for dockerfile in dockerfiles:
        if not dockerfile.is_file():
            continue
        _, instructions = parse_dockerfile(dockerfile.read_text(encoding="utf-8"))
        for i in instructions:
            if i.keyword in {"COPY", "ADD"}:
                sources, from_stage = _copy_sources(i.args)
                if not from_stage:
                    copied.update(s.rstrip("/") for s in sources)
    for source in sorted(copied):
        if source in {"", "."}:
            continue
        if is_ignored(source, patterns):
            problems.append(Problem(where, f"excludes {source!r}, which a Dockerfile copies"))
    return problems


# --------------------------------------------------------------------------- all together


def check(
    root: Path = ROOT,
    compose_path: Path | None = None,
    schema_path: Path | None = None,
    doc: Any = None,
) -> Report:
    """Run every check; `doc` replaces the contents of the compose file when given."""
    compose_path = (compose_path or root / DEFAULT_COMPOSE).resolve()
    schema_path = schema_path or root / DEFAULT_SCHEMA
    report = Report()
    where = _display(compose_path, root)
    if doc is None:
        if not compose_path.is_file():
            report.problems.append(Problem(where, "compose file not found"))
            return report
        try:
            doc = load_yaml(compose_path)
        except yaml.YAMLError as exc:
            report.problems.append(Problem(where, f"not valid YAML: {exc}"))
            return report
    if not schema_path.is_file():
        report.problems.append(Problem(_display(schema_path, root), "schema file not found"))
    else:
        report.problems.extend(schema_problems(doc, load_schema(schema_path), where))

    problems, warnings = compose_problems(doc, root, compose_path)
    report.problems.extend(problems)
    report.warnings.extend(warnings)

    dockerfiles: list[Path] = []
    services = doc.get("services") if isinstance(doc, Mapping) else None
    if isinstance(services, Mapping):
        for service in services.values():
            if not isinstance(service, Mapping):
                continue
            name, dockerfile = _built_service(service, compose_path.parent, root)
            if name is not None and dockerfile is not None and dockerfile.is_file():
                dockerfiles.append(dockerfile)
                report.problems.extend(dockerfile_problems(name, dockerfile, root))
    # a service's Dockerfile is checked even when the compose file forgets the service
    for name, folder in service_dirs(root).items():
        dockerfile = (folder / "Dockerfile").resolve()
        if dockerfile not in dockerfiles:
            dockerfiles.append(dockerfile)
            report.problems.extend(dockerfile_problems(name, dockerfile, root))
    report.problems.extend(dockerignore_problems(root, dockerfiles))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument(
        "--compose", type=Path, help="compose file (default: ROOT/docker-compose.yml)"
    )
    parser.add_argument("--schema", type=Path, help="Compose Specification JSON schema")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    report = check(root, args.compose, args.schema)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    if report.problems:
        print(f"{len(report.problems)} problem(s) found", file=sys.stderr)
        return 1
    print("compose file, Dockerfiles and .dockerignore: no problems found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
