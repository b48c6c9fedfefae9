"""RFC 9457 problem details for every error a service returns.

Every error body is `application/problem+json` with `type`, `title`, `status`,
`detail` and `instance`, plus `code` (stable, machine-readable), `detail_fr`
and `detail_ar` (the same message in both working languages, from the app's
message catalogue where `code` is the key; `detail` is the one the caller asked
for with `Accept-Language`, French by default).
Never a stack trace: unexpected errors are logged with their trace id and the
caller gets a 500 problem that names that trace id.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    texts: tuple[str, str] | None = None,
    key: str | None = None,
) -> JSONResponse:
    """The problem+json response for `code`: its text from the app's catalogue (under
    `key`, by default the code itself; fields from `extra` and `params`), in the
    caller's language and in both."""
    if texts is None:
        catalogue = catalogue_of(request)
        fields = {**(extra or {}), **(params or {})}
        detail_fr = catalogue.text("fr", key or code, **fields)
        detail_ar = catalogue.text("ar", key or code, **fields)
    else:
        detail_fr, detail_ar = texts
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
        texts=error.legacy_detail,
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
    log.exception("http.unexpected_error", path=request.url.path, error_type=type(error).__name__)
    return problem_response(
        request,
        500,
        N_("internal-error"),
        title="Internal error",
        extra={"trace_id": trace_id or "-"},
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainProblem, _domain_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(Exception, _unexpected_problem)
