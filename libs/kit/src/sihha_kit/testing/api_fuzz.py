"""Schemathesis over a service's whole OpenAPI document, with valid tokens.

`fuzz_api(app, ...)` serves the app with uvicorn on a free loopback port (its
lifespan started: migrations, relay, consumers), loads the document the app
serves at `/openapi.json`, and for every operation lets Hypothesis draw
requests from schemathesis' strategies, valid ones (positive) and, where the
operation has parameters or a body, invalid ones (negative). Each request
carries a token for one of the roles the operation admits (read from its
security requirement, see `sihha_kit.auth.document_bearer_auth`), minted with
the service's test key pair for the test establishments (`*` for the
wilaya-wide roles); path parameters named in `path_values` are sometimes fixed
to known values, so that requests reach existing establishments and not only
the 403 of a random one.

Every response goes through schemathesis' checks: no 5xx; the status is
declared; the content type is the one declared for that status (problems are
`application/problem+json`); the body and headers match their schemas; invalid
input is refused with a 4xx; a route that requires a token refuses a request
without one. One check is replaced: schemathesis' `positive_data_acceptance`
counts any 422 to a valid request as a failure, but here 422 is also the
domain's answer to well-formed content it refuses (`sihha_kit.errors.BadRequest`:
an unknown service code, a closed clinic). `request_validation_matches_document`
fails only where the server's request validation (problem code `invalid-input`)
refuses what the document says is valid: a path parameter without its pattern,
a constraint the document does not show.

Before any request, every path parameter must say what it accepts (a pattern, a
format or an enum): a path that takes any string is where a server's own
validation and its document part ways.

Operations are excluded only by name and with a reason (`Exclusion`), which the
report repeats; an exclusion that names no operation of the document is an error.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis.core.result import Err

from sihha_kit.auth import WIDE_ROLES, Role
from sihha_kit.devtools import TokenIssuer
from sihha_kit.testing.apps import serving

#: a patient key for citizen tokens (64 hex digits; nobody's)
TEST_PATIENT_KEY = "0" * 63 + "1"


@dataclass(frozen=True)
class Exclusion:
    """An operation left out of the run: `"GET /monitor/stream"` and why."""

    operation: str
    reason: str


@dataclass
class FuzzReport:
    """What a run tried and what failed (`failures`: operation → schemathesis' report)."""

    operations: list[str] = field(default_factory=list)
    cases: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    excluded: list[Exclusion] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"{len(self.operations)} operations, {self.cases} requests, "
            f"{len(self.failures)} failing, {len(self.excluded)} excluded"
        ]
        lines += [f"excluded {e.operation}: {e.reason}" for e in self.excluded]
        for operation, failure in self.failures.items():
            lines += ["", f"== {operation}", failure]
        return "\n".join(lines)


def request_validation_matches_document(ctx: Any, response: Any, case: Any) -> None:
    """A request the document calls valid is not refused by the server's own request
    validation (`invalid-input`); the domain may still refuse it (another 4xx code)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return
    try:
        code = response.json().get("code")
    except ValueError:
        return
    if code == "invalid-input":
        raise AssertionError(
            "the document calls this request valid, but the server's validation refused it "
            f"(a constraint missing from the document): {response.text[:500]}"
        )


def _config() -> Any:
    return schemathesis.Config.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {"enabled": False},
                # a declared 503 (a service this one asks is down) is the contract, not a
                # crash; any other 5xx fails
                "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]},
            },
            # the Authorization header is the token `fuzz_api` mints, not generated data
            "generation": {"with-security-parameters": False},
        }
    )


def _roles_of(operation: Any) -> list[Role] | None:
    """The roles an operation admits (empty: any valid token), or None: no token needed."""
    security = operation.definition.raw.get("security")
    if security is None:
        security = operation.schema.raw_schema.get("security")
    if not security:
        return None
    roles: list[Role] = []
    for requirement in security:
        roles += [Role(name) for name in requirement.get("bearer", ())]
    return roles


def _tokens(
    roles: list[Role], issuer: TokenIssuer, establishments: Sequence[str]
) -> list[dict[str, str]]:
    tokens = []
    for role in roles or [Role.admin]:
        token = issuer.mint(
            f"fuzz:{role.value}",
            [role],
            ["*"] if role in WIDE_ROLES else list(establishments),
            patient_key=TEST_PATIENT_KEY if role is Role.citizen else None,
        )
        tokens.append({"Authorization": f"Bearer {token}"})
    return tokens


def _strategy(operation: Any, path_values: Mapping[str, Sequence[str]]) -> Any:
    positive = schemathesis.GenerationMode.POSITIVE
    strategies = [operation.as_strategy(positive)]
    path_names = {p.name for p in operation.path_parameters}
    known = {name: values for name, values in path_values.items() if name in path_names}
    if known:
        fixed = st.fixed_dictionaries({name: st.sampled_from(v) for name, v in known.items()})
        strategies.append(
            fixed.flatmap(lambda values: operation.as_strategy(positive, path_parameters=values))
        )
    if operation.path_parameters or operation.query or operation.body:
        strategies.append(operation.as_strategy(schemathesis.GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def _fuzz_operation(
    operation: Any,
    base_url: str,
    session: requests.Session,
    tokens: list[dict[str, str]],
    path_values: Mapping[str, Sequence[str]],
    max_examples: int,
) -> tuple[int, str | None]:
    count = itertools.count()
    auth = st.sampled_from(tokens) if tokens else st.just({})

    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
        report_multiple_bugs=False,
    )
    @hypothesis.given(case=_strategy(operation, path_values), headers=auth)
    def run(case: Any, headers: dict[str, str]) -> None:
        next(count)
        case.call_and_validate(
            base_url=base_url,
            session=session,
            headers=headers,
            additional_checks=[request_validation_matches_document],
            timeout=30,
        )

    try:
        run()
    # a failing check (schemathesis raises a BaseExceptionGroup of them) or a generation
    # error: both are reported
    except (Exception, BaseExceptionGroup) as error:
        return next(count), f"{type(error).__name__}: {error}"
    return next(count), None


def _fuzz(
    base_url: str,
    issuer: TokenIssuer,
    establishments: Sequence[str],
    path_values: Mapping[str, Sequence[str]],
    exclude: Sequence[Exclusion],
    max_examples: int,
) -> FuzzReport:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=_config())
    operations: dict[str, Any] = {}
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation schemathesis cannot read: the document's fault
            raise result.err()
        operations[_label(result.ok())] = result.ok()
    stale = {e.operation for e in exclude} - set(operations)
    if stale:
        raise ValueError(f"excluded operations that the document does not have: {sorted(stale)}")
    excluded = {e.operation for e in exclude}
    report = FuzzReport(excluded=list(exclude))
    for label, operation in operations.items():
        vague = _vague_path_parameters(operation)
        if vague:
            report.failures[label] = (
                f"path parameter(s) {', '.join(vague)} accept any string: the document must "
                "say what the server accepts (a pattern, a format or an enum)"
            )
    with requests.Session() as session:
        for label, operation in operations.items():
            if label in excluded:
                continue
            report.operations.append(label)
            roles = _roles_of(operation)
            tokens = [] if roles is None else _tokens(roles, issuer, establishments)
            cases, failure = _fuzz_operation(
                operation, base_url, session, tokens, path_values, max_examples
            )
            report.cases += cases
            if failure is not None:
                report.failures[label] = "\n".join(
                    filter(None, [report.failures.get(label), failure])
                )
    return report


def _vague_path_parameters(operation: Any) -> list[str]:
    vague = []
    for parameter in operation.definition.raw.get("parameters", ()):
        schema = parameter.get("schema", {})
        says = {"pattern", "format", "enum", "const"} & set(schema)
        if parameter.get("in") == "path" and schema.get("type") == "string" and not says:
            vague.append(parameter["name"])
    return vague


def _label(operation: Any) -> str:
    return f"{operation.method.upper()} {operation.path}"


async def fuzz_api(
    app: FastAPI,
    *,
    issuer: TokenIssuer,
    establishments: Sequence[str],
    path_values: Mapping[str, Sequence[str]] | None = None,
    exclude: Sequence[Exclusion] = (),
    max_examples: int = 30,
) -> FuzzReport:
    """Run schemathesis over every operation of `app`'s OpenAPI document (see the module
    docstring); `max_examples` requests at most per operation. The app is served on the
    running event loop; the requests are made from a worker thread."""
    async with serving(app) as base_url:
        return await asyncio.to_thread(
            _fuzz, base_url, issuer, establishments, path_values or {}, exclude, max_examples
        )
