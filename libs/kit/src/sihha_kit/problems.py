"""RFC 9457 problem details for every error a service returns.

Every error body is `application/problem+json` with `type`, `title`, `status`,
`detail` and `instance`, plus `code` (stable, machine-readable), `detail_fr`
and `detail_ar` (the same message in both working languages, from the app's
message catalogue where `code` is the key; `detail` is the one the caller asked
for with `Accept-Language`, French by default).
Never a stack trace: unexpected errors are logged with their trace id and the
caller gets a 500 problem that names that trace id.

The OpenAPI document says so too, with one shared schema
(``#/components/schemas/Problem``): `document_problems` declares on every
operation the problems the kit itself produces (422 from request validation,
413 from the body limit, 500), `sihha_kit.auth.document_bearer_auth` adds 401
and 403 where a token is required, and a route declares its own in one line::

    @router.post("/tickets/{ticket_id}/call", responses=problems(404, 409))
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sihha_kit.db import is_connection_lost
from sihha_kit.errors import DomainProblem
from sihha_kit.i18n import N_, Catalogue, Language, negotiate
from sihha_kit.logs import get_logger
from sihha_kit.tracing import current_trace_id

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://sihha.sante.dz/problems/"

#: the problem code of each HTTP status the framework itself raises (texts in the
#: kit's catalogue)
_HTTP_CODES: dict[int, str] = {
    400: N_("bad-request"),
    401: N_("unauthenticated"),
    403: N_("forbidden"),
    404: N_("not-found"),
    405: N_("method-not-allowed"),
    409: N_("conflict"),
    413: N_("body-too-large"),
    415: N_("unsupported-media-type"),
    422: N_("invalid-input"),
    429: N_("too-many-requests"),
    503: N_("unavailable"),
}


#: the JSON Schema of every problem body, `#/components/schemas/Problem` in the documents
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details, with the message in French and Arabic "
    "(`detail` is the one `Accept-Language` asked for, French by default) and a stable "
    "machine-readable `code`. Some problems add members (`errors` for invalid input, "
    "`trace_id` for an internal error, `required_roles`, `limit_bytes`...).",
    "type": "object",
    "required": ["type", "title", "status", "detail", "detail_fr", "detail_ar", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "detail_fr": {"type": "string"},
        "detail_ar": {"type": "string"},
        "code": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}
PROBLEM_REF = "#/components/schemas/Problem"
#: the components FastAPI adds for its own 422 (a JSON body that this kit never sends)
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_documentation(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object of a problem with this status."""
    return {
        "description": description or HTTPStatus(status).phrase,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=problems(404, 409)`: a route declares the problems it raises itself.

    The kit declares the rest on every route (`document_problems`,
    `sihha_kit.auth.document_bearer_auth`)."""
    return {status: problem_documentation(status) for status in statuses}


def declare_problems(schema: dict[str, Any], operation: dict[str, Any], *statuses: int) -> None:
    """Add the shared Problem schema to the document and these problem responses to one
    operation, unless it declares them already (a route's own description wins)."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    responses = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(str(status), problem_documentation(status))


def document_problems(app: FastAPI) -> None:
    """Declare, in the app's OpenAPI document, the problems the kit produces on every
    operation: 413 (the body limit of `sihha_kit.middleware`), 500 (any unexpected
    error), 503 (the service's database unreachable: try again after `Retry-After`), 404 where the path has parameters (they name something that may not
    exist), 400 where there is a request body (one that cannot be read), and 422 for
    every operation that validates parameters or a body, as
    `application/problem+json` with the Problem schema instead of FastAPI's default
    JSON `HTTPValidationError`. An error response a route declares without content is
    given the Problem schema too."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, response in list(responses.items()):
                    if not status.isdigit() or int(status) < 400:
                        continue
                    content = response.get("content")
                    fastapi_422 = status == "422" and "HTTPValidationError" in str(content)
                    if content is None or fastapi_422:
                        responses[status] = problem_documentation(
                            int(status), None if fastapi_422 else response.get("description")
                        )
                declare_problems(schema, operation, 413, 500, 503)
                if "requestBody" in operation:
                    # FastAPI's answer to a body it cannot read at all
                    declare_problems(schema, operation, 400)
                if any(p.get("in") == "path" for p in operation.get("parameters", ())):
                    # a path names a resource (an establishment, a ticket...) that may not exist
                    declare_problems(schema, operation, 404)
        _drop_unused(schema, _FASTAPI_VALIDATION_SCHEMAS)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _drop_unused(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    """Remove these component schemas if nothing refers to them any more (in order: the
    first may be what refers to the next)."""
    components = schema.get("components", {}).get("schemas", {})
    for name in names:
        if name not in components:
            continue
        others = {key: value for key, value in components.items() if key != name}
        if f"#/components/schemas/{name}" not in json.dumps([schema.get("paths"), others]):
            del components[name]


def language_of(request: Request) -> Language:
    """The working language the caller asked for with ``Accept-Language`` (French by
    default); see `sihha_kit.i18n.negotiate`."""
    return negotiate(request.headers.get("accept-language"))


def catalogue_of(request: Request) -> Catalogue:
    """The catalogue of the app serving `request` (the kit's alone if it set none)."""
    catalogue = getattr(request.app.state, "catalogue", None)
    return catalogue if isinstance(catalogue, Catalogue) else Catalogue.of()


def problem_response(
    request: Request,
    status: int,
    code: str,
    *,
    title: str | None = None,
    params: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    key: str | None = None,
) -> JSONResponse:
    """The problem+json response for `code`: its text from the app's catalogue (under
    `key`, by default the code itself; fields from `extra` and `params`), in the
    caller's language and in both."""
    catalogue = catalogue_of(request)
    fields = {**(extra or {}), **(params or {})}
    detail_fr = catalogue.text("fr", key or code, **fields)
    detail_ar = catalogue.text("ar", key or code, **fields)
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title or code.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail_ar if language_of(request) == "ar" else detail_fr,
        "detail_fr": detail_fr,
        "detail_ar": detail_ar,
        "code": code,
        "instance": request.url.path,
    }
    if extra:
        body.update({key: value for key, value in extra.items() if key not in body})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def generic_problem(request: Request, status: int, **extra: Any) -> JSONResponse:
    return problem_response(
        request, status, _HTTP_CODES.get(status, N_("error")), extra=extra or None
    )


async def _domain_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainProblem)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return problem_response(
        request,
        error.status,
        error.code,
        title=error.title,
        params=error.params,
        extra=error.extra,
        headers=headers,
    )


async def _validation_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "location": [str(part) for part in item.get("loc", ())],
            "message": item.get("msg", ""),
            "type": item.get("type", ""),
        }
        for item in error.errors()
    ]
    fields = ", ".join(".".join(e["location"][1:]) or e["location"][0] for e in errors[:5])
    return problem_response(
        request,
        422,
        "invalid-input",
        title="Invalid input",
        key=N_("invalid-input-fields"),
        params={"fields": fields},
        extra={"errors": errors},
    )


async def _http_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return generic_problem(request, error.status_code)


async def _unexpected_problem(request: Request, error: Exception) -> JSONResponse:
    trace_id = current_trace_id()
    if is_connection_lost(error):
        # the database is restarting or unreachable: nothing was done, the caller (a
        # terminal's retry, a page) tries again; not a fault of this request
        log.warning(
            "http.database_unavailable", path=request.url.path, error_type=type(error).__name__
        )
        return problem_response(
            request,
            503,
            N_("database-unavailable"),
            title="Database unavailable",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    log.exception("http.unexpected_error", path=request.url.path, error_type=type(error).__name__)
    return problem_response(
        request,
        500,
        N_("internal-error"),
        title="Internal error",
        extra={"trace_id": trace_id or "-"},
    )


#: what a 503 `database-unavailable` asks the caller to wait before trying again
DATABASE_RETRY_AFTER_SECONDS = 5


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainProblem, _domain_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(Exception, _unexpected_problem)
